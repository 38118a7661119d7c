import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CHAIN, MAP_FROM_HEP, MAP_TO_HEP } from '../rules/names.js';
import { hep, ManagerBench } from '../testing/dataplane.js';
import { HostEndpointManager } from './host-endpoints.js';
import { PolicyManager } from './policies.js';
import { StaticManager } from './static.js';

function bench() {
  return new ManagerBench((t, runner) => {
    const policies = new PolicyManager(t);
    return [new StaticManager(t), policies, new HostEndpointManager(t, policies.tiers, runner)];
  });
}

const addresses = (ifaces: Record<string, string>) => ({
  stdout: JSON.stringify(
    Object.entries(ifaces).map(([ifname, local]) => ({ ifname, mtu: 1500, addr_info: [{ local }] })),
  ),
});

describe('HostEndpointManager', () => {
  it('dispatches a named interface through the maps and every other one to the `*` endpoint', async () => {
    const b = bench();
    await b.apply(hep('eth0'), hep('all', { interfaceName: '*' }));
    assert.deepEqual(b.map(MAP_FROM_HEP), [['eth0', 'goto filter-cali-fh-eth0']]);
    assert.deepEqual(b.map(MAP_TO_HEP), [['eth0', 'goto filter-cali-th-eth0']]);
    assert.deepEqual(b.chain(CHAIN.fromHep), [
      'iifname vmap @cali-from-hep-dispatch',
      'iifname != "lo" jump filter-cali-fh-any',
    ]);
    assert.ok(b.chain('filter-cali-fh-eth0')?.includes(`jump ${CHAIN.failsafeIn}`));
    await b.apply(
      { kind: 'hostEndpointRemove', id: 'hep/all' },
      { kind: 'hostEndpointRemove', id: 'hep/eth0' },
    );
    assert.deepEqual(b.chain(CHAIN.fromHep), ['iifname vmap @cali-from-hep-dispatch']);
    assert.deepEqual(b.map(MAP_FROM_HEP), []);
    assert.equal(b.chain('filter-cali-fh-any'), undefined);
    assert.equal(b.chain('filter-cali-fh-eth0'), undefined);
  });

  it('an endpoint matched by expected IPs follows the address from one interface to another', async () => {
    const b = bench();
    const byIp = hep('node', { interfaceName: '', expectedIpv4Addrs: ['10.0.1.1'] });
    await b.apply(byIp);
    assert.deepEqual(b.map(MAP_FROM_HEP), [['eth0', 'goto filter-cali-fh-eth0']]);
    b.kernel.runner.on(
      { cmd: 'ip', args: ['-j', 'addr', 'show'] },
      addresses({ eth0: '192.0.2.1', eth1: '10.0.1.1' }),
    );
    // No message: the interfaces are read again on the next apply (and on every periodic refresh).
    await b.apply();
    assert.deepEqual(b.map(MAP_FROM_HEP), [['eth1', 'goto filter-cali-fh-eth1']]);
    assert.equal(b.chain('filter-cali-fh-eth0'), undefined);
  });
});
