/**
 * Watches on the embedded store. SQLite has no change notification across processes, so one timer per open
 * backend polls `PRAGMA data_version` (a counter read from the WAL index, no table access) every few
 * milliseconds while at least one watch is active; when it moves, or after a write on this connection (which
 * does not move it), each watch reads the event log from its next revision inside one read transaction.
 * The timer is unref'ed: an idle watch does not keep the process alive.
 *
 * Ordering: revisions are assigned under SQLite's write lock and commit in order, so reading `revision >= next`
 * from a snapshot returns a gap-free run. A watch whose next revision is below `meta.compacted` fails with
 * `compacted` (the events it needs are gone) and stops.
 */
import type { Database } from 'better-sqlite3';
import type { WatchFilter, WatchHandler, WatchUpdate } from '../api.js';
import { parseStored } from '../stored.js';
import type { EventRow, Statements } from './schema.js';

const BATCH = 1000;

interface BatchRead {
  readonly updates: WatchUpdate[];
  readonly next: number;
  readonly more: boolean;
  readonly compacted?: number;
}

interface ActiveWatch {
  readonly filter: WatchFilter;
  readonly handler: WatchHandler;
  readonly signal: AbortSignal;
  next: number;
  /** Must read at the next tick even if data_version did not move (new watch). */
  pending: boolean;
}

export class SqliteWatchHub {
  readonly #db: Database;
  readonly #st: Statements;
  readonly #pollMs: number;
  readonly #watches = new Set<ActiveWatch>();
  #timer: NodeJS.Timeout | undefined;
  #immediate: NodeJS.Immediate | undefined;
  #dataVersion = -1;

  constructor(db: Database, statements: Statements, pollMs: number) {
    this.#db = db;
    this.#st = statements;
    this.#pollMs = pollMs;
  }

  add(filter: WatchFilter, handler: WatchHandler, signal: AbortSignal): void {
    if (signal.aborted) return;
    const w: ActiveWatch = { filter, handler, signal, next: filter.fromRevision, pending: true };
    this.#watches.add(w);
    signal.addEventListener(
      'abort',
      () => {
        this.#remove(w);
      },
      { once: true },
    );
    this.#ensureTimer();
    this.notifyLocalWrite();
  }

  /** Writes on our own connection do not move data_version; deliver them on the next turn of the loop. */
  notifyLocalWrite(): void {
    if (this.#watches.size === 0 || this.#immediate !== undefined) return;
    this.#immediate = setImmediate(() => {
      this.#immediate = undefined;
      this.#deliverAll(true);
    });
  }

  close(): void {
    this.#watches.clear();
    this.#stopTimer();
    if (this.#immediate !== undefined) clearImmediate(this.#immediate);
    this.#immediate = undefined;
  }

  #remove(w: ActiveWatch): void {
    this.#watches.delete(w);
    if (this.#watches.size === 0) this.#stopTimer();
  }

  #ensureTimer(): void {
    if (this.#timer !== undefined) return;
    this.#timer = setInterval(() => {
      this.#deliverAll(false);
    }, this.#pollMs);
    this.#timer.unref();
  }

  #stopTimer(): void {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
  }

  #deliverAll(force: boolean): void {
    if (!this.#db.open) return;
    let dv: number;
    try {
      dv = this.#st.dataVersion.get() ?? -1;
    } catch {
      dv = -2; // unreadable: let every watch try (and fail) below
    }
    const changed = force || dv !== this.#dataVersion;
    this.#dataVersion = dv;
    for (const w of [...this.#watches]) {
      if (!changed && !w.pending) continue;
      w.pending = false;
      this.#drain(w);
    }
  }

  /** Reads and delivers everything after `w.next`, one batch per read transaction. */
  #drain(w: ActiveWatch): void {
    for (;;) {
      if (w.signal.aborted || !this.#watches.has(w)) return;
      let read: BatchRead;
      try {
        read = this.#readBatch(w);
      } catch (e) {
        // The database itself failed to read (I/O error, a malformed file): end this watch, never the process.
        this.#remove(w);
        w.handler.onError({
          reason: 'failed',
          message: `embedded datastore watch from revision ${w.next}: ${e instanceof Error ? e.message : String(e)}`,
          cause: e,
        });
        return;
      }
      if (read.compacted !== undefined) {
        this.#remove(w);
        w.handler.onError({
          reason: 'compacted',
          compactRevision: read.compacted,
          message: `watch from revision ${w.next}: history before revision ${read.compacted} has been compacted`,
        });
        return;
      }
      w.next = read.next;
      if (read.updates.length > 0) w.handler.onUpdates(read.updates);
      if (!read.more) return;
    }
  }

  #readBatch(w: ActiveWatch): BatchRead {
    return this.#db.transaction(() => {
      const compacted = this.#st.getMeta.get('compacted') ?? 1;
      if (w.next < compacted) return { updates: [], next: w.next, more: false, compacted };
      const rows = this.#eventRows(w);
      const updates = rows.map(toUpdate);
      const last = rows.at(-1);
      if (rows.length === BATCH && last !== undefined)
        return { updates, next: last.revision + 1, more: true };
      // Fewer than a batch: everything up to this snapshot's revision has been seen, matching or not.
      const revision = this.#st.getMeta.get('revision') ?? 0;
      return { updates, next: Math.max(w.next, revision + 1), more: false };
    })();
  }

  #eventRows(w: ActiveWatch): EventRow[] {
    const { kind, namespace } = w.filter;
    if (kind === undefined) return this.#st.eventsFrom.all(w.next, BATCH);
    if (namespace === undefined) return this.#st.eventsOfKindFrom.all(w.next, kind, BATCH);
    return this.#st.eventsOfNamespaceFrom.all(w.next, kind, namespace, BATCH);
  }
}

/** One event as a watch update; a value that is not a resource becomes an `invalid` update (never thrown). */
function toUpdate(row: EventRow): WatchUpdate {
  const key =
    row.namespace === null
      ? { kind: row.kind, name: row.name }
      : { kind: row.kind, namespace: row.namespace, name: row.name };
  if (row.type === 'deleted' || row.value === null) return { type: 'deleted', key, revision: row.revision };
  const parsed = parseStored(key, row.value, row.revision);
  return parsed.ok
    ? { type: 'set', key, value: parsed.value, revision: row.revision }
    : { type: 'invalid', key, revision: row.revision, problem: parsed.problem };
}
