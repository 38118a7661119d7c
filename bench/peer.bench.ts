/**
 * Peer side by side (issue 12): calico-node and the upstream reference implementation kube-network-policies
 * (docs/design/peer.md; built on demand with its NFQUEUE patch) in one run, each on a one-node KubeLab of its
 * own (the peer routes nothing, so one node; the two labs run at the same time so their rounds interleave),
 * with the same pods and the same policies written through kube-apiserver:
 *
 *  - conformance: the upstream e2e NetworkPolicy corpus through the Kubernetes driver with each agent (the
 *    calico-conformance CLI as a child process, its own lab each);
 *  - packet cost: TCP throughput (iperf3) and new connections/s between two pods of namespace `cost-none` (no
 *    policy) and two of `cost-1000` (1,000 NetworkPolicies select both pods, each admitting TCP 10000+i from
 *    pods labelled client=c-i, plus `cost-allow` admitting the pair on the measured ports), four arms
 *    (agent × policies) interleaved as bench/method.ts says. Each arm is verified on entry: a connection to
 *    the server's port 9 is refused (no policy) or dropped (the policies admit no port 9);
 *  - programming latency: `kubectl apply` of a default-deny NetworkPolicy in `cost-lat` → first probe denied,
 *    then `kubectl delete` → first probe allowed, alternating agents sample by sample.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { netnsRunner, type CommandRunner } from '../src/dataplane/exec/command-runner.js';
import { NodeCommandRunner } from '../src/dataplane/exec/node-runner.js';
import { waitFor } from '../src/lib/async.js';
import { percentileRank } from '../src/lib/stats.js';
import { KubeLab, type KubeLabPod } from '../src/labkit/kube/cluster.js';
import { findPeerBinary, peerBuildScript, type PolicyAgent } from '../src/labkit/kube/peer.js';
import { repoRoot } from '../src/sys/repo-root.js';
import { kubeBenchSkipReason } from './kube.bench.js';
import { iperf, withServer } from './load.js';
import { figureRow, interleave, MIN_ROUNDS, ratioRow, type Arm } from './method.js';
import { ACCEPT_SERVER, connectionRate, SENTINEL } from './packet-cost.bench.js';
import type { BenchResult, BenchTable, SuiteOutput } from './result.js';

const AGENTS: readonly PolicyAgent[] = ['calico-node', 'kube-network-policies'];
const POLICIES = 1000;
const IPERF_SECONDS = 3;
const CONN_PORT = 81;
const SENTINEL_PORT = 9;
const ROUNDS = Number(process.env.PEER_BENCH_ROUNDS ?? MIN_ROUNDS);
const LATENCY_SAMPLES = Number(process.env.PEER_BENCH_LATENCY_SAMPLES ?? 20);
const CONFORMANCE_FILE = 'testdata/conformance/netpol/kubernetes-e2e-netpol.json';

interface Lab {
  readonly agent: PolicyAgent;
  readonly k: KubeLab;
  readonly node: CommandRunner;
  /** client, server per namespace. */
  readonly pairs: ReadonlyMap<string, readonly [KubeLabPod, KubeLabPod]>;
}

interface CostArm extends Arm {
  readonly agent: PolicyAgent;
  readonly ns: 'cost-none' | 'cost-1000';
}

interface Figures {
  readonly gbps: number;
  readonly cps: number;
}

function list(items: readonly object[]): string {
  return JSON.stringify({ apiVersion: 'v1', kind: 'List', items });
}

function costPolicies(): object[] {
  const np = (name: string, ingress: object[]): object => ({
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: { name, namespace: 'cost-1000' },
    spec: { podSelector: { matchLabels: { app: 'pair' } }, policyTypes: ['Ingress'], ingress },
  });
  const out = Array.from({ length: POLICIES }, (_, i) =>
    np(`cost-${i}`, [
      {
        from: [{ podSelector: { matchLabels: { client: `c-${i}` } } }],
        ports: [{ protocol: 'TCP', port: 10_000 + i }],
      },
    ]),
  );
  out.push(
    np('cost-allow', [
      {
        from: [{ podSelector: { matchLabels: { app: 'pair' } } }],
        ports: [5201, CONN_PORT, 80].map((port) => ({ protocol: 'TCP', port })),
      },
    ]),
  );
  return out;
}

const DENY = list([
  {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: { name: 'deny', namespace: 'cost-lat' },
    spec: { podSelector: {}, policyTypes: ['Ingress'] },
  },
]);

function podRunner(k: KubeLab, pod: KubeLabPod): CommandRunner {
  return netnsRunner(new NodeCommandRunner(), k.lab.pod(pod.key).netns);
}

async function startLab(agent: PolicyAgent): Promise<Lab> {
  const k = await KubeLab.start(1, {
    heartbeatMs: 5000,
    policyAgent: agent,
    agentEnv: { FELIX_HEALTHENABLED: 'false' },
  });
  try {
    const pairs = new Map<string, readonly [KubeLabPod, KubeLabPod]>();
    for (const ns of ['cost-none', 'cost-1000', 'cost-lat']) {
      await k.kubectlOk(['create', 'namespace', ns]);
      await k.kubectlOk([
        'create',
        'deployment',
        'pair',
        '-n',
        ns,
        '--image=lab/probe',
        '--port=80',
        '--replicas=2',
      ]);
    }
    for (const ns of ['cost-none', 'cost-1000', 'cost-lat']) {
      const pods = await k.waitPodsRunning(
        { namespace: ns, selector: 'app=pair', count: 2 },
        { timeoutMs: 300_000 },
      );
      pairs.set(ns, [pods[0]!, pods[1]!]);
    }
    // Every pod known to the lab (waitPodsRunning keeps only the last query's).
    const all = JSON.parse(await k.kubectlOk(['get', 'pods', '-A', '-o', 'json'])) as { items: never[] };
    k.refreshPods(all.items);
    await k.kubectlOk(['apply', '-f', '-'], { stdin: list(costPolicies()), timeoutMs: 300_000 });
    return { agent, k, node: netnsRunner(new NodeCommandRunner(), k.lab.node('node-1').netns), pairs };
  } catch (e) {
    await k.dispose();
    throw e;
  }
}

/** `connected`, `refused` or `timeout` for one connection from the pair's client to the server's port 9. */
async function sentinel(lab: Lab, ns: string): Promise<string> {
  const [a, b] = lab.pairs.get(ns)!;
  const r = await podRunner(lab.k, a).run(
    process.execPath,
    ['-e', SENTINEL, b.ip, String(SENTINEL_PORT), '500'],
    {
      timeoutMs: 30_000,
    },
  );
  return r.stdout.trim();
}

async function enter(lab: Lab, arm: CostArm): Promise<void> {
  const want = arm.ns === 'cost-none' ? 'refused' : 'timeout';
  await waitFor(async () => (await sentinel(lab, arm.ns)) === want, {
    timeoutMs: 120_000,
    intervalMs: 200,
    what: `${arm.name}: the port ${SENTINEL_PORT} sentinel ${want}`,
  });
}

async function measure(lab: Lab, ns: string): Promise<Figures> {
  const [a, b] = lab.pairs.get(ns)!;
  const server = podRunner(lab.k, b);
  const client = podRunner(lab.k, a);
  const flush = await lab.node.run('conntrack', ['-F'], { timeoutMs: 10_000 });
  if (flush.code !== 0) throw new Error(`conntrack -F: ${flush.stderr}`);
  const bps = await iperf(server, client, b.ip, IPERF_SECONDS);
  const acceptor = [process.execPath, ['-e', ACCEPT_SERVER, b.ip, String(CONN_PORT), '60000']] as const;
  const cps = await withServer(server, CONN_PORT, acceptor, () => connectionRate(client, b.ip, CONN_PORT));
  return { gbps: bps / 1e9, cps };
}

/** ms from the start of `kubectl` to the first probe with `want`. */
async function toVerdict(
  lab: Lab,
  args: readonly string[],
  stdin: string | undefined,
  want: string,
): Promise<number> {
  const [a, b] = lab.pairs.get('cost-lat')!;
  const t0 = performance.now();
  const cmd = lab.k.kubectlOk(args, stdin !== undefined ? { stdin } : {});
  await waitFor(
    async () => {
      const r = await lab.k.probe(a.key, { to: b.key, protocol: 'tcp', port: 80, timeoutMs: 100 });
      return r.verdict === want;
    },
    { timeoutMs: 60_000, intervalMs: 5, what: `${lab.agent}: probe ${want} after kubectl ${args[0]}` },
  );
  const ms = performance.now() - t0;
  await cmd;
  return ms;
}

/** Runs the e2e corpus through the Kubernetes driver with `agent`: passed and failed cases. */
function conformance(agent: PolicyAgent): { passed: number; failed: number; seconds: number } {
  const dir = mkdtempSync(join(tmpdir(), 'calts-peer-conf-'));
  const json = join(dir, 'result.json');
  const t0 = performance.now();
  try {
    const r = spawnSync(
      process.execPath,
      [
        join(repoRoot(), 'dist/src/conformance/main.js'),
        ...['--dataplane', 'nftables', '--kubernetes', '--agent', agent, '--json', json],
        join(repoRoot(), CONFORMANCE_FILE),
      ],
      { encoding: 'utf8', timeout: 3_600_000, stdio: ['ignore', 'pipe', 'inherit'] },
    );
    if (r.status !== 0 && r.status !== 1) throw new Error(`conformance with ${agent}: exit ${r.status}`);
    const t = JSON.parse(readFileSync(json, 'utf8')) as { passed: number; failed: number };
    return { passed: t.passed, failed: t.failed, seconds: (performance.now() - t0) / 1000 };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function benchPeer(): Promise<SuiteOutput> {
  const skip = kubeBenchSkipReason();
  if (skip !== undefined) {
    process.stdout.write(`  (skipped: ${skip})\n`);
    return [];
  }
  if (!findPeerBinary().ok) {
    process.stdout.write(`  .. building kube-network-policies (${peerBuildScript()}) ...\n`);
    const b = spawnSync(peerBuildScript(), [], {
      stdio: ['ignore', 'ignore', 'inherit'],
      timeout: 3_600_000,
    });
    const found = findPeerBinary();
    if (b.status !== 0 || !found.ok) {
      process.stdout.write(`  (skipped: ${found.ok ? `build exited ${b.status}` : found.reason})\n`);
      return [];
    }
  }
  const results: BenchResult[] = [];
  const rows: string[][] = [];
  const labs = new Map<PolicyAgent, Lab>();
  try {
    for (const agent of AGENTS) {
      process.stdout.write(`  .. lab with ${agent}: 6 pods, ${POLICIES + 1} NetworkPolicies\n`);
      labs.set(agent, await startLab(agent));
    }
    const arms: CostArm[] = AGENTS.flatMap((agent) =>
      (['cost-none', 'cost-1000'] as const).map((ns) => ({ name: `${agent} ${ns}`, agent, ns })),
    );
    const { byArm } = await interleave<CostArm, Figures>({
      arms,
      rounds: ROUNDS,
      warmupRounds: 1,
      enter: (arm) => enter(labs.get(arm.agent)!, arm),
      measure: (arm) => measure(labs.get(arm.agent)!, arm.ns),
      log: (line) => process.stdout.write(`  .. ${line}\n`),
    });
    const g = (agent: PolicyAgent, ns: string): number[] => byArm.get(`${agent} ${ns}`)!.map((f) => f.gbps);
    const c = (agent: PolicyAgent, ns: string): number[] => byArm.get(`${agent} ${ns}`)!.map((f) => f.cps);
    for (const agent of AGENTS) {
      results.push(
        figureRow(`${agent}: TCP throughput, no policy`, g(agent, 'cost-none'), 'Gbit/s', 2),
        figureRow(
          `${agent}: TCP throughput, ${POLICIES} NetworkPolicies`,
          g(agent, 'cost-1000'),
          'Gbit/s',
          2,
        ),
        ratioRow(
          `${agent}: throughput ratio, ${POLICIES} policies / none`,
          g(agent, 'cost-none'),
          g(agent, 'cost-1000'),
        ).row,
        figureRow(`${agent}: new connections/s, no policy`, c(agent, 'cost-none'), 'conn/s', 0),
        figureRow(
          `${agent}: new connections/s, ${POLICIES} NetworkPolicies`,
          c(agent, 'cost-1000'),
          'conn/s',
          0,
        ),
        ratioRow(
          `${agent}: connection-rate ratio, ${POLICIES} policies / none`,
          c(agent, 'cost-none'),
          c(agent, 'cost-1000'),
        ).row,
      );
    }
    const [cal, peer] = AGENTS as [PolicyAgent, PolicyAgent];
    for (const ns of ['cost-none', 'cost-1000']) {
      const what = ns === 'cost-none' ? 'no policy' : `${POLICIES} policies`;
      results.push(
        ratioRow(`throughput ratio peer / calico-node, ${what}`, g(cal, ns), g(peer, ns)).row,
        ratioRow(`connection-rate ratio peer / calico-node, ${what}`, c(cal, ns), c(peer, ns)).row,
      );
    }

    process.stdout.write(`  .. programming latency, ${LATENCY_SAMPLES} samples per agent\n`);
    const lat = new Map<PolicyAgent, { deny: number[]; allow: number[] }>(
      AGENTS.map((a) => [a, { deny: [], allow: [] }]),
    );
    for (let i = 0; i < LATENCY_SAMPLES; i++)
      for (const agent of i % 2 === 0 ? AGENTS : [...AGENTS].reverse()) {
        const lab = labs.get(agent)!;
        lat.get(agent)!.deny.push(await toVerdict(lab, ['apply', '-f', '-'], DENY, 'denied'));
        lat
          .get(agent)!
          .allow.push(
            await toVerdict(lab, ['delete', 'networkpolicy', '-n', 'cost-lat', 'deny'], undefined, 'allowed'),
          );
      }
    const r1 = (x: number): number => Math.round(x * 10) / 10;
    for (const agent of AGENTS) {
      const l = lat.get(agent)!;
      for (const [what, xs] of [
        ['kubectl apply deny → denied', l.deny],
        ['kubectl delete → allowed', l.allow],
      ] as const) {
        results.push(
          { name: `${agent}: ${what}, p50`, value: r1(percentileRank(xs, 50)), unit: 'ms' },
          { name: `${agent}: ${what}, p99`, value: r1(percentileRank(xs, 99)), unit: 'ms' },
        );
      }
    }
    for (const [what, key] of [
      ['apply → denied', 'deny'],
      ['delete → allowed', 'allow'],
    ] as const) {
      const p = (agent: PolicyAgent, q: number): number => percentileRank(lat.get(agent)![key], q);
      results.push(
        {
          name: `latency ratio peer / calico-node, ${what}, p50`,
          value: r1((p(peer, 50) / p(cal, 50)) * 100) / 100,
          unit: '',
        },
        {
          name: `latency ratio peer / calico-node, ${what}, p99`,
          value: r1((p(peer, 99) / p(cal, 99)) * 100) / 100,
          unit: '',
        },
      );
    }
  } finally {
    for (const lab of labs.values()) await lab.k.dispose().catch(() => undefined);
  }
  // Last, each on a lab of its own (the measuring labs are gone). PEER_BENCH_CONFORMANCE=0 leaves it out (a
  // run of the e2e corpus takes 15 to 40 minutes per agent on this shared machine); the table says so.
  for (const agent of AGENTS) {
    if (process.env.PEER_BENCH_CONFORMANCE === '0') {
      rows.push([agent, CONFORMANCE_FILE, 'not run (PEER_BENCH_CONFORMANCE=0)', '', '']);
      continue;
    }
    process.stdout.write(`  .. conformance, e2e corpus, ${agent}\n`);
    const c = conformance(agent);
    rows.push([agent, CONFORMANCE_FILE, String(c.passed), String(c.failed), c.seconds.toFixed(0)]);
  }
  const table: BenchTable = {
    title: 'Conformance on the shared corpus through kube-apiserver, per agent',
    note:
      'The upstream e2e NetworkPolicy cases (a byte-identical copy of the shared corpus), each agent on a one-node ' +
      'KubeLab of its own, through `calico-conformance --dataplane nftables --kubernetes --agent NAME`. ' +
      'kube-network-policies is v0.8.0 with the NFQUEUE build patch (docs/design/peer.md).',
    header: ['agent', 'file', 'passed', 'failed', 'seconds'],
    rows,
  };
  return { results, tables: [table] };
}
