/**
 * calico-goldmane's aggregator (Goldmane's BucketRing, goldmane/pkg/storage): flows reported by every node are
 * merged by their whole FlowKey (policy trace included) into buckets of `bucketSeconds` (15 s,
 * AGGREGATION_WINDOW), kept in a ring of `numBuckets` (242, about an hour).
 *
 *   ring:  [oldest] ... [completed] [streaming = head-2] [now = head-1] [head: the next interval]
 *
 * A flow goes into the bucket holding its start_time (flows older than the ring or later than the head are
 * dropped and counted). Each rollover (at the head's start) hands the bucket that completed one interval ago
 * (head-2, so late reports still land) to the listeners (Flows.Stream, the JSON-lines log), then reuses the
 * oldest bucket as the new head and forgets windows that left the ring. Queries read the ring synchronously:
 * the aggregator is single-threaded like Goldmane's event loop, without the channels.
 *
 * Times are Unix seconds from `nowUnix`; rollovers are scheduled on `clock` (both injectable for tests).
 */
import type { Flow, FlowKey } from '../flows/types.js';
import { realClock, type Clock, type TimerHandle } from '../lib/async.js';
import type {
  FilterHintsRequest,
  FilterHintsResult,
  FlowListRequest,
  FlowListResult,
  FlowResult,
  Filter,
  StatisticsRequest,
  StatisticsResult,
} from './api-types.js';
import { DiachronicFlow } from './diachronic.js';
import { filterMatches } from './filter.js';
import { flowKeyId, normalizeKey } from './flow-key.js';
import { hintValues, listMeta, page, sortFlows } from './query.js';
import { BucketStatistics, mergeStatistics } from './statistics.js';

export const AGGREGATION_WINDOW_SECONDS = 15;
export const NUM_BUCKETS = 242;
/** How long a reporter's re-sent flow is recognised as a duplicate (Goldmane's FlowCacheExpiry). */
export const DEDUP_EXPIRY_SECONDS = 300;

/** A request the aggregator refuses (the server answers INVALID_ARGUMENT). */
export class QueryError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'QueryError';
  }
}

export interface AggregatorOptions {
  readonly bucketSeconds?: number;
  readonly numBuckets?: number;
  /** Unix seconds (may be fractional). */
  readonly nowUnix?: () => number;
  readonly clock?: Clock;
  /** Told after each scheduled rollover: how long it took and how long until the next one. */
  readonly onRollover?: (durationMs: number, nextInMs: number) => void;
}

export type IngestResult = 'indexed' | 'duplicate' | 'outside';

/** A bucket handed to listeners when it completes. */
export interface CompletedBucket {
  readonly start: number;
  readonly end: number;
  /** Each flow of the bucket passing `filter`, summed over this bucket only. */
  flows(filter: Filter | null): Iterable<FlowResult>;
}

interface Bucket {
  start: number;
  end: number;
  flows: Set<DiachronicFlow>;
  stats: BucketStatistics;
}

export class Aggregator {
  readonly bucketSeconds: number;
  readonly #n: number;
  readonly #nowUnix: () => number;
  readonly #clock: Clock;
  readonly #onRollover: ((durationMs: number, nextInMs: number) => void) | undefined;
  readonly #buckets: Bucket[];
  #head: number;
  readonly #flows = new Map<string, DiachronicFlow>();
  #nextId = 0;
  readonly #labels = new Map<string, readonly string[]>();
  readonly #dedup = new Map<string, number>();
  readonly #listeners = new Set<(b: CompletedBucket) => void>();
  #timer: TimerHandle | undefined;
  /** Counters for goldmane_aggr_* metrics. */
  received = 0;
  dropped = 0;
  duplicates = 0;
  lastRolloverMs = 0;

  constructor(opts: AggregatorOptions = {}) {
    this.bucketSeconds = opts.bucketSeconds ?? AGGREGATION_WINDOW_SECONDS;
    this.#n = opts.numBuckets ?? NUM_BUCKETS;
    if (!Number.isInteger(this.bucketSeconds) || this.bucketSeconds < 1) {
      throw new QueryError(
        `aggregation window must be a whole number of seconds ≥ 1, got ${this.bucketSeconds}`,
      );
    }
    if (!Number.isInteger(this.#n) || this.#n < 4)
      throw new QueryError(`need at least 4 buckets, got ${this.#n}`);
    this.#nowUnix = opts.nowUnix ?? (() => Date.now() / 1000);
    this.#clock = opts.clock ?? realClock;
    this.#onRollover = opts.onRollover;
    const i = this.bucketSeconds;
    // The bucket holding now is head-1; the head covers the next interval (aligned to the window).
    const nowStart = Math.floor(this.#nowUnix() / i) * i;
    this.#head = this.#n - 1;
    this.#buckets = Array.from({ length: this.#n }, (_, j) => {
      const start = nowStart + i - (this.#n - 1 - j) * i;
      return { start, end: start + i, flows: new Set(), stats: new BucketStatistics() };
    });
  }

  /** Schedules rollovers at each bucket boundary until `dispose()`. */
  start(): void {
    if (this.#timer !== undefined) return;
    this.#schedule();
  }

  dispose(): void {
    this.#clock.clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#listeners.clear();
  }

  #schedule(): void {
    const inMs = this.#nextInMs();
    this.#timer = this.#clock.setTimeout(
      () => {
        this.rollover();
        this.#schedule();
        this.#onRollover?.(this.lastRolloverMs, this.#nextInMs());
      },
      inMs,
      { unref: true },
    );
  }

  /** Until the head's start (at least 10 ms: a late process catches up at once, as Goldmane does). */
  #nextInMs(): number {
    return Math.max(10, (this.#buckets[this.#head]!.start - this.#nowUnix()) * 1000);
  }

  /** Completed buckets (head-2 at each rollover) are passed to `listener` until the returned undo is called. */
  onBucket(listener: (b: CompletedBucket) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Distinct flow keys in the ring. */
  get size(): number {
    return this.#flows.size;
  }

  get beginningOfHistory(): number {
    return this.#buckets[this.#index(1)]!.start;
  }

  get endOfHistory(): number {
    return this.#buckets[this.#head]!.end;
  }

  #index(offsetFromHead: number): number {
    return (((this.#head + offsetFromHead) % this.#n) + this.#n) % this.#n;
  }

  /** The ring index of the bucket holding `t`, or -1 outside the ring. */
  #find(t: number): number {
    const begin = this.beginningOfHistory;
    if (t < begin || t >= this.endOfHistory) return -1;
    return this.#index(1 + Math.floor((t - begin) / this.bucketSeconds));
  }

  /**
   * Adds one reported flow. `scope` (the reporter's address) enables Goldmane's de-duplication: the same key
   * and time range from the same reporter within DEDUP_EXPIRY_SECONDS is counted once (a reconnecting
   * reporter re-sends what it is not sure was received).
   */
  ingest(reported: Flow, scope?: string): IngestResult {
    this.received++;
    const bi = this.#find(reported.start_time);
    if (bi < 0) {
      this.dropped++;
      return 'outside';
    }
    const key = normalizeKey(reported.Key);
    const flow = key === reported.Key ? reported : { ...reported, Key: key };
    const id = flowKeyId(key);
    let d = this.#flows.get(id);
    if (scope !== undefined && d !== undefined) {
      const dk = `${d.id}|${flow.start_time}|${flow.end_time}|${scope}`;
      if (this.#dedup.has(dk)) {
        this.duplicates++;
        return 'duplicate';
      }
      this.#dedup.set(dk, this.#nowUnix() + DEDUP_EXPIRY_SECONDS);
    }
    if (d === undefined) {
      d = new DiachronicFlow(++this.#nextId, key);
      this.#flows.set(id, d);
      if (scope !== undefined) {
        this.#dedup.set(
          `${d.id}|${flow.start_time}|${flow.end_time}|${scope}`,
          this.#nowUnix() + DEDUP_EXPIRY_SECONDS,
        );
      }
    }
    const b = this.#buckets[bi]!;
    d.add(flow, b.start, b.end, (l) => this.#intern(l));
    b.flows.add(d);
    b.stats.add(flow);
    return 'indexed';
  }

  #intern(labels: readonly string[]): readonly string[] {
    if (labels.length === 0) return EMPTY;
    const k = labels.join('\n');
    const known = this.#labels.get(k);
    if (known !== undefined) return known;
    if (this.#labels.size >= 65_536) this.#labels.clear();
    const frozen = Object.freeze([...labels]);
    this.#labels.set(k, frozen);
    return frozen;
  }

  /**
   * Completes a bucket: hands head-2 to the listeners, reuses the oldest bucket as the new head and forgets
   * the windows (and flows) that left the ring. Returns the new head's start (the next rollover's time).
   */
  rollover(): number {
    const t0 = performance.now();
    const streaming = this.#buckets[this.#index(-2)]!;
    const completed: CompletedBucket = {
      start: streaming.start,
      end: streaming.end,
      flows: (filter) => bucketFlows(streaming, filter),
    };
    for (const l of this.#listeners) l(completed);

    const start = this.#buckets[this.#head]!.end;
    this.#head = this.#index(1);
    const reused = this.#buckets[this.#head]!;
    const leaving = reused.flows;
    this.#buckets[this.#head] = {
      start,
      end: start + this.bucketSeconds,
      flows: new Set(),
      stats: new BucketStatistics(),
    };
    const limit = this.beginningOfHistory;
    for (const d of leaving) {
      d.expire(limit);
      if (d.empty) this.#flows.delete(flowKeyId(d.key));
    }
    const now = this.#nowUnix();
    for (const [k, expireAt] of this.#dedup) if (expireAt <= now) this.#dedup.delete(k);
    this.lastRolloverMs = performance.now() - t0;
    return start;
  }

  /** Goldmane's time range: 0 = beginning of history / now, negative = relative to now. */
  #range(gte: number, lt: number): { gte: number; lt: number } {
    const now = Math.floor(this.#nowUnix());
    const g = gte < 0 ? now + gte : gte === 0 ? this.beginningOfHistory : gte;
    const l = lt < 0 ? now + lt : lt === 0 ? now + 1 : lt;
    if (g >= l) throw new QueryError(`start_time_gte (${g}) must be less than start_time_lt (${l})`);
    return { gte: g, lt: l };
  }

  /** The absolute start of a stream's backfill (0 stays 0: no backfill). */
  streamStart(gte: number): number {
    if (gte === 0) return 0;
    return gte < 0 ? Math.floor(this.#nowUnix()) + gte : gte;
  }

  /** Flows.List. */
  list(req: FlowListRequest): FlowListResult {
    if (req.sort_by.length > 1) throw new QueryError('at most one sort order is supported');
    const sortBy = req.sort_by[0]?.sort_by ?? 'Time';
    if (sortBy === 'DestType' || sortBy === 'SourceType')
      throw new QueryError(`unsupported sort order: ${sortBy}`);
    const { gte, lt } = this.#range(req.start_time_gte, req.start_time_lt);
    const results: FlowResult[] = [];
    for (const d of this.#flows.values()) {
      if (!d.within(gte, lt) || !filterMatches(req.filter, d.key)) continue;
      const flow = d.aggregate(gte, lt);
      if (flow !== undefined) results.push({ id: d.id, flow });
    }
    sortFlows(results, sortBy);
    return { meta: listMeta(results.length, req.page_size), flows: page(results, req.page, req.page_size) };
  }

  /** Flows.FilterHints. */
  filterHints(req: FilterHintsRequest): FilterHintsResult {
    const { gte, lt } = this.#range(req.start_time_gte, req.start_time_lt);
    const keys: FlowKey[] = [];
    for (const d of this.#flows.values()) {
      if (d.within(gte, lt) && filterMatches(req.filter, d.key)) keys.push(d.key);
    }
    const values = hintValues(req.type, keys);
    if (values === undefined) throw new QueryError(`unsupported filter type '${req.type}'`);
    return {
      meta: listMeta(values.length, req.page_size),
      hints: page(values, req.page, req.page_size).map((value) => ({ value })),
    };
  }

  /** Statistics.List over the completed buckets whose start is in the range. */
  statistics(req: StatisticsRequest): StatisticsResult[] {
    const { gte, lt } = this.#range(req.start_time_gte, req.start_time_lt);
    const rows = this.#bucketsBetween(
      gte,
      Math.min(lt, this.endOfHistory),
      (b) => b.start + this.bucketSeconds <= lt,
    )
      .map((b) => ({ start: b.start, rows: b.stats.query(req) }))
      .filter((b) => b.rows.length > 0);
    return mergeStatistics(rows, req);
  }

  /** Stream backfill: each bucket from `start` up to (not including) the streaming bucket, oldest first. */
  backfill(start: number, filter: Filter | null, emit: (r: FlowResult) => void): void {
    const streaming = this.#buckets[this.#index(-2)]!;
    for (const b of this.#bucketsBetween(start, streaming.start, () => true)) {
      for (const r of bucketFlows(b, filter)) emit(r);
    }
  }

  /** Buckets oldest first whose start lies in [gte, lt) and that pass `keep`. */
  #bucketsBetween(gte: number, lt: number, keep: (b: Bucket) => boolean): Bucket[] {
    const out: Bucket[] = [];
    for (let k = 1; k <= this.#n; k++) {
      const b = this.#buckets[this.#index(k)]!;
      if (b.start >= lt) break;
      if (b.end > gte && keep(b)) out.push(b);
    }
    return out;
  }
}

const EMPTY: readonly string[] = Object.freeze([]);

function* bucketFlows(b: Bucket, filter: Filter | null): Iterable<FlowResult> {
  for (const d of b.flows) {
    if (!filterMatches(filter, d.key)) continue;
    const flow = d.aggregate(b.start, b.end);
    if (flow !== undefined) yield { id: d.id, flow };
  }
}
