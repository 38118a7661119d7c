import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
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

  it('names affinities after host and block, as libcalico-go shortens over-long ones', () => {
    assert.equal(affinityName('node-1', '10.0.0.0/26'), 'node-1-10-0-0-0-26');
    // 253 characters and more: the host cut so that the whole is 252, the hash of "<host>+<cidr name>" last.
    const long = 'h'.repeat(300);
    const name = affinityName(long, '10.0.0.0/26');
    const digest = createHash('sha256').update(`${long}+10-0-0-0-26`).digest('hex');
    assert.equal(name, `${'h'.repeat(252 - 11 - 13)}-10-0-0-0-26-${digest.slice(0, 11)}`);
    assert.equal(name.length, 252);
    assert.notEqual(name, affinityName(`${'h'.repeat(299)}x`, '10.0.0.0/26'));
    // 252 characters stay as they are; 253 are shortened.
    assert.equal(affinityName('a'.repeat(240), '10.0.0.0/26').length, 252);
    assert.equal(affinityName('a'.repeat(241), '10.0.0.0/26').length, 252);
    assert.notEqual(affinityName('a'.repeat(241), '10.0.0.0/26'), `${'a'.repeat(241)}-10-0-0-0-26`);
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
