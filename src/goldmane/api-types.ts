/**
 * The request and result messages of Goldmane's query API (api.proto beside this file), in the shapes
 * @grpc/proto-loader decodes them with LOADER_OPTIONS (src/goldmane/proto.ts): snake_case fields, enums as their
 * names, int64 as numbers, defaults filled in, an unset message field `null`. The flow records themselves
 * (Flow, FlowKey, PolicyHit, ...) are in src/flows/types.ts.
 *
 * Requests sent by the client may leave any field out (proto3 defaults); the server sees them with defaults.
 */
import type { Action, Flow, PolicyHit, PolicyKind, Reporter } from '../flows/types.js';

export const MATCH_TYPES = ['Exact', 'Fuzzy'] as const;
/** Exact: the value equals; Fuzzy: the value contains the string (Goldmane's `strings.Contains`). */
export type MatchType = (typeof MATCH_TYPES)[number];

export interface StringMatch {
  value: string;
  type: MatchType;
}

export interface PortMatch {
  port: number;
}

/** Every field optional in meaning: an empty list, null or `KindUnspecified`/`ActionUnspecified` matches all. */
export interface PolicyMatch {
  kind: PolicyKind;
  tier: StringMatch | null;
  namespace: StringMatch | null;
  name: StringMatch | null;
  action: Action;
}

/** Lists are ORed within a field and ANDed across fields, as in Goldmane. */
export interface Filter {
  source_names: StringMatch[];
  source_namespaces: StringMatch[];
  dest_names: StringMatch[];
  dest_namespaces: StringMatch[];
  protocols: StringMatch[];
  dest_ports: PortMatch[];
  actions: Action[];
  policies: PolicyMatch[];
  reporter: Reporter;
  pending_actions: Action[];
}

export const SORT_BYS = [
  'Time',
  'DestName',
  'DestNamespace',
  'DestType',
  'SourceName',
  'SourceNamespace',
  'SourceType',
] as const;
export type SortBy = (typeof SORT_BYS)[number];

export interface SortOption {
  sort_by: SortBy;
}

/**
 * Times are Unix seconds; 0 means "the beginning of history" (gte) or "now" (lt); a negative value is relative to
 * now (-900 = 15 minutes ago). `page` counts from 0; `page_size` 0 returns everything.
 */
export interface FlowListRequest {
  start_time_gte: number;
  start_time_lt: number;
  page: number;
  page_size: number;
  sort_by: SortOption[];
  filter: Filter | null;
  aggregation_interval: number;
}

export interface ListMetadata {
  totalPages: number;
  totalResults: number;
}

export interface FlowResult {
  id: number;
  flow: Flow | null;
}

export interface FlowListResult {
  meta: ListMetadata | null;
  flows: FlowResult[];
}

export interface FlowStreamRequest {
  start_time_gte: number;
  filter: Filter | null;
  aggregation_interval: number;
}

export const FILTER_TYPES = [
  'FilterTypeUnspecified',
  'FilterTypeDestName',
  'FilterTypeSourceName',
  'FilterTypeDestNamespace',
  'FilterTypeSourceNamespace',
  'FilterTypePolicyTier',
  'FilterTypePolicyName',
  'FilterTypePolicyKind',
  'FilterTypePolicyNamespace',
] as const;
export type FilterType = (typeof FILTER_TYPES)[number];

export interface FilterHintsRequest {
  type: FilterType;
  filter: Filter | null;
  start_time_gte: number;
  start_time_lt: number;
  page: number;
  page_size: number;
}

export interface FilterHint {
  value: string;
}

export interface FilterHintsResult {
  meta: ListMetadata | null;
  hints: FilterHint[];
}

export const STATISTIC_TYPES = ['PacketCount', 'ByteCount', 'LiveConnectionCount'] as const;
export type StatisticType = (typeof STATISTIC_TYPES)[number];

export const STATISTICS_GROUP_BYS = ['Policy', 'PolicyRule'] as const;
export type StatisticsGroupBy = (typeof STATISTICS_GROUP_BYS)[number];

export const RULE_DIRECTIONS = ['Any', 'Ingress', 'Egress'] as const;
export type RuleDirection = (typeof RULE_DIRECTIONS)[number];

export interface StatisticsRequest {
  start_time_gte: number;
  start_time_lt: number;
  type: StatisticType;
  group_by: StatisticsGroupBy;
  policy_match: PolicyMatch | null;
  time_series: boolean;
}

/**
 * One policy (group_by Policy) or one rule of a policy (PolicyRule: `policy.rule_index` and `policy.action`
 * set). The six series have one value per bucket (time_series, `x` the buckets' start times) or one total.
 */
export interface StatisticsResult {
  policy: PolicyHit | null;
  direction: RuleDirection;
  group_by: StatisticsGroupBy;
  type: StatisticType;
  allowed_in: number[];
  allowed_out: number[];
  denied_in: number[];
  denied_out: number[];
  passed_in: number[];
  passed_out: number[];
  x: number[];
}

/** What a caller writes: any field may be left out (proto3 defaults), in nested matches too. */
export type PolicyMatchInput = Partial<PolicyMatch>;
export type FilterInput = Partial<Omit<Filter, 'policies'>> & { policies?: PolicyMatchInput[] };
export type FlowListQuery = Partial<Omit<FlowListRequest, 'filter'>> & { filter?: FilterInput | null };
export type FlowStreamQuery = Partial<Omit<FlowStreamRequest, 'filter'>> & { filter?: FilterInput | null };
export type FilterHintsQuery = Partial<Omit<FilterHintsRequest, 'filter'>> & {
  filter?: FilterInput | null;
};
export type StatisticsQuery = Partial<Omit<StatisticsRequest, 'policy_match'>> & {
  policy_match?: PolicyMatchInput | null;
};

/** An empty filter (matches every flow), to spread into. */
export function emptyFilter(): Filter {
  return {
    source_names: [],
    source_namespaces: [],
    dest_names: [],
    dest_namespaces: [],
    protocols: [],
    dest_ports: [],
    actions: [],
    policies: [],
    reporter: 'ReporterUnspecified',
    pending_actions: [],
  };
}
