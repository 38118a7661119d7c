/**
 * The datastore contract: one `Backend` interface implemented by the embedded SQLite store, etcd v3 and the
 * Kubernetes datastore (kubernetes/backend.ts),
 * and the update shape shared by backend watches and the syncer (Felix's `api.Client` + `SyncerCallbacks`).
 *
 * Public API, in one screen:
 *
 *   const backend = await openBackend(await loadClientConfig());        // config.ts
 *   await backend.create(obj)            -> stored copy (resourceVersion, uid, creationTimestamp set)
 *   await backend.get({ kind, namespace?, name })                        // NotFoundError
 *   await backend.list({ kind, namespace? }) -> { items, invalid, revision }
 *   await backend.update(obj)            // CAS on metadata.resourceVersion when set; ConflictError
 *   await backend.delete(key, { resourceVersion?, uid? })                // NotFoundError, ConflictError
 *   await backend.applyMany(objs)        // bulk create-or-replace (chunked transactions)
 *   await backend.watch({ kind?, namespace?, fromRevision }, { onUpdates, onError }, { signal })
 *   await backend.valueAt(key, revision) -> the key's value as of a past revision (last-good lookups)
 *   await backend.currentRevision()      // one cheap round trip: the syncer's reachability probe
 *   createSyncer(backend, { kinds }, callbacks).start()                  // syncer.ts
 *   await backend.close()  /  await using backend = ...
 *
 * Revisions: every modification gets a store revision (a positive integer; etcd's mod_revision in etcd mode).
 * `metadata.resourceVersion` is the revision of the object's last modification, as a decimal string. A list
 * answers with the store revision it reflects; watching from `revision + 1` then misses nothing. Watches deliver
 * updates in non-decreasing revision order with no gaps or duplicates (the Kubernetes datastore: per kind,
 * one Kubernetes watch per resource type); several updates share a revision only when one etcd transaction
 * wrote them (applyMany on etcd) or one Kubernetes object stands for several resources (a Pod and its
 * WorkloadEndpoint). History before the compaction revision is gone:
 * such a watch fails with `{ reason: 'compacted' }` and the syncer resyncs.
 *
 * Keys use the internal kind (`KubernetesNetworkPolicy` for a networking.k8s.io NetworkPolicy, see
 * `internalKind`); `namespace` is present exactly for namespaced kinds. The datastore stores whole JSON objects
 * and does not validate specs (callers do; the syncer's validation filter does for its consumers).
 *
 * Bad stored values (docs/design/datastore.md): a value that is not a resource for its key (invalid JSON, not
 * an object, another kind or name; written by another tool or corrupted) never fails a whole list or watch.
 * `list` returns it in `invalid` next to the good `items`, a watch delivers it as an `invalid` update, `get`
 * rejects with StoredValueError naming the key and the problem, and `delete`, `update` and `applyMany` work
 * on it by key (so it can be repaired or removed). Writes refuse a resource whose write request would exceed
 * etcd's default request limit, on every backend (`limits.ts`).
 */
import type { ObjectMeta } from '../api/meta.js';

/** A stored object: any JSON object with the resource envelope; other fields (spec, status) are kept as given. */
export interface Resource {
  readonly apiVersion: string;
  readonly kind: string;
  readonly metadata: ObjectMeta;
}

/** Identifies one object. `kind` is the internal kind name. */
export interface ResourceKey {
  readonly kind: string;
  readonly namespace?: string;
  readonly name: string;
}

/** Options every async method takes last. */
export interface CallOptions {
  readonly signal?: AbortSignal;
}

export interface ListFilter {
  readonly kind: string;
  /** Only for namespaced kinds; absent = all namespaces. */
  readonly namespace?: string;
}

/** A stored value that is not a resource for its key; `problem` says what is wrong ("invalid JSON: ..."). */
export interface InvalidStoredValue {
  readonly key: ResourceKey;
  /** The revision of the key's last modification (its resourceVersion, had it decoded). */
  readonly revision: number;
  readonly problem: string;
}

export interface ListResult {
  /** Sorted by namespace then name (byte order of `<namespace>/<name>`). */
  readonly items: Resource[];
  /** Stored values of this kind that are not resources, in the same order; usually empty. */
  readonly invalid: readonly InvalidStoredValue[];
  /** The store revision this list reflects. */
  readonly revision: number;
}

/** A past value of a key (`valueAt`): a resource, or the problem that kept it from being one. */
export type PastValue =
  | { readonly revision: number; readonly value: Resource; readonly problem?: undefined }
  | { readonly revision: number; readonly value?: undefined; readonly problem: string };

/** Preconditions of a delete: either mismatch fails with ConflictError. */
export interface DeleteOptions extends CallOptions {
  readonly resourceVersion?: string;
  readonly uid?: string;
}

/** One change, as delivered by the syncer (whose values all decode and validate) or seen by a watch. */
export type Update =
  | { readonly type: 'set'; readonly key: ResourceKey; readonly value: Resource; readonly revision: number }
  | { readonly type: 'deleted'; readonly key: ResourceKey; readonly value?: null; readonly revision: number };

/** What a backend watch delivers: changes, and modifications that stored a value that is not a resource. */
export type WatchUpdate = Update | ({ readonly type: 'invalid'; readonly value?: null } & InvalidStoredValue);

export interface WatchFilter {
  /** Absent = every kind. */
  readonly kind?: string;
  /** Only with `kind` set to a namespaced kind. */
  readonly namespace?: string;
  /** First revision to deliver (inclusive): a list's `revision + 1`, or the last seen revision + 1. */
  readonly fromRevision: number;
  /**
   * Optional later starts per kind (each at least `fromRevision`), e.g. each kind's own list revision + 1:
   * updates of such a kind below its start may be left out. Backends with one ordered stream ignore it; the
   * Kubernetes datastore starts each kind's watch there (kube-apiserver keeps history per resource type).
   */
  readonly fromRevisionByKind?: Readonly<Record<string, number>>;
}

/** Why a watch stopped. After `onError` the watch delivers nothing more. */
export type WatchError =
  | { readonly reason: 'compacted'; readonly compactRevision: number; readonly message: string }
  | { readonly reason: 'failed'; readonly message: string; readonly cause?: unknown };

export interface WatchHandler {
  /** Called with batches in revision order; never called again after `onError` or abort. */
  onUpdates(updates: readonly WatchUpdate[]): void;
  onError(error: WatchError): void;
}

export interface WatchOptions {
  /** Aborting stops the watch; no callbacks follow. */
  readonly signal: AbortSignal;
}

export type BackendType = 'embedded' | 'etcdv3' | 'kubernetes';

/**
 * A datastore. Implementations do no I/O in their constructor (use their `open()` factory) and must be closed.
 * Methods reject with NotFoundError, AlreadyExistsError, ConflictError, ValidationError (bad key or kind, or a
 * resource too large to store), StoredValueError (`get` of a value that is not a resource) or
 * DatastoreUnavailableError (transport failure).
 */
export interface Backend extends AsyncDisposable {
  readonly type: BackendType;
  get(key: ResourceKey, opts?: CallOptions): Promise<Resource>;
  list(filter: ListFilter, opts?: CallOptions): Promise<ListResult>;
  /** Stores a new object. Sets resourceVersion, a fresh uid and creationTimestamp (RFC 3339) on the copy returned. */
  create<T extends Resource>(obj: T, opts?: CallOptions): Promise<T>;
  /**
   * Replaces an existing object. With `metadata.resourceVersion` set it is a compare-and-swap (ConflictError
   * when the object changed); without, it replaces whatever is there. uid and creationTimestamp are kept.
   */
  update<T extends Resource>(obj: T, opts?: CallOptions): Promise<T>;
  /**
   * Deletes and returns the last stored value; undefined when that value was not a resource (the key is
   * deleted all the same; a `uid` precondition cannot be checked on it and fails with ConflictError).
   */
  delete(key: ResourceKey, opts?: DeleteOptions): Promise<Resource | undefined>;
  /**
   * Creates or replaces many objects (resourceVersion in the inputs is ignored; uid and creationTimestamp of
   * existing objects are kept). Written in chunks, each chunk atomic (SQLite: the whole batch is one
   * transaction; etcd: transactions of up to 128 operations; Kubernetes: NOT atomic, object by object).
   * Returns the stored copies in input order.
   */
  applyMany(objs: readonly Resource[], opts?: CallOptions): Promise<Resource[]>;
  /** Resolves once the watch is registered; delivery continues until the signal aborts or `onError`. */
  watch(filter: WatchFilter, handler: WatchHandler, opts: WatchOptions): Promise<void>;
  /**
   * The value `key` had as of store revision `revision` (its newest modification at or below it), for the
   * syncer's last-good lookups. Undefined when the key did not exist then or that history is gone (compacted,
   * or beyond the embedded store's event retention).
   */
  valueAt(key: ResourceKey, revision: number, opts?: CallOptions): Promise<PastValue | undefined>;
  /** The store's current revision: one cheap round trip (the syncer's reachability probe). */
  currentRevision(opts?: CallOptions): Promise<number>;
  /** Discards history before `revision` (maintenance and tests; watches from earlier revisions then fail). */
  compact(revision: number, opts?: CallOptions): Promise<void>;
  /** Stops every watch and releases connections. Idempotent. */
  close(): Promise<void>;
}
