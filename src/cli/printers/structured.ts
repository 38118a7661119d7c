/**
 * `-o yaml` / `-o json`: one object for a single named get, otherwise a `<Kind>List` (or `List` for mixed
 * kinds) with `items`, which every write command reads back. YAML keys are sorted at every level, as
 * calicoctl's YAML (generated from JSON) has them; JSON keeps Go's field order (kind, apiVersion,
 * metadata, spec).
 */
import { kindInfo } from '../../api/kinds.js';
import type { Resource } from '../../datastore/index.js';
import { isObj, type Obj } from '../objects.js';

export { toYaml } from '../../api/yaml-output.js';

const META_ORDER = [
  'name',
  'generateName',
  'namespace',
  'selfLink',
  'uid',
  'resourceVersion',
  'generation',
  'creationTimestamp',
  'deletionTimestamp',
  'deletionGracePeriodSeconds',
  'labels',
  'annotations',
  'ownerReferences',
  'finalizers',
];
const TOP_ORDER = ['kind', 'apiVersion', 'metadata', 'spec', 'items', 'status'];

function ordered(obj: Obj, order: readonly string[]): Obj {
  const out: Obj = {};
  for (const k of order) if (k in obj) out[k] = obj[k];
  for (const [k, v] of Object.entries(obj)) if (!(k in out)) out[k] = v;
  return out;
}

function goOrder(v: unknown): unknown {
  if (!isObj(v)) return v;
  const top = ordered(v, TOP_ORDER);
  if (isObj(top['metadata'])) top['metadata'] = ordered(top['metadata'], META_ORDER);
  if (Array.isArray(top['items'])) top['items'] = top['items'].map(goOrder);
  return top;
}

/** The list object for `items` of one internal kind (or of several: a plain v1 `List`). */
export function listObject(kinds: readonly string[], items: readonly Resource[], revision: number): Obj {
  const distinct = [...new Set(kinds)];
  const info = distinct.length === 1 && distinct[0] !== undefined ? kindInfo(distinct[0]) : undefined;
  const documentKind =
    items[0]?.kind ?? (info?.kind === 'KubernetesNetworkPolicy' ? 'NetworkPolicy' : info?.kind);
  return {
    apiVersion: info?.apiVersion ?? 'v1',
    kind: info === undefined || documentKind === undefined ? 'List' : `${documentKind}List`,
    metadata: { resourceVersion: String(revision) },
    items,
  };
}

export function toJson(value: unknown): string {
  return `${JSON.stringify(goOrder(value), null, 2)}\n`;
}
