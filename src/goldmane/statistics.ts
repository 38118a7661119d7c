/**
 * Per-policy and per-rule counters of one aggregation bucket (Goldmane's statisticsIndex, storage/stats.go).
 * Every hit of a flow's enforced and pending traces counts the flow's packets, bytes and live connections under
 * the hit's action (allowed / denied / passed) and direction (reporter Src = egress = "out", Dst = ingress =
 * "in"); an end-of-tier hit counts for the policy that triggered it. A policy's totals add each distinct rule
 * hit once. Statistics.List merges the buckets of its time range: one value per bucket or one total.
 */
import type { Action, Flow, PolicyHit, PolicyKind } from '../flows/types.js';
import type {
  RuleDirection,
  StatisticsGroupBy,
  StatisticsRequest,
  StatisticsResult,
  StatisticType,
} from './api-types.js';
import { stringMatches } from './filter.js';

/** allowed_in, allowed_out, denied_in, denied_out, passed_in, passed_out for packets, bytes, connections. */
type Counts = Float64Array;
const SLOTS = 6;
const TYPE_OFFSET: Record<StatisticType, number> = { PacketCount: 0, ByteCount: 6, LiveConnectionCount: 12 };

function addCounts(c: Counts, f: Flow, action: Action, dir: 'Ingress' | 'Egress'): void {
  let base: number;
  switch (action) {
    case 'Allow':
      base = 0;
      break;
    case 'Deny':
      base = 2;
      break;
    case 'Pass':
      base = 4;
      break;
    case 'ActionUnspecified':
      return;
  }
  c[base] = c[base]! + f.packets_in;
  c[base + 1] = c[base + 1]! + f.packets_out;
  c[6 + base] = c[6 + base]! + f.bytes_in;
  c[6 + base + 1] = c[6 + base + 1]! + f.bytes_out;
  const live = 12 + base + (dir === 'Ingress' ? 0 : 1);
  c[live] = c[live]! + f.num_connections_live;
}

interface PolicyId {
  readonly kind: PolicyKind;
  readonly namespace: string;
  readonly name: string;
  readonly tier: string;
}

interface RuleStats {
  readonly action: Action;
  readonly ruleIndex: number;
  readonly direction: 'Ingress' | 'Egress';
  readonly counts: Counts;
}

interface PolicyStats {
  readonly id: PolicyId;
  readonly counts: Counts;
  readonly rules: Map<string, RuleStats>;
}

/** One row of a bucket's answer, before buckets are merged. */
export interface StatisticsRow {
  readonly key: string;
  readonly policy: PolicyHit;
  readonly direction: RuleDirection;
  /** The six values of the requested type. */
  readonly values: readonly number[];
}

export class BucketStatistics {
  readonly #policies = new Map<string, PolicyStats>();

  add(f: Flow): void {
    const dir = f.Key.reporter === 'Src' ? 'Egress' : 'Ingress';
    const seen = new Map<string, Map<string, { action: Action; ruleIndex: number }>>();
    for (const hit of [...f.Key.policies.enforced_policies, ...f.Key.policies.pending_policies]) {
      const meta = hit.kind === 'EndOfTier' && hit.trigger !== null ? hit.trigger : hit;
      const pk = `${meta.kind}\u001f${meta.namespace}\u001f${meta.name}\u001f${meta.tier}`;
      let rules = seen.get(pk);
      if (rules === undefined) {
        rules = new Map();
        seen.set(pk, rules);
        if (!this.#policies.has(pk)) {
          const id = { kind: meta.kind, namespace: meta.namespace, name: meta.name, tier: meta.tier };
          this.#policies.set(pk, { id, counts: new Float64Array(18), rules: new Map() });
        }
      }
      const rk = `${hit.rule_index}\u001f${dir}`;
      // A rule seen twice in one flow with two actions keeps the first (Goldmane logs the conflict).
      if (!rules.has(rk)) rules.set(rk, { action: hit.action, ruleIndex: hit.rule_index });
    }
    for (const [pk, rules] of seen) {
      const ps = this.#policies.get(pk)!;
      for (const [rk, { action, ruleIndex }] of rules) {
        addCounts(ps.counts, f, action, dir);
        const key = `${rk}\u001f${action}`;
        let rs = ps.rules.get(key);
        if (rs === undefined) {
          rs = { action, ruleIndex, direction: dir, counts: new Float64Array(18) };
          ps.rules.set(key, rs);
        }
        addCounts(rs.counts, f, action, dir);
      }
    }
  }

  /** The rows this bucket contributes to the request. */
  query(q: StatisticsRequest): StatisticsRow[] {
    const rows: StatisticsRow[] = [];
    const m = q.policy_match;
    const off = TYPE_OFFSET[q.type];
    const values = (c: Counts): number[] => Array.from(c.subarray(off, off + SLOTS));
    for (const [pk, ps] of this.#policies) {
      const id = ps.id;
      if (
        m !== null &&
        (!stringMatches(m.namespace, id.namespace) ||
          !stringMatches(m.name, id.name) ||
          !stringMatches(m.tier, id.tier) ||
          (m.kind !== 'KindUnspecified' && m.kind !== id.kind))
      ) {
        continue;
      }
      const action = m?.action ?? 'ActionUnspecified';
      const hit = (a: Action, ruleIndex: number): PolicyHit => ({
        ...id,
        action: a,
        policy_index: 0,
        rule_index: ruleIndex,
        trigger: null,
      });
      switch (q.group_by) {
        case 'Policy':
          if (action !== 'ActionUnspecified' && ![...ps.rules.values()].some((r) => r.action === action)) {
            continue;
          }
          rows.push({
            key: pk,
            policy: hit('ActionUnspecified', 0),
            direction: 'Any',
            values: values(ps.counts),
          });
          break;
        case 'PolicyRule':
          for (const [rk, rs] of ps.rules) {
            if (action !== 'ActionUnspecified' && rs.action !== action) continue;
            rows.push({
              key: `${pk}\u001f${rk}`,
              policy: hit(rs.action, rs.ruleIndex),
              direction: rs.direction,
              values: values(rs.counts),
            });
          }
          break;
      }
    }
    return rows;
  }
}

function emptyResult(row: StatisticsRow, q: StatisticsRequest): StatisticsResult {
  return {
    policy: row.policy,
    direction: row.direction,
    group_by: q.group_by,
    type: q.type,
    allowed_in: [],
    allowed_out: [],
    denied_in: [],
    denied_out: [],
    passed_in: [],
    passed_out: [],
    x: [],
  };
}

const SERIES = ['allowed_in', 'allowed_out', 'denied_in', 'denied_out', 'passed_in', 'passed_out'] as const;

/**
 * Merges the rows of consecutive buckets (oldest first): a time series has one point per bucket the row
 * appears in (`x` the bucket's start), otherwise one summed value per series. Sorted by policy, then direction.
 */
export function mergeStatistics(
  buckets: readonly { readonly start: number; readonly rows: readonly StatisticsRow[] }[],
  q: StatisticsRequest,
): StatisticsResult[] {
  const results = new Map<string, StatisticsResult>();
  for (const b of buckets) {
    for (const row of b.rows) {
      let r = results.get(row.key);
      if (r === undefined) {
        r = emptyResult(row, q);
        results.set(row.key, r);
      }
      for (let i = 0; i < SLOTS; i++) {
        const series = r[SERIES[i]!];
        if (q.time_series || series.length === 0) series.push(row.values[i]!);
        else series[0] = series[0]! + row.values[i]!;
      }
      if (q.time_series) r.x.push(b.start);
    }
  }
  return [...results.values()].sort((a, b) => compareResults(a, b, q.group_by));
}

const DIRECTION_ORDER: Record<RuleDirection, number> = { Any: 0, Ingress: 1, Egress: 2 };

function compareResults(a: StatisticsResult, b: StatisticsResult, g: StatisticsGroupBy): number {
  const pa = a.policy!;
  const pb = b.policy!;
  const fields = (p: PolicyHit): string[] => [p.tier, p.kind, p.namespace, p.name];
  const fa = fields(pa);
  const fb = fields(pb);
  for (let i = 0; i < fa.length; i++) {
    if (fa[i] !== fb[i]) return fa[i]! < fb[i]! ? -1 : 1;
  }
  if (g === 'PolicyRule' && pa.rule_index !== pb.rule_index) return pa.rule_index - pb.rule_index;
  if (pa.action !== pb.action) return pa.action < pb.action ? -1 : 1;
  return DIRECTION_ORDER[a.direction] - DIRECTION_ORDER[b.direction];
}
