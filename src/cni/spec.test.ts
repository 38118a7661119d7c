import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  CniCode,
  commandAllowed,
  compareVersions,
  encodeResult,
  incompatibleVersion,
  isSupportedVersion,
  parseResult,
  type CniResult,
} from './spec.js';

const dual: CniResult = {
  interfaces: [
    { name: 'cali7f94ce7c295', mac: 'ee:ee:ee:ee:ee:ee' },
    { name: 'eth0', mac: '0a:58:0a:00:00:05', mtu: 1450, sandbox: '/var/run/netns/p' },
  ],
  ips: [
    { address: '10.0.0.5/32', interface: 1 },
    { address: 'fd00::5/128', interface: 1 },
  ],
  routes: [
    { dst: '0.0.0.0/0', gw: '169.254.1.1', scope: 0 },
    { dst: '::/0', gw: 'fe80::ecee:eeff:feee:eeee' },
  ],
  dns: { nameservers: ['10.96.0.10'] },
};

describe('CNI versions', () => {
  it('orders versions numerically and knows which commands each allows', () => {
    assert.ok(compareVersions('0.10.0', '0.4.0') > 0);
    assert.equal(compareVersions('1.1.0', '1.1.0'), 0);
    assert.ok(isSupportedVersion('0.3.1') && isSupportedVersion('1.1.0'));
    assert.ok(!isSupportedVersion('1.2.0') && !isSupportedVersion('2.0'));
    assert.ok(commandAllowed('CHECK', '0.4.0') && !commandAllowed('CHECK', '0.3.1'));
    assert.ok(commandAllowed('GC', '1.1.0') && !commandAllowed('GC', '1.0.0'));
    assert.ok(!commandAllowed('STATUS', '0.4.0'));
  });

  it('reports an unsupported version with code 1 and the supported list', () => {
    const e = incompatibleVersion('1.2.0');
    assert.equal(e.cniCode, CniCode.incompatibleVersion);
    assert.match(e.details ?? '', /config is "1\.2\.0", plugin supports \[.*"1\.1\.0"\]/);
  });
});

describe('result encoding', () => {
  it('1.1.0 keeps interface MTU and route scope; 1.0.0 drops them', () => {
    const v11 = encodeResult(dual, '1.1.0');
    assert.equal((v11['interfaces'] as { mtu?: number }[])[1]?.mtu, 1450);
    assert.equal((v11['routes'] as { scope?: number }[])[0]?.scope, 0);
    const v10 = encodeResult(dual, '1.0.0');
    assert.equal((v10['interfaces'] as { mtu?: number }[])[1]?.mtu, undefined);
    assert.equal((v10['routes'] as { scope?: number }[])[0]?.scope, undefined);
    assert.equal((v10['ips'] as { version?: string }[])[0]?.version, undefined);
    assert.equal(v10['cniVersion'], '1.0.0');
  });

  it('0.3.x / 0.4.0 results carry a version per address', () => {
    const r = encodeResult(dual, '0.3.1');
    assert.deepEqual(
      (r['ips'] as { version: string }[]).map((i) => i.version),
      ['4', '6'],
    );
  });

  it('0.2.0 results use ip4 / ip6 with per-family routes', () => {
    const r = encodeResult(dual, '0.2.0');
    assert.deepEqual(r['ip4'], { ip: '10.0.0.5/32', routes: [{ dst: '0.0.0.0/0', gw: '169.254.1.1' }] });
    assert.deepEqual(r['ip6'], {
      ip: 'fd00::5/128',
      routes: [{ dst: '::/0', gw: 'fe80::ecee:eeff:feee:eeee' }],
    });
    assert.equal(r['interfaces'], undefined);
  });

  it('parses every encoding back to the same addresses', () => {
    for (const v of ['0.2.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0']) {
      const back = parseResult(JSON.parse(JSON.stringify(encodeResult(dual, v))));
      assert.ok(back.ok, v);
      assert.deepEqual(
        back.value.ips.map((i) => i.address),
        ['10.0.0.5/32', 'fd00::5/128'],
        v,
      );
      assert.equal(back.value.routes.length, 2, v);
    }
  });

  it('rejects results whose addresses are not CIDRs', () => {
    assert.equal(parseResult({ ips: [{ address: 'nope' }] }).ok, false);
    assert.equal(parseResult({ ip4: { ip: 'x' } }).ok, false);
    assert.equal(parseResult('text').ok, false);
  });
});
