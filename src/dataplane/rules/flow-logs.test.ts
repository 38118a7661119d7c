import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DEFAULT_FELIX_CONFIG } from '../../api/v3/felix-config.js';
import type { PolicyMsg, TierInfo } from '../../calc/messages.js';
import { ManagerBench, policy, rule, wep } from '../testing/dataplane.js';
import { PolicyManager } from '../managers/policies.js';
import { HostEndpointManager } from '../managers/host-endpoints.js';
import { ProfileManager } from '../managers/profiles.js';
import { StaticManager } from '../managers/static.js';
import { WorkloadEndpointManager } from '../managers/workload-endpoints.js';
import { DEFAULT_RULES_CONFIG, flowLogsEnabled, rulesConfigFrom } from './config.js';
import { tierChainRef } from './endpoints.js';
import { renderProfileChains } from './profile.js';
import { renderTierChain, renderTierChains } from './tier.js';
import { renderWorkloadEndpoint } from './workload.js';

const ON = { ...DEFAULT_RULES_CONFIG, flowLogs: true };
const OFF = DEFAULT_RULES_CONFIG;
const ACCEPT = 'meta mark set meta mark | 0x00010000 return';
const NFLOG = (prefix: string, group: number): string =>
  `counter log prefix "${prefix}" group ${group} snaplen 80`;

const ref = (
  dir: 'ingress' | 'egress',
  ids: string[],
  defaultAction: 'deny' | 'pass' = 'deny',
  layer: 'filter' | 'mangle' = 'filter',
) =>
  tierChainRef(
    layer,
    dir,
    {
      name: 'security',
      defaultAction,
      ingressPolicies: dir === 'ingress' ? ids : [],
      egressPolicies: dir === 'egress' ? ids : [],
    },
    layer === 'filter',
  )!;

// Two policies whose rules merge into one when flow logs are off.
const policies = new Map<string, PolicyMsg>([
  ['gnp/a', policy([rule({ action: 'deny', protocol: 6, dstPorts: [{ first: 22, last: 22 }] })])],
  [
    'np/prod/b',
    policy(
      [
        rule({ action: 'deny', protocol: 6, dstPorts: [{ first: 23, last: 23 }] }),
        rule({ index: 1, action: 'log' }),
        rule({ index: 2, action: 'pass', srcNets: ['10.1.0.0/16'] }),
      ],
      [rule({ protocol: 17 })],
    ),
  ],
]);

describe('flow logs rendering', () => {
  it('is on when a Goldmane server or the local reporter is configured', () => {
    assert.equal(flowLogsEnabled(DEFAULT_FELIX_CONFIG), false);
    assert.equal(rulesConfigFrom(DEFAULT_FELIX_CONFIG).flowLogs, false);
    assert.equal(flowLogsEnabled({ ...DEFAULT_FELIX_CONFIG, flowLogsGoldmaneServer: 'goldmane:7443' }), true);
    assert.equal(flowLogsEnabled({ ...DEFAULT_FELIX_CONFIG, flowLogsGoldmaneServer: '' }), false);
    assert.equal(flowLogsEnabled({ ...DEFAULT_FELIX_CONFIG, flowLogsLocalReporter: 'Enabled' }), true);
  });

  it('tier chains: one nft rule per rule, each counting and logging its verdict; the tier end logs', () => {
    const r = ref('ingress', ['gnp/a', 'np/prod/b']);
    const off = renderTierChain(r, policies, OFF).map((x) => x.rule);
    assert.equal(off.length, 4);
    assert.equal(off[0], 'meta l4proto 6 th dport 22-23 drop', 'merged across policies when off');
    assert.deepEqual(off.slice(2), ['ip saddr 10.1.0.0/16 return', 'drop']);
    const on = renderTierChain(r, policies, ON).map((x) => x.rule);
    assert.equal(on.length, 5);
    assert.equal(on[0], `meta l4proto 6 th dport 22 ${NFLOG('DPI0|gnp/a', 1)} drop`);
    assert.equal(on[1], `meta l4proto 6 th dport 23 ${NFLOG('DPI0|np/prod/b', 1)} drop`);
    assert.ok(
      on[2]?.includes('log prefix "calico-packet: " level info') && !on[2].includes('group 1'),
      on[2],
    );
    assert.equal(on[3], `ip saddr 10.1.0.0/16 ${NFLOG('PPI2|np/prod/b', 1)} return`);
    assert.equal(on[4], `${NFLOG('DPI|security', 1)} drop`);
  });

  it('egress rules log to group 2; a default-Pass tier logs PP before falling through', () => {
    const on = renderTierChain(ref('egress', ['np/prod/b'], 'pass'), policies, ON).map((x) => x.rule);
    assert.deepEqual(on, [
      `meta l4proto 17 ${NFLOG('APE0|np/prod/b', 2)} ${ACCEPT}`,
      NFLOG('PPE|security', 2),
    ]);
  });

  it('large (dispatched) tiers keep every rule apart and log in every leaf', () => {
    const many = new Map<string, PolicyMsg>();
    const ids: string[] = [];
    for (let i = 0; i < 30; i++) {
      ids.push(`gnp/p${i}`);
      many.set(`gnp/p${i}`, policy([rule({ protocol: 6, dstPorts: [{ first: 1000 + i, last: 1000 + i }] })]));
    }
    const r = ref('ingress', ids);
    const off = renderTierChains(r, many, OFF, 24);
    assert.equal(off.chains.length, 1, 'merged below the dispatch threshold when off');
    const on = renderTierChains(r, many, ON, 24);
    const rules = on.chains.flatMap((c) => c.rules.map((x) => (typeof x === 'string' ? x : x.rule)));
    for (let i = 0; i < 30; i++)
      assert.ok(
        rules.some((x) => x.includes(`th dport ${1000 + i} ${NFLOG(`API0|gnp/p${i}`, 1)}`)),
        `gnp/p${i}`,
      );
    assert.ok(rules.filter((x) => x === `${NFLOG('DPI|security', 1)} drop`).length >= 1);
  });

  it('mangle (preDNAT) and raw tiers are not flow-logged', () => {
    const on = renderTierChain(ref('ingress', ['gnp/a'], 'deny', 'mangle'), policies, ON).map((x) => x.rule);
    assert.ok(
      on.every((x) => !x.includes('group 1')),
      on.join('\n'),
    );
  });

  it('hashes a long policy id in its prefix', () => {
    const id = `np/a-very-long-namespace-name/${'p'.repeat(60)}`;
    const long = new Map([[id, policy([rule({})])]]);
    const [only] = renderTierChain(ref('ingress', [id]), long, ON).map((x) => x.rule);
    const m = /log prefix "([^"]*)" group 1/.exec(only ?? '');
    assert.ok(m !== null, only);
    const prefix = m[1] ?? '';
    assert.equal(prefix.length, 63);
    assert.ok(prefix.startsWith('API0|np/a-'), prefix);
  });

  it('profiles log with the profile owner; the final drop logs DR', () => {
    const prof = renderProfileChains(
      'kns.prod',
      { inboundRules: [rule({})], outboundRules: [rule({ action: 'deny' })] },
      ON,
    );
    assert.deepEqual(
      prof.map((c) => c.rules.map((x) => (typeof x === 'string' ? x : x.rule))),
      [[`${NFLOG('ARI0|kns.prod', 1)} ${ACCEPT}`], [`${NFLOG('DRE0|kns.prod', 2)} drop`]],
    );
    const tiers: TierInfo[] = [
      { name: 'default', defaultAction: 'deny', ingressPolicies: ['gnp/a'], egressPolicies: [] },
    ];
    const ep = { ...wep('w', 'caliw', '10.0.0.5', tiers).endpoint, profileIds: ['kns.prod'] };
    const on = renderWorkloadEndpoint(ep, ON).chains.map((c) =>
      c.rules.map((x) => (typeof x === 'string' ? x : x.rule)).at(-1),
    );
    assert.deepEqual(on, [`${NFLOG('DRI', 1)} drop`, `${NFLOG('DRE', 2)} drop`]);
    const off = renderWorkloadEndpoint(ep, OFF).chains.map((c) =>
      c.rules.map((x) => (typeof x === 'string' ? x : x.rule)).at(-1),
    );
    assert.deepEqual(off, ['drop', 'drop']);
  });

  it('turning flow logs on and off re-renders the programmed chains live', async () => {
    let pm: PolicyManager | undefined;
    const b = new ManagerBench((t, runner) => {
      pm = new PolicyManager(t);
      return [
        new StaticManager(t),
        pm,
        new ProfileManager(t),
        new WorkloadEndpointManager(t, pm.tiers),
        new HostEndpointManager(t, pm.tiers, runner),
      ];
    });
    const tiers = [
      {
        name: 'default',
        defaultAction: 'deny' as const,
        ingressPolicies: ['gnp/a', 'np/prod/b'],
        egressPolicies: [],
      },
    ];
    await b.apply(
      { kind: 'activePolicyUpdate', id: 'gnp/a', policy: policies.get('gnp/a')! },
      { kind: 'activePolicyUpdate', id: 'np/prod/b', policy: policies.get('np/prod/b')! },
      wep('w', 'caliw', '10.0.0.5', tiers),
    );
    const logged = (): number =>
      b
        .chains()
        .flatMap((c) => b.chain(c) ?? [])
        .filter((r) => r.includes(' group 1 snaplen 80')).length;
    assert.equal(logged(), 0);
    await b.apply({
      kind: 'configUpdate',
      config: { ...DEFAULT_FELIX_CONFIG, flowLogsGoldmaneServer: 'goldmane:7443' },
      sources: {},
    });
    // gnp/a rule 0, np/prod/b rules 0 and 2, the tier's end, the endpoint's final drop.
    assert.equal(logged(), 5);
    await b.apply({ kind: 'configUpdate', config: DEFAULT_FELIX_CONFIG, sources: {} });
    assert.equal(logged(), 0);
    assert.ok(pm !== undefined);
  });
});
