/**
 * Flow identity in the aggregator: Goldmane merges flows whose whole FlowKey is equal, policy trace included.
 * `flowKeyId` is that equality as a string (the aggregator's map key); `normalizeKey` turns a decoded key (where an
 * unset trace is null) into one with every field present, so two reporters' encodings of one flow meet.
 */
import type { FlowKey, PolicyHit, PolicyTrace } from '../flows/types.js';

const SEP = '\u001f';

function hitId(h: PolicyHit): string {
  const t = h.trigger === null ? '' : `>${hitId(h.trigger)}`;
  return `${h.kind},${h.namespace},${h.name},${h.tier},${h.action},${h.policy_index},${h.rule_index}${t}`;
}

function traceId(p: PolicyTrace): string {
  return `${p.enforced_policies.map(hitId).join(';')}|${p.pending_policies.map(hitId).join(';')}`;
}

/** A string equal for two keys exactly when Goldmane's FlowKey equality holds. */
export function flowKeyId(k: FlowKey): string {
  return [
    k.source_name,
    k.source_namespace,
    k.source_type,
    k.dest_name,
    k.dest_namespace,
    k.dest_type,
    k.dest_port,
    k.dest_service_name,
    k.dest_service_namespace,
    k.dest_service_port_name,
    k.dest_service_port,
    k.proto,
    k.reporter,
    k.action,
    traceId(k.policies),
  ].join(SEP);
}

const EMPTY_TRACE: PolicyTrace = { enforced_policies: [], pending_policies: [] };

/** A decoded key with its trace present (proto3 leaves an empty message field null on the wire). */
export function normalizeKey(k: FlowKey): FlowKey {
  const policies = (k.policies as PolicyTrace | null) ?? EMPTY_TRACE;
  return policies === k.policies ? k : { ...k, policies };
}

/** Every hit of the trace, enforced then pending. */
export function allHits(k: FlowKey): PolicyHit[] {
  return [...k.policies.enforced_policies, ...k.policies.pending_policies];
}

/**
 * Goldmane's label intersection: the `k=v` strings both sets hold, in the first one's order (labels shared by
 * every endpoint that contributed to the aggregated flow). An empty side is "no labels known yet" only in
 * `AggregateWindows`; here, as in `addToWindow`, it intersects to empty.
 */
export function intersectLabels(a: readonly string[], b: readonly string[]): readonly string[] {
  if (a === b) return a;
  if (a.length === b.length && a.every((v, i) => v === b[i])) return a;
  const set = new Set(b);
  return a.filter((v) => set.has(v));
}
