/**
 * Helpers shared by the backends: key checks against the kind table, the relative key path both backends sort
 * by, and the metadata a store stamps on what it writes (uid, creationTimestamp, resourceVersion).
 */
import { randomUUID } from 'node:crypto';
import { internalKind, kindInfo, type KindInfo } from '../api/kinds.js';
import { AlreadyExistsError, ConflictError, NotFoundError, ValidationError } from '../lib/errors.js';
import type { Resource, ResourceKey, WatchFilter } from './api.js';

/** The key of an object, with the internal kind (`KubernetesNetworkPolicy` for k8s NetworkPolicies). */
export function keyOf(obj: Resource): ResourceKey {
  const kind = internalKind(obj.apiVersion, obj.kind);
  const { name, namespace } = obj.metadata;
  return namespace === undefined ? { kind, name } : { kind, namespace, name };
}

/** Calico's key rendering in error messages: `Kind(namespace/name)` or `Kind(name)`. */
export function formatKey(key: ResourceKey): string {
  return `${key.kind}(${keyPath(key)})`;
}

/** `<namespace>/<name>` or `<name>`: the key below the kind, in the order both backends list. */
export function keyPath(key: ResourceKey): string {
  return key.namespace === undefined ? key.name : `${key.namespace}/${key.name}`;
}

/** A stable string for maps: `Kind/namespace/name`. */
export function keyString(key: ResourceKey): string {
  return `${key.kind}/${keyPath(key)}`;
}

const SEGMENT = /^[^/\s]+$/;

/** Checks a key against the kind table; throws ValidationError listing every problem. */
export function checkKey(key: ResourceKey): KindInfo {
  const info = kindInfo(key.kind);
  const issues: { path: string; message: string }[] = [];
  if (info === undefined) issues.push({ path: 'kind', message: `unknown kind "${key.kind}"` });
  if (!SEGMENT.test(key.name)) issues.push({ path: 'metadata.name', message: `invalid name "${key.name}"` });
  if (info?.namespaced === true && key.namespace === undefined) {
    issues.push({ path: 'metadata.namespace', message: `namespace is required for ${key.kind}` });
  }
  if (info?.namespaced === false && key.namespace !== undefined) {
    issues.push({ path: 'metadata.namespace', message: `${key.kind} is not namespaced` });
  }
  if (key.namespace !== undefined && !SEGMENT.test(key.namespace)) {
    issues.push({ path: 'metadata.namespace', message: `invalid namespace "${key.namespace}"` });
  }
  if (info === undefined || issues.length > 0) throw new ValidationError(issues, formatKey(key));
  return info;
}

/** Checks a list/watch filter: known kind, namespace only for namespaced kinds. */
export function checkKindFilter(kind: string, namespace: string | undefined): KindInfo {
  const info = kindInfo(kind);
  if (info === undefined) throw new ValidationError([{ path: 'kind', message: `unknown kind "${kind}"` }]);
  if (namespace !== undefined && (!info.namespaced || !SEGMENT.test(namespace))) {
    throw new ValidationError([
      { path: 'namespace', message: `invalid namespace "${namespace}" for ${kind}` },
    ]);
  }
  return info;
}

/** RFC 3339 with second precision, as Kubernetes writes creationTimestamp. */
export function rfc3339(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

type MutableResource = Resource & { metadata: Resource['metadata'] };

/** A deep JSON copy without resourceVersion: what a backend persists. */
function storable<T extends Resource>(obj: T): T & MutableResource {
  const copy = JSON.parse(JSON.stringify(obj)) as T & MutableResource;
  if (typeof copy.metadata !== 'object')
    throw new ValidationError([{ path: 'metadata', message: 'missing' }]);
  delete copy.metadata.resourceVersion;
  return copy;
}

/** The value stored for a new object: fresh uid and creationTimestamp. */
export function stampCreate<T extends Resource>(obj: T, nowMs: number): T {
  const copy = storable(obj);
  copy.metadata.uid = randomUUID();
  copy.metadata.creationTimestamp = rfc3339(nowMs);
  return copy;
}

/**
 * The value stored when replacing `existing`: uid and creationTimestamp carried over. When the stored value
 * was not a resource (`undefined`), there is nothing to carry over: the replacement is stamped as new.
 */
export function stampReplace<T extends Resource>(obj: T, existing: Resource | undefined, nowMs: number): T {
  if (existing === undefined) return stampCreate(obj, nowMs);
  const copy = storable(obj);
  const { uid, creationTimestamp } = existing.metadata;
  if (uid === undefined) delete copy.metadata.uid;
  else copy.metadata.uid = uid;
  if (creationTimestamp === undefined) delete copy.metadata.creationTimestamp;
  else copy.metadata.creationTimestamp = creationTimestamp;
  return copy;
}

/** A copy of a stored value with its resourceVersion set (values are held without it). */
export function withRevision<T extends Resource>(stored: T, revision: number): T {
  const copy = JSON.parse(JSON.stringify(stored)) as T & MutableResource;
  copy.metadata.resourceVersion = String(revision);
  return copy;
}

/** Parses `metadata.resourceVersion` for a compare-and-swap; a malformed one can never match. */
export function parseRevision(rv: string): number {
  return /^[1-9]\d*$/.test(rv) ? Number(rv) : -1;
}

/** Checks a watch filter: a positive revision; a namespace only with a namespaced kind. */
export function checkWatchFilter(filter: WatchFilter): void {
  if (!Number.isSafeInteger(filter.fromRevision) || filter.fromRevision < 1) {
    throw new ValidationError([{ path: 'fromRevision', message: `invalid revision ${filter.fromRevision}` }]);
  }
  if (filter.kind !== undefined) checkKindFilter(filter.kind, filter.namespace);
  else if (filter.namespace !== undefined) {
    throw new ValidationError([{ path: 'namespace', message: 'a namespace filter needs a kind' }]);
  }
}

export function notFound(key: ResourceKey): NotFoundError {
  return new NotFoundError(`resource does not exist: ${formatKey(key)}`);
}

export function alreadyExists(key: ResourceKey): AlreadyExistsError {
  return new AlreadyExistsError(`resource already exists: ${formatKey(key)}`);
}

export function conflict(key: ResourceKey): ConflictError {
  return new ConflictError(`update conflict: ${formatKey(key)}`);
}
