import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { CalcGraph } from './graph.js';
import type { ResourceUpdate } from './inputs.js';
import {
  affinityResource,
  blockResource,
  nodeResource,
  normaliseView,
  poolResource,
  RecordingSink,
} from './testing.js';

const C = 'projectcalico.org/v3';

function wep(ns: string, pod: string, node: string, ip: string, labels: Record<string, string>) {
  return {
    apiVersion: C,
    kind: 'WorkloadEndpoint',
    metadata: {
      name: `${node}-k8s-${pod}-eth0`,
      namespace: ns,
      labels: { ...labels, 'projectcalico.org/namespace': ns, 'projectcalico.org/orchestrator': 'k8s' },
    },
    spec: {
      orchestrator: 'k8s',
      node,
      pod,
      endpoint: 'eth0',
      interfaceName: `cali${pod}`,
      ipNetworks: [`${ip}/32`],
      profiles: [`kns.${ns}`],
      ports: [{ name: 'http', protocol: 'TCP', port: 8080 }],
    },
  };
}

/** Cluster networking: nodes (node1 is local), a pool, blocks and affinities, in variants that move routes. */
const B1 = '10.244.1.0/26';
const B2 = '10.244.2.0/26';
const NETWORK: { key: ResourceUpdate['key']; variants: unknown[] }[] = [
  {
    key: { kind: 'Node', name: 'node1' },
    variants: [
      null,
      nodeResource('node1', '10.0.1.1/24', '10.244.1.0'),
      nodeResource('node1', '10.0.2.1/24'),
    ],
  },
  {
    key: { kind: 'Node', name: 'node2' },
    variants: [
      null,
      nodeResource('node2', '10.0.1.2/24', '10.244.2.0'),
      nodeResource('node2', '10.0.2.2/24', '10.244.2.1'),
      nodeResource('node2', '10.0.1.2/24'),
    ],
  },
  {
    key: { kind: 'IPPool', name: 'pool' },
    variants: [
      null,
      poolResource('pool', '10.244.0.0/16', { vxlanMode: 'Always', natOutgoing: true }),
      poolResource('pool', '10.244.0.0/16', { vxlanMode: 'CrossSubnet' }),
      poolResource('pool', '10.244.0.0/16', { ipipMode: 'Always' }),
    ],
  },
  {
    key: { kind: 'IPAMBlock', name: '10-244-2-0-26' },
    variants: [
      null,
      blockResource(B2, 'node2', [
        [0, 'node2'],
        [5, 'node1'],
      ]),
      blockResource(B2, 'node3', [[7, 'node2']]),
    ],
  },
  {
    key: { kind: 'BlockAffinity', name: 'node2-10-244-2-0-26' },
    variants: [null, affinityResource('node2', B2, 'confirmed'), affinityResource('node2', B2, 'pending')],
  },
  {
    key: { kind: 'IPAMBlock', name: '10-244-1-0-26' },
    variants: [null, blockResource(B1, 'node1', [[3, 'node2']])],
  },
  {
    key: { kind: 'BlockAffinity', name: 'node1-10-244-1-0-26' },
    variants: [null, affinityResource('node1', B1, 'confirmed')],
  },
];

/** A small universe of objects, each with a few variants (index 0 = absent). */
const UNIVERSE: { key: ResourceUpdate['key']; variants: unknown[] }[] = [
  {
    key: { kind: 'Namespace', name: 'a' },
    variants: [
      null,
      { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'a', labels: { team: 'x' } } },
      { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'a', labels: { team: 'y' } } },
    ],
  },
  {
    key: { kind: 'Namespace', name: 'b' },
    variants: [null, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'b', labels: { team: 'y' } } }],
  },
  {
    key: { kind: 'WorkloadEndpoint', namespace: 'a', name: 'node1-k8s-p1-eth0' },
    variants: [
      null,
      wep('a', 'p1', 'node1', '10.0.0.1', { app: 'web' }),
      wep('a', 'p1', 'node1', '10.0.0.11', { app: 'db' }),
    ],
  },
  {
    key: { kind: 'WorkloadEndpoint', namespace: 'b', name: 'node1-k8s-p2-eth0' },
    variants: [null, wep('b', 'p2', 'node1', '10.0.0.2', { app: 'db' })],
  },
  {
    key: { kind: 'WorkloadEndpoint', namespace: 'a', name: 'node2-k8s-p3-eth0' },
    variants: [
      null,
      wep('a', 'p3', 'node2', '10.0.0.3', { app: 'web' }),
      wep('a', 'p3', 'node2', '10.0.0.3', { app: 'api' }),
    ],
  },
  {
    key: { kind: 'WorkloadEndpoint', namespace: 'b', name: 'node2-k8s-p4-eth0' },
    variants: [null, wep('b', 'p4', 'node2', '10.0.0.1', { app: 'api' })],
  },
  {
    key: { kind: 'GlobalNetworkSet', name: 'ext' },
    variants: [
      null,
      {
        apiVersion: C,
        kind: 'GlobalNetworkSet',
        metadata: { name: 'ext', labels: { app: 'api' } },
        spec: { nets: ['10.9.0.0/16', '10.0.0.0/24'] },
      },
    ],
  },
  {
    key: { kind: 'KubernetesNetworkPolicy', namespace: 'a', name: 'knp' },
    variants: [
      null,
      {
        apiVersion: 'networking.k8s.io/v1',
        kind: 'NetworkPolicy',
        metadata: { name: 'knp', namespace: 'a' },
        spec: {
          podSelector: { matchLabels: { app: 'web' } },
          ingress: [
            { from: [{ namespaceSelector: { matchLabels: { team: 'y' } } }], ports: [{ port: 'http' }] },
          ],
        },
      },
      {
        apiVersion: 'networking.k8s.io/v1',
        kind: 'NetworkPolicy',
        metadata: { name: 'knp', namespace: 'a' },
        spec: {
          podSelector: {},
          policyTypes: ['Egress'],
          egress: [{ to: [{ podSelector: { matchLabels: { app: 'api' } } }] }],
        },
      },
    ],
  },
  {
    key: { kind: 'GlobalNetworkPolicy', name: 'gnp' },
    variants: [
      null,
      {
        apiVersion: C,
        kind: 'GlobalNetworkPolicy',
        metadata: { name: 'gnp' },
        spec: {
          tier: 'sec',
          order: 5,
          selector: "app in {'db', 'web'}",
          types: ['Ingress'],
          ingress: [{ action: 'Pass', source: { selector: "app == 'api'" } }, { action: 'Deny' }],
        },
      },
      {
        apiVersion: C,
        kind: 'GlobalNetworkPolicy',
        metadata: { name: 'gnp' },
        spec: {
          namespaceSelector: "team == 'x'",
          types: ['Egress'],
          egress: [{ action: 'Allow', destination: { notSelector: "app == 'db'" } }],
        },
      },
    ],
  },
  {
    key: { kind: 'Tier', name: 'sec' },
    variants: [
      null,
      { apiVersion: C, kind: 'Tier', metadata: { name: 'sec' }, spec: { order: 100, defaultAction: 'Pass' } },
    ],
  },
  ...NETWORK,
  // Stand-ins: the Pod of workload a/p1 (hidden by its WorkloadEndpoint above while that exists), and the
  // explicit default service account of namespace a (replacing the implicit one).
  {
    key: { kind: 'Pod', namespace: 'a', name: 'p1' },
    variants: [
      null,
      {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: 'p1', namespace: 'a', labels: { app: 'api' } },
        spec: { nodeName: 'node1', containers: [{ name: 'c' }] },
        status: { podIP: '10.0.0.21' },
      },
    ],
  },
  {
    key: { kind: 'ServiceAccount', namespace: 'a', name: 'default' },
    variants: [
      null,
      {
        apiVersion: 'v1',
        kind: 'ServiceAccount',
        metadata: { name: 'default', namespace: 'a', labels: { role: 'x' } },
      },
    ],
  },
  // DNS policy: network sets with allowedEgressDomains, selected (or not) by an egress Allow rule.
  {
    key: { kind: 'GlobalNetworkSet', name: 'saas' },
    variants: [
      null,
      netSet('saas', undefined, { role: 'saas' }, ['*.saas.test']),
      netSet('saas', undefined, { role: 'saas' }, ['api.test', '*.saas.test']),
      netSet('saas', undefined, { role: 'other' }, ['*.saas.test']),
      netSet('saas', undefined, { role: 'saas' }, undefined),
    ],
  },
  {
    key: { kind: 'NetworkSet', namespace: 'a', name: 'partners' },
    variants: [
      null,
      netSet('partners', 'a', { role: 'saas' }, ['partner.test']),
      netSet('partners', 'a', { role: 'saas' }, ['*.saas.test']),
    ],
  },
  {
    key: { kind: 'GlobalNetworkPolicy', name: 'egress-sets' },
    variants: [
      null,
      egressToSets([{ action: 'Allow', destination: { selector: "role == 'saas'" } }]),
      egressToSets([
        { action: 'Deny', destination: { selector: "role == 'saas'" } },
        { action: 'Allow', protocol: 'TCP', destination: { selector: "role == 'saas'", ports: [443] } },
        { action: 'Allow', destination: { domains: ['*.saas.test'] } },
      ]),
    ],
  },
];

function netSet(
  name: string,
  namespace: string | undefined,
  labels: Record<string, string>,
  allowedEgressDomains: string[] | undefined,
): unknown {
  return {
    apiVersion: C,
    kind: namespace === undefined ? 'GlobalNetworkSet' : 'NetworkSet',
    metadata: { name, ...(namespace !== undefined ? { namespace } : {}), labels },
    spec: { nets: ['192.0.2.0/28'], ...(allowedEgressDomains !== undefined ? { allowedEgressDomains } : {}) },
  };
}

function egressToSets(egress: unknown[]): unknown {
  return {
    apiVersion: C,
    kind: 'GlobalNetworkPolicy',
    metadata: { name: 'egress-sets' },
    spec: { selector: 'all()', types: ['Egress'], egress },
  };
}

function universeIndex(kind: string, name: string): number {
  const i = UNIVERSE.findIndex((u) => u.key.kind === kind && u.key.name === name);
  assert.ok(i >= 0);
  return i;
}

type Op = { obj: number; variant: number };

/** One update: an object of the universe and the variant it takes (0 = deleted). */
const op = fc
  .integer({ min: 0, max: UNIVERSE.length - 1 })
  .chain((obj) =>
    fc
      .integer({ min: 0, max: (UNIVERSE[obj]?.variants.length ?? 1) - 1 })
      .map((variant): Op => ({ obj, variant })),
  );

function freshView(state: Map<number, number>): unknown {
  const g = new CalcGraph('node1');
  const sink = new RecordingSink();
  const updates: ResourceUpdate[] = [];
  let rev = 1;
  for (const [obj, variant] of state) {
    const u = UNIVERSE[obj];
    if (u === undefined || variant === 0) continue;
    updates.push({ key: u.key, value: u.variants[variant], revision: rev++ });
  }
  g.onUpdates(updates);
  g.onInSync();
  sink.apply(g.flush());
  assert.deepEqual(sink.violations, []);
  return normaliseView(sink.view);
}

describe('calculation graph', () => {
  it('programs a policy, its IP sets and the local endpoint, in dependency order', () => {
    const g = new CalcGraph('node1');
    const sink = new RecordingSink();
    const at = (i: number, v: number): ResourceUpdate => ({
      key: UNIVERSE[i]!.key,
      value: UNIVERSE[i]!.variants[v],
      revision: i + 1,
    });
    g.onUpdates([at(0, 1), at(1, 1), at(2, 1), at(3, 1), at(7, 1)]);
    g.onInSync();
    const msgs = g.flush();
    sink.apply(msgs);
    assert.deepEqual(sink.violations, []);
    const kinds = msgs.map((m) => m.kind);
    assert.ok(kinds.indexOf('ipSetUpdate') < kinds.indexOf('activePolicyUpdate'));
    assert.ok(kinds.indexOf('activePolicyUpdate') < kinds.indexOf('workloadEndpointUpdate'));
    assert.equal(kinds.at(-1), 'inSync');
    const p1 = sink.view.weps.get('wep/a/node1-k8s-p1-eth0');
    assert.deepEqual(p1?.tiers, [
      { name: 'default', defaultAction: 'deny', ingressPolicies: ['knp/a/knp'], egressPolicies: [] },
    ]);
    // The peer selector matches p2 (namespace b has team=y): its named port is in the named-port set.
    const policy = sink.view.policies.get('knp/a/knp');
    const named = policy?.inboundRules[0]?.dstNamedPortIpSetIds[0];
    assert.ok(named !== undefined);
    assert.deepEqual([...(sink.view.ipSets.get(named) ?? [])].sort(), [
      '10.0.0.1,tcp,8080',
      '10.0.0.2,tcp,8080',
    ]);
    // Remote endpoints never get endpoint messages.
    assert.equal(sink.view.weps.size, 2);
  });

  it('sends only the delta when an endpoint moves address', () => {
    const g = new CalcGraph('node1');
    const sink = new RecordingSink();
    const at = (i: number, v: number, r: number): ResourceUpdate => ({
      key: UNIVERSE[i]!.key,
      value: UNIVERSE[i]!.variants[v],
      revision: r,
    });
    g.onUpdates([at(0, 1, 1), at(2, 1, 2), at(4, 1, 3), at(8, 1, 4), at(9, 1, 5)]);
    g.onInSync();
    sink.apply(g.flush());
    g.onUpdates([at(4, 2, 10)]);
    const msgs = g.flush();
    sink.apply(msgs);
    assert.deepEqual(sink.violations, []);
    // p3 (remote, app=web -> app=api) leaves the gnp's Pass selector set... and nothing else is re-sent.
    assert.deepEqual(
      msgs.map((m) => m.kind),
      ['ipSetDeltaUpdate', 'revision'],
    );
    const delta = msgs[0];
    assert.ok(delta?.kind === 'ipSetDeltaUpdate');
    assert.deepEqual([delta.added, delta.removed], [['10.0.0.3/32'], []]);
  });

  it('a WorkloadEndpoint hides the Pod of the same workload, which stands in again once it is gone', () => {
    const g = new CalcGraph('node1');
    const sink = new RecordingSink();
    let rev = 1;
    const set = (i: number, v: number): void => {
      g.onUpdates([{ key: UNIVERSE[i]!.key, value: UNIVERSE[i]!.variants[v], revision: rev++ }]);
      sink.apply(g.flush());
      assert.deepEqual(sink.violations, []);
    };
    const seen = (): [readonly string[], readonly string[]] | undefined => {
      const w = sink.view.weps.get('wep/a/node1-k8s-p1-eth0');
      return w === undefined ? undefined : [w.ipv4Nets, w.profileIds];
    };
    g.onInSync();
    const pod = universeIndex('Pod', 'p1');
    const wep = universeIndex('WorkloadEndpoint', 'node1-k8s-p1-eth0');
    set(universeIndex('Namespace', 'a'), 1);
    set(pod, 1);
    // The pod's endpoint references the namespace's implicit default service-account profile.
    assert.deepEqual(seen(), [['10.0.0.21/32'], ['kns.a', 'ksa.a.default']]);
    set(wep, 1);
    assert.deepEqual(seen(), [['10.0.0.1/32'], ['kns.a']]);
    set(pod, 0);
    set(pod, 1);
    assert.deepEqual(seen(), [['10.0.0.1/32'], ['kns.a']], 'a pod update does not override the endpoint');
    set(wep, 0);
    assert.deepEqual(seen(), [['10.0.0.21/32'], ['kns.a', 'ksa.a.default']]);
    set(pod, 0);
    assert.equal(seen(), undefined);
  });

  it('is path independent: any sequence of updates ends in the state a fresh graph computes', () => {
    fc.assert(
      fc.property(
        fc.array(fc.array(op, { minLength: 1, maxLength: 5 }), { minLength: 1, maxLength: 12 }),
        (batches) => {
          const g = new CalcGraph('node1');
          const sink = new RecordingSink();
          const state = new Map<number, number>();
          let rev = 1;
          g.onInSync();
          for (const batch of batches) {
            g.onUpdates(
              batch.map(({ obj, variant }) => {
                state.set(obj, variant);
                const u = UNIVERSE[obj]!;
                return { key: u.key, value: u.variants[variant], revision: rev++ };
              }),
            );
            sink.apply(g.flush());
            assert.deepEqual(sink.violations, []);
          }
          assert.deepEqual(normaliseView(sink.view), freshView(state));
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('calculation graph replay (the dataplane full resync)', () => {
  it('replays exactly the state its output built, in dependency order, pending updates included', () => {
    fc.assert(
      fc.property(
        fc.array(fc.array(op, { minLength: 1, maxLength: 5 }), { minLength: 1, maxLength: 8 }),
        fc.array(op, { maxLength: 3 }),
        (batches, unflushed) => {
          const g = new CalcGraph('node1');
          const sink = new RecordingSink();
          const state = new Map<number, number>();
          let rev = 1;
          const update = ({ obj, variant }: Op): ResourceUpdate => {
            state.set(obj, variant);
            const u = UNIVERSE[obj]!;
            return { key: u.key, value: u.variants[variant], revision: rev++ };
          };
          g.onInSync();
          for (const batch of batches) {
            g.onUpdates(batch.map(update));
            sink.apply(g.flush());
          }
          g.onUpdates(unflushed.map(update));
          const replayed = new RecordingSink();
          replayed.apply(g.replay());
          assert.deepEqual(replayed.violations, []);
          assert.deepEqual(normaliseView(replayed.view), freshView(state));
          assert.equal(replayed.view.inSync, true);
          assert.equal(replayed.view.revision, rev - 1);
          // Nothing is left pending behind the replay, and a second replay says the same.
          assert.deepEqual(
            g.flush().filter((m) => m.kind !== 'revision'),
            [],
          );
          const again = new RecordingSink();
          again.apply(g.replay());
          assert.deepEqual(normaliseView(again.view), normaliseView(replayed.view));
        },
      ),
      { numRuns: 150 },
    );
  });
});
