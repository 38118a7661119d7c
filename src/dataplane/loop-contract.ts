/**
 * What the dataplane loop (loop.ts) is given and what it reports: the table it applies, its hooks, its options,
 * its status and failures, and the kernel events that wake pending work.
 */
import type { DataplaneMessage } from '../calc/messages.js';
import type { Clock } from '../lib/async.js';
import type { Manager } from './manager.js';

/** The table the loop applies once per apply (NftTable; a null object for a dataplane without one). */
export interface DataplaneTable {
  apply(options: { readonly signal?: AbortSignal }): Promise<unknown>;
  /** Reads the kernel back; the next apply repairs what differs (periodic drift repair). */
  refresh(options: { readonly signal?: AbortSignal }): Promise<unknown>;
  /** Forgets the desired state and the kernel picture: a full resync re-records everything. */
  reset(): void;
  /** Releases what it keeps running between applies (a waiting `nft`): called once the loop has stopped. */
  close?(): void;
}

/** Where a failure happened, and what the loop does next. */
export interface DataplaneFailure {
  readonly phase: 'message' | 'resync' | 'render' | 'table' | 'kernel';
  /** The manager that threw, when one did. */
  readonly manager?: string;
  readonly error: unknown;
  /** Failed applies in a row (0 for a message failure outside an apply). */
  readonly consecutive: number;
  readonly next: 'retry' | 'resync' | 'fatal';
}

export interface LoopHooks {
  /** After every successful apply. */
  onApplied(info: { revision: number; durationMs: number; first: boolean }): Promise<void> | void;
  /** Every failure (count it, log it). */
  onFailure(failure: DataplaneFailure): void;
  /** The dataplane could not be brought back: the loop has stopped, the kernel keeps its last state. */
  onFatal(error: Error): void;
}

/**
 * Kernel changes pending work may wait for (links appearing or coming up): `start` calls `onEvent` for each
 * until `signal` aborts, and owns whatever it runs until then.
 */
export interface KernelEvents {
  start(onEvent: () => void, signal: AbortSignal): void;
}

export interface LoopOptions {
  /** In apply order: the static manager first, the managers with their own kernel work last. */
  readonly managers: readonly Manager[];
  readonly table: DataplaneTable;
  readonly hooks: LoopHooks;
  /** The calc graph's whole current output (CalcGraph.replay), for a full resync. */
  readonly resyncSource: () => readonly DataplaneMessage[];
  /** Period of the full refresh (nftablesRefreshInterval); 0 disables it. */
  readonly refreshIntervalMs: number;
  readonly clock?: Clock;
  readonly retryMinMs?: number;
  readonly retryMaxMs?: number;
  /** The cap of the retry delay for pending work (default 30 s); it starts at retryMinMs. */
  readonly pendingRetryMaxMs?: number;
  /** Wakes pending work when the kernel changes (an `ip monitor link`); without it, only the timer does. */
  readonly kernelEvents?: KernelEvents;
  /** Failed table applies in a row that force a full resync (default 3). */
  readonly resyncAfterFailures?: number;
  /** Full resyncs without a successful table apply before giving up (default 5). */
  readonly maxResyncs?: number;
}

export interface DataplaneStatus {
  /** The first apply after InSync has succeeded. */
  readonly dataplaneInSync: boolean;
  readonly appliedRevision: number;
  /** Something failed and has not been repaired by a successful apply yet. */
  readonly failing: boolean;
  readonly consecutiveFailures: number;
  readonly resyncs: number;
  readonly lastError: string | null;
  /** The loop gave up (onFatal was called). */
  readonly fatal: boolean;
}
