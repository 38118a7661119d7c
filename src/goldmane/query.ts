/**
 * The ordering, paging and hint extraction of Goldmane's queries (storage/index.go, ring_index.go,
 * bucket_ring.go FilterHints): List sorts by time, newest first (the default), or by a name/namespace
 * ascending with the flow id breaking ties; pages count from 0 and a page size of 0 means everything; hints
 * are the distinct values, sorted; policy hints skip profiles and name an end of tier by its trigger.
 */
import type { FlowKey, PolicyHit } from '../flows/types.js';
import type { FilterType, FlowResult, ListMetadata, SortBy } from './api-types.js';

export function listMeta(total: number, pageSize: number): ListMetadata {
  if (total === 0) return { totalPages: 0, totalResults: 0 };
  return { totalPages: pageSize > 0 ? Math.ceil(total / pageSize) : 1, totalResults: total };
}

export function page<T>(items: readonly T[], pageNo: number, pageSize: number): T[] {
  if (pageSize <= 0) return [...items];
  const from = Math.max(0, pageNo) * pageSize;
  return items.slice(from, from + pageSize);
}

type NameSort = Exclude<SortBy, 'Time' | 'DestType' | 'SourceType'>;

function sortValue(k: FlowKey, by: NameSort): string {
  switch (by) {
    case 'DestName':
      return k.dest_name;
    case 'DestNamespace':
      return k.dest_namespace;
    case 'SourceName':
      return k.source_name;
    case 'SourceNamespace':
      return k.source_namespace;
  }
}

export function sortFlows(results: FlowResult[], by: Exclude<SortBy, 'DestType' | 'SourceType'>): void {
  if (by === 'Time') {
    results.sort((a, b) => b.flow!.start_time - a.flow!.start_time || a.id - b.id);
    return;
  }
  results.sort((a, b) => {
    const va = sortValue(a.flow!.Key, by);
    const vb = sortValue(b.flow!.Key, by);
    return va < vb ? -1 : va > vb ? 1 : a.id - b.id;
  });
}

function policyValues(keys: readonly FlowKey[], field: (h: PolicyHit) => string): string[] {
  const out: string[] = [];
  for (const k of keys) {
    for (const h of [...k.policies.enforced_policies, ...k.policies.pending_policies]) {
      if (h.kind === 'Profile') continue;
      out.push(field(h.trigger ?? h));
    }
  }
  return out;
}

/** The sorted distinct values of one field over the keys; undefined for FilterTypeUnspecified. */
export function hintValues(type: FilterType, keys: readonly FlowKey[]): string[] | undefined {
  let values: string[];
  switch (type) {
    case 'FilterTypeUnspecified':
      return undefined;
    case 'FilterTypeDestName':
      values = keys.map((k) => k.dest_name);
      break;
    case 'FilterTypeSourceName':
      values = keys.map((k) => k.source_name);
      break;
    case 'FilterTypeDestNamespace':
      values = keys.map((k) => k.dest_namespace);
      break;
    case 'FilterTypeSourceNamespace':
      values = keys.map((k) => k.source_namespace);
      break;
    case 'FilterTypePolicyTier':
      values = policyValues(keys, (h) => h.tier);
      break;
    case 'FilterTypePolicyName':
      values = policyValues(keys, (h) => h.name);
      break;
    case 'FilterTypePolicyKind':
      values = policyValues(keys, (h) => h.kind);
      break;
    case 'FilterTypePolicyNamespace':
      values = policyValues(keys, (h) => h.namespace);
      break;
  }
  return [...new Set(values)].sort();
}
