import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  affinityName,
  cidrToName,
  hostnameHash,
  tunnelAttributeType,
  tunnelHandle,
  workloadHandle,
} from './names.js';

describe('IPAM names', () => {
  it('turns CIDRs into resource names as libcalico-go does', () => {
    assert.equal(cidrToName('10.0.0.0/26'), '10-0-0-0-26');
    assert.equal(cidrToName('fd00::40/122'), 'fd00--40-122');
    assert.equal(cidrToName('fd00:1:2:3:4:5:6:0/122'), 'fd00-1-2-3-4-5-6-0-122');
  });

  it('names affinities after host and block, hashing over-long hosts', () => {
    assert.equal(affinityName('node-1', '10.0.0.0/26'), 'node-1-10-0-0-0-26');
    const long = 'h'.repeat(300);
    const name = affinityName(long, '10.0.0.0/26');
    assert.equal(name.length, 253);
    assert.ok(name.endsWith('-10-0-0-0-26'));
    assert.notEqual(name, affinityName(`${'h'.repeat(299)}x`, '10.0.0.0/26'));
  });

  it('builds CNI and tunnel handles and the host hash label', () => {
    assert.equal(workloadHandle('abc123'), 'k8s-pod-network.abc123');
    assert.equal(workloadHandle('abc', 'net2'), 'net2.abc');
    assert.equal(tunnelHandle('ipip', 'n1'), 'ipip-tunnel-addr-n1');
    assert.equal(tunnelHandle('vxlan', 'n1', 6), 'vxlan-v6-tunnel-addr-n1');
    assert.equal(tunnelHandle('wireguard', 'n1', 4), 'wireguard-tunnel-addr-n1');
    assert.equal(tunnelAttributeType('vxlan', 6), 'vxlanV6TunnelAddress');
    assert.equal(tunnelAttributeType('ipip', 4), 'ipipTunnelAddress');
    const h = hostnameHash('node-1');
    assert.match(h, /^[A-Z2-7]{52}$/);
    assert.notEqual(h, hostnameHash('node-2'));
  });
});
