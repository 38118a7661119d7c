/**
 * The dataplane loop (Felix's InternalDataplane apply loop): messages are recorded as they arrive (no kernel
 * I/O); after InSync, at most one apply runs at a time, coalescing everything received meanwhile; a failed
 * apply keeps its work dirty and retries with backoff; periodic refreshes repair drift others caused.
 * `appliedRevision` is the datastore revision whose effects are all in the kernel. With a NetworkDataplane,
 * cluster-networking messages go to it: its natOutgoing rules join the policy's nftables transaction, and its
 * VXLAN device, entries and cluster routes are programmed after the table.
 *
 * `whenApplied(revision)` lets in-process callers (the agent's CNI server) await an apply instead of polling
 * the status files: it resolves once an apply covering the revision and its onApplied hook have completed,
 * so the status files of that apply exist by then too.
 */
import { isNetworkMessage, type DataplaneMessage } from '../calc/messages.js';
import { errorMessage, isAbortError } from '../lib/errors.js';
import type { NetworkDataplane } from './managers/network.js';
import type { RouteManager } from './managers/routes.js';
import type { PolicyDataplane } from './managers/policy-dataplane.js';
import type { NftTable } from './nftables/table.js';

export interface LoopHooks {
  /** After every successful apply. */
  onApplied(info: { revision: number; durationMs: number; first: boolean }): Promise<void> | void;
  onFailure(error: unknown): void;
}

export interface LoopOptions {
  /** Period of the full refresh (nftablesRefreshInterval); 0 disables it. */
  readonly refreshIntervalMs: number;
  readonly retryMinMs?: number;
  readonly retryMaxMs?: number;
  /** Cluster networking (VXLAN, cluster routes, natOutgoing); absent = policy only. */
  readonly network?: NetworkDataplane;
}

interface ApplyWaiter {
  readonly revision: number;
  settle(applied: boolean): void;
}

export class DataplaneLoop {
  private readonly dataplane: PolicyDataplane;
  private readonly table: NftTable;
  private readonly routes: RouteManager;
  private readonly hooks: LoopHooks;
  private readonly opts: Required<Omit<LoopOptions, 'network' | 'refreshIntervalMs'>>;
  private refreshIntervalMs: number;
  private readonly network: NetworkDataplane | undefined;
  private inSync = false;
  private received = 0;
  private running: Promise<void> | undefined;
  private again = false;
  private retryMs: number;
  private retryTimer: NodeJS.Timeout | undefined;
  private refreshTimer: NodeJS.Timeout | undefined;
  private signal: AbortSignal | undefined;
  private refreshDue = false;
  private firstDone = false;
  /** The revision of the last apply whose onApplied hook has completed (-1: none yet). */
  private notifiedRevision = -1;
  private readonly waiters = new Set<ApplyWaiter>();
  appliedRevision = 0;
  consecutiveFailures = 0;
  lastError: string | null = null;

  constructor(
    dataplane: PolicyDataplane,
    table: NftTable,
    routes: RouteManager,
    hooks: LoopHooks,
    opts: LoopOptions,
  ) {
    this.dataplane = dataplane;
    this.table = table;
    this.routes = routes;
    this.hooks = hooks;
    this.opts = {
      retryMinMs: opts.retryMinMs ?? 100,
      retryMaxMs: opts.retryMaxMs ?? 10_000,
    };
    this.refreshIntervalMs = opts.refreshIntervalMs;
    this.network = opts.network;
    this.retryMs = this.opts.retryMinMs;
  }

  get dataplaneInSync(): boolean {
    return this.firstDone;
  }

  start(signal: AbortSignal): void {
    this.signal = signal;
    signal.addEventListener('abort', () => {
      clearTimeout(this.retryTimer);
      clearInterval(this.refreshTimer);
      for (const w of [...this.waiters]) w.settle(false);
    });
    this.armRefresh();
  }

  /** Changes the refresh period (0 disables it), e.g. when nftablesRefreshInterval changes. */
  setRefreshInterval(ms: number): void {
    if (ms === this.refreshIntervalMs) return;
    this.refreshIntervalMs = ms;
    if (this.signal !== undefined && !this.signal.aborted) this.armRefresh();
  }

  private armRefresh(): void {
    clearInterval(this.refreshTimer);
    this.refreshTimer = undefined;
    if (this.refreshIntervalMs <= 0) return;
    this.refreshTimer = setInterval(() => {
      this.refreshDue = true;
      this.kick();
    }, this.refreshIntervalMs);
    this.refreshTimer.unref();
  }

  onMessages(msgs: readonly DataplaneMessage[]): void {
    for (const m of msgs) {
      if (m.kind === 'inSync') this.inSync = true;
      else if (m.kind === 'revision') this.received = Math.max(this.received, m.revision);
      try {
        if (isNetworkMessage(m)) {
          this.network?.onMessage(m);
          // VTEPs also decide which hosts may send VXLAN to this one (host INPUT rules).
          if (m.kind === 'vtepUpdate' || m.kind === 'vtepRemove') this.dataplane.onMessage(m);
        } else {
          if (m.kind === 'configUpdate') this.network?.onMessage(m);
          this.dataplane.onMessage(m);
        }
      } catch (e) {
        // A message the dataplane cannot take is a bug; never let it reach the syncer.
        this.hooks.onFailure(e);
      }
    }
    const eps = this.dataplane.workloadEndpoints.values();
    this.routes.setDesired(
      [...eps].map((e) => ({ interfaceName: e.interfaceName, nets: [...e.ipv4Nets, ...e.ipv6Nets] })),
    );
    this.kick();
  }

  /** Requests an apply; returns when the loop is idle again (for tests and shutdown). */
  kick(): void {
    if (!this.inSync || this.signal?.aborted === true) return;
    if (this.running !== undefined) {
      this.again = true;
      return;
    }
    this.running = this.applyOnce().finally(() => {
      this.running = undefined;
      if (this.again) {
        this.again = false;
        this.kick();
      }
    });
  }

  /**
   * Resolves true once an apply covering `revision` has completed (onApplied included); false after
   * `timeoutMs`, when `signal` aborts, or when the loop stops.
   */
  whenApplied(revision: number, opts: { timeoutMs: number; signal?: AbortSignal }): Promise<boolean> {
    if (this.notifiedRevision >= revision) return Promise.resolve(true);
    if (this.signal?.aborted === true || opts.signal?.aborted === true) return Promise.resolve(false);
    return new Promise<boolean>((resolve) => {
      const onAbort = (): void => {
        w.settle(false);
      };
      const timer = setTimeout(onAbort, opts.timeoutMs);
      const w: ApplyWaiter = {
        revision,
        settle: (applied) => {
          clearTimeout(timer);
          opts.signal?.removeEventListener('abort', onAbort);
          this.waiters.delete(w);
          resolve(applied);
        },
      };
      opts.signal?.addEventListener('abort', onAbort, { once: true });
      this.waiters.add(w);
    });
  }

  private notifyApplied(revision: number): void {
    this.notifiedRevision = Math.max(this.notifiedRevision, revision);
    for (const w of [...this.waiters]) if (w.revision <= this.notifiedRevision) w.settle(true);
  }

  async idle(): Promise<void> {
    while (this.running !== undefined) await this.running;
  }

  private async applyOnce(): Promise<void> {
    const revision = this.received;
    const started = performance.now();
    try {
      this.dataplane.ensureStatic();
      if (this.dataplane.wantsInterfaceAddresses())
        this.dataplane.setInterfaceAddresses(await this.routes.interfaceAddresses(this.signal));
      this.network?.prepare();
      if (this.refreshDue) {
        this.refreshDue = false;
        this.network?.requestResync();
        await this.table.refresh(this.signal !== undefined ? { signal: this.signal } : {});
      }
      await this.table.apply(this.signal !== undefined ? { signal: this.signal } : {});
      await this.network?.apply(this.signal);
      await this.routes.apply(this.signal);
      const first = !this.firstDone;
      this.firstDone = true;
      this.appliedRevision = Math.max(this.appliedRevision, revision);
      this.consecutiveFailures = 0;
      this.lastError = null;
      this.retryMs = this.opts.retryMinMs;
      try {
        await this.hooks.onApplied({
          revision: this.appliedRevision,
          durationMs: performance.now() - started,
          first,
        });
      } finally {
        // The kernel has it even when the hook failed.
        this.notifyApplied(this.appliedRevision);
      }
      if (this.routes.pending > 0 || (this.network?.pending ?? 0) > 0) this.scheduleRetry();
    } catch (e) {
      if (isAbortError(e) || this.signal?.aborted === true) return;
      this.consecutiveFailures++;
      this.lastError = errorMessage(e);
      this.hooks.onFailure(e);
      this.scheduleRetry();
    }
  }

  private scheduleRetry(): void {
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => {
      this.kick();
    }, this.retryMs);
    this.retryTimer.unref();
    this.retryMs = Math.min(this.retryMs * 2, this.opts.retryMaxMs);
  }
}
