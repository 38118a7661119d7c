/**
 * The DNS proxy's counters, for the agent's `felix_dns_*` metrics: plain numbers and two histograms
 * (upstream latency, and how long answers were held for the dataplane), read with `snapshot()`.
 */

/** Upper bounds (ms) of the histogram buckets; an implicit +Inf bucket follows. */
export const DNS_LATENCY_BUCKETS_MS: readonly number[] = [
  1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000,
];

export interface HistogramSnapshot {
  readonly bucketsMs: readonly number[];
  /** Cumulative counts per bucket (`le`), then the +Inf count (= count). */
  readonly cumulative: readonly number[];
  readonly sumMs: number;
  readonly count: number;
}

export class LatencyHistogram {
  readonly #bounds: readonly number[];
  readonly #counts: number[];
  #sum = 0;
  #count = 0;

  constructor(bounds: readonly number[] = DNS_LATENCY_BUCKETS_MS) {
    this.#bounds = bounds;
    this.#counts = Array<number>(bounds.length + 1).fill(0);
  }

  observe(ms: number): void {
    let i = this.#bounds.findIndex((b) => ms <= b);
    if (i < 0) i = this.#bounds.length;
    this.#counts[i]! += 1;
    this.#sum += ms;
    this.#count += 1;
  }

  snapshot(): HistogramSnapshot {
    let acc = 0;
    const cumulative = this.#counts.map((c) => (acc += c));
    return { bucketsMs: this.#bounds, cumulative, sumMs: this.#sum, count: this.#count };
  }
}

export interface DnsProxyCounters {
  /** Queries accepted from clients, per transport. */
  readonly queriesUdp: number;
  readonly queriesTcp: number;
  /** Client messages that were not a well-formed single-question query (dropped or FORMERR). */
  readonly clientParseErrors: number;
  /** UDP queries dropped because `maxInflight` queries were already being answered. */
  readonly droppedOverload: number;
  /** Upstream answers that parsed (learned from, handed to the hook). */
  readonly answers: number;
  /** Upstream replies whose records did not parse (passed on, not learned). */
  readonly upstreamParseErrors: number;
  /** Datagrams/frames on an upstream socket that were not the reply (garbage, wrong id or question). */
  readonly upstreamIgnored: number;
  /** Queries answered SERVFAIL because the upstream timed out or failed. */
  readonly upstreamTimeouts: number;
  readonly upstreamErrors: number;
  /** Hooks that rejected or ran past the bound (the answer was sent anyway). */
  readonly hookFailures: number;
  readonly hookTimeouts: number;
}

export interface DnsProxyStatsSnapshot extends DnsProxyCounters {
  /** Query received -> upstream reply received. */
  readonly upstreamLatency: HistogramSnapshot;
  /** Upstream reply received -> hook settled (the DelayDNSResponse hold). */
  readonly holdLatency: HistogramSnapshot;
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

export class DnsProxyStats {
  readonly counters: Mutable<DnsProxyCounters> = {
    queriesUdp: 0,
    queriesTcp: 0,
    clientParseErrors: 0,
    droppedOverload: 0,
    answers: 0,
    upstreamParseErrors: 0,
    upstreamIgnored: 0,
    upstreamTimeouts: 0,
    upstreamErrors: 0,
    hookFailures: 0,
    hookTimeouts: 0,
  };
  readonly upstreamLatency = new LatencyHistogram();
  readonly holdLatency = new LatencyHistogram();

  snapshot(): DnsProxyStatsSnapshot {
    return {
      ...this.counters,
      upstreamLatency: this.upstreamLatency.snapshot(),
      holdLatency: this.holdLatency.snapshot(),
    };
  }
}
