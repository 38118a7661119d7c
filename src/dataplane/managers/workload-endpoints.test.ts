import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MAP_FROM_WL, MAP_TO_WL } from '../rules/names.js';
import { ManagerBench, policy, rule, tier, wep } from '../testing/dataplane.js';
import { HostEndpointManager } from './host-endpoints.js';
import { PolicyManager } from './policies.js';
import { StaticManager } from './static.js';
import { WorkloadEndpointManager } from './workload-endpoints.js';
import { DEFAULT_FELIX_CONFIG } from '../../api/v3/felix-config.js';

function bench() {
  let policies: PolicyManager | undefined;
  const b = new ManagerBench((t, runner) => {
    policies = new PolicyManager(t);
    return [
      new StaticManager(t),
      policies,
      new WorkloadEndpointManager(t, policies.tiers),
      new HostEndpointManager(t, policies.tiers, runner),
    ];
  });
  // Tier chains are `filter-cali-ti-` + 22 characters of hash; their sub-chains are longer.
  const tierChains = () => b.chains().filter((c) => /^filter-cali-ti-[\w-]{22}$/.test(c));
  return { b, policies: policies!, tierChains };
}

const ALLOW_WEB = policy([rule({ protocol: 6, dstPorts: [{ first: 80, last: 80 }] })]);

describe('WorkloadEndpointManager with the PolicyManager', () => {
  it('programs endpoint chains and dispatch entries; endpoints with the same policies share a tier chain', async () => {
    const { b, policies, tierChains } = bench();
    await b.apply(
      { kind: 'activePolicyUpdate', id: 'gnp/web', policy: ALLOW_WEB },
      wep('a', 'calia', '10.0.0.1', [tier(['gnp/web'])]),
      wep('b', 'calib', '10.0.0.2', [tier(['gnp/web'])]),
    );
    assert.deepEqual(b.map(MAP_TO_WL), [
      ['calia', 'goto filter-cali-tw-calia'],
      ['calib', 'goto filter-cali-tw-calib'],
    ]);
    assert.equal(tierChains().length, 1);
    assert.equal(policies.tierChainCount, 1);
    const [ti] = tierChains();
    assert.ok(b.chain('filter-cali-tw-calia')?.includes(`jump ${ti}`));
    assert.deepEqual(b.chain(ti!), [
      'meta l4proto 6 th dport 80 meta mark set meta mark | 0x00010000 return',
      'drop',
    ]);
    // A policy change re-renders the shared chain in place.
    await b.apply({
      kind: 'activePolicyUpdate',
      id: 'gnp/web',
      policy: policy([rule({ protocol: 6, dstPorts: [{ first: 443, last: 443 }] })]),
    });
    assert.match(b.chain(ti!)?.[0] ?? '', /th dport 443/);
  });

  it('removes what an endpoint had when it goes or changes interface; the last user removes the tier chain', async () => {
    const { b, tierChains } = bench();
    await b.apply(
      { kind: 'activePolicyUpdate', id: 'gnp/web', policy: ALLOW_WEB },
      wep('a', 'calia', '10.0.0.1', [tier(['gnp/web'])]),
    );
    await b.apply(wep('a', 'calix', '10.0.0.1', [tier(['gnp/web'])]));
    assert.equal(b.chain('filter-cali-tw-calia'), undefined);
    assert.deepEqual(
      b.map(MAP_FROM_WL)?.map(([k]) => k),
      ['calix'],
    );
    await b.apply({ kind: 'workloadEndpointRemove', id: 'wep/default/a' });
    assert.deepEqual(b.map(MAP_FROM_WL), []);
    assert.deepEqual(tierChains(), []);
    assert.equal(b.chain('filter-cali-fw-calix'), undefined);
  });

  it('follows the configuration (VXLAN port, deny action) for every endpoint and tier chain', async () => {
    const { b, tierChains } = bench();
    await b.apply(
      { kind: 'activePolicyUpdate', id: 'gnp/deny', policy: policy([rule({ action: 'deny' })]) },
      wep('a', 'calia', '10.0.0.1', [tier(['gnp/deny'])]),
    );
    assert.ok(b.chain('filter-cali-fw-calia')?.includes('meta l4proto udp udp dport 4789 drop'));
    await b.apply({
      kind: 'configUpdate',
      config: { ...DEFAULT_FELIX_CONFIG, vxlanPort: 8472, nftablesFilterDenyAction: 'Reject' },
      sources: {},
    });
    assert.ok(b.chain('filter-cali-fw-calia')?.includes('meta l4proto udp udp dport 8472 drop'));
    assert.deepEqual(b.chain(tierChains()[0]!)?.[0], 'reject with icmpx admin-prohibited');
  });

  it('reset forgets endpoints and tier chains; the same messages rebuild the same table', async () => {
    const { b, policies } = bench();
    const msgs = [
      { kind: 'activePolicyUpdate', id: 'gnp/web', policy: ALLOW_WEB } as const,
      wep('a', 'calia', '10.0.0.1', [tier(['gnp/web'])]),
    ];
    await b.apply(...msgs);
    const before = b.chains();
    b.table.reset();
    for (const m of b.managers) m.reset();
    assert.equal(policies.tierChainCount, 0);
    b.kernel.runner.clearCalls();
    await b.apply(...msgs);
    assert.deepEqual(b.chains(), before);
    // The kernel already held all of it: read back, nothing to send.
    assert.deepEqual(b.kernel.scripts(), []);
  });
});
