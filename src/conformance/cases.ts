/**
 * NetworkPolicy truth-table case files (testdata/conformance/README.md): parsing, placeholder resolution,
 * expansion of steps into full states, and the IPv6 mapping used by `--ip-family 6`.
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

export interface Probe {
  readonly protocol: string;
  readonly port: number;
  readonly expected: Readonly<Record<string, Readonly<Record<string, boolean>>>>;
  readonly ignoreLoopback?: boolean;
  readonly sparse?: boolean;
  readonly namedPort?: string | boolean;
}

/** One state of a case: the full set of namespaces, pods and policies, and the probes to judge. */
export interface CaseState {
  readonly description: string;
  readonly namespaces: Readonly<Record<string, { labels?: Record<string, string> }>>;
  readonly pods: readonly CasePod[];
  readonly policies: readonly unknown[];
  readonly probes: readonly Probe[];
}

export interface NetpolCase {
  readonly id: string;
  readonly name: string;
  readonly suite?: string;
  readonly features: readonly string[];
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
    return p as unknown as Probe;
  });
}

/** Parses one case and expands single-phase and multi-step forms into a list of full states. */
export function parseCase(x: unknown, where: string, family: 4 | 6 = 4): NetpolCase {
  if (!isRecord(x) || typeof x.id !== 'string') throw new CaseFileError(`${where}: a case needs an id`);
  const id = x.id;
  let namespaces = (isRecord(x.namespaces) ? x.namespaces : {}) as CaseState['namespaces'];
  let pods = asArray(x.pods, `${id}.pods`).map((p, i) => parsePod(p, `${id}.pods[${i}]`));
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
    const policies = asArray(s.policies, `${w}.policies`).map((p, j) => {
      const resolved = resolvePlaceholders(p, byKey, `${w}.policies[${j}]`);
      return family === 6 ? mapPolicyToV6(resolved) : resolved;
    });
    return {
      description: typeof s.description === 'string' ? s.description : `step ${i}`,
      namespaces,
      pods: family === 6 ? pods.map((p) => ({ ...p, ip: mapAddressToV6(p.ip) })) : pods,
      policies,
      probes: parseProbes(s.probes, `${w}.probes`),
    };
  });
  return {
    id,
    name: typeof x.name === 'string' ? x.name : id,
    ...(typeof x.suite === 'string' ? { suite: x.suite } : {}),
    features: asArray(x.features, `${id}.features`).map(String),
    states,
  };
}

/** The judged cells of a probe: [from, to, expected]. */
export function* probeCells(probe: Probe): Generator<[string, string, boolean]> {
  for (const [from, row] of Object.entries(probe.expected)) {
    for (const [to, expected] of Object.entries(row)) {
      if (probe.ignoreLoopback === true && from === to) continue;
      yield [from, to, expected];
    }
  }
}
