/**
 * The datastore contract: one `Backend` interface implemented by the embedded SQLite store and by etcd v3,
 * and the update shape shared by backend watches and the syncer (Felix's `api.Client` + `SyncerCallbacks`).
 *
 * Public API, in one screen:
 *
 *   const backend = await openBackend(await loadClientConfig());        // config.ts
 *   await backend.create(obj)            -> stored copy (resourceVersion, uid, creationTimestamp set)
 *   await backend.get({ kind, namespace?, name })                        // NotFoundError
 *   await backend.list({ kind, namespace? }) -> { items, revision }
 *   await backend.update(obj)            // CAS on metadata.resourceVersion when set; ConflictError
 *   await backend.delete(key, { resourceVersion?, uid? })                // NotFoundError, ConflictError
 *   await backend.applyMany(objs)        // bulk create-or-replace (chunked transactions)
 *   await backend.watch({ kind?, namespace?, fromRevision }, { onUpdates, onError }, { signal })
 *   createSyncer(backend, { kinds }, callbacks).start()                  // syncer.ts
 *   await backend.close()  /  await using backend = ...
 *
 * Revisions: every modification gets a store revision (a positive integer; etcd's mod_revision in etcd mode).
 * `metadata.resourceVersion` is the revision of the object's last modification, as a decimal string. A list
 * answers with the store revision it reflects; watching from `revision + 1` then misses nothing. Watches deliver
 * updates in non-decreasing revision order with no gaps or duplicates; several updates share a revision only
 * when one etcd transaction wrote them (applyMany on etcd). History before the compaction revision is gone:
 * such a watch fails with `{ reason: 'compacted' }` and the syncer resyncs.
 *
 * Keys use the internal kind (`KubernetesNetworkPolicy` for a networking.k8s.io NetworkPolicy, see
 * `internalKind`); `namespace` is present exactly for namespaced kinds. The datastore stores whole JSON objects
 * and does not validate specs (callers do).
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

export interface ListResult {
  /** Sorted by namespace then name (byte order of `<namespace>/<name>`). */
  readonly items: Resource[];
  /** The store revision this list reflects. */
  readonly revision: number;
}

/** Preconditions of a delete: either mismatch fails with ConflictError. */
export interface DeleteOptions extends CallOptions {
  readonly resourceVersion?: string;
  readonly uid?: string;
}

/** One change, as seen by a watch or delivered by the syncer. */
export type Update =
  | { readonly type: 'set'; readonly key: ResourceKey; readonly value: Resource; readonly revision: number }
  | { readonly type: 'deleted'; readonly key: ResourceKey; readonly value?: null; readonly revision: number };

export interface WatchFilter {
  /** Absent = every kind. */
  readonly kind?: string;
  /** Only with `kind` set to a namespaced kind. */
  readonly namespace?: string;
  /** First revision to deliver (inclusive): a list's `revision + 1`, or the last seen revision + 1. */
  readonly fromRevision: number;
}

/** Why a watch stopped. After `onError` the watch delivers nothing more. */
export type WatchError =
  | { readonly reason: 'compacted'; readonly compactRevision: number; readonly message: string }
  | { readonly reason: 'failed'; readonly message: string; readonly cause?: unknown };

export interface WatchHandler {
  /** Called with batches in revision order; never called again after `onError` or abort. */
  onUpdates(updates: readonly Update[]): void;
  onError(error: WatchError): void;
}

export interface WatchOptions {
  /** Aborting stops the watch; no callbacks follow. */
  readonly signal: AbortSignal;
}

export type BackendType = 'embedded' | 'etcdv3';

/**
 * A datastore. Implementations do no I/O in their constructor (use their `open()` factory) and must be closed.
 * Methods reject with NotFoundError, AlreadyExistsError, ConflictError, ValidationError (bad key or kind) or
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
  /** Deletes and returns the last stored value. */
  delete(key: ResourceKey, opts?: DeleteOptions): Promise<Resource>;
  /**
   * Creates or replaces many objects (resourceVersion in the inputs is ignored; uid and creationTimestamp of
   * existing objects are kept). Written in chunks, each chunk atomic (SQLite: the whole batch is one
   * transaction; etcd: transactions of up to 128 operations). Returns the stored copies in input order.
   */
  applyMany(objs: readonly Resource[], opts?: CallOptions): Promise<Resource[]>;
  /** Resolves once the watch is registered; delivery continues until the signal aborts or `onError`. */
  watch(filter: WatchFilter, handler: WatchHandler, opts: WatchOptions): Promise<void>;
  /** Discards history before `revision` (maintenance and tests; watches from earlier revisions then fail). */
  compact(revision: number, opts?: CallOptions): Promise<void>;
  /** Stops every watch and releases connections. Idempotent. */
  close(): Promise<void>;
}
