import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { parseNetConf } from './netconf.js';
import { resolveMtu, resolveNodename } from './node.js';
import { CniCode, CniError } from './spec.js';

const dir = mkdtempSync(join(tmpdir(), 'calts-cni-node-'));
after(() => {
  rmSync(dir, { recursive: true, force: true });
});

function conf(extra: Record<string, unknown>) {
  const r = parseNetConf(
    JSON.stringify({
      cniVersion: '1.0.0',
      name: 'net',
      type: 'calico',
      datastore_type: 'embedded',
      ...extra,
    }),
    {},
  );
  assert.ok(r.ok);
  return r.value;
}

function cniCode(f: () => unknown): number {
  try {
    f();
  } catch (e) {
    if (e instanceof CniError) return e.cniCode;
    throw e;
  }
  return 0;
}

describe("the plugin's host facts", () => {
  it('MTU as Calico: the file when mtu is 0 or absent, the configuration otherwise, 1500 without either', () => {
    const file = join(dir, 'mtu');
    const missing = join(dir, 'none');
    writeFileSync(file, '1450\n');
    assert.equal(resolveMtu(conf({ mtu_file: file, mtu: 0 })), 1450);
    assert.equal(resolveMtu(conf({ mtu_file: file })), 1450, 'absent is Go zero');
    assert.equal(resolveMtu(conf({ mtu_file: file, mtu: 9000 })), 9000);
    assert.equal(resolveMtu(conf({ mtu_file: missing })), 1500);
    assert.equal(resolveMtu(conf({ mtu_file: missing, mtu: 1400 })), 1400);
    writeFileSync(file, '0');
    assert.equal(resolveMtu(conf({ mtu_file: file })), 1500);
  });

  it('a required MTU file that is missing, or a file without a number, fails ADD with code 11', () => {
    const file = join(dir, 'bad-mtu');
    writeFileSync(file, 'large');
    assert.equal(
      cniCode(() => resolveMtu(conf({ mtu_file: file, mtu: 1500 }))),
      CniCode.tryAgainLater,
    );
    const missing = join(dir, 'none');
    assert.equal(
      cniCode(() => resolveMtu(conf({ mtu_file: missing, require_mtu_file: true }))),
      CniCode.tryAgainLater,
    );
    assert.equal(
      cniCode(() => resolveMtu(conf({ mtu_file: missing }))),
      0,
    );
  });

  it('node name: configuration, then the file calico-node writes; ADD needs one of them', () => {
    const file = join(dir, 'nodename');
    writeFileSync(file, 'node7');
    assert.equal(resolveNodename(conf({ nodename: 'node1', nodename_file: file }), true), 'node1');
    assert.equal(resolveNodename(conf({ nodename_file: file }), true), 'node7');
    const missing = conf({ nodename_file: join(dir, 'none') });
    assert.throws(
      () => resolveNodename(missing, true),
      (e: unknown) =>
        e instanceof CniError &&
        e.cniCode === CniCode.tryAgainLater &&
        /check that calico-node is running and has written it/.test(e.message),
    );
    assert.equal(typeof resolveNodename(missing, false), 'string');
  });
});
