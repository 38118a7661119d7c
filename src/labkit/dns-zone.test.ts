import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  dnsmasqConfig,
  dnsTtlProblem,
  podResolvConf,
  resolvConfNameserver,
  zoneAddresses,
} from './dns-zone.js';

describe('dns-zone', () => {
  test("dnsmasq's configuration: no upstream, local domains, the zone with the TTL asked for", () => {
    const conf = dnsmasqConfig(7).split('\n');
    for (const line of [
      'port=53',
      'no-resolv',
      'no-hosts',
      'local=/example.com/',
      'local=/test/',
      'host-record=api.example.com,203.0.113.20,7',
      'cname=cdn.example.com,edge.cdn-provider.test,7',
      'host-record=evil.test,203.0.113.66,7',
    ])
      assert.ok(conf.includes(line), line);
    assert.throws(() => dnsmasqConfig(0), /TTL must be 1\.\.86400/);
    assert.equal(dnsTtlProblem(86_400), undefined);
  });

  test('each name has its own outside address; resolv.conf round trip', () => {
    const addrs = zoneAddresses();
    assert.equal(new Set(addrs).size, addrs.length);
    assert.ok(!addrs.includes('203.0.113.10'), "the outside's own address carries no name");
    assert.equal(resolvConfNameserver(podResolvConf('10.244.0.5')), '10.244.0.5');
    assert.equal(resolvConfNameserver('# none\n'), undefined);
  });
});
