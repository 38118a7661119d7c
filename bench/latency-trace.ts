/**
 * Where a programming-latency sample's time went: the bench's stamps (write issued, write acknowledged, probe
 * connected) joined with the agent's stage stamps (agent-trace.ts) by datastore revision and time order.
 *
 * The path from a write to the new verdict, as consecutive stages that add up to the sample's latency:
 *   watch      write issued (bench) → the backend watch hands the event to the agent's syncer
 *   calc       → the loop receives the calc graph's messages (syncer filter, CalcGraph.onUpdates + flush)
 *   managers   DataplaneLoop.onMessages (managers record state and render intent)
 *   queue      → the apply that carries the change starts (waiting for an apply already running)
 *   prep       → NftTable.apply starts (the managers' completeDeferredWork: render intent, read interface
 *              addresses for host endpoints)
 *   render     → `nft -f` is called (plan and render the transaction)
 *   nft        → the probe's first connection gets through: the request to the spawner helper, the nft
 *              process start, nft reading, checking and committing the transaction, and the probe's own
 *              detection (an attempt every millisecond, one handshake)
 * The nft stage is split further with the helper's stamps. Off the path, but holding the loop (so delaying the
 * next change, `appliedRevision` and the status files): nft exiting after the commit (the kernel's release of
 * the transaction's netlink socket), the result's way back to the agent, then route and network applies and
 * the status writes.
 */
import { percentileRank } from '../src/lib/stats.js';

export interface TraceEvent {
  readonly s: string;
  readonly t0: number;
  readonly t1?: number;
  readonly ok?: boolean;
  readonly lo?: number;
  readonly hi?: number;
  readonly received?: unknown;
  readonly cmd?: string;
  readonly arg0?: string;
  readonly started?: number;
  readonly exited?: number;
  /** dns-histo: the observed value (ms). */
  readonly ms?: number;
  readonly installed?: readonly string[];
  readonly missing?: readonly string[];
}

export const STAGES = ['watch', 'calc', 'managers', 'queue', 'prep', 'render', 'nft'] as const;
export type Stage = (typeof STAGES)[number];

/** The nft stage in the spawner helper's stamps (when it has them), and what follows the verdict. */
export const NFT_PARTS = ['helper', 'spawn', 'commit', 'exit', 'back'] as const;
export type NftPart = (typeof NFT_PARTS)[number];

/** Off the path: after the verdict, until the apply ends. */
export const OFF_PATH = ['ack', 'afterVerdict', 'exit', 'back', 'routes', 'network', 'status'] as const;
export type OffPath = (typeof OFF_PATH)[number];

export const LABELS: Readonly<Record<Stage | NftPart | OffPath | 'total', string>> = {
  watch: 'datastore write → watch event in the agent',
  calc: 'syncer + calc graph (onUpdates, flush)',
  managers: 'dataplane managers (onMessages)',
  queue: 'waiting for the apply to start',
  prep: 'apply preparation (before NftTable.apply)',
  render: 'plan + render the transaction',
  nft: '`nft -f` called → verdict seen by the probe',
  helper: '(of which) request to the spawner helper',
  spawn: '(of which) nft process start (spawn, fork, exec; 0 when a prepared nft was waiting)',
  commit: '(of which) nft reads, checks and commits; the probe sees it',
  total: '**total: write → verdict seen**',
  ack: 'write call → datastore acknowledged it (the bench side)',
  afterVerdict: 'verdict seen → apply ends (the loop is busy)',
  exit: '(of which) nft exiting after the commit',
  back: '(of which) nft exit → result back in the agent',
  routes: '(of which) workload routes (WorkloadRouteManager.apply)',
  network: '(of which) cluster networking (VxlanManager, ClusterRouteManager .apply)',
  status: '(of which) status files',
};

/** The bench's stamps for one sample (CLOCK_MONOTONIC ms). */
export interface Sample {
  readonly revision: number;
  readonly written: number;
  readonly acked: number;
  readonly detected: number;
}

export interface SampleBreakdown {
  readonly total: number;
  readonly stages: Readonly<Record<Stage, number>>;
  /** The nft stage and what follows in the helper's stamps (absent when the helper stamped nothing). */
  readonly nft?: Readonly<Record<NftPart, number>>;
  readonly offPath: Readonly<Record<Exclude<OffPath, 'exit' | 'back'>, number>>;
}

/** Parses the trace file (JSON lines); the `hooks` line of the agent must list no missing hook. */
export function parseTrace(text: string): TraceEvent[] {
  const events = text
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as TraceEvent);
  const hooks = events.find((e) => e.s === 'hooks');
  if (hooks === undefined) throw new Error('agent trace: no hooks line (was agent-trace.js loaded?)');
  if ((hooks.missing?.length ?? 0) > 0)
    throw new Error(`agent trace: hooks missing in the agent: ${hooks.missing?.join(', ')}`);
  return events.sort((a, b) => a.t0 - b.t0);
}

const covers = (e: TraceEvent, rev: number): boolean =>
  e.lo !== undefined && e.hi !== undefined && e.lo <= rev && rev <= e.hi;

const end = (e: TraceEvent): number => e.t1 ?? e.t0;

const within = (e: TraceEvent, outer: TraceEvent): boolean => e.t0 >= outer.t0 && end(e) <= end(outer);

/** The helper's stamps of the `nft -f` run the agent stamped as `nft`. */
function nftParts(
  nft: TraceEvent,
  detected: number,
  events: readonly TraceEvent[],
): Record<NftPart, number> | undefined {
  const run = events.find((e) => e.s === 'x-run' && e.cmd === 'nft' && e.arg0 === '-f' && within(e, nft));
  if (run === undefined) return undefined;
  // The process that ended during the run: started by it, or earlier (a prepared nft waiting for its input).
  const proc = events.find(
    (e) =>
      e.s === 'x-proc' &&
      e.cmd === 'nft' &&
      e.exited !== undefined &&
      e.exited >= run.t0 &&
      e.exited <= end(run),
  );
  if (proc?.started === undefined || proc.exited === undefined) return undefined;
  const ready = Math.max(proc.started, run.t0);
  return {
    helper: run.t0 - nft.t0,
    spawn: ready - run.t0,
    commit: detected - ready,
    exit: proc.exited - detected,
    back: end(nft) - proc.exited,
  };
}

/** One sample's stages, or why they cannot be told (a stamp missing). */
export function breakdown(sample: Sample, events: readonly TraceEvent[]): SampleBreakdown | string {
  const after = (t: number, pred: (e: TraceEvent) => boolean): TraceEvent | undefined =>
    events.find((e) => e.t0 >= t && pred(e));
  const why = (what: string): string => `revision ${sample.revision}: ${what}`;
  const watch = after(sample.written, (e) => e.s === 'watch' && covers(e, sample.revision));
  if (watch === undefined) return why('no watch event');
  const msgs = after(watch.t0, (e) => e.s === 'messages' && (e.hi ?? -1) >= sample.revision);
  if (msgs === undefined) return why('no onMessages');
  // kick() starts an idle loop's apply inside onMessages, and the apply reaches NftTable.apply before
  // onMessages returns (the table takes the pending changes a microtask later): the carrying table apply is
  // the first one starting after onMessages started.
  const table = after(msgs.t0, (e) => e.s === 'table');
  if (table === undefined) return why('no NftTable.apply after onMessages');
  const nft = after(table.t0, (e) => e.s === 'nft' && e.t0 <= end(table));
  if (nft === undefined) return why('no nft transaction in its apply');
  if (nft.ok !== true) return why('nft transaction failed');
  const apply = events.find((e) => e.s === 'apply' && e.t0 <= table.t0 && end(e) >= end(table));
  if (apply === undefined) return why('no apply around NftTable.apply');
  // The managers' part of onMessages ends where it starts the apply (idle loop) or where it returns.
  const managersEnd = apply.t0 >= msgs.t0 && apply.t0 <= end(msgs) ? apply.t0 : end(msgs);
  const applyStart = Math.max(managersEnd, apply.t0);
  const spent = (stage: string): number =>
    events
      .filter((e) => e.s === stage && e.t0 >= end(nft) && end(e) <= end(apply))
      .reduce((n, e) => n + end(e) - e.t0, 0);
  const parts = nftParts(nft, sample.detected, events);
  return {
    total: sample.detected - sample.written,
    stages: {
      watch: watch.t0 - sample.written,
      calc: msgs.t0 - watch.t0,
      managers: managersEnd - msgs.t0,
      queue: applyStart - managersEnd,
      prep: table.t0 - applyStart,
      render: nft.t0 - table.t0,
      nft: sample.detected - nft.t0,
    },
    ...(parts === undefined ? {} : { nft: parts }),
    offPath: {
      ack: sample.acked - sample.written,
      afterVerdict: end(apply) - sample.detected,
      routes: spent('routes'),
      network: spent('network'),
      status: spent('status'),
    },
  };
}

export interface Quantiles {
  readonly p50: number;
  readonly p99: number;
}

export type QuantileKey = Stage | NftPart | OffPath | 'total';

const q = (xs: readonly number[]): Quantiles => ({
  p50: percentileRank(xs, 50),
  p99: percentileRank(xs, 99),
});

/** p50 and p99 of every stage, part and off-path figure over the samples (nft parts when stamped). */
export function stageQuantiles(xs: readonly SampleBreakdown[]): Partial<Record<QuantileKey, Quantiles>> {
  const out: Partial<Record<QuantileKey, Quantiles>> = { total: q(xs.map((x) => x.total)) };
  for (const s of STAGES) out[s] = q(xs.map((x) => x.stages[s]));
  for (const k of ['ack', 'afterVerdict', 'routes', 'network', 'status'] as const)
    out[k] = q(xs.map((x) => x.offPath[k]));
  const parts = xs.flatMap((x) => (x.nft === undefined ? [] : [x.nft]));
  if (parts.length > 0) for (const p of NFT_PARTS) out[p] = q(parts.map((d) => d[p]));
  return out;
}

/** The table's rows, in order: the path (nft split), the total, then what is off the path. */
export const TABLE_ROWS: readonly QuantileKey[] = [
  'watch',
  'calc',
  'managers',
  'queue',
  'prep',
  'render',
  'nft',
  'helper',
  'spawn',
  'commit',
  'total',
  'ack',
  'afterVerdict',
  'exit',
  'back',
  'routes',
  'network',
  'status',
];
