/**
 * Where a DNS lookup's time goes on the DelayDNSResponse path: the lookup probe's stamps (dns-lookup-probe.ts)
 * joined with the agent's (agent-trace.ts) by time. Lookups run one after another, so the learned-address
 * write that falls inside a lookup's [send, reply] window is that lookup's.
 *
 *   in       the query on its way to the proxy: UDP from the pod, steering (prerouting policy, DNAT), the
 *            agent's event loop reading it (the proxy's upstream latency, stamped when the reply comes, says
 *            when the query was received)
 *   upstream the proxy's query to the trusted server and its reply (the proxy's upstream latency)
 *   learn    → the learned addresses are handed to the table (parse, DnsLearner.learn, dns.log record)
 *   hold     LearnedWriter.program: from handing the answer's addresses to the table until they are in the
 *            kernel (the answer is held that long); of which
 *     queue  → the table's write starts (the table's queue and a batch already running)
 *     line   → the resident `nft -i` has answered the transaction's line (its normal path; then the parts
 *              below are 0)
 *     helper → the spawner helper runs it (request to the helper process)
 *     spawn  → the nft process has started (spawn, fork, exec; 0 when a prepared nft was waiting)
 *     nft    → nft has exited (reads its cache, checks and commits the transaction, exits)
 *     back   → the result is back in the agent
 *   out      → the client has the reply (the hook settles, the proxy sends, UDP back to the pod)
 *   unheld   the lookup's total without the hold (in + upstream + learn + out)
 */
import { percentileRank } from '../src/lib/stats.js';
import type { LookupSample } from './dns-lookup-probe.js';
import type { TraceEvent } from './latency-trace.js';

export const PARTS = [
  'total',
  'in',
  'upstream',
  'learn',
  'hold',
  'queue',
  'line',
  'helper',
  'spawn',
  'nft',
  'back',
  'out',
  'unheld',
] as const;
export type Part = (typeof PARTS)[number];

export const PART_LABELS: Readonly<Record<Part, string>> = {
  total: '**lookup, fresh name, through calico-ts**',
  in: 'query from the pod to the proxy (UDP, steering, the agent reading it)',
  upstream: "proxy ↔ dnsmasq (the proxy's upstream latency)",
  learn: 'upstream reply → addresses handed to the table (parse, learn, dns.log)',
  hold: 'answer held until programmed (LearnedWriter.program)',
  queue: '(of which) waiting in the table queue',
  line: '(of which) the resident nft -i reads the line, commits the elements, answers',
  helper: '(of which) request to the spawner helper',
  spawn: '(of which) nft process start (0 when a prepared nft was waiting)',
  nft: '(of which) nft reads its cache, commits the element, exits',
  back: '(of which) result back in the agent',
  out: 'held answer released → reply in the pod',
  unheld: 'the lookup without the hold (what it would take if programming cost nothing)',
};

const end = (e: TraceEvent): number => e.t1 ?? e.t0;
const inside = (e: TraceEvent, t0: number, t1: number): boolean => e.t0 >= t0 && end(e) <= t1;

/** The agent's learned-address writes (and the nft runs inside them) that fall in a window. */
export function learnedWrites(events: readonly TraceEvent[], t0: number, t1: number): TraceEvent[] {
  return events.filter((e) => e.s === 'learned' && inside(e, t0, t1));
}

/** One lookup's parts, or undefined when the trace does not show exactly one write inside it. */
export function lookupParts(
  s: LookupSample,
  events: readonly TraceEvent[],
): Record<Part, number> | undefined {
  const writes = learnedWrites(events, s.t0, s.t1);
  const w = writes[0];
  if (w === undefined || writes.length !== 1) return undefined;
  // The upstream latency is stamped when the upstream reply arrives: the proxy's first stamp in the window.
  const up = events.find((e) => e.s === 'dns-histo' && inside(e, s.t0, w.t0));
  const resident = events.find((e) => e.s === 'resident' && inside(e, w.t0, end(w)) && e.ok !== false);
  if (resident !== undefined && up?.ms !== undefined) {
    const held = end(w) - w.t0;
    return {
      total: s.t1 - s.t0,
      in: up.t0 - up.ms - s.t0,
      upstream: up.ms,
      learn: w.t0 - up.t0,
      hold: held,
      queue: resident.t0 - w.t0,
      line: end(resident) - resident.t0,
      helper: 0,
      spawn: 0,
      nft: 0,
      back: end(w) - end(resident),
      out: s.t1 - end(w),
      unheld: s.t1 - s.t0 - held,
    };
  }
  const nft = events.find((e) => e.s === 'nft' && inside(e, w.t0, end(w)));
  const run = events.find(
    (e) => e.s === 'x-run' && e.cmd === 'nft' && nft !== undefined && inside(e, nft.t0, end(nft)),
  );
  const proc = events.find(
    (e) =>
      e.s === 'x-proc' &&
      e.cmd === 'nft' &&
      run !== undefined &&
      e.exited !== undefined &&
      e.exited >= run.t0 &&
      e.exited <= end(run),
  );
  // The proxy's first observation in the window is its upstream latency, at the upstream reply's arrival.
  const upstream = events.find((e) => e.s === 'dns-histo' && inside(e, s.t0, w.t0));
  if (
    nft === undefined ||
    run === undefined ||
    proc?.started === undefined ||
    proc.exited === undefined ||
    upstream?.ms === undefined
  )
    return undefined;
  const ready = Math.max(proc.started, run.t0);
  const hold = end(w) - w.t0;
  return {
    total: s.t1 - s.t0,
    in: upstream.t0 - upstream.ms - s.t0,
    upstream: upstream.ms,
    learn: w.t0 - upstream.t0,
    hold,
    queue: nft.t0 - w.t0,
    line: 0,
    helper: run.t0 - nft.t0,
    spawn: ready - run.t0,
    nft: proc.exited - ready,
    back: end(w) - proc.exited,
    out: s.t1 - end(w),
    unheld: s.t1 - s.t0 - hold,
  };
}

export interface Profile {
  /** Per part: p50 and p99 (ms) over the lookups that could be broken down. */
  readonly quantiles: Readonly<Record<Part, { readonly p50: number; readonly p99: number }>>;
  readonly explained: number;
  readonly of: number;
}

export function profile(
  samples: readonly LookupSample[],
  events: readonly TraceEvent[],
): Profile | undefined {
  const parts = samples.flatMap((s) => {
    const p = s.error === undefined ? lookupParts(s, events) : undefined;
    return p === undefined ? [] : [p];
  });
  if (parts.length === 0) return undefined;
  const q = (k: Part): { p50: number; p99: number } => {
    const xs = parts.map((p) => p[k]);
    return { p50: percentileRank(xs, 50), p99: percentileRank(xs, 99) };
  };
  const quantiles = Object.fromEntries(PARTS.map((k) => [k, q(k)])) as Record<
    Part,
    { p50: number; p99: number }
  >;
  return { quantiles, explained: parts.length, of: samples.length };
}
