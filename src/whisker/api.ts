/**
 * whisker-backend's HTTP API (Calico v3.32 whisker-backend/pkg/apis/v1), as pure conversions:
 *
 *   GET /flows?filters=<JSON>&startTimeGte=&startTimeLt=&sortBy=&page=&pageSize=   → {"total":{"totalPages"},"items"}
 *   GET /flows?watch=true&filters=<JSON>&startTimeGte=                              → text/event-stream, `data: <flow>`
 *   GET /flows-filter-hints?type=DestName&filters=<JSON>&page=&pageSize=            → {"total", "items":[{"value"}]}
 *
 * `filters` is whisker-backend's JSON object: `source_names`, `source_namespaces`, `dest_names`,
 * `dest_namespaces`, `protocols` ([{"value","type":"Exact"|"Fuzzy"}]), `dest_ports` ([{"value":N}]),
 * `actions`, `pending_actions` (["Allow"|"Deny"|"Pass"]), `policies` ([{"kind","tier","name","namespace",
 * "action"}]), `reporter` ("Src"|"Dst"). As whisker-backend does, namespace `Global` stands for `-` and the
 * names `PUBLIC NETWORK` / `PRIVATE NETWORK` for Goldmane's `pub` / `pvt`, both ways.
 */
import { ACTIONS, POLICY_KINDS, REPORTERS } from '../flows/types.js';
import type { Action, Flow, PolicyHit, PolicyKind, Reporter } from '../flows/types.js';
import { err, ok, type Result } from '../lib/result.js';
import {
  emptyFilter,
  FILTER_TYPES,
  MATCH_TYPES,
  SORT_BYS,
  type Filter,
  type FilterHintsRequest,
  type FilterType,
  type FlowListRequest,
  type FlowStreamRequest,
  type PolicyMatch,
  type StringMatch,
} from '../goldmane/api-types.js';

const GLOBAL = 'Global';
const NAME_ALIASES: readonly (readonly [string, string])[] = [
  ['pub', 'PUBLIC NETWORK'],
  ['pvt', 'PRIVATE NETWORK'],
];

export function namespaceFromProto(ns: string): string {
  return ns === '' || ns === '-' ? GLOBAL : ns;
}
function namespaceToProto(ns: string): string {
  return ns === GLOBAL ? '-' : ns;
}
export function nameFromProto(name: string): string {
  return NAME_ALIASES.find(([p]) => p === name)?.[1] ?? name;
}
function nameToProto(name: string): string {
  return NAME_ALIASES.find(([, shown]) => shown === name)?.[0] ?? name;
}

/** A flow as whisker-backend returns it (FlowResponse). */
export interface FlowResponse {
  start_time: string;
  end_time: string;
  action: Action;
  source_name: string;
  source_namespace: string;
  source_labels: string;
  dest_name: string;
  dest_namespace: string;
  dest_labels: string;
  protocol: string;
  dest_port: number;
  reporter: Reporter;
  policies: { enforced: PolicyHitResponse[]; pending: PolicyHitResponse[] };
  packets_in: number;
  packets_out: number;
  bytes_in: number;
  bytes_out: number;
}

export interface PolicyHitResponse {
  kind: PolicyKind;
  name: string;
  namespace: string;
  tier: string;
  action: Action;
  policy_index: number;
  rule_index: number;
  trigger: PolicyHitResponse | null;
}

/** Go's time.Time JSON form (RFC 3339, seconds). */
function rfc3339(unixSeconds: number): string {
  return new Date(unixSeconds * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function hitResponse(hit: PolicyHit): PolicyHitResponse {
  return {
    kind: hit.kind,
    name: hit.name,
    namespace: hit.namespace,
    tier: hit.tier,
    action: hit.action,
    policy_index: hit.policy_index,
    rule_index: hit.rule_index,
    trigger: hit.trigger === null ? null : hitResponse(hit.trigger),
  };
}

export function flowResponse(flow: Flow): FlowResponse {
  const key = flow.Key;
  return {
    start_time: rfc3339(flow.start_time),
    end_time: rfc3339(flow.end_time),
    action: key.action,
    source_name: nameFromProto(key.source_name),
    source_namespace: key.source_namespace,
    source_labels: flow.source_labels.join(' | '),
    dest_name: nameFromProto(key.dest_name),
    dest_namespace: key.dest_namespace,
    dest_labels: flow.dest_labels.join(' | '),
    protocol: key.proto,
    dest_port: key.dest_port,
    reporter: key.reporter,
    policies: {
      enforced: key.policies.enforced_policies.map(hitResponse),
      pending: key.policies.pending_policies.map(hitResponse),
    },
    packets_in: flow.packets_in,
    packets_out: flow.packets_out,
    bytes_in: flow.bytes_in,
    bytes_out: flow.bytes_out,
  };
}

type Parsed<T> = Result<T, string>;

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function oneOf<T extends string>(v: unknown, allowed: readonly T[], field: string): Parsed<T> {
  if (typeof v === 'string' && (allowed as readonly string[]).includes(v)) return ok(v as T);
  return err(`${field}: unknown value ${JSON.stringify(v)}; allowed values are '${allowed.join("', '")}'`);
}

function listOf<T>(v: unknown, field: string, each: (item: unknown, at: string) => Parsed<T>): Parsed<T[]> {
  if (v === undefined || v === null) return ok([]);
  if (!Array.isArray(v)) return err(`${field}: must be a list`);
  const out: T[] = [];
  for (const [i, item] of v.entries()) {
    const r = each(item, `${field}[${i}]`);
    if (!r.ok) return r;
    out.push(r.value);
  }
  return ok(out);
}

function stringMatch(conv: (s: string) => string) {
  return (v: unknown, field: string): Parsed<StringMatch> => {
    if (!isObject(v) || typeof v['value'] !== 'string') return err(`${field}.value: must be a string`);
    const type =
      v['type'] === undefined ? ok('Exact' as const) : oneOf(v['type'], MATCH_TYPES, `${field}.type`);
    if (!type.ok) return type;
    return ok({ value: conv(v['value']), type: type.value });
  };
}

function optionalMatch(v: unknown, field: string): Parsed<StringMatch | null> {
  return v === undefined || v === null ? ok(null) : stringMatch((s) => s)(v, field);
}

function policyMatch(v: unknown, field: string): Parsed<PolicyMatch> {
  if (!isObject(v)) return err(`${field}: must be an object`);
  const kind =
    v['kind'] === undefined
      ? ok('KindUnspecified' as const)
      : oneOf(v['kind'], POLICY_KINDS, `${field}.kind`);
  if (!kind.ok) return kind;
  const action =
    v['action'] === undefined
      ? ok('ActionUnspecified' as const)
      : oneOf(v['action'], ACTIONS, `${field}.action`);
  if (!action.ok) return action;
  const tier = optionalMatch(v['tier'], `${field}.tier`);
  if (!tier.ok) return tier;
  const name = optionalMatch(v['name'], `${field}.name`);
  if (!name.ok) return name;
  const namespace = optionalMatch(v['namespace'], `${field}.namespace`);
  if (!namespace.ok) return namespace;
  return ok({
    kind: kind.value,
    action: action.value,
    tier: tier.value,
    name: name.value,
    namespace: namespace.value,
  });
}

function port(v: unknown, field: string): Parsed<{ port: number }> {
  const n = isObject(v) ? v['value'] : undefined;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 0 || n > 65535)
    return err(`${field}.value: must be a port number (0-65535)`);
  return ok({ port: n });
}

const action = (v: unknown, field: string): Parsed<Action> => oneOf(v, ACTIONS, field);

/** whisker-backend's `filters` query parameter (JSON) → Goldmane's Filter. */
export function parseFilters(text: string | null): Parsed<Filter> {
  const filter = emptyFilter();
  if (text === null || text === '') return ok(filter);
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    return err(`filters: not JSON (${e instanceof Error ? e.message : String(e)})`);
  }
  if (!isObject(v)) return err('filters: must be a JSON object');
  const steps: Parsed<unknown>[] = [];
  const take = <T>(r: Parsed<T>, set: (value: T) => void): void => {
    steps.push(r);
    if (r.ok) set(r.value);
  };
  take(
    listOf(v['source_names'], 'filters.source_names', stringMatch(nameToProto)),
    (x) => (filter.source_names = x),
  );
  take(
    listOf(v['dest_names'], 'filters.dest_names', stringMatch(nameToProto)),
    (x) => (filter.dest_names = x),
  );
  take(
    listOf(v['source_namespaces'], 'filters.source_namespaces', stringMatch(namespaceToProto)),
    (x) => (filter.source_namespaces = x),
  );
  take(
    listOf(v['dest_namespaces'], 'filters.dest_namespaces', stringMatch(namespaceToProto)),
    (x) => (filter.dest_namespaces = x),
  );
  take(
    listOf(
      v['protocols'],
      'filters.protocols',
      stringMatch((s) => s),
    ),
    (x) => (filter.protocols = x),
  );
  take(listOf(v['dest_ports'], 'filters.dest_ports', port), (x) => (filter.dest_ports = x));
  take(listOf(v['actions'], 'filters.actions', action), (x) => (filter.actions = x));
  take(listOf(v['pending_actions'], 'filters.pending_actions', action), (x) => (filter.pending_actions = x));
  take(listOf(v['policies'], 'filters.policies', policyMatch), (x) => (filter.policies = x));
  if (v['reporter'] !== undefined)
    take(oneOf(v['reporter'], REPORTERS, 'filters.reporter'), (x) => (filter.reporter = x));
  const known = new Set([
    'source_names',
    'dest_names',
    'source_namespaces',
    'dest_namespaces',
    'protocols',
    'dest_ports',
    'actions',
    'pending_actions',
    'policies',
    'reporter',
  ]);
  const unknown = Object.keys(v).find((k) => !known.has(k));
  if (unknown !== undefined) return err(`filters: unknown field ${JSON.stringify(unknown)}`);
  for (const step of steps) if (!step.ok) return err(step.error);
  return ok(filter);
}

function integer(q: URLSearchParams, name: string, min: number): Parsed<number> {
  const raw = q.get(name);
  if (raw === null || raw === '') return ok(0);
  const n = Number(raw);
  if (!Number.isSafeInteger(n) || n < min)
    return err(`${name}: must be an integer${min === 0 ? ' >= 0' : ''}`);
  return ok(n);
}

export type FlowsQuery =
  | { readonly watch: true; readonly request: FlowStreamRequest }
  | { readonly watch: false; readonly request: FlowListRequest };

/** The query of `GET /flows`: a list or, with `watch=true`, a stream. */
export function parseFlowsQuery(q: URLSearchParams): Parsed<FlowsQuery> {
  const filter = parseFilters(q.get('filters'));
  if (!filter.ok) return filter;
  const gte = integer(q, 'startTimeGte', Number.MIN_SAFE_INTEGER);
  if (!gte.ok) return gte;
  const watch = q.get('watch');
  if (watch !== null && watch !== 'true' && watch !== 'false') return err('watch: must be true or false');
  if (watch === 'true') {
    return ok({
      watch: true,
      request: { start_time_gte: gte.value, filter: filter.value, aggregation_interval: 0 },
    });
  }
  const lt = integer(q, 'startTimeLt', Number.MIN_SAFE_INTEGER);
  if (!lt.ok) return lt;
  const page = integer(q, 'page', 0);
  if (!page.ok) return page;
  const pageSize = integer(q, 'pageSize', 0);
  if (!pageSize.ok) return pageSize;
  const sortBy: FlowListRequest['sort_by'] = [];
  for (const s of q.getAll('sortBy')) {
    const r = oneOf(s, SORT_BYS, 'sortBy');
    if (!r.ok) return r;
    sortBy.push({ sort_by: r.value });
  }
  return ok({
    watch: false,
    request: {
      start_time_gte: gte.value,
      start_time_lt: lt.value,
      page: page.value,
      page_size: pageSize.value,
      sort_by: sortBy,
      filter: filter.value,
      aggregation_interval: 0,
    },
  });
}

const HINT_TYPES = FILTER_TYPES.filter((t) => t !== 'FilterTypeUnspecified').map((t) =>
  t.slice('FilterType'.length),
);

/** The query of `GET /flows-filter-hints` (`type` without its `FilterType` prefix, as whisker-backend takes it). */
export function parseHintsQuery(q: URLSearchParams): Parsed<FilterHintsRequest> {
  const t = q.get('type');
  if (t === null || t === '') return err(`type: required; allowed values are '${HINT_TYPES.join("', '")}'`);
  const type = oneOf(`FilterType${t}`, FILTER_TYPES, 'type');
  if (!type.ok || type.value === 'FilterTypeUnspecified')
    return err(`type: unknown filter type value ${t}; allowed values are '${HINT_TYPES.join("', '")}'`);
  const filter = parseFilters(q.get('filters'));
  if (!filter.ok) return filter;
  const page = integer(q, 'page', 0);
  if (!page.ok) return page;
  const pageSize = integer(q, 'pageSize', 0);
  if (!pageSize.ok) return pageSize;
  return ok({
    type: type.value,
    filter: filter.value,
    start_time_gte: 0,
    start_time_lt: 0,
    page: page.value,
    page_size: pageSize.value,
  });
}

/** A hint as the viewer shows it (`Global`, `PUBLIC NETWORK`), by the hint's type. */
export function hintValue(type: FilterType, value: string): string {
  switch (type) {
    case 'FilterTypeSourceNamespace':
    case 'FilterTypeDestNamespace':
      return namespaceFromProto(value);
    case 'FilterTypeSourceName':
    case 'FilterTypeDestName':
      return nameFromProto(value);
    case 'FilterTypeUnspecified':
    case 'FilterTypePolicyTier':
    case 'FilterTypePolicyName':
    case 'FilterTypePolicyKind':
    case 'FilterTypePolicyNamespace':
      return value;
  }
}
