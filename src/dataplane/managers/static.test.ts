import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BASE_CHAIN, CHAIN, MAP_FROM_WL } from '../rules/names.js';
import { ALL_VXLAN_SET } from '../rules/static.js';
import { ManagerBench } from '../testing/dataplane.js';
import { HostEndpointManager } from './host-endpoints.js';
import { PolicyManager } from './policies.js';
import { StaticManager } from './static.js';

const vtep = (node: string, ip: string) =>
  ({
    kind: 'vtepUpdate',
    vtep: { node, parentDeviceIp: ip, ipv4Addr: '10.244.0.1', mac: '66:00:00:00:00:01' },
  }) as const;

describe('StaticManager', () => {
  it('declares the base chains and dispatch maps once; admits VXLAN from nodes only while some node has a VTEP', async () => {
    // The static INPUT and OUTPUT chains jump to the host-endpoint dispatch chains.
    const b = new ManagerBench((t, runner) => [
      new StaticManager(t),
      new HostEndpointManager(t, new PolicyManager(t).tiers, runner),
    ]);
    await b.apply();
    assert.ok(b.chains().includes(BASE_CHAIN.filterForward));
    assert.deepEqual(b.map(MAP_FROM_WL), []);
    assert.deepEqual(b.set(ALL_VXLAN_SET), []);
    const input = () => (b.chain(CHAIN.input) ?? []).join('\n');
    assert.doesNotMatch(input(), /4789/);
    await b.apply(vtep('node1', '10.0.1.1'), vtep('node2', '10.0.2.1'));
    assert.match(input(), /udp dport 4789 ip saddr @cali40all-vxlan-net fib daddr type local accept/);
    assert.deepEqual(b.set(ALL_VXLAN_SET), ['10.0.1.1', '10.0.2.1']);
    // Membership changes touch the set only.
    b.kernel.runner.clearCalls();
    await b.apply({ kind: 'vtepRemove', node: 'node2' });
    assert.deepEqual(b.kernel.scripts(), [
      'add table inet calico\ndelete element inet calico cali40all-vxlan-net { 10.0.2.1 }\n',
    ]);
    await b.apply({ kind: 'vtepRemove', node: 'node1' });
    assert.doesNotMatch(input(), /4789/);
  });
});
