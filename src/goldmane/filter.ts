/**
 * Goldmane's flow filter (goldmane/pkg/types/filters.go): a flow matches when every non-empty field of the Filter
 * matches; within a field the entries are ORed. String matches are Exact (equal) or Fuzzy (contains). Names
 * `pub` / `pvt` also answer to `PUBLIC NETWORK` / `PRIVATE NETWORK`; the global namespace `-` also to `Global`.
 * Policy matches look at every hit of the enforced and the pending trace; pending actions at the pending trace.
 */
import type { FlowKey, PolicyHit } from '../flows/types.js';
import type { Filter, PolicyMatch, StringMatch } from './api-types.js';

function nameAliases(n: string): readonly string[] {
  if (n === 'pub') return ['PUBLIC NETWORK', 'pub'];
  if (n === 'pvt') return ['PRIVATE NETWORK', 'pvt'];
  return [n];
}

function namespaceAliases(n: string): readonly string[] {
  return n === '-' || n === 'Global' ? ['-', 'Global'] : [n];
}

/** One StringMatch against one value; an absent or empty match matches everything. */
export function stringMatches(m: StringMatch | null | undefined, value: string): boolean {
  if (m === null || m === undefined || m.value === '') return true;
  return m.type === 'Exact' ? value === m.value : value.includes(m.value);
}

function anyStringMatches(ms: readonly StringMatch[], values: readonly string[]): boolean {
  if (ms.length === 0) return true;
  return ms.some((m) =>
    m.type === 'Exact' ? values.includes(m.value) : values.some((v) => v.includes(m.value)),
  );
}

/** One PolicyMatch against one hit (unset kind / action / strings match anything). */
export function policyHitMatches(m: PolicyMatch, h: PolicyHit): boolean {
  return (
    stringMatches(m.name, h.name) &&
    (m.kind === 'KindUnspecified' || m.kind === h.kind) &&
    stringMatches(m.namespace, h.namespace) &&
    stringMatches(m.tier, h.tier) &&
    (m.action === 'ActionUnspecified' || m.action === h.action)
  );
}

function policiesMatch(ms: readonly PolicyMatch[], k: FlowKey): boolean {
  if (ms.length === 0) return true;
  const hits = [...k.policies.enforced_policies, ...k.policies.pending_policies];
  return hits.some((h) => ms.some((m) => policyHitMatches(m, h)));
}

/** Whether the flow key passes the filter (null: every flow). */
export function filterMatches(f: Filter | null, k: FlowKey): boolean {
  if (f === null) return true;
  return (
    anyStringMatches(f.source_names, nameAliases(k.source_name)) &&
    anyStringMatches(f.dest_names, nameAliases(k.dest_name)) &&
    anyStringMatches(f.source_namespaces, namespaceAliases(k.source_namespace)) &&
    anyStringMatches(f.dest_namespaces, namespaceAliases(k.dest_namespace)) &&
    anyStringMatches(f.protocols, [k.proto]) &&
    (f.actions.length === 0 || f.actions.includes(k.action)) &&
    (f.pending_actions.length === 0 ||
      k.policies.pending_policies.some((h) => f.pending_actions.includes(h.action))) &&
    (f.reporter === 'ReporterUnspecified' || f.reporter === k.reporter) &&
    (f.dest_ports.length === 0 || f.dest_ports.some((p) => p.port === k.dest_port)) &&
    policiesMatch(f.policies, k)
  );
}
