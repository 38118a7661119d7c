import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  agentRouted,
  defaultRacks,
  networkAgentEnv,
  nodeIndexForAddress,
  parseLabNetwork,
  podMtu,
  rackAddresses,
  rackOf,
  topologyProblem,
} from './topology.js';

describe('lab topology', () => {
  test('networking modes', () => {
    assert.equal(parseLabNetwork('vxlan-crosssubnet'), 'vxlan-crosssubnet');
    assert.equal(parseLabNetwork('ipip'), undefined);
    assert.equal(agentRouted('static'), false);
    assert.equal(agentRouted('bgp'), true);
  });

  test('racks: VXLAN modes spread nodes over two racks; BGP and static need one L2 segment', () => {
    assert.equal(defaultRacks('bgp', 3), 1);
    assert.equal(defaultRacks('vxlan', 1), 1);
    assert.equal(defaultRacks('vxlan-crosssubnet', 3), 2);
    assert.equal(topologyProblem('vxlan', 2), undefined);
    assert.match(topologyProblem('bgp', 2) ?? '', /one rack/);
    assert.match(topologyProblem('static', 0) ?? '', /1\.\.9/);
    assert.deepEqual(
      [1, 2, 3, 4].map((i) => rackOf(i, 2)),
      [1, 2, 1, 2],
    );
    assert.deepEqual(rackAddresses(2), {
      bridge: 'rack2',
      v4Gateway: '172.31.2.254',
      v6Gateway: 'fd5c:a1c0:2::fffe',
    });
  });

  test('agent environment per mode', () => {
    assert.deepEqual(networkAgentEnv('static'), {
      CALICO_NETWORKING_BACKEND: 'none',
      NO_DEFAULT_POOLS: 'true',
    });
    const bgp = networkAgentEnv('bgp');
    assert.equal(bgp.CALICO_NETWORKING_BACKEND, 'bird');
    assert.equal(bgp.CALICO_IPV4POOL_CIDR, '10.244.0.0/16');
    assert.equal(bgp.CALICO_IPV4POOL_VXLAN, 'Never');
    assert.equal(bgp.CALICO_IPV4POOL_IPIP, 'Never');
    assert.equal(bgp.IP_AUTODETECTION_METHOD, 'interface=eth0');
    assert.equal(networkAgentEnv('vxlan').CALICO_IPV4POOL_VXLAN, 'Always');
    assert.equal(networkAgentEnv('vxlan-crosssubnet').CALICO_IPV4POOL_VXLAN, 'CrossSubnet');
    assert.equal(networkAgentEnv('vxlan').CALICO_NETWORKING_BACKEND, 'vxlan');
    assert.equal(podMtu('vxlan'), 1450);
    assert.equal(podMtu('bgp'), 1500);
  });

  test('fixed addresses map to nodes by their /24, so a block never spans nodes', () => {
    assert.equal(nodeIndexForAddress('10.244.1.10', 2), 0);
    assert.equal(nodeIndexForAddress('10.244.2.10', 2), 1);
    assert.equal(nodeIndexForAddress('10.244.2.200', 2), 1);
    assert.equal(nodeIndexForAddress('10.244.3.10', 2), 0);
    assert.equal(nodeIndexForAddress('10.244.0.10', 3), 2);
    assert.equal(nodeIndexForAddress('10.0.0.1', 2), undefined);
    assert.equal(nodeIndexForAddress('fd00::1', 2), undefined);
  });
});
