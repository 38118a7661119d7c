/**
 * Generic helpers over stored objects (JSON objects with the resource envelope): field access by dotted
 * path, deep copies, key-sorted canonical forms, and the "same content" test that makes re-applying an
 * unchanged resource a no-op (spec and other top-level fields, labels and annotations; server-managed
 * metadata is ignored).
 */
import type { Resource } from '../datastore/index.js';
import { sortKeysDeep } from '../api/yaml-output.js';

export { sortKeysDeep };

export type Obj = Record<string, unknown>;

export function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The value at a dotted path (`spec.bgp.asNumber`), or undefined. */
export function fieldAt(obj: unknown, path: string): unknown {
  let cur: unknown = obj;
  for (const part of path.split('.')) {
    if (!isObj(cur)) return undefined;
    cur = cur[part];
  }
  return cur;
}

export function deepCopy<T>(v: T): T {
  return JSON.parse(JSON.stringify(v)) as T;
}

export function canonicalJson(v: unknown): string {
  return JSON.stringify(sortKeysDeep(v));
}

function nonEmptyMap(v: unknown): unknown {
  return isObj(v) && Object.keys(v).length > 0 ? v : undefined;
}

/** What a user controls in an object: every top-level field but the envelope and status, plus labels/annotations. */
export function userContent(r: Resource): unknown {
  const o = r as unknown as Obj;
  const rest: Obj = {};
  for (const [k, v] of Object.entries(o)) {
    if (k !== 'apiVersion' && k !== 'kind' && k !== 'metadata' && k !== 'status') rest[k] = v;
  }
  return {
    rest,
    labels: nonEmptyMap(r.metadata.labels),
    annotations: nonEmptyMap(r.metadata.annotations),
  };
}

export function sameContent(a: Resource, b: Resource): boolean {
  return canonicalJson(userContent(a)) === canonicalJson(userContent(b));
}

/**
 * The object to store when `desired` replaces `existing` (Calico's mergeMetadataForUpdate): all metadata
 * from the stored object except labels and annotations, which come from the new one.
 */
export function mergeForUpdate(existing: Resource, desired: Resource): Resource {
  const out = deepCopy(desired) as Resource & { metadata: Resource['metadata'] };
  const meta = { ...deepCopy(existing.metadata) };
  delete meta.labels;
  delete meta.annotations;
  if (desired.metadata.labels !== undefined) meta.labels = { ...desired.metadata.labels };
  if (desired.metadata.annotations !== undefined) meta.annotations = { ...desired.metadata.annotations };
  return { ...out, metadata: meta };
}

/**
 * The object to store for a new resource (Calico's prepareMetadataForCreate): only name, namespace, labels
 * and annotations are kept from the input's metadata; the store sets uid, creationTimestamp, resourceVersion.
 */
export function prepareForCreate(desired: Resource): Resource {
  const out = deepCopy(desired);
  const { name, namespace, labels, annotations } = desired.metadata;
  return {
    ...out,
    metadata: {
      name,
      ...(namespace === undefined ? {} : { namespace }),
      ...(labels === undefined ? {} : { labels: { ...labels } }),
      ...(annotations === undefined ? {} : { annotations: { ...annotations } }),
    },
  };
}
