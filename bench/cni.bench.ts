/**
 * CNI benchmark (real kernel, root): ADD latency of the `calico` plugin as a runtime sees it, from exec of
 * the installed wrapper to its exit, with the agent running, so each ADD includes IPAM, the veth, the
 * WorkloadEndpoint write and the wait until the agent has programmed the pod's policy. Two ways side by
 * side on the same node, rounds interleaved: `agent socket` (the wrapper forwards to the agent's CNI
 * server, which runs the plugin and calico-ipam in process) and `standalone` (the wrapper told not to
 * forward: a Node process for calico and another for calico-ipam per ADD). Measured for 1, 10 and 50 pods
 * started at once (p50 / p99 over several rounds); the pods are deleted after each round. Everything happens
 * in namespaces created here, against an embedded datastore in a temp dir.
 * Target: p99 <= 300 ms at 10 concurrent starts through the agent socket.
 */
import { NetnsScope, kernelTestSkipReason } from '../src/labkit/netns.js';
import {
  CNI_MODES,
  CniNode,
  ipPool,
  namespaceObject,
  runner,
  type CniMode,
} from '../src/cni/testing/harness.js';
import { percentileRank } from '../src/lib/stats.js';
import type { BenchResult } from './result.js';

/** Concurrency -> rounds per mode (so each level has enough samples without running for minutes). */
const LEVELS: readonly [number, number][] = [
  [1, 30],
  [10, 6],
  [50, 2],
];

const MODE_LABEL: Readonly<Record<CniMode, string>> = { agent: 'agent socket', standalone: 'standalone' };

const round = (x: number): number => Math.round(x * 10) / 10;

async function timedAdd(
  node: CniNode,
  env: Record<string, string>,
  conf: Record<string, unknown>,
): Promise<number> {
  const t0 = performance.now();
  const r = await node.cni('ADD', conf, env);
  const ms = performance.now() - t0;
  if (r.code !== 0) throw new Error(`ADD failed: ${r.stdout}`);
  return ms;
}

export async function benchCni(): Promise<BenchResult[]> {
  const skip = kernelTestSkipReason(['ip', 'nft', 'nsenter', 'flock', 'sysctl', 'socat']);
  if (skip !== false) {
    process.stdout.write(`  skipped: ${skip}\n`);
    return [];
  }
  await using scope = new NetnsScope(runner);
  await using node = new CniNode({ nodeName: 'bench-node', datastore: { type: 'embedded' } });
  await node.setup(scope);
  await node.put(ipPool('bench-pool', '10.72.0.0/16'));
  await node.put(namespaceObject('default'));
  node.startAgent();
  await node.agentReady();
  const conf = node.netconf({ log_level: 'info', policy_setup_timeout_seconds: 120 });
  // Pod namespaces are made up front (a runtime creates them before ADD; not part of the measurement).
  const maxPods = Math.max(...LEVELS.map(([c]) => c));
  const netns: string[] = [];
  for (let i = 0; i < maxPods; i++) netns.push(await scope.namespace());
  // One warm-up ADD/DEL per mode (first block claim, page cache).
  for (const mode of CNI_MODES) {
    node.mode = mode;
    const warm = node.podEnv({ containerId: 'warm', netns: `/var/run/netns/${netns[0] ?? ''}`, pod: 'warm' });
    await timedAdd(node, warm, conf);
    await node.cni('DEL', conf, warm);
  }

  const out: BenchResult[] = [];
  let seq = 0;
  for (const [concurrency, rounds] of LEVELS) {
    const samples: Record<CniMode, number[]> = { agent: [], standalone: [] };
    for (let r = 0; r < rounds; r++) {
      for (const mode of CNI_MODES) {
        node.mode = mode;
        const envs = netns.slice(0, concurrency).map((ns) => {
          seq++;
          return node.podEnv({ containerId: `b${seq}`, netns: `/var/run/netns/${ns}`, pod: `bench-${seq}` });
        });
        samples[mode].push(...(await Promise.all(envs.map((env) => timedAdd(node, env, conf)))));
        const dels = await Promise.all(envs.map((env) => node.cni('DEL', conf, env)));
        if (dels.some((d) => d.code !== 0)) throw new Error('DEL failed');
      }
    }
    for (const mode of CNI_MODES) {
      const sorted = samples[mode].sort((a, b) => a - b);
      for (const p of [50, 99]) {
        out.push({
          name: `CNI ADD latency p${p}, ${concurrency} concurrent, ${MODE_LABEL[mode]}`,
          value: round(percentileRank(sorted, p)),
          unit: 'ms',
          // Issue 5: p99 at most 300 ms for 10 concurrent pod starts.
          ...(p === 99 && concurrency === 10 ? { target: { op: '<=' as const, value: 300, issue: 5 } } : {}),
        });
      }
    }
  }
  const check = await node.ipamProblems();
  if (check.problems !== 0) throw new Error(`IPAM not clean after the benchmark: ${check.summary}`);
  return out;
}
