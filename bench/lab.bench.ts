/**
 * Lab benchmark (real kernel, root; skipped with the reason otherwise), all in one run on this machine:
 *
 *   - TCP throughput (iperf3, one stream, 3 s) between two namespaces joined by a bare veth pair: the
 *     ceiling of the kernel's virtual links here;
 *   - pod-to-pod on the same node and across nodes, in a two-node BGP lab (BIRD mesh, one rack, no
 *     encapsulation) and a two-node VXLAN lab (two racks); reported in Gbit/s and as ratios of cross-node to
 *     same-node and to the bare veth pair;
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
import type { BenchResult } from './result.js';

const runner = new NodeCommandRunner();
const SECONDS = 3;
const PORT = 5201;
const JOINS = 3;

const round = (x: number, digits = 2): number => Math.round(x * 10 ** digits) / 10 ** digits;

/** iperf3 from `clientNs` to a one-shot server on `ip` in `serverNs`; bits per second received. */
async function iperf(serverNs: string, clientNs: string, ip: string): Promise<number> {
  const ac = new AbortController();
  const server = netnsRunner(runner, serverNs)
    .run('iperf3', ['-s', '-1', '-B', ip, '-p', String(PORT)], { signal: ac.signal, timeoutMs: 60_000 })
    .catch(() => undefined);
  try {
    for (let attempt = 0; attempt < 100; attempt++) {
      const r = await netnsRunner(runner, clientNs).run(
        'iperf3',
        ['-c', ip, '-p', String(PORT), '-t', String(SECONDS), '-J'],
        { timeoutMs: (SECONDS + 20) * 1000 },
      );
      if (r.code === 0) {
        const j = JSON.parse(r.stdout) as { end?: { sum_received?: { bits_per_second?: number } } };
        const bps = j.end?.sum_received?.bits_per_second;
        if (typeof bps === 'number') return bps;
        throw new Error(`iperf3 printed no result: ${r.stdout.slice(0, 200)}`);
      }
      // The server may not listen yet.
      await sleep(50);
    }
    throw new Error(`iperf3 to ${ip} never connected`);
  } finally {
    ac.abort();
    await server;
  }
}

async function bareVeth(): Promise<number> {
  await using scope = new NetnsScope(runner, { prefix: 'calts-bench-' });
  const a = await scope.namespace();
  const b = await scope.namespace();
  await scope.veth(
    { ns: a, name: 'eth0', address: '10.99.0.1/24' },
    { ns: b, name: 'eth0', address: '10.99.0.2/24' },
  );
  return await iperf(a, b, '10.99.0.1');
}

/** Same-node and cross-node pod-to-pod throughput in a two-node lab of `network`. */
async function podThroughput(network: LabNetwork): Promise<{ same: number; cross: number }> {
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
  const same = await iperf(server.netns, lab.pod('bench/near').netns, server.ip);
  const cross = await iperf(server.netns, lab.pod('bench/far').netns, server.ip);
  return { same, cross };
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
    kernelTestSkipReason(['ip', 'nft', 'sysctl', 'conntrack', 'iperf3', 'bird', 'birdc']) ||
    (existsSync(defaultAgentEntry()) ? false : `${defaultAgentEntry()} is missing (npm run build)`);
  if (skip !== false) {
    process.stdout.write(`  skipped: ${skip}\n`);
    return [];
  }
  const gbps = (bps: number): number => round(bps / 1e9);
  const veth = await bareVeth();
  const results: BenchResult[] = [
    { name: 'TCP throughput, bare veth pair', value: gbps(veth), unit: 'Gbit/s' },
  ];
  for (const network of ['bgp', 'vxlan'] as const) {
    const label = network === 'bgp' ? 'BGP' : 'VXLAN';
    const t = await podThroughput(network);
    results.push(
      { name: `TCP throughput, pod to pod, same node (${label} lab)`, value: gbps(t.same), unit: 'Gbit/s' },
      { name: `TCP throughput, pod to pod, across nodes (${label})`, value: gbps(t.cross), unit: 'Gbit/s' },
      { name: `cross-node / same-node throughput (${label})`, value: round(t.cross / t.same), unit: 'ratio' },
      { name: `cross-node / bare veth throughput (${label})`, value: round(t.cross / veth), unit: 'ratio' },
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
