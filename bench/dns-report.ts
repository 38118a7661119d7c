/**
 * The DNS bench's figures and tables (dns.bench.ts measures; this file reads the measurements and the agent's
 * trace): p50/p99 per arm and what calico-ts adds, the programming writes seen in each arm, where a fresh
 * lookup's time goes (dns-profile.ts) and the first-connection results.
 */
import type { DnsProbeResult } from '../src/agent/testing/dns-probe.js';
import { percentileRank } from '../src/lib/stats.js';
import type { LookupSample } from './dns-lookup-probe.js';
import { learnedWrites, PART_LABELS, PARTS, profile } from './dns-profile.js';
import type { TraceEvent } from './latency-trace.js';
import type { BenchResult, BenchTable, SuiteOutput } from './result.js';

export interface DnsServer {
  readonly ip: string;
  readonly port: number;
}

/** A latency arm: fresh names or one repeated name, to the trusted (steered) server or the baseline. */
export interface Arm {
  readonly name: string;
  readonly fresh: boolean;
  readonly steered: boolean;
  readonly server: DnsServer;
}

/** One probe run of an arm: its lookups, and when the run started and ended (CLOCK_MONOTONIC ms). */
export interface Run {
  readonly samples: readonly LookupSample[];
  readonly t0: number;
  readonly t1: number;
}

export interface Latency {
  readonly byArm: ReadonlyMap<string, readonly Run[]>;
}

export interface Connections {
  readonly results: readonly DnsProbeResult[];
  readonly seconds: number;
}

/** How the run was made (for the notes), and the arms in the order fresh/steered, fresh/baseline, repeated/steered, repeated/baseline. */
export interface Method {
  readonly arms: readonly [Arm, Arm, Arm, Arm];
  readonly lookups: number;
  readonly rounds: number;
  readonly warmup: number;
  readonly batch: number;
  readonly connectPort: number;
  readonly issue: number;
}

const r2 = (x: number): number => Math.round(x * 100) / 100;
const ok = (runs: readonly Run[]): number[] =>
  runs.flatMap((r) => r.samples.filter((s) => s.error === undefined).map((s) => s.t1 - s.t0));
/** The latencies of the lookups during which the agent wrote no learned address. */
const quietLatencies = (runs: readonly Run[], events: readonly TraceEvent[]): number[] =>
  runs.flatMap((r) =>
    r.samples
      .filter((s) => s.error === undefined && learnedWrites(events, s.t0, s.t1).length === 0)
      .map((s) => s.t1 - s.t0),
  );
/** Learned-address writes inside the run's timed lookups (not its untimed warm-up). */
const writesDuring = (r: Run, events: readonly TraceEvent[]): number =>
  r.samples.reduce((n, s) => n + learnedWrites(events, s.t0, s.t1).length, 0);
const quantileCell = (xs: readonly number[]): string =>
  xs.length === 0
    ? 'n/a'
    : `${r2(percentileRank(xs, 50))} / ${r2(percentileRank(xs, 99))} / ${r2(Math.max(...xs))}`;

/** The baseline must not have been steered: had the proxy seen its fresh names, it would have programmed them. */
function checkArms(m: Method, lat: Latency, events: readonly TraceEvent[]): void {
  for (const a of m.arms.filter((x) => !x.steered)) {
    const writes = (lat.byArm.get(a.name) ?? []).reduce(
      (n, r) => n + learnedWrites(events, r.t0, r.t1).length,
      0,
    );
    if (writes > 0)
      throw new Error(`the baseline arm "${a.name}" programmed ${writes} times: it was steered`);
  }
}

export function report(
  m: Method,
  lat: Latency,
  conn: Connections,
  events: readonly TraceEvent[],
): SuiteOutput {
  checkArms(m, lat, events);
  const runs = (name: string): readonly Run[] => lat.byArm.get(name) ?? [];
  const q = (name: string, p: number): number => r2(percentileRank(ok(runs(name)), p));
  const results: BenchResult[] = [];
  const target = { op: '<=', value: 5, issue: m.issue } as const;
  for (const kind of ['fresh', 'repeated'] as const) {
    const ts = `${kind}, calico-ts`;
    const base = `${kind}, baseline`;
    for (const p of [50, 99]) {
      results.push({ name: `lookup p${p}, ${kind} name, through calico-ts`, value: q(ts, p), unit: 'ms' });
      results.push({
        name: `lookup p${p}, ${kind} name, baseline (not steered)`,
        value: q(base, p),
        unit: 'ms',
      });
    }
    results.push({ name: `added p50, ${kind} name`, value: r2(q(ts, 50) - q(base, 50)), unit: 'ms' });
    results.push({ name: `added p99, ${kind} name`, value: r2(q(ts, 99) - q(base, 99)), unit: 'ms', target });
  }
  const quiet = quietLatencies(runs(m.arms[2].name), events);
  if (quiet.length > 0)
    results.push({
      name: 'added p99, repeated name, only lookups that wrote nothing',
      value: r2(percentileRank(quiet, 99) - q(m.arms[3].name, 99)),
      unit: 'ms',
      target,
    });
  const failed = m.arms.reduce(
    (n, a) => n + runs(a.name).reduce((k, r) => k + r.samples.filter((s) => s.error !== undefined).length, 0),
    0,
  );
  results.push({
    name: 'lookups that failed (all latency arms)',
    value: failed,
    unit: 'lookups',
    target: { op: '<=', value: 0, issue: m.issue },
  });
  const connected = conn.results.filter((r) => r.connected === true).length;
  results.push({
    name: `first connection after a fresh lookup (${conn.results.length.toLocaleString('en-US')} names, ${m.batch} at a time)`,
    value: r2((100 * connected) / conn.results.length),
    unit: '%',
    target: { op: '>=', value: 100, issue: m.issue },
  });
  results.push({
    name: 'of those, lookups resent after a lost datagram',
    value: conn.results.filter((r) => (r.sent ?? 1) > 1).length,
    unit: 'lookups',
  });
  results.push({
    name: 'lookup + first connection rate',
    value: Math.round(conn.results.length / conn.seconds),
    unit: 'names/s',
  });
  return {
    results,
    tables: [armsTable(m, lat, events), profileTable(m, lat, events), failuresTable(m, conn)],
  };
}

function armsTable(m: Method, lat: Latency, events: readonly TraceEvent[]): BenchTable {
  const rows = m.arms.map((a) => {
    const runs = lat.byArm.get(a.name) ?? [];
    const xs = ok(runs);
    const writes = runs.reduce((n, r) => n + writesDuring(r, events), 0);
    const perRoundP99 = runs.map((r) => r2(percentileRank(ok([r]), 99)));
    return [a.name, String(xs.length), quantileCell(xs), perRoundP99.join(', '), String(writes)];
  });
  const quiet = quietLatencies(lat.byArm.get(m.arms[2].name) ?? [], events);
  rows.push([
    `${m.arms[2].name}, only lookups that wrote nothing`,
    String(quiet.length),
    quantileCell(quiet),
    '',
    '0',
  ]);
  const [ts, base] = [m.arms[0].server, m.arms[1].server];
  return {
    title: 'DNS lookup latency per arm',
    note:
      `Sequential UDP lookups from the client pod, ${m.lookups} per arm per round, ${m.rounds} measured rounds after ` +
      `${m.warmup} warm-up round, arms interleaved in Williams order. "calico-ts": dnsmasq on ${ts.ip}:${ts.port}, a trusted ` +
      'server (steered through the node-local proxy, DelayDNSResponse); "baseline": an identical dnsmasq in the same ' +
      `pod on port ${base.port} (same veths and FORWARD policy, not steered, nothing learned). "programming writes" counts ` +
      "the agent's learned-address writes (LearnedWriter.program, stamped by agent-trace.ts) during the arm's timed lookups: " +
      'a fresh calico-ts lookup must cause one, a baseline lookup none; a repeated name causes one when the answer ' +
      "extends its element by more than the learner's 1 s slack (dnsmasq answers every time with the full TTL).",
    header: ['arm', 'lookups', 'p50 / p99 / max (ms)', 'p99 per round (ms)', 'programming writes'],
    rows,
  };
}

function profileTable(m: Method, lat: Latency, events: readonly TraceEvent[]): BenchTable {
  const samples = (lat.byArm.get(m.arms[0].name) ?? []).flatMap((r) => r.samples);
  const p = profile(samples, events);
  const base = ok(lat.byArm.get(m.arms[1].name) ?? []);
  const rows = PARTS.map((k) => [
    PART_LABELS[k],
    p === undefined ? 'n/a' : `${r2(p.quantiles[k].p50)} / ${r2(p.quantiles[k].p99)}`,
  ]);
  rows.push([
    'lookup, fresh name, baseline (for comparison)',
    `${r2(percentileRank(base, 50))} / ${r2(percentileRank(base, 99))}`,
  ]);
  return {
    title: 'Where a fresh lookup through calico-ts spends its time',
    note:
      'p50 / p99 in ms of each part of a fresh-name lookup through calico-ts (each part its own p50/p99; the parts ' +
      "of one lookup add up to its total). Joined by time from the probe's stamps and the agent's and its spawner " +
      `helper's (bench/dns-profile.ts): ${p === undefined ? 'no lookup' : `${p.explained} of ${p.of} lookups`} ` +
      'broken down (a lookup is left out when its window does not hold exactly one learned-address write). ' +
      'Reading: the hold is one line to the resident `nft -i` per answer when answers come one at a time (the table ' +
      'coalesces answers that arrive while a write is queued or running); a transaction falls back to `nft -f -` ' +
      'through the spawner helper only when the resident process is unavailable (then the helper, spawn and nft ' +
      "parts count it). The rest of the path (in, upstream, out) runs on the agent's event loop on a loaded " +
      '2-core machine, which a proxy in its own worker or process would isolate.',
    header: ['part', 'p50 / p99 (ms)'],
    rows,
  };
}

function failuresTable(m: Method, conn: Connections): BenchTable {
  const failed = conn.results.filter((r) => r.connected !== true);
  return {
    title: 'First connections that failed',
    note:
      `Each of ${conn.results.length.toLocaleString('en-US')} fresh names (c<i>.conn.example.com, each its own ` +
      `address in 10.96.0.0/16) looked up through the trusted server, ${m.batch} concurrently per batch, and connected ` +
      `to (TCP ${m.connectPort}) as soon as its answer arrived, in ${r2(conn.seconds)} s. Up to 5 rows shown.`,
    header: ['name', 'addresses', 'sent', 'error / connected'],
    rows:
      failed.length === 0
        ? [['none', '', '', '']]
        : failed
            .slice(0, 5)
            .map((r) => [
              r.name,
              r.addresses.join(' '),
              String(r.sent ?? ''),
              r.error ?? String(r.connected),
            ]),
  };
}
