/**
 * The syncer: Calico's contract between a datastore and its consumers (Felix's calc graph, confd, agents).
 *
 *   status  WaitForDatastore ──first list answered──▶ ResyncInProgress ──all kinds listed──▶ InSync
 *                                                          ▲                                   │
 *                                                          └──── watch compacted / lost ◀──────┘
 *
 * It lists every requested kind and emits a `set` per object, signals InSync, then streams the backend watch
 * (one watch from the lowest list revision + 1; per kind, events at or below that kind's list revision are
 * already in the list and dropped) in revision order with no gaps or duplicates. If the watch fails (history
 * compacted, or the connection lost for good), it goes back to ResyncInProgress, lists again, emits only the
 * differences against what it has sent (sets for new or changed objects, deletes for vanished ones) and
 * signals InSync again. Updates are delivered in batches of at most `maxBatchSize`.
 *
 * Consumers hold no reference to the backend: they see `onStatusUpdated` and `onUpdates` only.
 */
import { kindInfo } from '../api/kinds.js';
import { ValidationError } from '../lib/errors.js';
import type { Backend, Resource, ResourceKey, Update, WatchError } from './api.js';
import { keyString } from './resource.js';

export type SyncStatus = 'WaitForDatastore' | 'ResyncInProgress' | 'InSync';

export interface SyncerCallbacks {
  onStatusUpdated(status: SyncStatus): void;
  onUpdates(updates: readonly Update[]): void;
}

export interface SyncerOptions {
  /** Internal kind names to sync. */
  readonly kinds: readonly string[];
  /** Default 1,000. */
  readonly maxBatchSize?: number;
  /** Backoff between failed attempts: starts at `min`, doubles up to `max`. Default 100 ms .. 5 s. */
  readonly retryDelayMs?: { readonly min: number; readonly max: number };
  /** Diagnostics: every failed list/watch attempt (the syncer retries by itself). */
  readonly onError?: (error: unknown) => void;
}

export interface Syncer extends AsyncDisposable {
  /** Starts syncing in the background. */
  start(): void;
  /** Stops; no callback runs after the returned promise resolves. */
  stop(): Promise<void>;
}

export function createSyncer(backend: Backend, options: SyncerOptions, callbacks: SyncerCallbacks): Syncer {
  const unknown = options.kinds.filter((k) => kindInfo(k) === undefined);
  if (unknown.length > 0 || options.kinds.length === 0) {
    throw new ValidationError([{ path: 'kinds', message: `unknown or no kinds: [${unknown.join(', ')}]` }]);
  }
  return new WatcherSyncer(backend, options, callbacks);
}

interface Sent {
  readonly key: ResourceKey;
  readonly revision: number;
}

class WatcherSyncer implements Syncer {
  readonly #backend: Backend;
  readonly #opts: SyncerOptions;
  readonly #cb: SyncerCallbacks;
  readonly #stop = new AbortController();
  /** What consumers have been told exists: key string -> key and revision of the last `set`. */
  readonly #sent = new Map<string, Sent>();
  #status: SyncStatus | undefined;
  #loop: Promise<void> | undefined;

  constructor(backend: Backend, options: SyncerOptions, callbacks: SyncerCallbacks) {
    this.#backend = backend;
    this.#opts = options;
    this.#cb = callbacks;
  }

  start(): void {
    if (this.#loop !== undefined) return;
    this.#setStatus('WaitForDatastore');
    this.#loop = this.#run();
  }

  async stop(): Promise<void> {
    this.#stop.abort();
    await this.#loop;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.stop();
  }

  /** A method, not a getter, so that checks after an await are not narrowed away by the linter. */
  #stopped(): boolean {
    return this.#stop.signal.aborted;
  }

  #setStatus(status: SyncStatus): void {
    if (this.#stopped() || status === this.#status) return;
    this.#status = status;
    this.#cb.onStatusUpdated(status);
  }

  #emit(updates: readonly Update[]): void {
    const max = this.#opts.maxBatchSize ?? 1000;
    for (let i = 0; i < updates.length && !this.#stopped(); i += max) {
      this.#cb.onUpdates(updates.slice(i, i + max));
    }
  }

  async #run(): Promise<void> {
    const { min, max } = this.#opts.retryDelayMs ?? { min: 100, max: 5000 };
    let delay = min;
    while (!this.#stopped()) {
      try {
        const listRevisions = await this.#resync();
        delay = min;
        const error = await this.#watch(listRevisions);
        if (error === undefined) return;
        this.#opts.onError?.(error);
        // A compaction needs an immediate re-list; anything else waits a little first.
        if (error.reason === 'compacted') continue;
      } catch (e) {
        if (this.#stopped()) return;
        this.#opts.onError?.(e);
      }
      await sleep(delay, this.#stop.signal);
      delay = Math.min(delay * 2, max);
    }
  }

  /** Lists every kind, emits the differences from what was sent, signals InSync. Returns each kind's revision. */
  async #resync(): Promise<Map<string, number>> {
    if (this.#status === 'InSync') this.#setStatus('ResyncInProgress');
    const revisions = new Map<string, number>();
    for (const kind of this.#opts.kinds) {
      const { items, revision } = await this.#backend.list({ kind }, { signal: this.#stop.signal });
      this.#setStatus('ResyncInProgress');
      revisions.set(kind, revision);
      this.#emit(this.#diff(kind, items, revision));
    }
    this.#setStatus('InSync');
    return revisions;
  }

  #diff(kind: string, items: readonly Resource[], revision: number): Update[] {
    const updates: Update[] = [];
    const present = new Set<string>();
    for (const value of items) {
      const { namespace, name } = value.metadata;
      const key: ResourceKey = namespace === undefined ? { kind, name } : { kind, namespace, name };
      const ks = keyString(key);
      const rev = Number(value.metadata.resourceVersion);
      present.add(ks);
      if (this.#sent.get(ks)?.revision === rev) continue;
      this.#sent.set(ks, { key, revision: rev });
      updates.push({ type: 'set', key, value, revision: rev });
    }
    for (const [ks, sent] of this.#sent) {
      if (sent.key.kind !== kind || present.has(ks)) continue;
      this.#sent.delete(ks);
      updates.push({ type: 'deleted', key: sent.key, revision });
    }
    return updates;
  }

  /** Streams the watch until it fails (returns the error) or the syncer stops (returns undefined). */
  async #watch(listRevisions: ReadonlyMap<string, number>): Promise<WatchError | undefined> {
    const from = Math.min(...listRevisions.values()) + 1;
    const kinds = this.#opts.kinds;
    const watchStop = new AbortController();
    const signal = AbortSignal.any([this.#stop.signal, watchStop.signal]);
    const ended = new Promise<WatchError | undefined>((resolve) => {
      signal.addEventListener(
        'abort',
        () => {
          resolve(undefined);
        },
        { once: true },
      );
      const handler = {
        onUpdates: (batch: readonly Update[]): void => {
          if (!signal.aborted) this.#emit(this.#filter(batch, listRevisions));
        },
        onError: (error: WatchError): void => {
          resolve(error); // before aborting: the abort listener would resolve with undefined (= stopped)
          watchStop.abort();
        },
      };
      const filter = kinds.length === 1 ? { kind: kinds[0]!, fromRevision: from } : { fromRevision: from };
      this.#backend.watch(filter, handler, { signal }).catch((e: unknown) => {
        handler.onError({ reason: 'failed', message: `watch could not start: ${String(e)}`, cause: e });
      });
    });
    const result = await ended;
    watchStop.abort();
    return result;
  }

  /** Drops other kinds, events already covered by a kind's list, duplicates and deletes of unknown keys. */
  #filter(batch: readonly Update[], listRevisions: ReadonlyMap<string, number>): Update[] {
    const out: Update[] = [];
    for (const u of batch) {
      const listed = listRevisions.get(u.key.kind);
      if (listed === undefined || u.revision <= listed) continue;
      const ks = keyString(u.key);
      if (u.type === 'set') {
        if (this.#sent.get(ks)?.revision === u.revision) continue;
        this.#sent.set(ks, { key: u.key, revision: u.revision });
      } else if (!this.#sent.delete(ks)) {
        continue;
      }
      out.push(u);
    }
    return out;
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}
