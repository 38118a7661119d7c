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
 * Bad stored values (validation-filter.ts): every value delivered decodes and validates; a bad one is held
 * back (consumers keep their last good version; a key never good is not applied) and reported once per
 * (key, revision) through `onDatastoreEvent`. When a resync finds a bad key that consumers have no version
 * of (a restarted agent), the key's history is searched (`Backend.valueAt`, at most 8 versions back) for
 * its last good version, which is delivered instead: enforcement survives a restart over corrupted data as
 * long as the store still has the history.
 *
 * Reachability: every list, watch batch and probe answer proves the datastore reachable; when nothing has
 * been heard for `probeIntervalMs`, `currentRevision` is asked with a `probeTimeoutMs` deadline. A failed
 * or unanswered probe or list reports `connection: false`, the next success `connection: true`. Losing the
 * connection changes nothing that was delivered (no deletes, no resync): the backend watch resumes by itself.
 *
 * Consumers hold no reference to the backend: they see the callbacks only.
 */
import { kindInfo } from '../api/kinds.js';
import { sleep } from '../lib/async.js';
import { ValidationError, errorMessage } from '../lib/errors.js';
import type { Backend, InvalidStoredValue, Resource, Update, WatchError, WatchUpdate } from './api.js';
import { resourceProblem } from './validation.js';
import { ValidationFilter, type InvalidResource, type ValidityEvent } from './validation-filter.js';

export type { InvalidResource } from './validation-filter.js';

export type SyncStatus = 'WaitForDatastore' | 'ResyncInProgress' | 'InSync';

/** What the syncer reports besides updates: held-back resources and datastore reachability. */
export type DatastoreEvent =
  ValidityEvent | { readonly type: 'connection'; readonly connected: boolean; readonly detail: string };

export interface SyncerCallbacks {
  onStatusUpdated(status: SyncStatus): void;
  /** Only `set` and `deleted`; every value decodes and validates (validation-filter.ts). */
  onUpdates(updates: readonly Update[]): void;
  /** A bad value held back (once per key and revision), a key no longer held, reachability changes. */
  onDatastoreEvent?(event: DatastoreEvent): void;
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
  /** Probe when nothing was heard from the datastore for this long. Default 1,000 ms. */
  readonly probeIntervalMs?: number;
  /** A probe unanswered after this long counts as a lost connection. Default 2,000 ms. */
  readonly probeTimeoutMs?: number;
}

export interface Syncer extends AsyncDisposable {
  /** Starts syncing in the background. */
  start(): void;
  /** Stops; no callback runs after the returned promise resolves. */
  stop(): Promise<void>;
  /** The keys currently held back (bad stored values), sorted by key. */
  invalidResources(): InvalidResource[];
  /** Whether the datastore answered last time it was asked; undefined before the first answer or failure. */
  connected(): boolean | undefined;
}

/** How many past versions of a bad key are read, newest first, looking for its last good one. */
const LAST_GOOD_DEPTH = 8;

export function createSyncer(backend: Backend, options: SyncerOptions, callbacks: SyncerCallbacks): Syncer {
  const unknown = options.kinds.filter((k) => kindInfo(k) === undefined);
  if (unknown.length > 0 || options.kinds.length === 0) {
    throw new ValidationError([{ path: 'kinds', message: `unknown or no kinds: [${unknown.join(', ')}]` }]);
  }
  return new WatcherSyncer(backend, options, callbacks);
}

class WatcherSyncer implements Syncer {
  readonly #backend: Backend;
  readonly #opts: SyncerOptions;
  readonly #cb: SyncerCallbacks;
  readonly #stop = new AbortController();
  /** What consumers hold, what is held back from them, and the reports about it. */
  readonly #filter: ValidationFilter;
  #status: SyncStatus | undefined;
  #connected: boolean | undefined;
  /** performance.now() of the last answer from the datastore (list, watch batch, probe). */
  #lastHeard = 0;
  #loop: Promise<void> | undefined;
  #prober: Promise<void> | undefined;

  constructor(backend: Backend, options: SyncerOptions, callbacks: SyncerCallbacks) {
    this.#backend = backend;
    this.#opts = options;
    this.#cb = callbacks;
    this.#filter = new ValidationFilter((e) => {
      this.#event(e);
    });
  }

  start(): void {
    if (this.#loop !== undefined) return;
    this.#setStatus('WaitForDatastore');
    this.#loop = this.#run();
    this.#prober = this.#probeLoop();
  }

  async stop(): Promise<void> {
    this.#stop.abort();
    await Promise.all([this.#loop, this.#prober]);
  }

  invalidResources(): InvalidResource[] {
    return this.#filter.invalid();
  }

  connected(): boolean | undefined {
    return this.#connected;
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

  #event(e: DatastoreEvent): void {
    if (!this.#stopped()) this.#cb.onDatastoreEvent?.(e);
  }

  /** The datastore answered (`detail` empty) or failed to. Reports changes only. */
  #heard(connected: boolean, detail = ''): void {
    if (connected) this.#lastHeard = performance.now();
    if (this.#stopped() || connected === this.#connected) return;
    this.#connected = connected;
    this.#event({ type: 'connection', connected, detail });
  }

  /** Asks the datastore for its revision whenever it has been quiet for a probe interval. */
  async #probeLoop(): Promise<void> {
    const interval = this.#opts.probeIntervalMs ?? 1000;
    const timeout = this.#opts.probeTimeoutMs ?? 2000;
    while (!this.#stopped()) {
      await sleep(interval, { signal: this.#stop.signal });
      if (this.#stopped() || performance.now() - this.#lastHeard < interval) continue;
      const deadline = AbortSignal.timeout(timeout);
      try {
        await this.#backend.currentRevision({ signal: AbortSignal.any([this.#stop.signal, deadline]) });
        this.#heard(true);
      } catch (e) {
        if (this.#stopped()) return;
        this.#heard(false, deadline.aborted ? `no answer within ${timeout} ms` : errorMessage(e));
      }
    }
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
        this.#heard(false, errorMessage(e));
        this.#opts.onError?.(e);
      }
      await sleep(delay, { signal: this.#stop.signal });
      delay = Math.min(delay * 2, max);
    }
  }

  /** Lists every kind, emits the differences from what was sent, signals InSync. Returns each kind's revision. */
  async #resync(): Promise<Map<string, number>> {
    if (this.#status === 'InSync') this.#setStatus('ResyncInProgress');
    const revisions = new Map<string, number>();
    for (const kind of this.#opts.kinds) {
      const { items, invalid, revision } = await this.#backend.list({ kind }, { signal: this.#stop.signal });
      this.#heard(true);
      this.#setStatus('ResyncInProgress');
      revisions.set(kind, revision);
      const lastGood = await this.#lastGoodVersions(invalid);
      this.#emit([...lastGood, ...this.#filter.resync(kind, items, invalid, revision)]);
    }
    this.#setStatus('InSync');
    return revisions;
  }

  /** For bad keys consumers have no version of: their last good version from the store's history. */
  async #lastGoodVersions(invalid: readonly InvalidStoredValue[]): Promise<Update[]> {
    const out: Update[] = [];
    for (const bad of invalid) {
      if (!this.#filter.needsLastGood(bad)) continue;
      const past = await this.#lastGood(bad);
      const u =
        past === undefined ? undefined : this.#filter.acceptLastGood(bad.key, past.value, past.revision);
      if (u !== undefined) out.push(u);
    }
    return out;
  }

  async #lastGood(bad: InvalidStoredValue): Promise<{ revision: number; value: Resource } | undefined> {
    let revision = bad.revision;
    for (let i = 0; i < LAST_GOOD_DEPTH && revision >= 1; i++) {
      const past = await this.#backend.valueAt(bad.key, revision, { signal: this.#stop.signal });
      if (past === undefined) return undefined;
      if (past.value !== undefined && resourceProblem(bad.key, past.value) === undefined) {
        return { revision: past.revision, value: past.value };
      }
      revision = past.revision - 1;
    }
    return undefined;
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
        onUpdates: (batch: readonly WatchUpdate[]): void => {
          if (signal.aborted) return;
          this.#heard(true);
          this.#emit(this.#fromWatch(batch, listRevisions));
        },
        onError: (error: WatchError): void => {
          resolve(error); // before aborting: the abort listener would resolve with undefined (= stopped)
          watchStop.abort();
        },
      };
      const fromRevisionByKind = Object.fromEntries([...listRevisions].map(([k, r]) => [k, r + 1]));
      const filter =
        kinds.length === 1
          ? { kind: kinds[0]!, fromRevision: from }
          : { fromRevision: from, fromRevisionByKind };
      this.#backend.watch(filter, handler, { signal }).catch((e: unknown) => {
        handler.onError({ reason: 'failed', message: `watch could not start: ${String(e)}`, cause: e });
      });
    });
    const result = await ended;
    watchStop.abort();
    return result;
  }

  /**
   * Drops other kinds and events already covered by a kind's list; the validation filter drops duplicates,
   * deletes of keys consumers never had, and bad values.
   */
  #fromWatch(batch: readonly WatchUpdate[], listRevisions: ReadonlyMap<string, number>): Update[] {
    const out: Update[] = [];
    for (const u of batch) {
      const listed = listRevisions.get(u.key.kind);
      if (listed === undefined || u.revision <= listed) continue;
      const forward = this.#filter.accept(u);
      if (forward !== undefined) out.push(forward);
    }
    return out;
  }
}
