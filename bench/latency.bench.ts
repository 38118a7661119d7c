/**
 * Policy programming latency on the real kernel, from a datastore write to the verdict change a client sees,
 * with N policies present, on the embedded and the etcd datastore, and where that time goes.
 *
 * A client pod probes a server pod that a policy isolates (default deny for ingress). Each sample: the probe
 * process (latency-probe.ts, started once) starts a connect attempt every millisecond; the bench writes a
 * policy allowing the client and stamps the write; the probe stamps its first connection that gets through.
 * Then the policy is removed and the bench waits until the agent has programmed the removal. All stamps are
 * CLOCK_MONOTONIC (process.hrtime), shared by every process on the machine.
 *
 * The agent is the real calico-node started the usual way, with agent-trace.ts preloaded to stamp its stages;
 * latency-trace.ts joins the stamps into a per-stage breakdown (p50/p99 per stage) shown below the figures.
 * etcd is Debian's, started for the run on a unix socket (as the lab runs it), so the agent in its node
 * namespace reaches it without a relay.
 *
 * `CALTS_BENCH_LATENCY_POLICIES=10,100` runs only the cases with those policy counts (while developing).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AgentHarness, knp } from '../src/agent/testing.js';
import type { TestPod } from '../src/agent/testing.js';
import type { LabProcess } from '../src/labkit/process.js';
import { sleep, waitFor } from '../src/lib/async.js';
import { percentileRank } from '../src/lib/stats.js';
import { backgroundPolicies, podPair, useLabEtcd } from './agent-setup.js';
import { Probe } from './latency-probe-client.js';
import { benchBulkUpdate } from './bulk-update.bench.js';
import {
  breakdown,
  LABELS,
  parseTrace,
  stageQuantiles,
  STAGES,
  TABLE_ROWS,
  type QuantileKey,
  type Quantiles,
  type Sample,
  type SampleBreakdown,
} from './latency-trace.js';
import type { BenchResult, BenchTable, BenchTarget, SuiteOutput } from './result.js';

type Datastore = 'embedded' | 'etcd';

interface LatencyCase {
  readonly datastore: Datastore;
  readonly policies: number;
  readonly samples: number;
  readonly target?: BenchTarget;
}

const CASES: readonly LatencyCase[] = [
  { datastore: 'embedded', policies: 10, samples: 100 },
  { datastore: 'embedded', policies: 100, samples: 100, target: { op: '<=', value: 10, issue: 10 } },
  { datastore: 'etcd', policies: 10, samples: 100 },
  { datastore: 'etcd', policies: 100, samples: 100, target: { op: '<=', value: 10, issue: 10 } },
  { datastore: 'embedded', policies: 1000, samples: 20 },
  { datastore: 'embedded', policies: 10_000, samples: 20, target: { op: '<=', value: 100, issue: 4 } },
];

const PROBE_LIMIT_MS = 10_000;
const now = (): number => Number(process.hrtime.bigint()) / 1e6;
const script = (name: string): string => fileURLToPath(new URL(`./${name}.js`, import.meta.url));

interface CaseResult {
  readonly c: LatencyCase;
  readonly latencies: readonly number[];
  readonly stages: readonly SampleBreakdown[];
  readonly unexplained: readonly string[];
}

async function sampleOnce(
  h: AgentHarness,
  probe: Probe,
  b: TestPod,
  allow: ReturnType<typeof knp>,
): Promise<Sample> {
  await probe.arm(b.ip, 80, PROBE_LIMIT_MS);
  const written = now();
  const stored = await h.put(allow);
  const acked = now();
  const detected = await probe.connected(PROBE_LIMIT_MS, 'the allow policy');
  if (detected < written)
    throw new Error('the probe got through before the write: the isolation was not in force');
  return { revision: Number(stored.metadata.resourceVersion), written, acked, detected };
}

async function runCase(c: LatencyCase): Promise<CaseResult> {
  await using h = new AgentHarness();
  await h.setup();
  let etcd: LabProcess | undefined;
  try {
    let env: Record<string, string> = {};
    if (c.datastore === 'etcd') ({ env, etcd } = await useLabEtcd(h));
    const [a, b] = await podPair(h);
    // b is default-deny for ingress: one policy selects it and allows nothing.
    await h.put(
      knp('bench', 'isolate-b', {
        podSelector: { matchLabels: { app: 'bench-b' } },
        policyTypes: ['Ingress'],
      }),
    );
    await h.backend.applyMany(backgroundPolicies(c.policies));
    const trace = join(h.dir, 'agent-trace.jsonl');
    h.startAgent({ ...env, NODE_OPTIONS: `--import=${script('agent-trace')}`, CALTS_BENCH_TRACE: trace });
    await h.settle(120_000);
    await h.scope.listen(b.ns, { protocol: 'tcp', address: b.ip, port: 80 });
    const allow = knp('bench', 'allow-a', {
      podSelector: { matchLabels: { app: 'bench-b' } },
      policyTypes: ['Ingress'],
      ingress: [{ from: [{ podSelector: { matchLabels: { app: 'bench-a' } } }] }],
    });
    const samples: Sample[] = [];
    {
      await using probe = new Probe(a.ns);
      for (let i = 0; i < c.samples; i++) {
        samples.push(await sampleOnce(h, probe, b, allow));
        await h.remove(allow);
        await h.settle(60_000);
        // A random pause, so that writes do not phase-lock to the agent's or the datastore's timers.
        await sleep(Math.random() * 10);
      }
    }
    const last = samples.at(-1)!;
    const events = await waitFor(
      () => {
        const ev = parseTrace(readFileSync(trace, 'utf8'));
        return typeof breakdown(last, ev) === 'string' ? undefined : ev;
      },
      { timeoutMs: 10_000, what: "the agent's trace of the last sample" },
    );
    const stages: SampleBreakdown[] = [];
    const unexplained: string[] = [];
    for (const s of samples) {
      const b = breakdown(s, events);
      if (typeof b === 'string') unexplained.push(b);
      else stages.push(b);
    }
    return { c, latencies: samples.map((s) => s.detected - s.written), stages, unexplained };
  } finally {
    await etcd?.kill();
  }
}

const r1 = (x: number): number => Math.round(x * 10) / 10;
const caseLabel = (c: LatencyCase): string =>
  `${c.policies.toLocaleString('en-US')} policies, ${c.datastore}`;
const cell = (x: Quantiles): string => `${r1(x.p50)} / ${r1(x.p99)}`;

function breakdownTable(results: readonly CaseResult[]): BenchTable {
  const withStages = results.filter((r) => r.stages.length > 0);
  const qs = withStages.map((r) => stageQuantiles(r.stages));
  const row = (label: string, key: QuantileKey): string[] => [
    label,
    ...qs.map((q) => {
      const v = q[key];
      return v === undefined ? 'n/a' : cell(v);
    }),
  ];
  const unexplained = results
    .filter((r) => r.unexplained.length > 0)
    .map(
      (r) =>
        `${caseLabel(r.c)}: ${r.unexplained.length} of ${r.c.samples} samples not broken down (${r.unexplained[0] ?? ''})`,
    );
  return {
    title: 'Where programming latency goes',
    note:
      'p50 / p99 in ms of each stage from a datastore write to the verdict change, per case. The stages of a ' +
      'sample add up to its latency (their p99s do not: each is the p99 of that stage alone); "(of which)" rows ' +
      'split the row above them. The rows after the total are off the path: the write call until the datastore ' +
      'acknowledged it, and what the apply still does after the verdict changed, during which the loop takes ' +
      'no other change. Stamped in the running agent and its spawner helper by bench/agent-trace.ts; stages ' +
      `defined in bench/latency-trace.ts.${unexplained.length > 0 ? ` ${unexplained.join('; ')}.` : ''}`,
    header: ['stage', ...withStages.map((r) => caseLabel(r.c))],
    rows: TABLE_ROWS.map((k) => row(LABELS[k], k)),
  };
}

/**
 * Each case with a latency target: whether its p99 met it, how many samples did not, and, for a target not
 * met, the path stage with the largest p99 and the datastore's own commit (outside calico-node) beside it.
 */
function targetTable(results: readonly CaseResult[]): BenchTable {
  const rows = results.flatMap((r) => {
    const t = r.c.target;
    if (t === undefined) return [];
    const p99 = r1(percentileRank(r.latencies, 99));
    const met = t.op === '<=' ? p99 <= t.value : p99 >= t.value;
    const over = r.latencies.filter((x) => (t.op === '<=' ? x > t.value : x < t.value)).length;
    const qs = stageQuantiles(r.stages);
    const largest = STAGES.map((s) => ({ s, v: qs[s]?.p99 ?? 0 })).reduce((a, b) => (b.v > a.v ? b : a));
    const ack = qs.ack;
    return [
      [
        caseLabel(r.c),
        `${r1(percentileRank(r.latencies, 50))} / ${p99}`,
        `${t.op === '<=' ? '≤' : '≥'} ${t.value} (issue ${t.issue}): ${met ? 'met' : '**not met**'}`,
        `${over} of ${r.latencies.length}`,
        met || r.stages.length === 0 ? '' : `${LABELS[largest.s]}: ${r1(largest.v)}`,
        ack === undefined ? 'n/a' : cell(ack),
      ],
    ];
  });
  return {
    title: 'Against the latency targets',
    note:
      'Per case with a target: p50 / p99 of write → verdict seen in ms, whether the p99 meets the target, how ' +
      'many samples missed it, for a target not met the path stage with the largest p99 (ms; a stage of the ' +
      'table below), and the datastore’s own commit (the write call until the datastore acknowledged it, fsync ' +
      'included: outside calico-node) as p50 / p99 in ms, a floor no change in calico-node removes.',
    header: ['case', 'p50 / p99', 'target', 'samples over', 'largest stage at p99', 'datastore commit'],
    rows,
  };
}

/** The policy counts CALTS_BENCH_LATENCY_POLICIES selects (undefined: all). */
function selectedCounts(): ReadonlySet<number> | undefined {
  const only = process.env.CALTS_BENCH_LATENCY_POLICIES;
  return only === undefined || only === '' ? undefined : new Set(only.split(',').map(Number));
}

function selectedCases(): readonly LatencyCase[] {
  const counts = selectedCounts();
  return counts === undefined ? CASES : CASES.filter((c) => counts.has(c.policies));
}

export async function benchLatency(): Promise<SuiteOutput> {
  const results: CaseResult[] = [];
  const rows: BenchResult[] = [];
  for (const c of selectedCases()) {
    process.stdout.write(`  .. ${caseLabel(c)}: ${c.samples} samples\n`);
    const r = await runCase(c);
    results.push(r);
    rows.push(
      {
        name: `programming latency p50, ${caseLabel(c)}`,
        value: r1(percentileRank(r.latencies, 50)),
        unit: 'ms',
      },
      {
        name: `programming latency p99, ${caseLabel(c)}`,
        value: r1(percentileRank(r.latencies, 99)),
        unit: 'ms',
        ...(c.target === undefined ? {} : { target: c.target }),
      },
    );
  }
  // In-place updates of 1,000 active policies at once (bulk-update.bench.ts).
  if (selectedCounts()?.has(1000) ?? true) {
    process.stdout.write('  .. 1,000 in-place policy updates\n');
    rows.push(...(await benchBulkUpdate()));
  }
  return { results: rows, tables: [targetTable(results), breakdownTable(results)] };
}
