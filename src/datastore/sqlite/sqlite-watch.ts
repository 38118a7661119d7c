/**
 * Watches on the embedded store. SQLite has no change notification across processes, so the backends make
 * one: after every commit, a backend touches the database's `-wal` file (its times only: SQLite never looks at
 * them), and a backend with active watches watches the database's directory (inotify) and, on an event for
 * the database or its `-wal`, reads `PRAGMA data_version` (a counter read from the WAL index, no table
 * access). When it moved, or after a write on this connection (which does not move it), each watch reads the
 * event log from its next revision inside one read transaction. The touch comes after the commit, so the
 * event it causes always finds the commit visible (the WAL's own writes happen before the commit and may
 * find nothing yet). A timer polls data_version as well, as the fallback for writers that do not touch the
 * file (the sqlite3 shell, an older calico-ts): every FALLBACK_POLL_MS while the directory is watched, every
 * `pollMs` (10 ms) when it cannot be (an in-memory database, no inotify watches left). Timer and watcher are
 * unref'ed: an idle watch does not keep the process alive.
 *
 * Ordering: revisions are assigned under SQLite's write lock and commit in order, so reading `revision >= next`
 * from a snapshot returns a gap-free run. A watch whose next revision is below `meta.compacted` fails with
 * `compacted` (the events it needs are gone) and stops.
 */
import { realpathSync, utimesSync, watch, type FSWatcher } from 'node:fs';
import { basename, dirname } from 'node:path';
import type { Database } from 'better-sqlite3';
import type { WatchFilter, WatchHandler, WatchUpdate } from '../api.js';
import { parseStored } from '../stored.js';
import type { EventRow, Statements } from './schema.js';

const BATCH = 1000;

/** The poll period while the database's directory is watched: only for writers that do not notify. */
export const FALLBACK_POLL_MS = 250;

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
  /** The real path of the database file (undefined: in memory). */
  readonly #file: string | undefined;
  #timer: NodeJS.Timeout | undefined;
  #watcher: FSWatcher | undefined;
  #immediate: NodeJS.Immediate | undefined;
  #dataVersion = -1;
  /** A wake-up since the last delivery was for a local write. */
  #force = false;

  constructor(db: Database, statements: Statements, pollMs: number) {
    this.#db = db;
    this.#st = statements;
    this.#pollMs = pollMs;
    this.#file = db.memory || db.name === '' ? undefined : realPath(db.name);
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
    this.#wake(true);
  }

  /**
   * After a commit on our own connection: tells watchers in other processes (touches the `-wal` file), and
   * delivers to our own watches on the next turn of the loop (our writes do not move data_version).
   */
  notifyLocalWrite(): void {
    if (this.#file !== undefined) {
      try {
        const now = new Date();
        utimesSync(`${this.#file}-wal`, now, now);
      } catch {
        // Best effort: watchers fall back to polling.
      }
    }
    this.#wake(true);
  }

  close(): void {
    this.#watches.clear();
    this.#stopTimer();
    if (this.#immediate !== undefined) clearImmediate(this.#immediate);
    this.#immediate = undefined;
  }

  /** Delivers on the next turn of the loop (once for any number of wake-ups until then). */
  #wake(force: boolean): void {
    if (this.#watches.size === 0) return;
    if (force) this.#force = true;
    if (this.#immediate !== undefined) return;
    this.#immediate = setImmediate(() => {
      this.#immediate = undefined;
      const f = this.#force;
      this.#force = false;
      this.#deliverAll(f);
    });
  }

  #remove(w: ActiveWatch): void {
    this.#watches.delete(w);
    if (this.#watches.size === 0) this.#stopTimer();
  }

  #ensureTimer(): void {
    if (this.#timer !== undefined) return;
    this.#watcher = this.#watchDirectory();
    this.#startPoll(this.#watcher === undefined ? this.#pollMs : Math.max(this.#pollMs, FALLBACK_POLL_MS));
  }

  #startPoll(ms: number): void {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = setInterval(() => {
      this.#deliverAll(false);
    }, ms);
    this.#timer.unref();
  }

  /** Watches the database's directory for writes to the database or its `-wal`; undefined when it cannot. */
  #watchDirectory(): FSWatcher | undefined {
    const file = this.#file;
    if (file === undefined) return undefined;
    const names = new Set([basename(file), `${basename(file)}-wal`]);
    let w: FSWatcher;
    try {
      w = watch(dirname(file), { persistent: false }, (_event, name) => {
        if (name === null || names.has(name)) this.#wake(false);
      });
    } catch {
      return undefined;
    }
    w.on('error', () => {
      // The directory went away or inotify failed: poll at the full rate from now on.
      w.close();
      if (this.#watcher !== w) return;
      this.#watcher = undefined;
      if (this.#timer !== undefined) this.#startPoll(this.#pollMs);
    });
    return w;
  }

  #stopTimer(): void {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
    this.#watcher?.close();
    this.#watcher = undefined;
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

/** The file SQLite opens (it follows a symlink, and its `-wal` lies next to the real file). */
function realPath(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    return path;
  }
}
