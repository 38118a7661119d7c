/**
 * DNS policy on the real kernel (issue 13, docs/design/dns-policy.md): what the DelayDNSResponse path adds to a
 * pod's lookups, and whether the first connection after a lookup always gets through.
 *
 * Topology (as src/agent/dns-policy.netns.test.ts): a real calico-node in a node namespace, a client pod whose
 * egress allows only DNS to the DNS pod and `*.example.com`, a DNS pod running two identical dnsmasq
 * processes (same configuration, same zone, same address) on port 53 and on port 5353, and a web pod that owns
 * the connection test's addresses. Only `10.65.0.53:53` is in `dnsTrustedServers`:
 *
 *  - calico-ts: queries to :53 are policed in prerouting, DNATed to the node-local proxy, forwarded to dnsmasq
 *    and each answer is held until its addresses are in the kernel's domain set (one `nft -f` when idle);
 *  - baseline: queries to :5353 take the same veths and the same FORWARD policy to the same pod and an
 *    identical dnsmasq, but are not steered (port 5353 is not a trusted server): the only difference is the
 *    proxy hop and the programming. A second dnsmasq on another port of the same pod, rather than another pod,
 *    keeps the path length, the interface and the policy rule identical.
 *
 * Latency: four arms (fresh or repeated name × calico-ts or baseline) in interleaved rounds (method.ts, Williams
 * order, one warm-up round discarded), each arm a run of sequential lookups from one probe process in the
 * client pod (dns-lookup-probe.ts). A fresh name maps to an address no other name has, so each fresh answer
 * through calico-ts programs one element; a repeated name is one name asked again and again. p50 and p99 are
 * over every lookup of an arm. The agent's stage stamps (agent-trace.ts) tell where the held time goes
 * (dns-profile.ts) and check each arm: every fresh calico-ts lookup programmed once, no baseline lookup did.
 *
 * First connection: CALTS_BENCH_DNS_CONNECTIONS fresh names (10,000), in batches of CALTS_BENCH_DNS_BATCH
 * (100) looked up concurrently by src/agent/testing/dns-probe.ts; each answer's address is connected to at once
 * (UDP retried after 1 s up to 5 times, as a stub resolver with `options timeout:1 attempts:5`).
 *
 * Knobs (while developing): CALTS_BENCH_DNS_LOOKUPS (lookups per arm per round, 300),
 * CALTS_BENCH_DNS_ROUNDS (measured rounds, 9), CALTS_BENCH_DNS_CONNECTIONS, CALTS_BENCH_DNS_BATCH.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Resource } from '../src/datastore/index.js';
import { AgentHarness, namespaceObject, runner, type TestPod } from '../src/agent/testing.js';
import type { DnsProbeRequest, DnsProbeResult } from '../src/agent/testing/dns-probe.js';
import { DNSMASQ } from '../src/dns/testing.js';
import { waitFor } from '../src/lib/async.js';
import { C } from './agent-setup.js';
import type { LookupRequest, LookupSample } from './dns-lookup-probe.js';
import {
  report,
  type Arm,
  type Connections,
  type DnsServer,
  type Latency,
  type Method,
  type Run,
} from './dns-report.js';
import { parseTrace } from './latency-trace.js';
import { interleave, MIN_ROUNDS } from './method.js';
import type { SuiteOutput } from './result.js';

const envInt = (name: string, dflt: number): number => {
  const v = Number(process.env[name] ?? dflt);
  if (!Number.isInteger(v) || v <= 0) throw new RangeError(`${name} must be a positive integer`);
  return v;
};
const LOOKUPS = envInt('CALTS_BENCH_DNS_LOOKUPS', 300);
const ROUNDS = Math.max(MIN_ROUNDS, envInt('CALTS_BENCH_DNS_ROUNDS', 9));
const WARMUP = 1;
const CONNECTIONS = envInt('CALTS_BENCH_DNS_CONNECTIONS', 10_000);
const BATCH = envInt('CALTS_BENCH_DNS_BATCH', 100);

const TRUSTED = { ip: '10.65.0.53', port: 53 };
const BASELINE = { ip: '10.65.0.53', port: 5353 };
const REPEATED = 'r.lat.example.com';
const CONNECT_PORT = 8080;
const SERVER =
  "require('node:net').createServer((s) => s.end()).listen({ host: '0.0.0.0', port: 8080, backlog: 4096 })";

const script = (p: string): string => fileURLToPath(new URL(p, import.meta.url));
/** The i-th address of a /16 (skipping .0 and .251-.255 of each /24). */
const addr = (net: number, i: number): string => `10.${net}.${Math.floor(i / 250)}.${(i % 250) + 1}`;

const ARMS: Method['arms'] = [
  { name: 'fresh, calico-ts', fresh: true, steered: true, server: TRUSTED },
  { name: 'fresh, baseline', fresh: true, steered: false, server: BASELINE },
  { name: 'repeated, calico-ts', fresh: false, steered: true, server: TRUSTED },
  { name: 'repeated, baseline', fresh: false, steered: false, server: BASELINE },
];
const METHOD: Method = {
  arms: ARMS,
  lookups: LOOKUPS,
  rounds: ROUNDS,
  warmup: WARMUP,
  batch: BATCH,
  connectPort: CONNECT_PORT,
  issue: 13,
};
/** Fresh names per arm: `f<i>` (calico-ts) and `g<i>` (baseline), each its own address. */
const freshName = (arm: Arm, i: number): string => `${arm.steered ? 'f' : 'g'}${i}.lat.example.com`;

async function lookups(client: TestPod, server: DnsServer, names: readonly string[]): Promise<Run> {
  const req: LookupRequest = { server, names, timeoutMs: 2_000, warmName: REPEATED };
  const now = (): number => Number(process.hrtime.bigint()) / 1e6;
  const t0 = now();
  const r = await runner.run(
    'ip',
    ['netns', 'exec', client.ns, process.execPath, script('./dns-lookup-probe.js'), JSON.stringify(req)],
    { timeoutMs: 60_000 + names.length * 2_000 },
  );
  if (r.code !== 0) throw new Error(`lookup probe failed: ${r.stderr}`);
  return { samples: JSON.parse(r.stdout) as LookupSample[], t0, t1: now() };
}

function hostsFile(dir: string): string {
  const lines: string[] = [`10.99.0.1 ${REPEATED}`];
  const fresh = LOOKUPS * (ROUNDS + WARMUP);
  for (let i = 0; i < fresh; i++) lines.push(`${addr(97, i)} f${i}.lat.example.com`);
  for (let i = 0; i < fresh; i++) lines.push(`${addr(98, i)} g${i}.lat.example.com`);
  for (let i = 0; i < CONNECTIONS; i++) lines.push(`${addr(96, i)} c${i}.conn.example.com`);
  const file = join(dir, 'bench.hosts');
  writeFileSync(file, `${lines.join('\n')}\n`);
  return file;
}

function dnsmasq(pod: TestPod, port: number, hosts: string): ChildProcess {
  return spawn(
    'ip',
    [
      ...['netns', 'exec', pod.ns, DNSMASQ, '--keep-in-foreground', '--conf-file=/dev/null', '--user=root'],
      ...['--pid-file=', `--listen-address=${pod.ip}`, '--bind-interfaces', `--port=${port}`, '--no-resolv'],
      ...['--no-hosts', '--local-ttl=3600', `--addn-hosts=${hosts}`],
    ],
    { stdio: 'ignore' },
  );
}

async function setup(h: AgentHarness, procs: ChildProcess[]): Promise<{ client: TestPod; trace: string }> {
  await h.setup();
  const trace = join(h.dir, 'agent-trace.jsonl');
  h.startAgent({ NODE_OPTIONS: `--import=${script('./agent-trace.js')}`, CALTS_BENCH_TRACE: trace });
  const client = await h.plumbPod('app', 'client', '10.65.0.10', { app: 'client' });
  const dns = await h.plumbPod('kube-system', 'dns', TRUSTED.ip, { app: 'dns' });
  const web = await h.plumbPod('web', 'web', '10.65.0.80', { app: 'web' });
  // The connection test's addresses (10.96.0.0/16) are all the web pod's, routed via the pod's own address: a
  // link-scope route would need one neighbour entry per address, and the kernel's ARP table is shared by every
  // namespace (gc_thresh3, 1,024 entries): thousands of addresses overflow it ("neighbor table overflow").
  await runner.run('ip', ['-n', h.node, 'route', 'add', '10.96.0.0/16', 'via', web.ip, 'dev', web.iface]);
  await runner.run('ip', ['-n', web.ns, 'route', 'add', 'local', '10.96.0.0/16', 'dev', 'lo']);
  const hosts = hostsFile(h.dir);
  procs.push(dnsmasq(dns, TRUSTED.port, hosts), dnsmasq(dns, BASELINE.port, hosts));
  procs.push(spawn('ip', ['netns', 'exec', web.ns, process.execPath, '-e', SERVER], { stdio: 'ignore' }));
  await h.put({
    apiVersion: C,
    kind: 'FelixConfiguration',
    metadata: { name: 'default' },
    spec: { dnsTrustedServers: [`${TRUSTED.ip}:${TRUSTED.port}`], dnsPolicyMode: 'DelayDNSResponse' },
  } as Resource);
  for (const ns of ['app', 'kube-system', 'web']) await h.put(namespaceObject(ns));
  for (const p of [client, dns, web]) await h.put(h.workloadEndpoint(p));
  const toDns = { selector: "app == 'dns'", ports: [TRUSTED.port, BASELINE.port] };
  await h.put({
    apiVersion: C,
    kind: 'GlobalNetworkPolicy',
    metadata: { name: 'client-egress' },
    spec: {
      selector: "app == 'client'",
      types: ['Egress'],
      egress: [
        { action: 'Allow', protocol: 'UDP', destination: toDns },
        { action: 'Allow', protocol: 'TCP', destination: toDns },
        { action: 'Allow', destination: { domains: ['*.example.com'] } },
      ],
    },
  } as Resource);
  await h.settle(60_000);
  await waitFor(async () => (await h.tableText()).includes('ct status dnat'), {
    timeoutMs: 30_000,
    what: 'the DNS steering rules',
  });
  // Both servers answer, and the web pod's listener is up; then the sentinel: before its lookup, an address
  // of the connection test is denied (the domain rule, not something else, lets the connections through).
  for (const server of [TRUSTED, BASELINE])
    await waitFor(async () => (await lookups(client, server, [REPEATED])).samples[0]?.error === undefined, {
      timeoutMs: 30_000,
      what: `dnsmasq answering on port ${server.port}`,
    });
  await waitFor(
    async () =>
      (await runner.run('ip', ['netns', 'exec', web.ns, 'ss', '-Hltn', 'sport = :8080'])).stdout !== '',
    { timeoutMs: 10_000, what: 'the web listener' },
  );
  const denied = await h.scope.probe(
    client.ns,
    { protocol: 'tcp', address: addr(96, CONNECTIONS - 1), port: CONNECT_PORT },
    { timeoutMs: 1_000 },
  );
  if (denied.connected) throw new Error('sentinel: a name not yet looked up was reachable');
  return { client, trace };
}

async function latency(client: TestPod): Promise<Latency> {
  const next = new Map(ARMS.map((a) => [a.name, 0]));
  const out = await interleave<Arm, Run>({
    arms: ARMS,
    rounds: ROUNDS,
    warmupRounds: WARMUP,
    enter: () => Promise.resolve(),
    measure: async (arm) => {
      const from = next.get(arm.name)!;
      next.set(arm.name, from + LOOKUPS);
      const names = Array.from({ length: LOOKUPS }, (_, i) =>
        arm.fresh ? freshName(arm, from + i) : REPEATED,
      );
      return lookups(client, arm.server, names);
    },
    log: (l) => process.stdout.write(`  dns latency ${l}\n`),
  });
  return { byArm: out.byArm };
}

async function firstConnections(client: TestPod): Promise<Connections> {
  const results: DnsProbeResult[] = [];
  const started = performance.now();
  for (let from = 0; from < CONNECTIONS; from += BATCH) {
    const req: DnsProbeRequest = {
      server: TRUSTED,
      transport: 'udp',
      type: 'A',
      names: Array.from(
        { length: Math.min(BATCH, CONNECTIONS - from) },
        (_, i) => `c${from + i}.conn.example.com`,
      ),
      connectPort: CONNECT_PORT,
      timeoutMs: 1_000,
      attempts: 5,
      connectTimeoutMs: 5_000,
    };
    const probe = fileURLToPath(new URL('../src/agent/testing/dns-probe.js', import.meta.url));
    const r = await runner.run(
      'ip',
      ['netns', 'exec', client.ns, process.execPath, probe, JSON.stringify(req)],
      {
        timeoutMs: 120_000,
      },
    );
    if (r.code !== 0) throw new Error(`dns-probe failed: ${r.stderr}`);
    results.push(...(JSON.parse(r.stdout) as DnsProbeResult[]));
  }
  return { results, seconds: (performance.now() - started) / 1000 };
}

export async function benchDns(): Promise<SuiteOutput> {
  await using h = new AgentHarness();
  const procs: ChildProcess[] = [];
  try {
    const { client, trace } = await setup(h, procs);
    const lat = await latency(client);
    process.stdout.write(`  dns first connections: ${CONNECTIONS} names, ${BATCH} at a time\n`);
    const conn = await firstConnections(client);
    return report(METHOD, lat, conn, parseTrace(readFileSync(trace, 'utf8')));
  } finally {
    for (const p of procs) p.kill('SIGKILL');
  }
}
