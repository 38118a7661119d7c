/**
 * Lab benchmark (real kernel, root; skipped with the reason otherwise), all in one run on this machine:
 *
 *   - TCP throughput (iperf3, one stream, 3 s) between two namespaces joined by a bare veth pair (the
 *     ceiling of the kernel's virtual links here), and pod to pod on the same node and across nodes, in a
 *     two-node BGP lab (BIRD mesh, one rack, no encapsulation) and a two-node VXLAN lab (two racks). Per lab
 *     the three paths are the arms of one interleaved run (bench/method.ts: warm-up, 8 rounds, client and
 *     server pinned to different cores); reported in Gbit/s (median over the rounds) and as ratios of
 *     cross-node to same-node and to the bare veth pair (median of the per-round ratios, with spread);
 *   - the time from a node's agent starting to its IPAM block being routed on every other node, per mode
 *     (BGP: the node's block exists before the agent starts, as after a pod was scheduled there; VXLAN: the
 *     agent allocates its tunnel address, whose block is the one routed). Three joins per mode.
 *
 * No policy is in force (every pod's profile allows), so the figures are the dataplane's forwarding cost with
 * the agent's nftables table loaded. Everything runs in namespaces this benchmark creates and removes.
 */
import { existsSync } from 'node:fs';
import { netnsRunner } from '../src/dataplane/exec/command-runner.js';
import { NodeCommandRunner } from '../src/dataplane/exec/node-runner.js';
import { IpamClient } from '../src/ipam/index.js';
import { LabCluster } from '../src/labkit/cluster.js';
import { sleep } from '../src/lib/async.js';
import { NetnsScope, kernelTestSkipReason } from '../src/labkit/netns.js';
import { defaultAgentEntry } from '../src/labkit/paths.js';
import { unroutedTargets } from '../src/labkit/routes.js';
import type { LabNetwork } from '../src/labkit/topology.js';
import { iperf } from './load.js';
import { figureRow, interleave, ratioRow, type Arm } from './method.js';
import type { BenchResult } from './result.js';

const runner = new NodeCommandRunner();
const SECONDS = 3;
const ROUNDS = 8;
const JOINS = 3;

/** A path iperf3 measures: server and client namespaces and the server's address. */
interface PathArm extends Arm {
  readonly serverNs: string;
  readonly clientNs: string;
  readonly ip: string;
}

/** Bare veth, same-node and cross-node throughput in a two-node lab of `network`, interleaved. */
async function pathThroughput(
  network: LabNetwork,
  veth: Omit<PathArm, 'name'>,
): Promise<Map<string, number[]>> {
  await using lab = await LabCluster.create({
    network,
    racks: network === 'bgp' ? 1 : 2,
    agentEnv: { FELIX_HEALTHENABLED: 'false' },
  });
  await lab.addNode('node-1', { startAgent: true });
  await lab.addNode('node-2', { startAgent: true });
  await lab.addPods([
    { node: 'node-1', spec: { namespace: 'bench', name: 'server', ports: [80] } },
    { node: 'node-1', spec: { namespace: 'bench', name: 'near', ports: [80] } },
    { node: 'node-2', spec: { namespace: 'bench', name: 'far', ports: [80] } },
  ]);
  await lab.sync();
  const missing = await lab.waitRoutes({ timeoutMs: 60_000 });
  if (missing.length > 0) throw new Error(`routes missing: ${missing.join(', ')}`);
  const server = lab.pod('bench/server');
  const arms: PathArm[] = [
    { name: 'veth', ...veth },
    { name: 'same', serverNs: server.netns, clientNs: lab.pod('bench/near').netns, ip: server.ip },
    { name: 'cross', serverNs: server.netns, clientNs: lab.pod('bench/far').netns, ip: server.ip },
  ];
  const { byArm } = await interleave<PathArm, number>({
    arms,
    rounds: ROUNDS,
    warmupRounds: 1,
    // The paths exist side by side: nothing to switch; a path that does not carry traffic fails iperf3.
    enter: () => Promise.resolve(),
    measure: (arm) =>
      iperf(netnsRunner(runner, arm.serverNs), netnsRunner(runner, arm.clientNs), arm.ip, SECONDS),
    log: (line) => process.stdout.write(`  .. ${network}: ${line}\n`),
  });
  return new Map([...byArm].map(([k, v]) => [k, [...v]]));
}

/** Milliseconds from starting a new node's agent until its blocks are routed on every other node. */
async function joinTimes(network: LabNetwork): Promise<number[]> {
  await using lab = await LabCluster.create({
    network,
    racks: network === 'bgp' ? 1 : 2,
    agentEnv: { FELIX_HEALTHENABLED: 'false' },
  });
  await lab.addNode('node-1', { startAgent: true });
  const times: number[] = [];
  for (let i = 2; i < 2 + JOINS; i++) {
    const name = `node-${i}`;
    await lab.addNode(name);
    // BIRD advertises only blocks the node holds: give it one, as a pod scheduled there would.
    if (network === 'bgp')
      await new IpamClient(lab.datastore).assignIp({
        ip: `10.244.${200 + i}.10`,
        hostname: name,
        handleId: `bench.${name}`,
      });
    const others = lab.nodes().filter((n) => n.name !== name);
    const t0 = performance.now();
    const started = lab.startAgent(name, { timeoutMs: 60_000 });
    started.catch(() => undefined);
    let routed = false;
    while (!routed && performance.now() - t0 < 60_000) {
      const blocks = (await lab.affineBlocks()).filter((b) => b.home === name);
      routed = blocks.length > 0 && (await unroutedTargets(runner, lab.nodes(), blocks)).length === 0;
      if (!routed) await sleep(10);
    }
    const ms = performance.now() - t0;
    await started;
    if (!routed) throw new Error(`${name}'s routes never reached ${others.map((n) => n.name).join(', ')}`);
    times.push(ms);
  }
  return times;
}

export async function benchLab(): Promise<BenchResult[]> {
  const skip =
    kernelTestSkipReason(['ip', 'nft', 'sysctl', 'conntrack', 'iperf3', 'bird', 'birdc', 'taskset']) ||
    (existsSync(defaultAgentEntry()) ? false : `${defaultAgentEntry()} is missing (npm run build)`);
  if (skip !== false) {
    process.stdout.write(`  skipped: ${skip}\n`);
    return [];
  }
  await using scope = new NetnsScope(runner, { prefix: 'calts-bench-' });
  const vethServer = await scope.namespace();
  const vethClient = await scope.namespace();
  await scope.veth(
    { ns: vethServer, name: 'eth0', address: '10.99.0.1/24' },
    { ns: vethClient, name: 'eth0', address: '10.99.0.2/24' },
  );
  const veth = { serverNs: vethServer, clientNs: vethClient, ip: '10.99.0.1' };
  const gbps = (xs: readonly number[]): number[] => xs.map((bps) => bps / 1e9);
  const results: BenchResult[] = [];
  for (const network of ['bgp', 'vxlan'] as const) {
    const label = network === 'bgp' ? 'BGP' : 'VXLAN';
    const t = await pathThroughput(network, veth);
    const [v, same, cross] = [gbps(t.get('veth')!), gbps(t.get('same')!), gbps(t.get('cross')!)];
    results.push(
      figureRow(`TCP throughput, bare veth pair (${label} lab rounds)`, v, 'Gbit/s', 2),
      figureRow(`TCP throughput, pod to pod, same node (${label} lab)`, same, 'Gbit/s', 2),
      figureRow(`TCP throughput, pod to pod, across nodes (${label})`, cross, 'Gbit/s', 2),
      ratioRow(`cross-node / same-node throughput (${label})`, same, cross).row,
      ratioRow(`cross-node / bare veth throughput (${label})`, v, cross).row,
    );
  }
  for (const network of ['bgp', 'vxlan'] as const) {
    const label = network === 'bgp' ? 'BGP' : 'VXLAN';
    const times = await joinTimes(network);
    const mean = times.reduce((a, b) => a + b, 0) / times.length;
    results.push(
      {
        name: `node join -> routes on every other node (${label}, mean of ${JOINS})`,
        value: Math.round(mean),
        unit: 'ms',
      },
      {
        name: `node join -> routes on every other node (${label}, max)`,
        value: Math.round(Math.max(...times)),
        unit: 'ms',
      },
    );
  }
  return results;
}
