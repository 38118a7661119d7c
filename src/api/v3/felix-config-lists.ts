/**
 * The list and structure types of Felix's parameters (failsafe port lists, port ranges, CIDR and interface
 * lists, maps, health timeout overrides, route table ranges, BPF conntrack timeouts, DSCP), each read from
 * the resource and from Felix's environment syntax into one typed value (see felix-config-types.ts). Pure.
 */
import { parseCidr } from '../../lib/net/ip.js';
import { err, ok, type Result } from '../../lib/result.js';
import {
  type Decoder,
  entry,
  isRecord,
  Issues,
  list,
  opt,
  req,
  schemaOf,
  show,
  str,
  struct,
  withSchema,
} from '../decoder.js';
import { INT_OR_STRING_SCHEMA, STRING_MAP_SCHEMA } from '../json-schema.js';
import { choice, duration, formatGoDuration, integer, type ParamType, text } from './felix-config-types.js';

const sameJson = (a: unknown, b: unknown): boolean => JSON.stringify(a) === JSON.stringify(b);

/** A value only a structure can hold; the environment form is converted to the resource's JSON first. */
function viaResourceForm<T>(
  decode: Decoder<T>,
  encode: (v: T) => unknown,
  envToJson: (raw: string) => Result<unknown, string>,
): ParamType<T> {
  return {
    decode,
    encode,
    parseEnv: (raw) => {
      const json = envToJson(raw);
      if (!json.ok) return json;
      const issues = new Issues();
      const d = decode(json.value, '', issues);
      const first = issues.list[0];
      if (first !== undefined)
        return err(first.path === '' ? first.message : `${first.path}: ${first.message}`);
      return d === undefined ? err(`invalid value ${show(raw)}`) : ok(d);
    },
    equal: sameJson,
  };
}

const items = (raw: string): string[] =>
  raw
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');

/** `k=v,k=v` into pairs (Felix's keyvaluelist). */
function keyValues(raw: string): Result<[string, string][], string> {
  const out: [string, string][] = [];
  for (const item of items(raw)) {
    const m = /^([^=]+)=(.*)$/.exec(item);
    if (m === null) return err(`invalid key=value item ${show(item)}`);
    out.push([(m[1] ?? '').trim(), (m[2] ?? '').trim()]);
  }
  return ok(out);
}

// ── failsafe ports ──────────────────────────────────────────────────────────────────────────────────

export interface ProtoPort {
  readonly protocol: 'TCP' | 'UDP' | 'SCTP';
  readonly port: number;
  readonly net?: string;
}

const cidrProblem = (s: string): string | undefined =>
  parseCidr(s) === undefined ? `invalid CIDR ${show(s)}` : undefined;

const protoPortStruct = struct<{ protocol?: ProtoPort['protocol']; port: number; net?: string }>({
  protocol: opt(choice(['TCP', 'UDP', 'SCTP'] as const).decode),
  port: req(integer(0, 65535).decode),
  net: opt(text(cidrProblem).decode),
});

/** Felix's env form: `tcp:22,udp:68,tcp:10.0.0.0/8:6443,tcp:[fd00::/8]:22`, or `none`. */
function parsePortList(raw: string): Result<ProtoPort[], string> {
  const out: ProtoPort[] = [];
  if (raw.trim().toLowerCase() === 'none') return ok(out);
  for (let item of items(raw)) {
    let net: string | undefined;
    const v6 = /\[([^\]]*)\]:/.exec(item);
    if (v6 !== null) {
      net = v6[1];
      item = item.replace(v6[0], '');
    }
    const parts = item.split(':');
    if (parts.length > 3)
      return err(`invalid port ${show(item)} (<protocol>:<net>:<port>, <protocol>:<port> or <port>)`);
    if (parts.length === 3) net = parts[1];
    const protocol = (parts.length > 1 ? (parts[0] ?? '') : 'tcp').toUpperCase();
    if (protocol !== 'TCP' && protocol !== 'UDP')
      return err(`unknown protocol ${show(parts[0] ?? '')} in ${show(item)}`);
    const p = parts[parts.length - 1] ?? '';
    const n = /^[0-9]+$/.test(p) ? Number(p) : NaN;
    if (!(n >= 0 && n <= 65535)) return err(`invalid port ${show(p)} (must be 0 to 65535)`);
    if (net !== undefined && parseCidr(net) === undefined) return err(`invalid CIDR ${show(net)}`);
    out.push(net === undefined ? { protocol, port: n } : { protocol, port: n, net });
  }
  return ok(out);
}

/** failsafeInbound/OutboundHostPorts; an absent protocol is TCP, as Calico defaults it. */
export function protoPorts(): ParamType<readonly ProtoPort[]> {
  const each = list(protoPortStruct);
  return {
    decode: withSchema(schemaOf(each), (v, path, issues) =>
      each(v, path, issues)?.map((p) => ({
        protocol: p.protocol ?? 'TCP',
        port: p.port,
        ...(p.net !== undefined ? { net: p.net } : {}),
      })),
    ),
    encode: (v) => v.map((p) => ({ ...p })),
    parseEnv: parsePortList,
    equal: sameJson,
  };
}

/** A default written in Felix's env form (`tcp:22,udp:68`); throws on a typo in the table. */
export function portsLiteral(text: string): readonly ProtoPort[] {
  const r = parsePortList(text);
  if (!r.ok) throw new Error(`bad port list literal ${text}: ${r.error}`);
  return r.value;
}

// ── port ranges ─────────────────────────────────────────────────────────────────────────────────────

export interface PortRange {
  readonly min: number;
  readonly max: number;
}

export function parsePortRange(v: unknown): Result<PortRange, string> {
  if (typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= 65535) return ok({ min: v, max: v });
  const m = typeof v === 'string' ? /^([0-9]+)(?::([0-9]+))?$/.exec(v.trim()) : null;
  if (m === null) return err(`invalid port range ${show(v)} (a port, or min:max)`);
  const min = Number(m[1]);
  const max = Number(m[2] ?? m[1]);
  if (min > 65535 || max > 65535) return err(`invalid port range ${show(v)} (ports must be 0 to 65535)`);
  if (min > max) return err(`invalid port range ${show(v)} (minimum ${min} is greater than maximum ${max})`);
  return ok({ min, max });
}

const formatRange = (r: PortRange): number | string => (r.min === r.max ? r.min : `${r.min}:${r.max}`);

const portRangeDecoder: Decoder<PortRange> = withSchema(INT_OR_STRING_SCHEMA, (v, path, issues) => {
  const r = parsePortRange(v);
  if (!r.ok) issues.add(path, r.error);
  return r.ok ? r.value : undefined;
});

/** numorstring.Port without names: `30000:32767` or a number. */
export function portRange(): ParamType<PortRange> {
  return { decode: portRangeDecoder, encode: formatRange, parseEnv: parsePortRange, equal: sameJson };
}

export function portRangeList(maxItems: number): ParamType<readonly PortRange[]> {
  return viaResourceForm<readonly PortRange[]>(
    list(portRangeDecoder, { maxItems }),
    (v) => v.map(formatRange),
    (raw) => ok(items(raw)),
  );
}

// ── string lists and maps ───────────────────────────────────────────────────────────────────────────

/** A list of strings (resource: a list; environment: comma-separated), each checked. */
export function stringList(check?: (s: string) => string | undefined): ParamType<readonly string[]> {
  return viaResourceForm<readonly string[]>(
    list(text(check).decode),
    (v) => [...v],
    (raw) => ok(items(raw)),
  );
}

export const cidrList = (): ParamType<readonly string[]> => stringList(cidrProblem);

/** A map of strings (bpfLogFilters: interface name -> filter); the environment form is `k=v,k=v`. */
export function stringMap(
  checkKey: (k: string) => string | undefined,
): ParamType<Readonly<Record<string, string>>> {
  const decode: Decoder<Record<string, string>> = withSchema(STRING_MAP_SCHEMA, (v, path, issues) => {
    if (!isRecord(v)) {
      issues.add(path, `expected a map of strings, got ${show(v)}`);
      return undefined;
    }
    const out: Record<string, string> = {};
    for (const [k, x] of Object.entries(v)) {
      const p = checkKey(k);
      if (p !== undefined) issues.add(entry(path, k), p);
      const s = str(x, entry(path, k), issues);
      if (s !== undefined && p === undefined) out[k] = s;
    }
    return out;
  });
  return viaResourceForm(
    decode,
    (v) => ({ ...v }),
    (raw) => {
      const kv = keyValues(raw);
      return kv.ok ? ok(Object.fromEntries(kv.value)) : kv;
    },
  );
}

// ── health timeout overrides ────────────────────────────────────────────────────────────────────────

export interface HealthTimeoutOverride {
  readonly name: string;
  /** Milliseconds. */
  readonly timeout: number;
}

/** healthTimeoutOverrides: `[{name, timeout}]`; the environment form is `Name=30s,Other=120`. */
export function healthTimeoutOverrides(): ParamType<readonly HealthTimeoutOverride[]> {
  const name = text((s) =>
    /^[a-zA-Z0-9_ -]+$/.test(s) ? undefined : `invalid name ${show(s)} (letters, digits, _, - and spaces)`,
  );
  const item = struct<HealthTimeoutOverride>({ name: req(name.decode), timeout: req(duration().decode) });
  return viaResourceForm<readonly HealthTimeoutOverride[]>(
    list(item),
    (v) => v.map((o) => ({ name: o.name, timeout: formatGoDuration(o.timeout) })),
    (raw) => {
      const kv = keyValues(raw);
      // Felix's env form gives seconds; the resource form is a Go duration.
      return kv.ok
        ? ok(kv.value.map(([n, t]) => ({ name: n, timeout: /^[0-9.]+$/.test(t) ? `${t}s` : t })))
        : kv;
    },
  );
}

// ── route table ranges ──────────────────────────────────────────────────────────────────────────────

export interface TableRange {
  readonly min: number;
  readonly max: number;
}

function tableRangeDecoder(maxTable: number): Decoder<TableRange> {
  const s = struct<TableRange>({ min: req(integer().decode), max: req(integer().decode) });
  return withSchema(schemaOf(s), (v, path, issues) => {
    const r = s(v, path, issues);
    if (r === undefined) return undefined;
    if (r.min >= 1 && r.min <= r.max && r.max <= maxTable) return r;
    issues.add(
      path,
      `invalid route table range ${r.min}-${r.max} (min 1 or more, min <= max, max ${maxTable} or less)`,
    );
    return undefined;
  });
}

const rangeJson = (item: string): Result<TableRange, string> => {
  const m = /^([0-9]+)-([0-9]+)$/.exec(item);
  return m === null
    ? err(`invalid route table range ${show(item)} (min-max)`)
    : ok({ min: Number(m[1]), max: Number(m[2]) });
};

/** routeTableRange `{min, max}` within 1 to 250; the environment form is `1-250`. */
export function tableRange(): ParamType<TableRange> {
  return viaResourceForm(
    tableRangeDecoder(250),
    (v) => ({ ...v }),
    (raw) => rangeJson(raw.trim()),
  );
}

/** routeTableRanges `[{min, max}]`, at most 65535 tables in all; the environment form is `1-250,300-400`. */
export function tableRanges(): ParamType<readonly TableRange[]> {
  const each = list(tableRangeDecoder(0xffff_ffff));
  const decode: Decoder<TableRange[]> = withSchema(schemaOf(each), (v, path, issues) => {
    const rs = each(v, path, issues);
    const tables = (rs ?? []).reduce((n, r) => n + r.max - r.min + 1, 0);
    if (tables <= 0xffff) return rs;
    issues.add(path, `targets too many tables (${tables} > 65535)`);
    return undefined;
  });
  return viaResourceForm<readonly TableRange[]>(
    decode,
    (v) => v.map((r) => ({ ...r })),
    (raw) => {
      const out: TableRange[] = [];
      for (const item of items(raw)) {
        const r = rangeJson(item);
        if (!r.ok) return r;
        out.push(r.value);
      }
      return ok(out);
    },
  );
}

// ── BPF conntrack timeouts, DSCP ────────────────────────────────────────────────────────────────────

export const CONNTRACK_TIMEOUT_KEYS = [
  'creationGracePeriod',
  'tcpSynSent',
  'tcpEstablished',
  'tcpFinsSeen',
  'tcpResetSeen',
  'udpTimeout',
  'genericTimeout',
  'icmpTimeout',
] as const;

export type ConntrackTimeouts = Partial<Record<(typeof CONNTRACK_TIMEOUT_KEYS)[number], string>>;

/** bpfConntrackTimeouts: per-protocol timeouts (`10s`, `1h`) or `Auto`; the environment form is `TCPSynSent=20s,...`. */
export function conntrackTimeouts(): ParamType<ConntrackTimeouts> {
  const value = text((s) =>
    /^(([0-9]*(\.[0-9]*)?(ms|s|h|m|us)+)+|Auto)$/.test(s)
      ? undefined
      : `invalid timeout ${show(s)} (e.g. 20s, 1h, Auto)`,
  );
  const spec = Object.fromEntries(CONNTRACK_TIMEOUT_KEYS.map((k) => [k, opt(value.decode)]));
  const decode = struct<ConntrackTimeouts>(spec as Parameters<typeof struct<ConntrackTimeouts>>[0]);
  return viaResourceForm(
    decode,
    (v) => ({ ...v }),
    (raw) => {
      const kv = keyValues(raw);
      // Felix's env keys are the Go field names (TCPSynSent); the resource's are camelCase (tcpSynSent).
      const byLower = new Map(CONNTRACK_TIMEOUT_KEYS.map((k) => [k.toLowerCase(), k]));
      return kv.ok
        ? ok(Object.fromEntries(kv.value.map(([k, v]) => [byLower.get(k.toLowerCase()) ?? k, v])))
        : kv;
    },
  );
}

const DSCP_NAMES = [
  'DF',
  'EF',
  'LE',
  ...[1, 2, 3, 4].flatMap((c) => [1, 2, 3].map((d) => `AF${c}${d}`)),
  ...[0, 1, 2, 3, 4, 5, 6, 7].map((c) => `CS${c}`),
];

function parseDscp(v: unknown): Result<number | string, string> {
  if (typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= 63) return ok(v);
  if (typeof v === 'string' && /^[0-9]+$/.test(v.trim())) return parseDscp(Number(v));
  if (typeof v === 'string' && DSCP_NAMES.includes(v.trim().toUpperCase())) return ok(v.trim().toUpperCase());
  return err(`invalid DSCP ${show(v)} (0 to 63, or a name such as EF, AF11, CS1)`);
}

/** numorstring.DSCP: 0 to 63, or a class name (`EF`, `AF11`, `CS1`, ...). */
export function dscp(): ParamType<number | string> {
  return {
    decode: withSchema(INT_OR_STRING_SCHEMA, (v, path, issues) => {
      const r = parseDscp(v);
      if (!r.ok) issues.add(path, r.error);
      return r.ok ? r.value : undefined;
    }),
    encode: (v) => v,
    parseEnv: parseDscp,
    equal: (a, b) => a === b,
  };
}
