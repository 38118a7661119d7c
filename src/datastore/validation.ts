/**
 * Whether a stored resource is fit to be applied: it decodes and validates as its kind (`decodeResource`,
 * every problem with its field path) and its envelope matches the key it is stored under. The syncer's
 * validation filter and calicoctl's listings ask the same question, so a resource the agent holds back is
 * also the one calicoctl reports.
 */
import { decodeResource } from '../api/decode.js';
import { internalKind } from '../api/kinds.js';
import { codecsForKind } from '../api/registry.js';
import { formatIssue } from '../lib/errors.js';
import type { InvalidStoredValue, ListResult, Resource, ResourceKey } from './api.js';
import { keyOf } from './resource.js';
import { StoredValueError } from './stored.js';

/** At most this many field problems are named in one problem text (the rest are counted). */
const MAX_ISSUES = 5;

/**
 * The problem with `value` stored under `key`, or undefined when it is valid. Kinds without a decoder
 * (ClusterInformation, KubeControllersConfiguration) are checked for their envelope only.
 */
export function resourceProblem(key: ResourceKey, value: Resource): string | undefined {
  const kind = internalKind(value.apiVersion, value.kind);
  if (kind !== key.kind) return `kind mismatch: stored under ${key.kind}, the value is a ${kind}`;
  if (value.metadata.name !== key.name || value.metadata.namespace !== key.namespace) {
    return 'name or namespace does not match the key it is stored under';
  }
  if (codecsForKind(value.kind).length === 0) return undefined;
  const decoded = decodeResource(value);
  if (decoded.ok) return undefined;
  const shown = decoded.error.slice(0, MAX_ISSUES).map(formatIssue);
  const more = decoded.error.length - shown.length;
  return `invalid ${key.kind}: ${shown.join('; ')}${more > 0 ? ` (and ${more} more)` : ''}`;
}

/** A list with the items that do not validate moved to `invalid` (calicoctl's listings). */
export function validatedList(list: ListResult): ListResult {
  const items: Resource[] = [];
  const invalid: InvalidStoredValue[] = [...list.invalid];
  for (const item of list.items) {
    const key = keyOf(item);
    const problem = resourceProblem(key, item);
    if (problem === undefined) items.push(item);
    else invalid.push({ key, revision: Number(item.metadata.resourceVersion ?? 0), problem });
  }
  return { items, invalid, revision: list.revision };
}

/** `value` as read by `get`, or StoredValueError when it does not validate (calicoctl's named gets). */
export function validatedValue(key: ResourceKey, value: Resource): Resource {
  const problem = resourceProblem(key, value);
  if (problem === undefined) return value;
  throw new StoredValueError({ key, revision: Number(value.metadata.resourceVersion ?? 0), problem });
}
