/**
 * The dataplane loop (Felix's InternalDataplane main loop and apply()): every calc-graph message goes to every
 * manager (manager.ts), which only records it; after InSync, at most one apply runs at a time, coalescing
 * everything received meanwhile:
 *
 *   [full resync, when needed] -> managers' completeDeferredWork (list order) -> [refresh, when due]
 *     -> table.apply() (one atomic nft transaction) -> managers' own kernel work (list order) -> onApplied
 *
 * Failures cannot vanish (docs/design/dataplane.md, "Failures"): each one is reported to onFailure (the
 * agent counts felix_int_dataplane_failures) and keeps readiness false until an apply succeeds.
 *  - A message a manager throws on, or rendering that throws (a bug, or data that cannot be rendered), leaves
 *    the managers' state unknown: the next apply is a full resync: the table's intent and every manager are
 *    reset and the calc graph's whole current output is replayed (`resyncSource`), then the table reconciles
 *    against the kernel, adopting what is already right.
 *  - A failed table apply keeps its objects dirty and is retried with backoff; after `resyncAfterFailures`
 *    failures in a row, every further failure is followed by a full resync.
 *  - Nothing is written to the kernel while the managers' state is incomplete (a replay that failed): the
 *    kernel keeps the last programmed policy (fail closed). After `maxResyncs` resyncs without a successful
 *    table apply the loop stops and calls onFatal; the agent exits non-zero for its supervisor (Felix panics).
 *  - The managers' own kernel work (routes, VXLAN) runs only after the table succeeded (no route to a
 *    workload before its policy); its failures are retried with backoff, each manager independently.
 *
 * Work that waits for the kernel (`pending`: a workload interface that does not exist or is not up yet) is
 * not a failure: it is retried with its own backoff, which a successful apply does not reset, doubling up to
 * `pendingRetryMaxMs`, and at once when `kernelEvents` reports a change (an interface appeared or came up:
 * Felix's netlink link updates). A pod stored for this node that never started therefore costs one retry
 * per `pendingRetryMaxMs`, not one every `retryMinMs`.
 *
 * Time comes from an injected Clock (retry backoff, the periodic refresh, whenApplied timeouts), so all of it
 * is unit-tested with FakeClock. `appliedRevision` is the datastore revision whose effects are all in the
 * kernel; `whenApplied(revision)` lets in-process callers (the CNI server) await it.
 */
import type { DataplaneMessage } from '../calc/messages.js';
import { Backoff, realClock, type Clock, type TimerHandle } from '../lib/async.js';
import { errorMessage, isAbortError, KernelProgrammingError } from '../lib/errors.js';
import { AppliedWaiters } from './applied-waiters.js';
import type { DataplaneFailure, DataplaneStatus, KernelEvents, LoopOptions } from './loop-contract.js';
import { handle } from './manager.js';

export type {
  DataplaneFailure,
  DataplaneStatus,
  DataplaneTable,
  KernelEvents,
  LoopHooks,
  LoopOptions,
} from './loop-contract.js';

/** Rendering failed in a way a retry can fix (a kernel read), as opposed to a bug or unrenderable data. */
function transient(e: unknown): boolean {
  return e instanceof KernelProgrammingError;
}

export class DataplaneLoop {
  readonly #o: Required<Omit<LoopOptions, 'clock' | 'refreshIntervalMs' | 'kernelEvents'>>;
  readonly #kernelEvents: KernelEvents | undefined;
  #refreshIntervalMs: number;
  readonly #clock: Clock;
  readonly #backoff: Backoff;
  /**
   * Retries of pending work: not reset by a successful apply; reset when nothing is pending any more, when
   * more work waits than before, or by a kernel event.
   */
  readonly #pendingBackoff: Backoff;
  #pendingCount = 0;
  #signal: AbortSignal | undefined;
  #inSync = false;
  #received = 0;
  #running: Promise<void> | undefined;
  #again = false;
  #retryTimer: TimerHandle | undefined;
  #refreshTimer: TimerHandle | undefined;
  #refreshDue = false;
  #firstDone = false;
  #resyncNeeded = false;
  #resyncsWithoutSuccess = 0;
  #resyncs = 0;
  #tableFailures = 0;
  #consecutiveFailures = 0;
  /** A failure (of a message or an apply) that no successful apply has repaired yet. */
  #unrepaired = false;
  #fatal = false;
  #lastError: string | null = null;
  #appliedRevision = 0;
  readonly #waiters: AppliedWaiters;

  constructor(opts: LoopOptions) {
    this.#o = {
      managers: opts.managers,
      table: opts.table,
      hooks: opts.hooks,
      resyncSource: opts.resyncSource,
      retryMinMs: opts.retryMinMs ?? 100,
      retryMaxMs: opts.retryMaxMs ?? 10_000,
      pendingRetryMaxMs: opts.pendingRetryMaxMs ?? 30_000,
      resyncAfterFailures: opts.resyncAfterFailures ?? 3,
      maxResyncs: opts.maxResyncs ?? 5,
    };
    this.#kernelEvents = opts.kernelEvents;
    this.#refreshIntervalMs = opts.refreshIntervalMs;
    this.#clock = opts.clock ?? realClock;
    this.#backoff = new Backoff(this.#o.retryMinMs, this.#o.retryMaxMs);
    this.#pendingBackoff = new Backoff(
      this.#o.retryMinMs,
      Math.max(this.#o.retryMinMs, this.#o.pendingRetryMaxMs),
    );
    this.#waiters = new AppliedWaiters(this.#clock);
  }

  get dataplaneInSync(): boolean {
    return this.#firstDone;
  }

  get appliedRevision(): number {
    return this.#appliedRevision;
  }

  status(): DataplaneStatus {
    return {
      dataplaneInSync: this.#firstDone,
      appliedRevision: this.#appliedRevision,
      failing: this.#fatal || this.#resyncNeeded || this.#unrepaired,
      consecutiveFailures: this.#consecutiveFailures,
      resyncs: this.#resyncs,
      lastError: this.#lastError,
      fatal: this.#fatal,
    };
  }

  /** Readiness: programmed after InSync and not failing (Felix's DataplaneInSync, plus failure state). */
  get ready(): boolean {
    return this.#firstDone && !this.status().failing;
  }

  start(signal: AbortSignal): void {
    this.#signal = signal;
    signal.addEventListener('abort', () => {
      this.#clock.clearTimeout(this.#retryTimer);
      this.#clock.clearTimeout(this.#refreshTimer);
      this.#waiters.stop();
      void this.idle().then(() => this.#o.table.close?.());
    });
    this.#scheduleRefresh();
    this.#kernelEvents?.start(() => {
      this.kernelChanged();
    }, signal);
  }

  /**
   * The kernel changed in a way pending work may wait for (a link appeared or came up): when work is
   * pending and nothing is failing, apply now and start its backoff again. A no-op otherwise.
   */
  kernelChanged(): void {
    if (this.#unrepaired || this.#resyncNeeded || this.#pendingWork() === 0) return;
    this.#pendingBackoff.reset();
    this.kick();
  }

  #pendingWork(): number {
    return this.#o.managers.reduce((n, m) => n + (m.pending ?? 0), 0);
  }

  /** Changes the refresh period (0 disables it), e.g. when nftablesRefreshInterval changes. */
  setRefreshInterval(ms: number): void {
    if (ms === this.#refreshIntervalMs) return;
    this.#refreshIntervalMs = ms;
    if (this.#signal !== undefined && !this.#signal.aborted) this.#scheduleRefresh();
  }

  #scheduleRefresh(): void {
    this.#clock.clearTimeout(this.#refreshTimer);
    this.#refreshTimer = undefined;
    if (this.#refreshIntervalMs <= 0) return;
    this.#refreshTimer = this.#clock.setTimeout(
      () => {
        this.#refreshDue = true;
        this.#scheduleRefresh();
        this.kick();
      },
      this.#refreshIntervalMs,
      { unref: true },
    );
  }

  onMessages(msgs: readonly DataplaneMessage[]): void {
    this.#deliver(msgs, 'message');
    this.kick();
  }

  /** Gives every message to every manager; a manager that throws makes the next apply a full resync. */
  #deliver(msgs: readonly DataplaneMessage[], phase: 'message' | 'resync'): void {
    for (const m of msgs) {
      if (m.kind === 'inSync') this.#inSync = true;
      else if (m.kind === 'revision') this.#received = Math.max(this.#received, m.revision);
      for (const mgr of this.#o.managers) {
        try {
          handle(mgr.handlers, m);
        } catch (e) {
          this.#resyncNeeded = true;
          if (phase === 'message') {
            // Outside an apply: reported now; the resync happens at the next apply.
            this.#unrepaired = true;
            this.#lastError = `${mgr.name}: ${errorMessage(e)}`;
            this.#o.hooks.onFailure({ phase, manager: mgr.name, error: e, consecutive: 0, next: 'resync' });
          } else {
            throw new ManagerError(mgr.name, e);
          }
        }
      }
    }
  }

  /** Requests an apply (after InSync, once started); one runs at a time, later requests coalesce. */
  kick(): void {
    if (!this.#inSync || this.#signal === undefined || this.#signal.aborted || this.#fatal) return;
    if (this.#running !== undefined) {
      this.#again = true;
      return;
    }
    const signal = this.#signal;
    this.#running = this.#applyOnce(signal).finally(() => {
      this.#running = undefined;
      if (this.#again) {
        this.#again = false;
        this.kick();
      }
    });
  }

  /**
   * Resolves true once an apply covering `revision` has completed (onApplied included); false after
   * `timeoutMs`, when `signal` aborts, or when the loop stops.
   */
  whenApplied(revision: number, opts: { timeoutMs: number; signal?: AbortSignal }): Promise<boolean> {
    return this.#waiters.wait(revision, opts);
  }

  /** Resolves when no apply is running (for tests and shutdown). */
  async idle(): Promise<void> {
    while (this.#running !== undefined) await this.#running;
  }

  async #applyOnce(signal: AbortSignal): Promise<void> {
    const started = this.#clock.now();
    let phase: DataplaneFailure['phase'] = 'render';
    let manager: string | undefined;
    try {
      if (this.#resyncNeeded) {
        phase = 'resync';
        this.#resync();
      }
      const revision = this.#received;
      phase = 'render';
      for (const m of this.#o.managers) {
        manager = m.name;
        await m.completeDeferredWork?.(signal);
      }
      manager = undefined;
      phase = 'table';
      // A message failed while this apply was rendering: the managers' state is unknown; resync first.
      if (this.#resyncNeeded) {
        this.#again = true;
        return;
      }
      if (this.#refreshDue) {
        this.#refreshDue = false;
        for (const m of this.#o.managers) m.queueResync?.();
        await this.#o.table.refresh({ signal });
      }
      await this.#o.table.apply({ signal });
      this.#tableFailures = 0;
      this.#resyncsWithoutSuccess = 0;
      phase = 'kernel';
      await this.#applyManagers(signal);
      await this.#succeeded(revision, started);
    } catch (e) {
      if (isAbortError(e) || signal.aborted) return;
      if (e instanceof ManagerError) this.#failed(phase, e.manager, e.cause);
      else this.#failed(phase, manager, e);
    }
  }

  /** Drops every manager's state and the table's intent, and replays the calc graph's output into them. */
  #resync(): void {
    this.#resyncs++;
    this.#resyncsWithoutSuccess++;
    this.#o.table.reset();
    for (const m of this.#o.managers) m.reset();
    this.#resyncNeeded = false;
    this.#deliver(this.#o.resyncSource(), 'resync');
  }

  /** Each manager's own kernel work; one failing does not stop the others. */
  async #applyManagers(signal: AbortSignal): Promise<void> {
    let first: ManagerError | undefined;
    for (const m of this.#o.managers) {
      if (m.apply === undefined) continue;
      try {
        await m.apply(signal);
      } catch (e) {
        if (isAbortError(e) || signal.aborted) throw e;
        first ??= new ManagerError(m.name, e);
      }
    }
    if (first !== undefined) throw first;
  }

  async #succeeded(revision: number, started: number): Promise<void> {
    const first = !this.#firstDone;
    this.#firstDone = true;
    this.#appliedRevision = Math.max(this.#appliedRevision, revision);
    this.#consecutiveFailures = 0;
    this.#unrepaired = false;
    this.#lastError = null;
    this.#backoff.reset();
    try {
      await this.#o.hooks.onApplied({
        revision: this.#appliedRevision,
        durationMs: this.#clock.now() - started,
        first,
      });
    } finally {
      // The kernel has it even when the hook failed.
      this.#waiters.applied(this.#appliedRevision);
    }
    const pending = this.#pendingWork();
    if (pending === 0 || pending > this.#pendingCount) this.#pendingBackoff.reset();
    this.#pendingCount = pending;
    if (pending > 0) this.#scheduleRetry(this.#pendingBackoff.next());
    else {
      this.#clock.clearTimeout(this.#retryTimer);
      this.#retryTimer = undefined;
    }
  }

  #failed(phase: DataplaneFailure['phase'], manager: string | undefined, error: unknown): void {
    this.#consecutiveFailures++;
    this.#unrepaired = true;
    this.#lastError = `${manager !== undefined ? `${manager}: ` : ''}${errorMessage(error)}`;
    if (phase === 'table') this.#tableFailures++;
    const unknownState = phase === 'resync' || (phase === 'render' && !transient(error));
    if (unknownState || this.#tableFailures >= this.#o.resyncAfterFailures) this.#resyncNeeded = true;
    const fatal = this.#resyncNeeded && this.#resyncsWithoutSuccess >= this.#o.maxResyncs;
    const next = fatal ? 'fatal' : this.#resyncNeeded ? 'resync' : 'retry';
    this.#o.hooks.onFailure({
      phase,
      ...(manager !== undefined ? { manager } : {}),
      error,
      consecutive: this.#consecutiveFailures,
      next,
    });
    if (fatal) {
      this.#fatal = true;
      this.#clock.clearTimeout(this.#retryTimer);
      this.#clock.clearTimeout(this.#refreshTimer);
      this.#waiters.stop();
      this.#o.hooks.onFatal(
        new Error(
          `dataplane: ${this.#resyncsWithoutSuccess} full resyncs did not bring the dataplane back (last: ${this.#lastError}); the kernel keeps the last programmed state`,
          { cause: error },
        ),
      );
      return;
    }
    this.#scheduleRetry(this.#backoff.next());
  }

  #scheduleRetry(delayMs: number): void {
    this.#clock.clearTimeout(this.#retryTimer);
    this.#retryTimer = this.#clock.setTimeout(
      () => {
        this.#retryTimer = undefined;
        this.kick();
      },
      delayMs,
      { unref: true },
    );
  }
}

/** A manager threw (during a replay, or in its own kernel work). */
class ManagerError extends Error {
  readonly manager: string;
  constructor(manager: string, cause: unknown) {
    super(`${manager}: ${errorMessage(cause)}`, { cause });
    this.manager = manager;
  }
}
