/**
 * The embedded datastore: one SQLite file (better-sqlite3) shared by every process on the host, e.g. calicoctl
 * writing while agents watch.
 *
 * Design goals and choices:
 * - WAL mode, so readers (watch polls, lists) never block the writer and vice versa.
 * - Every write runs in an IMMEDIATE transaction: the write lock is taken at BEGIN, so read-modify-write
 *   (compare-and-swap, uid carry-over) cannot be interleaved by another process and no lock upgrade can deadlock.
 *   `busy_timeout` makes a second writer wait instead of failing.
 * - Durability: `synchronous=FULL` by default. In WAL mode NORMAL already survives a crash of the writing
 *   process (the committed frames are in the OS page cache, and SQLite recovers the WAL on the next open), but
 *   not a power loss or kernel crash; FULL fsyncs the WAL at every commit, so an acknowledged write is on disk,
 *   as etcd guarantees. The cost is one fsync per transaction, which `applyMany` amortises. `normal` is an option.
 * - A global revision counter and an event log give etcd-like watches (see schema.ts and sqlite-watch.ts).
 *   The log is compacted by size and age (`retainEvents`, `retainMs`), checked every 1,000 revisions; it is
 *   also the history `valueAt` reads.
 * - The path is checked before anything is created or opened (datastore-path.ts): never a device, FIFO,
 *   socket, directory, or anything under /proc or /sys.
 * - The file is 0600 whatever the umask (created by us, after the path check, before SQLite opens it; SQLite
 *   gives its -wal, -shm and -journal files the database file's mode), in a 0755 directory.
 * - Stored values are parsed without trust (stored.ts): a bad row is reported per key, never thrown for a
 *   whole list or watch; writes refuse resources over etcd's default request size (limits.ts).
 */
import { realpathSync } from 'node:fs';
import { dirname } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import type { Database } from 'better-sqlite3';
import { DatastoreUnavailableError, ValidationError } from '../../lib/errors.js';
import type {
  Backend,
  CallOptions,
  DeleteOptions,
  InvalidStoredValue,
  ListFilter,
  ListResult,
  PastValue,
  Resource,
  ResourceKey,
  WatchFilter,
  WatchHandler,
  WatchOptions,
} from '../api.js';
import {
  alreadyExists,
  checkKey,
  checkKindFilter,
  checkWatchFilter,
  conflict,
  keyOf,
  keyPath,
  notFound,
  parseRevision,
  stampCreate,
  stampReplace,
  withRevision,
} from '../resource.js';
import { DEFAULT_DATASTORE_PATH } from '../defaults.js';
import { PRIVATE_FILE_MODE, ensureDirSync, ensurePrivateFileSync, narrowModeSync } from '../../sys/files.js';
import { encodeForStore } from '../limits.js';
import { decodeStoredOrThrow, parseStored } from '../stored.js';
import { checkDatastorePath } from './datastore-path.js';
import { createSchema, prepareStatements, type ListRow, type ObjectRow, type Statements } from './schema.js';
import { SqliteWatchHub } from './sqlite-watch.js';

export interface SqliteBackendOptions {
  /** Database file; its directory is created. Default `/var/lib/calico/calico.db`. */
  readonly path?: string;
  readonly synchronous?: 'full' | 'normal';
  /** How long a writer waits for another process's write lock. Default 5,000 ms. */
  readonly busyTimeoutMs?: number;
  /** Watch poll period. Default 10 ms. */
  readonly pollIntervalMs?: number;
  /** Keep at most this many events. Default 100,000. */
  readonly retainEvents?: number;
  /** Discard events older than this. Default one hour. */
  readonly retainMs?: number;
  /** Wall clock in ms (creationTimestamp, event ages). */
  readonly now?: () => number;
}

const COMPACT_CHECK_EVERY = 1000;

export async function openSqliteBackend(opts: SqliteBackendOptions = {}): Promise<SqliteBackend> {
  const backend = new SqliteBackend(opts);
  await backend.open();
  return backend;
}

export class SqliteBackend implements Backend {
  readonly type = 'embedded';
  readonly path: string;
  readonly #opts: SqliteBackendOptions;
  readonly #now: () => number;
  #db: Database | undefined;
  #st: Statements | undefined;
  #hub: SqliteWatchHub | undefined;

  constructor(opts: SqliteBackendOptions = {}) {
    this.#opts = opts;
    this.path = opts.path ?? DEFAULT_DATASTORE_PATH;
    this.#now = opts.now ?? Date.now;
  }

  /** Checks the path, creates the directory and the schema (idempotent, safe against concurrent openers). */
  open(): Promise<void> {
    return run(() => {
      // The path check comes first: preparing the files would otherwise create or chmod whatever is there.
      checkDatastorePath(this.path);
      if (this.path !== ':memory:' && this.path !== '') preparePrivateFiles(this.path);
      const db = new BetterSqlite3(this.path, { timeout: this.#opts.busyTimeoutMs ?? 5000 });
      try {
        db.pragma('journal_mode = WAL');
        db.pragma(`synchronous = ${this.#opts.synchronous === 'normal' ? 'NORMAL' : 'FULL'}`);
        db.transaction(() => {
          createSchema(db);
        }).immediate();
      } catch (e) {
        db.close();
        throw e;
      }
      this.#db = db;
      this.#st = prepareStatements(db);
      this.#hub = new SqliteWatchHub(db, this.#st, this.#opts.pollIntervalMs ?? 10);
    });
  }

  get(key: ResourceKey, opts?: CallOptions): Promise<Resource> {
    return this.#run(opts, ({ st }) => {
      checkKey(key);
      const row = st.getObject.get(key.kind, keyPath(key));
      if (row === undefined) throw notFound(key);
      return decodeStoredOrThrow(key, row.value, row.mod_rev);
    });
  }

  list(filter: ListFilter, opts?: CallOptions): Promise<ListResult> {
    return this.#run(opts, ({ db, st }) => {
      checkKindFilter(filter.kind, filter.namespace);
      return db.transaction(() => {
        const ns = filter.namespace;
        const rows =
          ns === undefined ? st.listKind.all(filter.kind) : st.listRange.all(filter.kind, `${ns}/`, `${ns}0`);
        const revision = st.getMeta.get('revision') ?? 0;
        const items: Resource[] = [];
        const invalid: InvalidStoredValue[] = [];
        for (const r of rows) {
          const key = rowKey(filter.kind, r);
          const parsed = parseStored(key, r.value, r.mod_rev);
          if (parsed.ok) items.push(parsed.value);
          else invalid.push({ key, revision: r.mod_rev, problem: parsed.problem });
        }
        return { items, invalid, revision };
      })();
    });
  }

  create<T extends Resource>(obj: T, opts?: CallOptions): Promise<T> {
    return this.#write(opts, ({ st }) => {
      const key = keyOf(obj);
      checkKey(key);
      const path = keyPath(key);
      if (st.getObject.get(key.kind, path) !== undefined) {
        throw alreadyExists(key);
      }
      const stored = stampCreate(obj, this.#now());
      const rev = this.#put(st, key, stored, true);
      return withRevision(stored, rev);
    });
  }

  update<T extends Resource>(obj: T, opts?: CallOptions): Promise<T> {
    return this.#write(opts, ({ st }) => {
      const key = keyOf(obj);
      checkKey(key);
      const row = st.getObject.get(key.kind, keyPath(key));
      if (row === undefined) throw notFound(key);
      const rv = obj.metadata.resourceVersion;
      if (rv !== undefined && parseRevision(rv) !== row.mod_rev) throw conflict(key);
      const stored = stampReplace(obj, existingValue(key, row), this.#now());
      const rev = this.#put(st, key, stored, false);
      return withRevision(stored, rev);
    });
  }

  delete(key: ResourceKey, opts?: DeleteOptions): Promise<Resource | undefined> {
    return this.#write(opts, ({ st }) => {
      checkKey(key);
      const path = keyPath(key);
      const row = st.getObject.get(key.kind, path);
      if (row === undefined) throw notFound(key);
      const existing = existingValue(key, row);
      if (opts?.resourceVersion !== undefined && parseRevision(opts.resourceVersion) !== row.mod_rev) {
        throw conflict(key);
      }
      if (opts?.uid !== undefined && opts.uid !== existing?.metadata.uid) throw conflict(key);
      const rev = st.bumpRevision.get() ?? 0;
      st.deleteObject.run(key.kind, path);
      st.insertEvent.run(rev, 'deleted', key.kind, key.namespace ?? null, key.name, null, this.#now());
      return existing;
    });
  }

  applyMany(objs: readonly Resource[], opts?: CallOptions): Promise<Resource[]> {
    return this.#write(opts, ({ st }) => {
      const keys = objs.map((o) => {
        const key = keyOf(o);
        checkKey(key);
        return key;
      });
      return objs.map((obj, i) => {
        const key = keys[i]!;
        const row = st.getObject.get(key.kind, keyPath(key));
        const stored =
          row === undefined
            ? stampCreate(obj, this.#now())
            : stampReplace(obj, existingValue(key, row), this.#now());
        return withRevision(stored, this.#put(st, key, stored, row === undefined));
      });
    });
  }

  watch(filter: WatchFilter, handler: WatchHandler, opts: WatchOptions): Promise<void> {
    return this.#run(opts, () => {
      checkWatchFilter(filter);
      this.#hub!.add(filter, handler, opts.signal);
    });
  }

  valueAt(key: ResourceKey, revision: number, opts?: CallOptions): Promise<PastValue | undefined> {
    return this.#run(opts, ({ st }) => {
      checkKey(key);
      const row = st.keyEventAt.get(key.kind, key.namespace ?? null, key.name, revision);
      if (row === undefined || row.type === 'deleted' || row.value === null) return undefined;
      const parsed = parseStored(key, row.value, row.revision);
      return parsed.ok
        ? { revision: row.revision, value: parsed.value }
        : { revision: row.revision, problem: parsed.problem };
    });
  }

  currentRevision(opts?: CallOptions): Promise<number> {
    return this.#run(opts, ({ st }) => st.getMeta.get('revision') ?? 0);
  }

  compact(revision: number, opts?: CallOptions): Promise<void> {
    return this.#write(opts, ({ st }) => {
      const current = st.getMeta.get('revision') ?? 0;
      if (!Number.isSafeInteger(revision) || revision > current + 1) {
        throw new ValidationError([{ path: 'revision', message: `cannot compact to revision ${revision}` }]);
      }
      compactTo(st, revision);
    });
  }

  close(): Promise<void> {
    this.#hub?.close();
    this.#db?.close();
    this.#db = undefined;
    this.#st = undefined;
    this.#hub = undefined;
    return Promise.resolve();
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  /** Writes one object's new value at a fresh revision, with its event. */
  #put(st: Statements, key: ResourceKey, stored: Resource, isNew: boolean): number {
    const json = encodeForStore(key, stored);
    const rev = st.bumpRevision.get() ?? 0;
    const path = keyPath(key);
    if (isNew) st.insertObject.run(key.kind, path, key.namespace ?? null, key.name, rev, rev, json);
    else st.replaceObject.run(rev, json, key.kind, path);
    st.insertEvent.run(rev, 'set', key.kind, key.namespace ?? null, key.name, json, this.#now());
    return rev;
  }

  #run<R>(opts: CallOptions | undefined, fn: (c: { db: Database; st: Statements }) => R): Promise<R> {
    return run(() => {
      opts?.signal?.throwIfAborted();
      const db = this.#db;
      const st = this.#st;
      if (db === undefined || st === undefined) throw new DatastoreUnavailableError('datastore is closed');
      return fn({ db, st });
    });
  }

  /** Runs `fn` in an IMMEDIATE transaction, then applies the retention policy and wakes local watches. */
  #write<R>(opts: CallOptions | undefined, fn: (c: { db: Database; st: Statements }) => R): Promise<R> {
    return this.#run(opts, (c) => {
      const result = c.db
        .transaction(() => {
          const before = c.st.getMeta.get('revision') ?? 0;
          const r = fn(c);
          const after = c.st.getMeta.get('revision') ?? 0;
          if (Math.floor(after / COMPACT_CHECK_EVERY) > Math.floor(before / COMPACT_CHECK_EVERY)) {
            this.#applyRetention(c.st, after);
          }
          return r;
        })
        .immediate();
      this.#hub?.notifyLocalWrite();
      return result;
    });
  }

  #applyRetention(st: Statements, revision: number): void {
    const bySize = revision + 1 - (this.#opts.retainEvents ?? 100_000);
    const byAge = st.firstRecentEvent.get(this.#now() - (this.#opts.retainMs ?? 3_600_000)) ?? revision + 1;
    compactTo(st, Math.max(bySize, byAge));
  }
}

/** The key of a listed row of `kind`. */
function rowKey(kind: string, r: ListRow): ResourceKey {
  return r.namespace === null ? { kind, name: r.name } : { kind, namespace: r.namespace, name: r.name };
}

/** The stored resource, or undefined when the stored value is not one (it is replaced or deleted by key). */
function existingValue(key: ResourceKey, row: ObjectRow): Resource | undefined {
  const parsed = parseStored(key, row.value, row.mod_rev);
  return parsed.ok ? parsed.value : undefined;
}

function compactTo(st: Statements, revision: number): void {
  const compacted = st.getMeta.get('compacted') ?? 1;
  if (revision <= compacted) return;
  st.deleteEventsBefore.run(revision);
  st.setCompacted.run(revision);
}

/** Runs synchronous SQLite work as a promise, mapping SQLite failures (busy, I/O) to DatastoreUnavailableError. */
/** The database file (a symlink to it is followed, as SQLite does) and its side files: owner-only. */
function preparePrivateFiles(path: string): void {
  ensureDirSync(dirname(path));
  ensurePrivateFileSync(path, { followSymlinks: true });
  const real = realpathSync(path);
  for (const suffix of ['-wal', '-shm', '-journal']) narrowModeSync(`${real}${suffix}`, PRIVATE_FILE_MODE);
}

function run<R>(fn: () => R): Promise<R> {
  try {
    return Promise.resolve(fn());
  } catch (e) {
    if (e instanceof BetterSqlite3.SqliteError) {
      return Promise.reject(
        new DatastoreUnavailableError(`embedded datastore: ${e.message} (${e.code})`, { cause: e }),
      );
    }
    return Promise.reject(e instanceof Error ? e : new Error(String(e)));
  }
}
