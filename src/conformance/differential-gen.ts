/**
 * Random cases for the differential test (differential.ts): fast-check arbitraries producing case files in the
 * conformance format (testdata/conformance/README.md) whose `policies` hold any mix of Calico and Kubernetes
 * kinds: Tiers (order, Deny/Pass default), GlobalNetworkPolicy, NetworkPolicy, Kubernetes NetworkPolicy, their
 * staged forms, (Global)NetworkSets; rules with Allow/Deny/Pass/Log, TCP/UDP, selectors with `!`, `has()`,
 * `in`, `not in`, `&&`, `||`, `all()`, notSelector, namespaceSelector, serviceAccounts, nets/notNets, ports,
 * port ranges, named ports, notPorts; Kubernetes peers with pod/namespace selectors (matchLabels and every
 * matchExpressions operator), ipBlocks with `except`, numeric and named ports with endPort.
 *
 * The pods (namespace, name, address) are the same in every case of a run, so a kernel run creates them once;
 * what changes per case is their labels and named container ports, the namespaces' labels and the policies.
 * Every case probes every ordered pair of distinct pods on TCP 80, UDP 80 and TCP 8080; the expected verdicts
 * are left for the evaluator to fill in (`fillExpected` in differential.ts).
 */
import fc from 'fast-check';
import { cidrCovers, parseCidr } from '../lib/net/ip.js';

/** The pods of every case: two per namespace, addresses spread so that /24 and /16 blocks mean something. */
export const DIFF_PODS: readonly {
  readonly namespace: string;
  readonly name: string;
  readonly ip: string;
}[] = [
  { namespace: 'dx', name: 'a', ip: '10.244.10.1' },
  { namespace: 'dx', name: 'b', ip: '10.244.10.2' },
  { namespace: 'dy', name: 'a', ip: '10.244.11.1' },
  { namespace: 'dy', name: 'b', ip: '10.244.11.2' },
  { namespace: 'dz', name: 'a', ip: '10.244.12.1' },
  { namespace: 'dz', name: 'b', ip: '10.244.20.1' },
];
export const DIFF_NAMESPACES: readonly string[] = ['dx', 'dy', 'dz'];
export const DIFF_PROBES: readonly { readonly protocol: 'TCP' | 'UDP'; readonly port: number }[] = [
  { protocol: 'TCP', port: 80 },
  { protocol: 'UDP', port: 80 },
  { protocol: 'TCP', port: 8080 },
];

const POD_LABELS: Readonly<Record<string, readonly string[]>> = {
  app: ['web', 'db', 'api'],
  tier: ['fe', 'be'],
  role: ['x', 'y'],
};
const NS_LABELS: Readonly<Record<string, readonly string[]>> = {
  team: ['red', 'blue'],
  env: ['prod', 'dev'],
};
const SET_LABELS: Readonly<Record<string, readonly string[]>> = { kind: ['ext', 'int'] };
const PORT_NAMES = ['http', 'alt', 'dns'] as const;
const PROTOCOLS = ['TCP', 'UDP'] as const;
const PORT_VALUES = [80, 8080] as const;
/** Addresses rules and sets use: each pod, its /24, the pods' /16, wider and disjoint blocks. */
const CIDRS: readonly string[] = [
  ...DIFF_PODS.map((p) => `${p.ip}/32`),
  '10.244.10.0/24',
  '10.244.11.0/24',
  '10.244.12.0/24',
  '10.244.0.0/16',
  '10.0.0.0/8',
  '192.168.0.0/16',
];
const TIER_NAMES = ['t1', 't2'] as const;

type Labels = Record<string, string>;

function labelsArb(vocab: Readonly<Record<string, readonly string[]>>): fc.Arbitrary<Labels> {
  const entries = Object.entries(vocab).map(([k, vs]) =>
    fc
      .option(fc.constantFrom(...vs), { nil: undefined })
      .map((v) => (v === undefined ? [] : [[k, v] as const])),
  );
  return fc.tuple(...entries).map((kvs) => Object.fromEntries(kvs.flat()));
}

/** One Calico selector term over a label vocabulary. */
function atomArb(vocab: Readonly<Record<string, readonly string[]>>): fc.Arbitrary<string> {
  const key = fc.constantFrom(...Object.keys(vocab));
  return key.chain((k) => {
    const v = fc.constantFrom(...(vocab[k] ?? []));
    return fc.oneof(
      v.map((x) => `${k} == '${x}'`),
      v.map((x) => `${k} != '${x}'`),
      fc.constant(`has(${k})`),
      fc.constant(`!has(${k})`),
      fc
        .uniqueArray(v, { minLength: 1, maxLength: 2 })
        .map((xs) => `${k} in {${xs.map((x) => `'${x}'`).join(', ')}}`),
      v.map((x) => `${k} not in {'${x}'}`),
    );
  });
}

/** A selector of up to two levels of `&&`, `||` and `!`, or `all()`. */
function selectorArb(vocab: Readonly<Record<string, readonly string[]>>): fc.Arbitrary<string> {
  const atom = atomArb(vocab);
  const level1 = fc.oneof(
    { weight: 3, arbitrary: atom },
    { weight: 1, arbitrary: fc.tuple(atom, atom).map(([a, b]) => `${a} && ${b}`) },
    { weight: 1, arbitrary: fc.tuple(atom, atom).map(([a, b]) => `(${a}) || (${b})`) },
    { weight: 1, arbitrary: atom.map((a) => `!(${a})`) },
  );
  return fc.oneof(
    { weight: 6, arbitrary: level1 },
    { weight: 1, arbitrary: fc.tuple(level1, level1).map(([a, b]) => `(${a}) || (${b})`) },
    { weight: 1, arbitrary: fc.constant('all()') },
  );
}

const ENTITY_VOCAB = { ...POD_LABELS, ...SET_LABELS };

type Doc = Record<string, unknown>;

/** Drops undefined members, so documents stay what a user would write. */
function compact(o: Record<string, unknown>): Doc {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));
}

/** `a` with probability `p`, else absent (shrinks towards absent). */
function opt<T>(a: fc.Arbitrary<T>, p: number): fc.Arbitrary<T | undefined> {
  const present = Math.round(p * 100);
  return fc.oneof(
    { weight: 100 - present, arbitrary: fc.constant(undefined) },
    { weight: present, arbitrary: a },
  );
}

const cidrList = fc.uniqueArray(fc.constantFrom(...CIDRS), { minLength: 1, maxLength: 2 });
const numericPort = fc.oneof(
  fc.constantFrom<number | string>(...PORT_VALUES),
  fc.constantFrom('80:81', '79:8080', '8000:9000'),
);
const namedPort = fc.constantFrom<number | string>(...PORT_NAMES);

/** An EntityRule; `withPorts`: numeric ports allowed (the rule has a protocol). */
function entityArb(withPorts: boolean, global: boolean): fc.Arbitrary<Doc | undefined> {
  const ports = fc.uniqueArray(withPorts ? fc.oneof(numericPort, namedPort) : namedPort, {
    minLength: 1,
    maxLength: 2,
  });
  const nsSel = global
    ? fc.oneof(selectorArb(NS_LABELS), fc.constantFrom('all()', 'global()'))
    : selectorArb(NS_LABELS);
  return opt(
    fc
      .record({
        selector: opt(selectorArb(ENTITY_VOCAB), 0.5),
        notSelector: opt(selectorArb(ENTITY_VOCAB), 0.2),
        namespaceSelector: opt(nsSel, 0.25),
        serviceAccounts: opt(fc.constantFrom({ names: ['default'] }, { names: ['other'] }), 0.1),
        nets: opt(cidrList, 0.25),
        notNets: opt(cidrList, 0.15),
        ports: opt(ports, 0.4),
        notPorts: opt(ports, 0.15),
      })
      .map(compact),
    0.6,
  );
}

function calicoRuleArb(global: boolean): fc.Arbitrary<Doc> {
  return fc
    .record({
      action: fc.constantFrom('Allow', 'Allow', 'Deny', 'Pass', 'Log'),
      protocol: opt(fc.constantFrom(...PROTOCOLS), 0.5),
      notProtocol: opt(fc.constantFrom(...PROTOCOLS), 0.1),
    })
    .chain((head) => {
      const withPorts = head.protocol !== undefined;
      return fc
        .record({ source: entityArb(withPorts, global), destination: entityArb(withPorts, global) })
        .map((ends) => compact({ ...head, ...ends }));
    })
    .filter((r) => r.notProtocol === undefined || r.notProtocol !== r.protocol);
}

const typesArb = opt(fc.constantFrom<string[]>(['Ingress'], ['Egress'], ['Ingress', 'Egress']), 0.6);

interface PolicyDraft {
  readonly kind: 'np' | 'gnp' | 'knp';
  readonly staged: boolean;
  readonly namespace: string;
  readonly tier: string;
  readonly spec: Doc;
}

function calicoSpecArb(global: boolean): fc.Arbitrary<Doc> {
  const rules = fc.array(calicoRuleArb(global), { maxLength: 3 });
  return fc
    .record({
      order: opt(fc.constantFrom(1, 10, 100, 500, 1000, 1500), 0.7),
      selector: opt(selectorArb(POD_LABELS), 0.7),
      namespaceSelector: global ? opt(selectorArb(NS_LABELS), 0.4) : fc.constant(undefined),
      serviceAccountSelector: opt(fc.constantFrom('all()', "projectcalico.org/name == 'default'"), 0.1),
      types: typesArb,
      ingress: rules,
      egress: rules,
    })
    .map(compact);
}

function labelSelectorArb(vocab: Readonly<Record<string, readonly string[]>>): fc.Arbitrary<Doc> {
  const keys = Object.keys(vocab);
  const expr = fc.constantFrom(...keys).chain((key) => {
    const values = fc.uniqueArray(fc.constantFrom(...(vocab[key] ?? [])), { minLength: 1, maxLength: 2 });
    return fc.oneof(
      values.map((v) => ({ key, operator: 'In', values: v })),
      values.map((v) => ({ key, operator: 'NotIn', values: v })),
      fc.constant({ key, operator: 'Exists' }),
      fc.constant({ key, operator: 'DoesNotExist' }),
    );
  });
  return fc
    .record({
      matchLabels: opt(labelsArb(vocab), 0.5),
      matchExpressions: opt(fc.array(expr, { minLength: 1, maxLength: 2 }), 0.4),
    })
    .map(compact);
}

/** An ipBlock: a CIDR and, sometimes, holes strictly inside it. */
const ipBlockArb: fc.Arbitrary<Doc> = fc.constantFrom(...CIDRS).chain((cidr) => {
  const inside = CIDRS.filter((c) => c !== cidr && within(c, cidr));
  const except =
    inside.length === 0
      ? fc.constant(undefined)
      : opt(fc.uniqueArray(fc.constantFrom(...inside), { minLength: 1, maxLength: 2 }), 0.5);
  return except.map((e) => compact({ cidr, except: e }));
});

/** True if CIDR `inner` lies inside `outer`. */
function within(inner: string, outer: string): boolean {
  const i = parseCidr(inner);
  const o = parseCidr(outer);
  return i !== undefined && o !== undefined && cidrCovers(o, i);
}

const peerArb: fc.Arbitrary<Doc> = fc.oneof(
  labelSelectorArb(POD_LABELS).map((podSelector) => ({ podSelector })),
  labelSelectorArb(NS_LABELS).map((namespaceSelector) => ({ namespaceSelector })),
  fc
    .tuple(labelSelectorArb(POD_LABELS), labelSelectorArb(NS_LABELS))
    .map(([podSelector, namespaceSelector]) => ({ podSelector, namespaceSelector })),
  ipBlockArb.map((ipBlock) => ({ ipBlock })),
);

const k8sPortArb: fc.Arbitrary<Doc> = fc.oneof(
  fc
    .record({ protocol: opt(fc.constantFrom(...PROTOCOLS), 0.5), port: fc.constantFrom(...PORT_VALUES) })
    .map(compact),
  fc.record({ protocol: opt(fc.constantFrom(...PROTOCOLS), 0.5) }).map(compact),
  fc
    .record({ protocol: opt(fc.constantFrom(...PROTOCOLS), 0.5), port: fc.constantFrom(...PORT_NAMES) })
    .map(compact),
  fc
    .record({ protocol: opt(fc.constantFrom(...PROTOCOLS), 0.5) })
    .map((r) => compact({ ...r, port: 80, endPort: 8080 })),
);

function k8sRulesArb(peerField: 'from' | 'to'): fc.Arbitrary<Doc[]> {
  const rule = fc
    .record({
      peers: opt(fc.array(peerArb, { minLength: 1, maxLength: 2 }), 0.7),
      ports: opt(fc.array(k8sPortArb, { minLength: 1, maxLength: 2 }), 0.5),
    })
    .map((r) => compact({ [peerField]: r.peers, ports: r.ports }));
  return fc.array(rule, { maxLength: 2 });
}

const k8sSpecArb: fc.Arbitrary<Doc> = fc
  .record({
    podSelector: labelSelectorArb(POD_LABELS),
    policyTypes: typesArb,
    ingress: opt(k8sRulesArb('from'), 0.7),
    egress: opt(k8sRulesArb('to'), 0.5),
  })
  .map(compact);

const policyDraftArb: fc.Arbitrary<PolicyDraft> = fc
  .record({
    kind: fc.constantFrom<PolicyDraft['kind']>('np', 'gnp', 'knp'),
    namespace: fc.constantFrom(...DIFF_NAMESPACES),
    tier: fc.constantFrom('default', 'default', ...TIER_NAMES),
  })
  .chain((head) =>
    fc
      .tuple(
        head.kind === 'knp' ? k8sSpecArb : calicoSpecArb(head.kind === 'gnp'),
        fc.integer({ min: 0, max: 9 }),
      )
      // One policy in ten is staged (evaluated for the pending trace, never enforced).
      .map(([spec, dice]): PolicyDraft => ({ ...head, staged: dice === 0, spec })),
  );

const C = 'projectcalico.org/v3';

/** The resource document of a policy draft (named by its position, so names never clash). */
function policyDoc(d: PolicyDraft, i: number): Doc {
  const name = `${d.kind}${i}`;
  if (d.kind === 'knp') {
    return d.staged
      ? {
          apiVersion: C,
          kind: 'StagedKubernetesNetworkPolicy',
          metadata: { name, namespace: d.namespace },
          spec: { stagedAction: 'Set', ...d.spec },
        }
      : {
          apiVersion: 'networking.k8s.io/v1',
          kind: 'NetworkPolicy',
          metadata: { name, namespace: d.namespace },
          spec: d.spec,
        };
  }
  const spec = { ...(d.tier !== 'default' ? { tier: d.tier } : {}), ...d.spec };
  const kind = `${d.staged ? 'Staged' : ''}${d.kind === 'gnp' ? 'GlobalNetworkPolicy' : 'NetworkPolicy'}`;
  const metadata = d.kind === 'gnp' ? { name } : { name, namespace: d.namespace };
  return { apiVersion: C, kind, metadata, spec: d.staged ? { stagedAction: 'Set', ...spec } : spec };
}

const tierArb = fc.record({
  order: opt(fc.constantFrom(50, 100, 2000, 5_000_000), 0.8),
  defaultAction: fc.constantFrom('Deny', 'Pass'),
});

const networkSetArb = fc.record({
  global: fc.boolean(),
  namespace: fc.constantFrom(...DIFF_NAMESPACES),
  labels: labelsArb(SET_LABELS),
  nets: cidrList,
});

const podArb = fc.record({
  labels: labelsArb(POD_LABELS),
  namedPorts: fc.uniqueArray(
    fc.record({
      name: fc.constantFrom(...PORT_NAMES),
      containerPort: fc.constantFrom(...PORT_VALUES),
      protocol: fc.constantFrom(...PROTOCOLS),
    }),
    { maxLength: 2, selector: (p) => p.name },
  ),
});

/** What varies between cases: labels, named ports, tiers, sets and policies. */
export interface DiffScenario {
  readonly namespaceLabels: readonly Labels[];
  readonly pods: readonly { labels: Labels; namedPorts: readonly Doc[] }[];
  readonly tiers: readonly { order?: number | undefined; defaultAction: string }[];
  readonly networkSets: readonly { global: boolean; namespace: string; labels: Labels; nets: string[] }[];
  readonly policies: readonly PolicyDraft[];
}

/** Policies first: fast-check shrinks a record's fields in order, and fewer policies help a reader most. */
export const scenarioArb: fc.Arbitrary<DiffScenario> = fc.record({
  policies: fc.array(policyDraftArb, { minLength: 1, maxLength: 5 }),
  networkSets: fc.array(networkSetArb, { maxLength: 2 }),
  tiers: fc.tuple(tierArb, tierArb),
  pods: fc.tuple(...DIFF_PODS.map(() => podArb)),
  namespaceLabels: fc.tuple(...DIFF_NAMESPACES.map(() => labelsArb(NS_LABELS))),
});

/** The resources of a scenario: the tiers its policies use, its network sets, its policies. */
function scenarioResources(s: DiffScenario): Doc[] {
  const used = new Set(s.policies.filter((p) => p.kind !== 'knp').map((p) => p.tier));
  const tiers = TIER_NAMES.flatMap((name, i) => {
    const t = s.tiers[i];
    if (!used.has(name) || t === undefined) return [];
    return [{ apiVersion: C, kind: 'Tier', metadata: { name }, spec: compact({ ...t }) }];
  });
  const sets = s.networkSets.map((n, i) =>
    n.global
      ? {
          apiVersion: C,
          kind: 'GlobalNetworkSet',
          metadata: { name: `gset${i}`, labels: n.labels },
          spec: { nets: n.nets },
        }
      : {
          apiVersion: C,
          kind: 'NetworkSet',
          metadata: { name: `set${i}`, namespace: n.namespace, labels: n.labels },
          spec: { nets: n.nets },
        },
  );
  return [...tiers, ...sets, ...s.policies.map(policyDoc)];
}

/** A case file entry (conformance format) for a scenario; `expected` is still empty. */
export function scenarioCaseFile(s: DiffScenario, id: string): Doc {
  const namespaces = Object.fromEntries(
    DIFF_NAMESPACES.map((name, i) => [
      name,
      { labels: { 'kubernetes.io/metadata.name': name, ...(s.namespaceLabels[i] ?? {}) } },
    ]),
  );
  const pods = DIFF_PODS.map((p, i) => ({
    ...p,
    labels: s.pods[i]?.labels ?? {},
    ports: [...new Set(DIFF_PROBES.map((x) => x.port))],
    protocols: [...new Set(DIFF_PROBES.map((x) => x.protocol))],
    containerPorts: s.pods[i]?.namedPorts ?? [],
  }));
  return {
    id,
    suite: 'differential',
    name: `random case ${id}`,
    source: 'generated by src/conformance/differential-gen.ts; expected = the reference evaluator',
    features: ['differential'],
    namespaces,
    pods,
    policies: scenarioResources(s),
    probes: DIFF_PROBES.map((p) => ({ ...p, ignoreLoopback: true, expected: {} })),
  };
}
