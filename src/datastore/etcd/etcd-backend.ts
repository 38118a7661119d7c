/**
 * The etcd v3 datastore (keys in keys.ts, client policy in client.ts, watches in etcd-watch.ts).
 *
 * Values are the resource JSON without `resourceVersion`, which is etcd's mod_revision of the key. Every
 * read-modify-write is a transaction guarded by a compare on the key's mod_revision (create: create_revision
 * == 0), so a concurrent writer makes exactly one of two writers win: an update with a caller-supplied
 * resourceVersion then fails with ConflictError, an unconditional one re-reads and tries again.
 * `applyMany` reads a chunk of up to 128 keys in one transaction and writes it in a second, guarded one.
 * Stored values are parsed without trust (stored.ts): a value that is not a resource is listed in `invalid`
 * and delivered as an `invalid` watch update, never thrown for a whole call; sizes are checked against etcd's
 * default request limit before anything is written (limits.ts), so every chunk of `applyMany` fits.
 */
import { readFile } from 'node:fs/promises';
import type { Etcd3, IKeyValue, IRequestOp } from 'etcd3';
import { kindInfo } from '../../api/kinds.js';
import { ValidationError } from '../../lib/errors.js';
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
  notFound,
  parseRevision,
  stampCreate,
  stampReplace,
  withRevision,
} from '../resource.js';
import { checkNewSize, encodeForStore } from '../limits.js';
import { decodeStoredOrThrow, parseStored } from '../stored.js';
import { createEtcdClient, mapEtcdError, withRetry, type EtcdConnectionOptions } from './client.js';
import { EtcdWatch } from './etcd-watch.js';
import { RESOURCE_PREFIX, etcdKey, kindPrefix, parseEtcdKey, prefixEnd } from './keys.js';

export interface EtcdBackendOptions extends Omit<EtcdConnectionOptions, 'tls'> {
  /** PEM file paths, read by `open()`. */
  readonly keyFile?: string;
  readonly certFile?: string;
  readonly caCertFile?: string;
  /** Inline PEM (CalicoAPIConfig etcdKey/etcdCert/etcdCACert); a file wins over inline. */
  readonly key?: string;
  readonly cert?: string;
  readonly caCert?: string;
  readonly now?: () => number;
}

/** etcd's default --max-txn-ops, and a request size comfortably below its 1.5 MiB default limit. */
const MAX_TXN_OPS = 128;
const MAX_TXN_BYTES = 1024 * 1024;
const LIST_PAGE = 1000;

export async function openEtcdBackend(opts: EtcdBackendOptions): Promise<EtcdBackend> {
  const backend = new EtcdBackend(opts);
  await backend.open();
  return backend;
}

async function pem(file: string | undefined, inline: string | undefined): Promise<Buffer | undefined> {
  if (file !== undefined && file !== '') return readFile(file);
  return inline === undefined || inline === '' ? undefined : Buffer.from(inline);
}

export class EtcdBackend implements Backend {
  readonly type = 'etcdv3';
  readonly #opts: EtcdBackendOptions;
  readonly #now: () => number;
  readonly #watches = new Set<AbortController>();
  #client: Etcd3 | undefined;

  constructor(opts: EtcdBackendOptions) {
    this.#opts = opts;
    this.#now = opts.now ?? Date.now;
  }

  /** Reads TLS files and creates the client (which connects lazily). */
  async open(): Promise<void> {
    const o = this.#opts;
    const [ca, cert, key] = await Promise.all([
      pem(o.caCertFile, o.caCert),
      pem(o.certFile, o.cert),
      pem(o.keyFile, o.key),
    ]);
    const tls = {
      ...(ca === undefined ? {} : { ca }),
      ...(cert === undefined ? {} : { cert }),
      ...(key === undefined ? {} : { key }),
    };
    this.#client = createEtcdClient({ ...o, tls });
  }

  async get(key: ResourceKey, opts?: CallOptions): Promise<Resource> {
    const k = this.#key(key);
    return this.#read(opts, async (c) => {
      const kv = await rangeOne(c, k);
      if (kv === undefined) throw notFound(key);
      return decodeStoredOrThrow(key, kv.value.toString(), Number(kv.mod_revision));
    });
  }

  async list(filter: ListFilter, opts?: CallOptions): Promise<ListResult> {
    const info = checkKindFilter(filter.kind, filter.namespace);
    const prefix = kindPrefix(info.plural, filter.namespace);
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.#read(opts, (c) => listPages(c, prefix));
      } catch (e) {
        // The revision pinned by the first page was compacted while paging: start over.
        if (attempt >= 3 || !(e instanceof Error && COMPACTED.test(e.message))) throw e;
      }
    }
  }

  async create<T extends Resource>(obj: T, opts?: CallOptions): Promise<T> {
    const key = keyOf(obj);
    const k = this.#key(key);
    const stored = stampCreate(obj, this.#now());
    const op = put(k, key, stored);
    return this.#write(opts, async (c) => {
      const res = await c.kv.txn({
        compare: [{ key: Buffer.from(k), target: 'Create', result: 'Equal', create_revision: 0 }],
        success: [op],
      });
      if (!res.succeeded) throw alreadyExists(key);
      return withRevision(stored, Number(res.header.revision));
    });
  }

  async update<T extends Resource>(obj: T, opts?: CallOptions): Promise<T> {
    const key = keyOf(obj);
    const k = this.#key(key);
    const rv = obj.metadata.resourceVersion;
    return this.#casLoop(opts, k, async (c, kv) => {
      if (kv === undefined) throw notFound(key);
      if (rv !== undefined && parseRevision(rv) !== Number(kv.mod_revision)) throw conflict(key);
      const stored = stampReplace(obj, existingValue(key, kv), this.#now());
      const res = await c.kv.txn({ compare: [modIs(k, kv.mod_revision)], success: [put(k, key, stored)] });
      return res.succeeded ? withRevision(stored, Number(res.header.revision)) : undefined;
    });
  }

  async delete(key: ResourceKey, opts?: DeleteOptions): Promise<Resource | undefined> {
    const k = this.#key(key);
    const result = await this.#casLoop(opts, k, async (c, kv) => {
      if (kv === undefined) throw notFound(key);
      const existing = existingValue(key, kv);
      if (
        opts?.resourceVersion !== undefined &&
        parseRevision(opts.resourceVersion) !== Number(kv.mod_revision)
      ) {
        throw conflict(key);
      }
      if (opts?.uid !== undefined && opts.uid !== existing?.metadata.uid) throw conflict(key);
      const res = await c.kv.txn({
        compare: [modIs(k, kv.mod_revision)],
        success: [{ request_delete_range: { key: Buffer.from(k) } }],
      });
      return res.succeeded ? { existing } : undefined;
    });
    return result.existing;
  }

  async applyMany(objs: readonly Resource[], opts?: CallOptions): Promise<Resource[]> {
    // Every object's size is checked (as a new object would be stored) before the first chunk is written.
    const entries = objs.map((obj, index) => {
      const key = keyOf(obj);
      const k = this.#key(key);
      return { obj, index, key, k, bytes: checkNewSize(key, obj, this.#now()) };
    });
    const out: Resource[] = new Array<Resource>(objs.length);
    for (const chunk of chunks(entries)) {
      const stored = await this.#applyChunk(chunk, opts);
      chunk.forEach((e, i) => (out[e.index] = stored[i]!));
    }
    return out;
  }

  async #applyChunk(
    chunk: readonly { obj: Resource; key: ResourceKey; k: string }[],
    opts?: CallOptions,
  ): Promise<Resource[]> {
    for (;;) {
      const read = await this.#read(opts, (c) =>
        c.kv.txn({ success: chunk.map((e) => ({ request_range: { key: Buffer.from(e.k) } })) }),
      );
      const current = read.responses.map((r) => r.response_range.kvs[0]);
      const stored = chunk.map((e, i) => {
        const kv = current[i];
        return kv === undefined
          ? stampCreate(e.obj, this.#now())
          : stampReplace(e.obj, existingValue(e.key, kv), this.#now());
      });
      const res = await this.#write(opts, (c) =>
        c.kv.txn({
          compare: chunk.map((e, i) => {
            const kv = current[i];
            return kv === undefined
              ? {
                  key: Buffer.from(e.k),
                  target: 'Create' as const,
                  result: 'Equal' as const,
                  create_revision: 0,
                }
              : modIs(e.k, kv.mod_revision);
          }),
          success: chunk.map((e, i) => put(e.k, e.key, stored[i]!)),
        }),
      );
      // A concurrent writer touched one of the keys between our read and write: read the chunk again.
      if (res.succeeded) return stored.map((s) => withRevision(s, Number(res.header.revision)));
    }
  }

  async watch(filter: WatchFilter, handler: WatchHandler, opts: WatchOptions): Promise<void> {
    checkWatchFilter(filter);
    const client = this.#requireClient();
    const info = filter.kind === undefined ? undefined : kindInfo(filter.kind);
    const prefix = info === undefined ? RESOURCE_PREFIX : kindPrefix(info.plural, filter.namespace);
    const stop = new AbortController();
    this.#watches.add(stop);
    const signal = AbortSignal.any([opts.signal, stop.signal]);
    signal.addEventListener('abort', () => this.#watches.delete(stop), { once: true });
    try {
      await new EtcdWatch(client, prefix, filter, handler, signal).start();
    } catch (e) {
      stop.abort();
      throw e;
    }
  }

  async valueAt(key: ResourceKey, revision: number, opts?: CallOptions): Promise<PastValue | undefined> {
    const k = this.#key(key);
    if (!Number.isSafeInteger(revision) || revision < 1) return undefined;
    try {
      return await this.#read(opts, async (c) => {
        const res = await c.kv.range({ key: Buffer.from(k), revision: String(revision) });
        const kv = res.kvs[0];
        if (kv === undefined) return undefined;
        const rev = Number(kv.mod_revision);
        const parsed = parseStored(key, kv.value.toString(), rev);
        return parsed.ok
          ? { revision: rev, value: parsed.value }
          : { revision: rev, problem: parsed.problem };
      });
    } catch (e) {
      // History before the compaction revision is gone: no past value to offer.
      if (e instanceof Error && COMPACTED.test(e.message)) return undefined;
      throw e;
    }
  }

  async currentRevision(opts?: CallOptions): Promise<number> {
    // A point read of the prefix key itself (never a resource): etcd answers with its current revision.
    const res = await this.#read(opts, (c) => c.kv.range({ key: Buffer.from(RESOURCE_PREFIX) }));
    return Number(res.header.revision);
  }

  async compact(revision: number, opts?: CallOptions): Promise<void> {
    if (!Number.isSafeInteger(revision) || revision < 1) {
      throw new ValidationError([{ path: 'revision', message: `cannot compact to revision ${revision}` }]);
    }
    try {
      await this.#write(opts, (c) => c.kv.compact({ revision, physical: true }));
    } catch (e) {
      // Compacting to or below the current compaction revision is a no-op, as in the embedded store.
      if (e instanceof Error && COMPACTED.test(e.message)) return;
      if (e instanceof Error && /future revision/.test(e.message)) {
        throw new ValidationError([{ path: 'revision', message: `cannot compact to revision ${revision}` }]);
      }
      throw e;
    }
  }

  close(): Promise<void> {
    for (const w of this.#watches) w.abort();
    this.#watches.clear();
    this.#client?.close();
    this.#client = undefined;
    return Promise.resolve();
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  #key(key: ResourceKey): string {
    return etcdKey(key, checkKey(key).plural);
  }

  #requireClient(): Etcd3 {
    if (this.#client === undefined) throw mapEtcdError(new Error('etcd client is closed'));
    return this.#client;
  }

  #read<R>(opts: CallOptions | undefined, fn: (c: Etcd3) => Promise<R>): Promise<R> {
    const c = this.#requireClient();
    return withRetry(() => fn(c), { idempotent: true, signal: opts?.signal });
  }

  #write<R>(opts: CallOptions | undefined, fn: (c: Etcd3) => Promise<R>): Promise<R> {
    const c = this.#requireClient();
    return withRetry(() => fn(c), { idempotent: false, signal: opts?.signal });
  }

  /** Read, then a guarded write; `attempt` returns undefined when the guard failed, and the loop re-reads. */
  async #casLoop<R>(
    opts: CallOptions | undefined,
    k: string,
    attempt: (c: Etcd3, kv: IKeyValue | undefined) => Promise<R | undefined>,
  ): Promise<R> {
    for (;;) {
      const kv = await this.#read(opts, (c) => rangeOne(c, k));
      const result = await this.#write(opts, (c) => attempt(c, kv));
      if (result !== undefined) return result;
    }
  }
}

const COMPACTED = /required revision has been compacted/;

/** Reads a prefix in pages of 1,000, every page at the revision of the first (one consistent snapshot). */
async function listPages(c: Etcd3, prefix: string): Promise<ListResult> {
  const items: Resource[] = [];
  const invalid: InvalidStoredValue[] = [];
  const end = prefixEnd(prefix);
  let start = Buffer.from(prefix);
  let revision: number | undefined;
  for (;;) {
    const page = {
      key: start,
      range_end: end,
      limit: LIST_PAGE,
      ...(revision === undefined ? {} : { revision }),
    };
    const res = await c.kv.range(page);
    revision ??= Number(res.header.revision);
    for (const kv of res.kvs) {
      // Keys that do not parse (other tools' data under the prefix) are not ours and are skipped.
      const key = parseEtcdKey(kv.key.toString());
      if (key === undefined) continue;
      const rev = Number(kv.mod_revision);
      const parsed = parseStored(key, kv.value.toString(), rev);
      if (parsed.ok) items.push(parsed.value);
      else invalid.push({ key, revision: rev, problem: parsed.problem });
    }
    const last = res.kvs.at(-1);
    if (!res.more || last === undefined) return { items, invalid, revision };
    start = Buffer.concat([last.key, Buffer.from([0])]);
  }
}

async function rangeOne(c: Etcd3, k: string): Promise<IKeyValue | undefined> {
  const res = await c.kv.range({ key: Buffer.from(k) });
  return res.kvs[0];
}

/** The put of one stored value; throws ValidationError (nothing written) when it is too large. */
function put(k: string, key: ResourceKey, stored: Resource): IRequestOp {
  return { request_put: { key: Buffer.from(k), value: Buffer.from(encodeForStore(key, stored)) } };
}

function modIs(
  k: string,
  modRevision: string,
): { key: Buffer; target: 'Mod'; result: 'Equal'; mod_revision: string } {
  return { key: Buffer.from(k), target: 'Mod', result: 'Equal', mod_revision: modRevision };
}

/** The stored resource, or undefined when the stored value is not one (it is replaced or deleted by key). */
function existingValue(key: ResourceKey, kv: IKeyValue): Resource | undefined {
  const parsed = parseStored(key, kv.value.toString(), Number(kv.mod_revision));
  return parsed.ok ? parsed.value : undefined;
}

/** Splits into transactions: at most 128 operations and ~1 MiB each, and no key twice in one transaction. */
function* chunks<E extends { k: string; bytes: number }>(entries: readonly E[]): Generator<E[]> {
  let chunk: E[] = [];
  let bytes = 0;
  let keys = new Set<string>();
  for (const e of entries) {
    if (
      chunk.length > 0 &&
      (chunk.length >= MAX_TXN_OPS || bytes + e.bytes > MAX_TXN_BYTES || keys.has(e.k))
    ) {
      yield chunk;
      chunk = [];
      bytes = 0;
      keys = new Set();
    }
    chunk.push(e);
    bytes += e.bytes;
    keys.add(e.k);
  }
  if (chunk.length > 0) yield chunk;
}
