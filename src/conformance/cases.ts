/**
 * Truth-table case files (testdata/conformance/README.md): NetworkPolicy cases and admin/cluster network policy
 * cases (AdminNetworkPolicy, BaselineAdminNetworkPolicy, ClusterNetworkPolicy, with the cluster's `nodes`):
 * parsing, placeholder resolution, expansion of steps into full states, and the IPv6 mapping used by
 * `--ip-family 6`.
 */
import { CalicoError } from '../lib/errors.js';
import { formatIp, parseCidr, parseIp } from '../lib/net/ip.js';

export interface CasePod {
  readonly namespace: string;
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly ip: string;
  readonly ports: readonly number[];
  readonly protocols: readonly string[];
  readonly containerPorts: readonly { name?: string; containerPort: number; protocol?: string }[];
  readonly hostNetwork?: boolean;
  readonly nodeName?: string;
}

/** `expected[from][to]`: true when the connection is allowed. */
export type TruthTable = Readonly<Record<string, Readonly<Record<string, boolean>>>>;

/**
 * The tables of a probe: `expected` (the suite's own verdicts) and, in admin network policy cases,
 * `derivedExpected` (the full matrix derived from the same semantics).
 */
export type ProbeTable = 'expected' | 'derivedExpected';

export interface Probe {
  readonly protocol: string;
  readonly port: number;
  readonly expected: TruthTable;
  readonly derivedExpected?: TruthTable;
  readonly ignoreLoopback?: boolean;
  readonly sparse?: boolean;
  readonly namedPort?: string | boolean;
}

/** A node of an admin network policy case: `nodes` peers select it by label and match its addresses. */
export interface CaseNode {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly ips: readonly string[];
}

/**
 * An AdminNetworkPolicy, BaselineAdminNetworkPolicy or ClusterNetworkPolicy document of a state, with the
 * case field it came from (`adminNetworkPolicies[0]`, `baselineAdminNetworkPolicy`, `clusterNetworkPolicies[1]`).
 */
export interface ClusterPolicyDoc {
  readonly field: string;
  readonly doc: unknown;
}

/** One state of a case: the full set of namespaces, pods, nodes and policies, and the probes to judge. */
export interface CaseState {
  readonly description: string;
  readonly namespaces: Readonly<Record<string, { labels?: Record<string, string> }>>;
  readonly pods: readonly CasePod[];
  /** The case's nodes (the same in every state; empty in NetworkPolicy cases). */
  readonly nodes: readonly CaseNode[];
  /** NetworkPolicies (and, in calico-ts's own cases, any Calico policy kind). */
  readonly policies: readonly unknown[];
  /** Admin and cluster network policies (empty in NetworkPolicy cases). */
  readonly clusterPolicies: readonly ClusterPolicyDoc[];
  readonly probes: readonly Probe[];
}

export interface NetpolCase {
  readonly id: string;
  readonly name: string;
  readonly suite?: string;
  readonly features: readonly string[];
  readonly nodes: readonly CaseNode[];
  readonly states: readonly CaseState[];
}

export class CaseFileError extends CalicoError {
  constructor(message: string) {
    super('CALICO_ERR_PARSE', message);
  }
}

function isRecord(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

function asArray(x: unknown, what: string): unknown[] {
  if (x === undefined) return [];
  if (!Array.isArray(x)) throw new CaseFileError(`${what}: expected an array`);
  return x;
}

function podKey(ns: string, name: string): string {
  return `${ns}/${name}`;
}

/** Resolves `$IP(ns/pod)` and `$CIDR(ns/pod,N)` inside every string of a policy. */
export function resolvePlaceholders(
  value: unknown,
  pods: ReadonlyMap<string, CasePod>,
  where: string,
): unknown {
  if (typeof value === 'string') {
    return value
      .replace(/\$CIDR\(([^,)]+),\s*([0-9]+)\)/g, (_m, key: string, bits: string) => {
        const pod = pods.get(key.trim());
        if (pod === undefined) throw new CaseFileError(`${where}: $CIDR refers to unknown pod ${key}`);
        const c = parseCidr(`${pod.ip}/${bits}`);
        if (c === undefined) throw new CaseFileError(`${where}: $CIDR(${key},${bits}) is not a valid prefix`);
        return `${formatIp(c.family, c.network)}/${c.prefix}`;
      })
      .replace(/\$IP\(([^)]+)\)/g, (_m, key: string) => {
        const pod = pods.get(key.trim());
        if (pod === undefined) throw new CaseFileError(`${where}: $IP refers to unknown pod ${key}`);
        return pod.ip;
      });
  }
  if (Array.isArray(value)) return value.map((v, i) => resolvePlaceholders(v, pods, `${where}[${i}]`));
  if (isRecord(value)) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = resolvePlaceholders(v, pods, `${where}.${k}`);
    return out;
  }
  return value;
}

/** `--ip-family 6`: a.b.c.d -> fd00::a.b.c.d, prefix /n -> /(96+n). */
export function mapAddressToV6(text: string): string {
  const slash = text.indexOf('/');
  const addr = slash < 0 ? text : text.slice(0, slash);
  const ip = parseIp(addr);
  if (ip === undefined || ip.family !== 4) return text;
  const mapped = formatIp(6, (0xfd00n << 112n) | ip.value);
  return slash < 0 ? mapped : `${mapped}/${96 + Number(text.slice(slash + 1))}`;
}

function mapPolicyToV6(policy: unknown): unknown {
  if (Array.isArray(policy)) return policy.map(mapPolicyToV6);
  if (!isRecord(policy)) return policy;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(policy)) {
    if (k === 'ipBlock' && isRecord(v)) {
      out[k] = {
        ...v,
        ...(typeof v.cidr === 'string' ? { cidr: mapAddressToV6(v.cidr) } : {}),
        ...(Array.isArray(v.except)
          ? { except: (v.except as unknown[]).map((e) => (typeof e === 'string' ? mapAddressToV6(e) : e)) }
          : {}),
      };
    } else if (k === 'networks' && Array.isArray(v)) {
      // Admin network policy peers: CIDRs (IPv6 ones, such as ::/0, are kept as they are).
      out[k] = v.map((e: unknown) => (typeof e === 'string' ? mapAddressToV6(e) : e));
    } else {
      out[k] = mapPolicyToV6(v);
    }
  }
  return out;
}

function parsePod(x: unknown, where: string): CasePod {
  if (!isRecord(x)) throw new CaseFileError(`${where}: expected an object`);
  const { namespace, name, ip } = x;
  if (typeof namespace !== 'string' || typeof name !== 'string' || typeof ip !== 'string') {
    throw new CaseFileError(`${where}: pods need string namespace, name and ip`);
  }
  const labels = isRecord(x.labels) ? (x.labels as Record<string, string>) : {};
  return {
    namespace,
    name,
    labels,
    ip,
    ports: asArray(x.ports, `${where}.ports`).map(Number),
    protocols: asArray(x.protocols, `${where}.protocols`).map(String),
    containerPorts: asArray(x.containerPorts, `${where}.containerPorts`) as CasePod['containerPorts'],
    ...(x.hostNetwork === true ? { hostNetwork: true } : {}),
    ...(typeof x.nodeName === 'string' ? { nodeName: x.nodeName } : {}),
  };
}

function checkTable(x: unknown, where: string): void {
  if (!isRecord(x)) throw new CaseFileError(`${where}: expected an object of rows`);
  for (const [from, row] of Object.entries(x)) {
    if (!isRecord(row)) throw new CaseFileError(`${where}.${from}: expected an object of cells`);
    for (const [to, v] of Object.entries(row)) {
      if (typeof v !== 'boolean') throw new CaseFileError(`${where}.${from}.${to}: expected true or false`);
    }
  }
}

function parseProbes(x: unknown, where: string): Probe[] {
  return asArray(x, where).map((p, i) => {
    if (
      !isRecord(p) ||
      typeof p.protocol !== 'string' ||
      typeof p.port !== 'number' ||
      !isRecord(p.expected)
    ) {
      throw new CaseFileError(`${where}[${i}]: a probe needs protocol, port and expected`);
    }
    checkTable(p.expected, `${where}[${i}].expected`);
    if (p.derivedExpected !== undefined) checkTable(p.derivedExpected, `${where}[${i}].derivedExpected`);
    return p as unknown as Probe;
  });
}

function parseNode(x: unknown, where: string): CaseNode {
  if (!isRecord(x) || typeof x.name !== 'string') throw new CaseFileError(`${where}: a node needs a name`);
  const labels = x.labels === undefined ? {} : x.labels;
  if (!isRecord(labels) || Object.values(labels).some((v) => typeof v !== 'string'))
    throw new CaseFileError(`${where}.labels: expected an object of strings`);
  const ips = asArray(x.ips, `${where}.ips`).map((ip, i) => {
    if (typeof ip !== 'string' || parseIp(ip) === undefined)
      throw new CaseFileError(`${where}.ips[${i}]: not an IP address: ${JSON.stringify(ip)}`);
    return ip;
  });
  return { name: x.name, labels: labels as Record<string, string>, ips };
}

/** A step's admin and cluster network policies, in the order AdminNetworkPolicies, baseline, cluster. */
function stepClusterPolicies(s: Record<string, unknown>, where: string): ClusterPolicyDoc[] {
  const docs: ClusterPolicyDoc[] = [];
  const list = (field: string): void => {
    asArray(s[field], `${where}.${field}`).forEach((doc, j) => {
      if (!isRecord(doc)) throw new CaseFileError(`${where}.${field}[${j}]: expected an object`);
      docs.push({ field: `${field}[${j}]`, doc });
    });
  };
  list('adminNetworkPolicies');
  const banp = s.baselineAdminNetworkPolicy;
  if (banp !== undefined && banp !== null) {
    if (!isRecord(banp))
      throw new CaseFileError(`${where}.baselineAdminNetworkPolicy: expected an object or null`);
    docs.push({ field: 'baselineAdminNetworkPolicy', doc: banp });
  }
  list('clusterNetworkPolicies');
  return docs;
}

function stepDescription(s: Record<string, unknown>, i: number): string {
  if (typeof s.description === 'string') return s.description;
  if (typeof s.subtest === 'string')
    return typeof s.phase === 'number' ? `${s.subtest}, phase ${s.phase}` : s.subtest;
  return `step ${i}`;
}

/** Parses one case and expands single-phase and multi-step forms into a list of full states. */
export function parseCase(x: unknown, where: string, family: 4 | 6 = 4): NetpolCase {
  if (!isRecord(x) || typeof x.id !== 'string') throw new CaseFileError(`${where}: a case needs an id`);
  const id = x.id;
  let namespaces = (isRecord(x.namespaces) ? x.namespaces : {}) as CaseState['namespaces'];
  let pods = asArray(x.pods, `${id}.pods`).map((p, i) => parsePod(p, `${id}.pods[${i}]`));
  const caseNodes = asArray(x.nodes, `${id}.nodes`).map((n, i) => parseNode(n, `${id}.nodes[${i}]`));
  const nodes = family === 6 ? caseNodes.map((n) => ({ ...n, ips: n.ips.map(mapAddressToV6) })) : caseNodes;
  const rawSteps: Record<string, unknown>[] = Array.isArray(x.steps)
    ? (x.steps as unknown[]).map((s, i) => {
        if (!isRecord(s)) throw new CaseFileError(`${id}.steps[${i}]: expected an object`);
        return s;
      })
    : [{ description: 'single phase', policies: x.policies, probes: x.probes }];
  const states: CaseState[] = rawSteps.map((s, i) => {
    const w = `${id}.steps[${i}]`;
    if (isRecord(s.namespaces)) namespaces = s.namespaces as CaseState['namespaces'];
    if (Array.isArray(s.pods)) pods = s.pods.map((p, j) => parsePod(p, `${w}.pods[${j}]`));
    // Placeholders resolve against the addresses as written; the IPv6 mapping applies afterwards.
    const byKey = new Map(pods.map((p) => [podKey(p.namespace, p.name), p]));
    const prepare = (doc: unknown, field: string): unknown => {
      const resolved = resolvePlaceholders(doc, byKey, `${w}.${field}`);
      return family === 6 ? mapPolicyToV6(resolved) : resolved;
    };
    const policies = asArray(s.policies, `${w}.policies`).map((p, j) => prepare(p, `policies[${j}]`));
    const clusterPolicies = stepClusterPolicies(s, w).map(({ field, doc }) => ({
      field,
      doc: prepare(doc, field),
    }));
    return {
      description: stepDescription(s, i),
      namespaces,
      pods: family === 6 ? pods.map((p) => ({ ...p, ip: mapAddressToV6(p.ip) })) : pods,
      nodes,
      policies,
      clusterPolicies,
      probes: parseProbes(s.probes, `${w}.probes`),
    };
  });
  return {
    id,
    name: typeof x.name === 'string' ? x.name : id,
    ...(typeof x.suite === 'string' ? { suite: x.suite } : {}),
    features: asArray(x.features, `${id}.features`).map(String),
    nodes,
    states,
  };
}

/**
 * The judged cells of a probe: [from, to, expected, table], the `expected` table's first (the suite's own
 * verdicts), then the `derivedExpected` cells that `expected` does not already hold with the same verdict.
 */
export function* probeCells(probe: Probe): Generator<[string, string, boolean, ProbeTable]> {
  for (const [from, row] of Object.entries(probe.expected)) {
    for (const [to, expected] of Object.entries(row)) {
      if (probe.ignoreLoopback === true && from === to) continue;
      yield [from, to, expected, 'expected'];
    }
  }
  for (const [from, row] of Object.entries(probe.derivedExpected ?? {})) {
    for (const [to, expected] of Object.entries(row)) {
      if (probe.ignoreLoopback === true && from === to) continue;
      const row0 = Object.hasOwn(probe.expected, from) ? probe.expected[from] : undefined;
      if (row0 !== undefined && Object.hasOwn(row0, to) && row0[to] === expected) continue;
      yield [from, to, expected, 'derivedExpected'];
    }
  }
}
