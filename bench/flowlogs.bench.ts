/**
 * Flow logs on the real kernel (issue 14): what they cost per packet, and how soon a connection is visible.
 *
 * Packet cost: two pods on one node with 100 policies of the per-port shape (bench/packet-cost.bench.ts, 500
 * rules) selecting both and a final allow, measured with the interleaved method of bench/method.ts with flow
 * logs off (FelixConfiguration without flowLogsGoldmaneServer: rules merged, nothing logged), with the NFLOG
 * rules only (flowLogsLocalReporter: every rule its own nft rule with its counter and NFLOG prefix, nobody
 * reading them) and on (the same rules, the collector reading NFLOG and conntrack and reporting to a
 * calico-goldmane served by this process on a unix socket), so the rules' cost and the collector's show apart.
 * Each arm is verified on entry: the ruleset has (on) or has no (off) NFLOG rules of groups 1/2, and a sentinel
 * connection the last policy denies is dropped.
 *
 * Delay: with flowLogsFlushInterval 5 s, 60 connections to distinct ports spread over 30 s; for each, the time
 * from its connect to its flow appearing in Flows.List over gRPC (polled every 100 ms).
 */
import { join } from 'node:path';
import { AgentHarness, type TestPod } from '../src/agent/testing.js';
import { keyOf, type Resource } from '../src/datastore/index.js';
import { Aggregator } from '../src/goldmane/aggregator.js';
import { GoldmaneClient } from '../src/goldmane/client.js';
import { GoldmaneServer } from '../src/goldmane/server.js';
import { waitFor } from '../src/lib/async.js';
import { runChecked } from '../src/labkit/netns.js';
import { C, podPair } from './agent-setup.js';
import { figureRow, interleave, ratioRow, type Arm } from './method.js';
import { costPolicies, measurePair, quiesce, SENTINEL, type PairFigures } from './packet-cost.bench.js';
import type { BenchResult } from './result.js';

const ROUNDS = 8;
const POLICIES = 100;
const SENTINEL_PORT = 9;
const PORT = 81;
const DELAY_CONNECTIONS = 60;
const DELAY_SPREAD_MS = 30_000;
const DELAY_BASE_PORT = 31_000;

interface FlowArm extends Arm {
  /** The NFLOG rules are rendered. */
  readonly on: boolean;
  /** The collector runs (flowLogsGoldmaneServer); rendering only (flowLogsLocalReporter) when false. */
  readonly collector: boolean;
}
const OFF: FlowArm = { name: 'off', on: false, collector: false };
const RENDER: FlowArm = { name: 'render', on: true, collector: false };
const ON: FlowArm = { name: 'on', on: true, collector: true };

function policies(): Resource[] {
  return costPolicies('ports', POLICIES, 'flow');
}

async function setFlowLogs(h: AgentHarness, arm: FlowArm, server: string): Promise<void> {
  const spec: Record<string, unknown> = { flowLogsFlushInterval: '5s' };
  if (arm.collector) spec.flowLogsGoldmaneServer = server;
  else if (arm.on) spec.flowLogsLocalReporter = 'Enabled';
  await h.backend.applyMany([
    { apiVersion: C, kind: 'FelixConfiguration', metadata: { name: 'default' }, spec } as Resource,
  ]);
}

async function nflogRules(h: AgentHarness): Promise<number> {
  const text = await runChecked(h.scope.runner(h.node), 'nft', ['list', 'table', 'inet', 'calico']);
  return text.split('\n').filter((l) => / log prefix "[ADP][PR][IE]/.test(l) && / group [12]\b/.test(l))
    .length;
}

async function enterArm(h: AgentHarness, arm: FlowArm, server: string, b: string, a: string): Promise<void> {
  await setFlowLogs(h, arm, server);
  await waitFor(async () => (await nflogRules(h)) > 0 === arm.on, {
    timeoutMs: 60_000,
    intervalMs: 200,
    what: `NFLOG rules ${arm.on ? 'rendered' : 'gone'}`,
  });
  await quiesce(h);
  const r = await h.scope
    .runner(a)
    .run(process.execPath, ['-e', SENTINEL, b, String(SENTINEL_PORT), '500'], { timeoutMs: 10_000 });
  if (r.stdout.trim() !== 'timeout')
    throw new Error(`arm ${arm.name}: sentinel to port ${SENTINEL_PORT} gave "${r.stdout.trim()}"`);
}

/** Listens on `n` ports from `base` for `ms`, accepting and closing. */
const MULTI_SERVER = `
const net = require('node:net');
const [host, base, n, ms] = process.argv.slice(1).map((x, i) => (i === 0 ? x : Number(x)));
for (let i = 0; i < n; i++) net.createServer((s) => { s.on('error', () => {}); s.end(); }).listen(base + i, host);
setTimeout(() => process.exit(0), ms);
`;

/** Connects to each port once, spread over `spread` ms; prints `port epochMs` for each connection made. */
const SPREAD_CLIENT = `
const net = require('node:net');
const [host, base, n, spread] = process.argv.slice(1).map((x, i) => (i === 0 ? x : Number(x)));
let left = n;
for (let i = 0; i < n; i++) setTimeout(() => {
  const s = net.connect({ host, port: base + i }, () => { console.log(base + i, Date.now()); s.destroy(); if (--left === 0) process.exit(0); });
  s.on('error', (e) => { console.error(base + i, e.code); if (--left === 0) process.exit(0); });
}, Math.floor((i * spread) / n));
`;

function percentile(xs: readonly number[], p: number): number {
  const s = [...xs].sort((x, y) => x - y);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)] ?? NaN;
}

async function measureDelay(
  h: AgentHarness,
  client: GoldmaneClient,
  a: TestPod,
  b: TestPod,
): Promise<number[]> {
  const ms = DELAY_SPREAD_MS + 60_000;
  const args = [String(DELAY_BASE_PORT), String(DELAY_CONNECTIONS)];
  const server = h.scope
    .runner(b.ns)
    .run(process.execPath, ['-e', MULTI_SERVER, '0.0.0.0', ...args, String(ms)], { timeoutMs: ms + 10_000 });
  const last = `:${DELAY_BASE_PORT + DELAY_CONNECTIONS - 1} `;
  await waitFor(async () => (await h.scope.runner(b.ns).run('ss', ['-Hltn'])).stdout.includes(last), {
    timeoutMs: 10_000,
    intervalMs: 50,
    what: 'the delay servers listening',
  });
  const seen = new Map<number, number>();
  let polling = true;
  const poll = (async () => {
    while (polling) {
      const r = await client.list({ page_size: 0 }).catch(() => undefined);
      const now = Date.now();
      for (const f of r?.flows ?? []) {
        const port = f.flow?.Key.dest_port ?? 0;
        if (port >= DELAY_BASE_PORT && port < DELAY_BASE_PORT + DELAY_CONNECTIONS && !seen.has(port))
          seen.set(port, now);
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  })();
  try {
    const out = await h.scope
      .runner(a.ns)
      .run(process.execPath, ['-e', SPREAD_CLIENT, b.ip, ...args, String(DELAY_SPREAD_MS)], {
        timeoutMs: DELAY_SPREAD_MS + 30_000,
      });
    const connected = new Map(
      out.stdout
        .trim()
        .split('\n')
        .filter((l) => l !== '')
        .map((l) => l.split(' ').map(Number) as [number, number]),
    );
    if (connected.size === 0) throw new Error(`no delay connection was made: ${out.stderr.trim()}`);
    await waitFor(() => [...connected.keys()].every((p) => seen.has(p)), {
      timeoutMs: 30_000,
      intervalMs: 100,
      what: 'every delay connection listed',
    }).catch(() => undefined);
    return [...connected].map(([port, t]) => ((seen.get(port) ?? Infinity) - t) / 1000);
  } finally {
    polling = false;
    await poll;
    void server.catch(() => undefined);
  }
}

export async function benchFlowLogs(): Promise<BenchResult[]> {
  await using h = new AgentHarness();
  await h.setup();
  const [a, b] = await podPair(h);
  const aggregator = new Aggregator();
  const goldmane = new GoldmaneServer(aggregator);
  const socket = join(h.dir, 'goldmane.sock');
  await goldmane.listen(`unix://${socket}`, 0);
  aggregator.start();
  const server = `unix://${socket}`;
  const client = new GoldmaneClient(server);
  try {
    h.startAgent({ FELIX_NFTABLESREFRESHINTERVAL: '3600s' });
    await h.settle();
    await h.backend.applyMany(policies());
    await h.settle(120_000);
    const { byArm } = await interleave<FlowArm, PairFigures>({
      arms: [OFF, RENDER, ON],
      rounds: ROUNDS,
      warmupRounds: 1,
      enter: (arm) => enterArm(h, arm, server, b.ip, a.ns),
      measure: () => measurePair(h, a, b, [PORT]),
      log: (line) => process.stdout.write(`  .. ${line}\n`),
    });
    const gbps = (arm: FlowArm): number[] => byArm.get(arm.name)!.map((f) => f.gbps);
    const cps = (arm: FlowArm): number[] => byArm.get(arm.name)!.map((f) => f.cps.get(PORT) ?? NaN);
    const target = { op: '>=', value: 0.95, issue: 14 } as const;
    await enterArm(h, ON, server, b.ip, a.ns);
    const delays = await measureDelay(h, client, a, b);
    const what = `${POLICIES} policies / ${POLICIES * 5} rules`;
    return [
      figureRow(`TCP throughput, ${what}, flow logs off`, gbps(OFF), 'Gbit/s', 2),
      figureRow(`TCP throughput, ${what}, flow logs on`, gbps(ON), 'Gbit/s', 2),
      ratioRow('throughput ratio, flow logs on / off', gbps(OFF), gbps(ON), target).row,
      figureRow(`new connections/s, ${what}, flow logs off`, cps(OFF), 'conn/s', 0),
      figureRow(`new connections/s, ${what}, NFLOG rules only (no collector)`, cps(RENDER), 'conn/s', 0),
      figureRow(`new connections/s, ${what}, flow logs on`, cps(ON), 'conn/s', 0),
      ratioRow('connection-rate ratio, NFLOG rules only / off', cps(OFF), cps(RENDER)).row,
      ratioRow('connection-rate ratio, flow logs on / off', cps(OFF), cps(ON), target).row,
      {
        name: `connection to its flow in Flows.List, flush 5 s, p50 (${delays.length} connections)`,
        value: Number(percentile(delays, 50).toFixed(2)),
        unit: 's',
      },
      {
        name: `connection to its flow in Flows.List, flush 5 s, p99 (${delays.length} connections)`,
        value: Number(percentile(delays, 99).toFixed(2)),
        unit: 's',
        target: { op: '<=', value: 6, issue: 14 },
      },
    ];
  } finally {
    client.close();
    await goldmane.close(1000);
    aggregator.dispose();
    for (const p of policies()) await h.backend.delete(keyOf(p)).catch(() => undefined);
  }
}
