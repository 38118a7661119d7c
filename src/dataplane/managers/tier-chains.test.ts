import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { DataplaneMessage, TierInfo } from '../../calc/messages.js';
import { ManagerBench, policy, rule, wep } from '../testing/dataplane.js';
import { HostEndpointManager } from './host-endpoints.js';
import { PolicyManager } from './policies.js';
import { StaticManager } from './static.js';
import { WorkloadEndpointManager } from './workload-endpoints.js';

const TIERS = 4;
const PER_TIER = 250;

const policyId = (t: number, i: number): string => `gnp/t${t}.p${i}`;

function tiers(): TierInfo[] {
  return Array.from({ length: TIERS }, (_, t) => ({
    name: `t${t}`,
    defaultAction: 'deny',
    ingressPolicies: Array.from({ length: PER_TIER }, (_, i) => policyId(t, i)),
    egressPolicies: [],
  }));
}

/** Every policy of every tier, denying one source address (`third` picks the address's third octet). */
function updates(third: number): DataplaneMessage[] {
  const out: DataplaneMessage[] = [];
  for (let t = 0; t < TIERS; t++)
    for (let i = 0; i < PER_TIER; i++)
      out.push({
        kind: 'activePolicyUpdate',
        id: policyId(t, i),
        policy: {
          ...policy([rule({ action: 'deny', protocol: 6, srcNets: [`10.${t}.${third}.${i}/32`] })]),
          tier: `t${t}`,
        },
      });
  return out;
}

describe('TierChains', () => {
  it('renders each tier chain once per apply, however many of its policies changed', async () => {
    const b = new ManagerBench((t, runner) => {
      const policies = new PolicyManager(t);
      return [
        new StaticManager(t),
        policies,
        new WorkloadEndpointManager(t, policies.tiers),
        new HostEndpointManager(t, policies.tiers, runner),
      ];
    });
    await b.apply(...updates(0), wep('a', 'calia', '10.0.0.1', tiers()));
    const tierChains = b.chains().filter((c) => /^filter-cali-ti-[\w-]{22}$/.test(c));
    assert.equal(tierChains.length, TIERS);

    const renders = new Map<string, number>();
    const updateChain = b.table.updateChain.bind(b.table);
    b.table.updateChain = (name, rules, options) => {
      renders.set(name, (renders.get(name) ?? 0) + 1);
      updateChain(name, rules, options);
    };
    // 1,000 policies updated in place in one batch.
    await b.apply(...updates(1));
    for (const c of tierChains) assert.equal(renders.get(c), 1, `renders of ${c}`);
    assert.ok(
      [...renders.values()].every((n) => n === 1),
      'every chain is rendered at most once',
    );
    // The chains hold the new rules: each tier's 250 sources merged into one named set.
    for (const c of tierChains)
      assert.deepEqual(b.chain(c), [`meta l4proto 6 ip saddr @${c}-n0 drop`, 'drop']);
    const tiersSeen = tierChains.map((c) => {
      const elements = b.set(`${c}-n0`) ?? [];
      assert.equal(elements.length, PER_TIER);
      const t = /^10\.(\d)\.1\.\d+$/.exec(elements[0] ?? '')?.[1];
      assert.ok(t !== undefined, `${c}-n0 holds the updated addresses: ${elements[0]}`);
      assert.ok(elements.every((e) => e.startsWith(`10.${t}.1.`)));
      return t;
    });
    assert.deepEqual(tiersSeen.sort(), ['0', '1', '2', '3']);
  });
});
