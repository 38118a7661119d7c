/**
 * Makes a set of stored objects exactly a desired set: the ones not wanted are deleted, new or changed ones
 * written in one batch, unchanged ones left alone (an agent then sees no churn for them).
 */
import type { Backend, Resource } from '../datastore/index.js';
import { keyOf, keyString } from '../datastore/index.js';
import { labNamespace } from './resources.js';

/** `kinds` are internal kind names (`KubernetesNetworkPolicy`, `Namespace`, ...). */
export async function replaceResources(
  backend: Backend,
  kinds: readonly string[],
  desired: readonly Resource[],
  options: { readonly signal?: AbortSignal } = {},
): Promise<{ written: number; deleted: number }> {
  const want = new Map(desired.map((r) => [keyString(keyOf(r)), r]));
  const changed: Resource[] = [];
  const seen = new Set<string>();
  let deleted = 0;
  for (const kind of kinds) {
    const { items } = await backend.list({ kind }, options);
    for (const item of items) {
      const k = keyString(keyOf(item));
      const w = want.get(k);
      if (w === undefined) {
        await backend.delete(keyOf(item), options);
        deleted++;
      } else {
        seen.add(k);
        if (comparable(w) !== comparable(item)) changed.push(w);
      }
    }
  }
  for (const [k, r] of want) if (!seen.has(k)) changed.push(r);
  if (changed.length > 0) await backend.applyMany(changed, options);
  return { written: changed.length, deleted };
}

/**
 * A pod needs its Namespace (the `kns.` profile comes from it, and without a profile Calico drops the pod's
 * traffic): missing ones are created with the label Kubernetes gives every namespace.
 */
export async function ensureNamespaces(
  backend: Backend,
  names: readonly string[],
  options: { readonly signal?: AbortSignal } = {},
): Promise<void> {
  const { items } = await backend.list({ kind: 'Namespace' }, options);
  const have = new Set(items.map((i) => i.metadata.name));
  const missing = [...new Set(names)].filter((n) => !have.has(n));
  if (missing.length === 0) return;
  await backend.applyMany(
    missing.map((n) => labNamespace(n, { 'kubernetes.io/metadata.name': n })),
    options,
  );
}

/** What decides whether a stored object must be rewritten: identity, labels, annotations and spec. */
export function comparable(r: Resource): string {
  const { name, namespace, labels, annotations } = r.metadata;
  const spec = (r as unknown as { spec?: unknown }).spec;
  return stableJson({ apiVersion: r.apiVersion, kind: r.kind, name, namespace, labels, annotations, spec });
}

/** JSON with object keys sorted and undefined members dropped. */
export function stableJson(x: unknown): string {
  if (Array.isArray(x)) return `[${x.map(stableJson).join(',')}]`;
  if (typeof x === 'object' && x !== null) {
    const entries = Object.entries(x)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${stableJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(x === undefined ? null : x);
}
