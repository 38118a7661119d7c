/**
 * `calico-lab demo`: the guided tour for a CKS student. Brings up a two-node lab (BGP by default), creates
 * pods in `default`, `production` and `kube-system` through the calico CNI plugin, shows how the nodes route
 * each other's pods, then applies policy step by step with calicoctl (demo-script.ts): after each step the
 * reachability matrix measured with real connections (cells that changed are marked), what was applied and
 * why the verdicts changed, `calicoctl policy explain` for one denied cell, and what `calicoctl get` shows.
 * Every matrix is checked against the expected one; the exit status is 1 on any difference. The lab is
 * removed at the end (also on failure or SIGINT) unless `--keep`, which leaves it up for `calico-lab`.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { netnsRunner } from '../dataplane/exec/command-runner.js';
import { NodeCommandRunner } from '../dataplane/exec/node-runner.js';
import { CalicoError, errorMessage } from '../lib/errors.js';
import { runCalicoctlProcess } from '../labkit/calicoctl.js';
import { labCommand } from './cli-lab.js';
import { buildLab, labUnavailableReason, step, up, type Say } from './cli-up.js';
import { LabCluster, sweepStaleLabs } from '../labkit/cluster.js';
import { cniUnavailableReason } from '../labkit/cni.js';
import type { PodVia } from '../labkit/pods.js';
import type { LabDatastoreChoice } from '../labkit/datastore.js';
import { GoldmaneClient } from '../goldmane/client.js';
import {
  renderStepFlows,
  snapshotFlows,
  stepFlows,
  type CellEnds,
  type FlowCell,
  type FlowSnapshot,
} from './demo-flows.js';
import {
  expectedMatrix,
  matrixChanges,
  mismatches,
  renderMatrix,
  type CellVerdict,
  type Matrix,
} from './demo-matrix.js';
import {
  BASELINE_EXPECT,
  DEMO_PODS,
  DEMO_SOURCES,
  DEMO_TARGETS,
  demoSteps,
  filesInForce,
  splitStarter,
  workloadsYaml,
  type DemoNameProbe,
  type DemoStep,
  type ExplainCell,
} from './demo-script.js';
import { CLUSTER_DNS_KEY } from '../labkit/cluster-dns.js';
import { paramDef } from '../api/v3/felix-config-params.js';
import { zoneChain } from '../labkit/dns-zone.js';
import { repoRoot } from '../labkit/paths.js';
import { defaultRacks, VXLAN_DEVICE, type LabNetwork } from '../labkit/topology.js';
import { FILE_MODE, ensureDirSync } from '../sys/files.js';

export interface DemoOptions {
  readonly network: LabNetwork;
  readonly datastore: LabDatastoreChoice;
  readonly probeTimeoutMs: number;
  /** Leave the lab up (detached, in `runDir`) instead of removing it. */
  readonly keep: boolean;
  /** Required with `keep` (where `calico-lab` finds the lab later); otherwise a fresh temp dir by default. */
  readonly runDir?: string;
  /** Also start a Kubernetes control plane with the lab's nodes registered (`demo --kubernetes`). */
  readonly kubernetes?: boolean;
}

const RULE = '='.repeat(100);

function indent(text: string, by = '    '): string {
  return text
    .trimEnd()
    .split('\n')
    .map((l) => `${by}${l}`)
    .join('\n');
}

/** calicoctl (a child process) against the lab's datastore; prints the command and its output. */
async function calicoctl(
  lab: LabCluster,
  argv: readonly string[],
  say: Say,
  cwd: string,
  env: Readonly<Record<string, string>> = {},
): Promise<number> {
  const abs = argv.map((a, i) => (argv[i - 1] === '-f' ? join(cwd, a) : a));
  const r = await runCalicoctlProcess(abs, { ...lab.datastoreEnv, ...env });
  const prefix = Object.entries(env)
    .map(([k, v]) => `${k}=${v} `)
    .join('');
  say(`  $ ${prefix}calicoctl ${argv.join(' ')}`);
  if (r.output.trim() !== '') say(indent(r.output));
  return r.code;
}

/** Probes every cell of the matrix at once (new connections: conntrack is flushed first). */
async function measure(lab: LabCluster, timeoutMs: number, signal: AbortSignal): Promise<Matrix> {
  for (const n of lab.nodes()) await lab.flushConntrack(n.name, { signal });
  const cells = DEMO_SOURCES.flatMap((from) => DEMO_TARGETS.map((t) => ({ from, t })));
  const verdicts = await Promise.all(
    cells.map(async ({ from, t }): Promise<CellVerdict> => {
      if (from === t.key) return 'self';
      // The cluster DNS serves DNS on 53, not echo: the probe is a query.
      const dns = t.key === CLUSTER_DNS_KEY && lab.clusterDnsRunning() ? { dnsQuery: 'api.example.com' } : {};
      const o = await lab.probe(from, { to: t.key, protocol: t.protocol, port: t.port, timeoutMs, ...dns });
      if (o.verdict === 'allowed' || o.verdict === 'denied') return o.verdict;
      throw new CalicoError(
        'CALICO_ERR_IO',
        `${from} -> ${t.key} ${t.protocol}/${t.port}: ${o.verdict} (${o.detail})`,
      );
    }),
  );
  const m: Record<string, Record<string, CellVerdict>> = {};
  cells.forEach(({ from, t }, i) => {
    (m[from] ??= {})[t.key] = verdicts[i]!;
  });
  return m;
}

/** Prints the matrix, what changed, and whether it is what the step expects; returns the differences. */
function report(
  say: Say,
  got: Matrix,
  previous: Matrix | undefined,
  expect: Readonly<Record<string, string>>,
): number {
  say('');
  say(indent(renderMatrix(DEMO_SOURCES, DEMO_TARGETS, got, previous), '  '));
  const changes = matrixChanges(previous, got);
  if (previous !== undefined) {
    say('');
    say(
      changes.length === 0 ? '  No verdict changed.' : `  ${changes.length} verdict(s) changed (marked *):`,
    );
    for (const c of changes) say(`    ${c.from} -> ${c.to}: ${c.before} -> ${c.after}`);
  }
  const wrong = mismatches(got, expectedMatrix(DEMO_SOURCES, DEMO_TARGETS, expect));
  say('');
  if (wrong.length === 0) say('  Every cell is as Calico specifies.');
  else for (const w of wrong) say(`  UNEXPECTED: ${w.from} -> ${w.to} is ${w.after}, expected ${w.before}`);
  return wrong.length;
}

async function showRouting(lab: LabCluster, say: Say): Promise<void> {
  const runner = new NodeCommandRunner();
  const n1 = lab.node('node-1');
  say('');
  if (lab.network === 'bgp') {
    say("Routing: each node's BIRD advertises its IPAM blocks to the other over BGP (full mesh).");
    // The node's BIRD socket is in its agent's run dir (calicoctl defaults to /var/run/calico/bird.ctl).
    const socket = { CALICO_BIRD_SOCKET: join(n1.runDir, 'bird.ctl') };
    await calicoctl(lab, ['node', 'status'], say, lab.runDir, socket);
  } else {
    say(`Routing: each node reaches the other's pod blocks through ${VXLAN_DEVICE} (VXLAN, VNI 4096).`);
  }
  const r = await netnsRunner(runner, n1.netns).run('ip', ['-4', 'route', 'show'], { timeoutMs: 10_000 });
  const lines = r.stdout.split('\n').filter((l) => l.startsWith('10.244.') || l.startsWith('blackhole'));
  say(`  node-1's cluster routes (ip route, inside node-1):`);
  say(indent(lines.join('\n') || '(none)'));
}

async function addDemoPods(lab: LabCluster, via: PodVia, say: Say, signal: AbortSignal): Promise<void> {
  const how = via === 'cni' ? 'the calico CNI plugin (calico-ipam picks each address)' : 'the lab (no CNI)';
  await step(say, `pods through ${how}`, () =>
    lab.addPods(
      DEMO_PODS.filter((p) => !lab.hasPod(`${p.namespace}/${p.name}`)).map((p) => ({
        node: p.node,
        spec: { namespace: p.namespace, name: p.name, labels: p.labels, ports: [p.port] },
      })),
      { via, signal },
    ),
  );
}

async function createPods(lab: LabCluster, say: Say, signal: AbortSignal): Promise<void> {
  const why = cniUnavailableReason();
  if (why !== false) say(`  (CNI plugins unavailable: ${why})`);
  try {
    await addDemoPods(lab, why === false ? 'cni' : 'plumb', say, signal);
  } catch (e) {
    // A CNI build that does not take unix-socket etcd endpoints yet: the lab wires the pods instead.
    if (!/invalid etcd endpoint/.test(errorMessage(e))) throw e;
    say(`  (the CNI plugin refused the etcd endpoint: ${errorMessage(e)}; wiring the pods without CNI)`);
    await lab.removePods(
      lab
        .pods()
        .map((p) => `${p.namespace}/${p.name}`)
        .filter((k) => k !== CLUSTER_DNS_KEY),
    );
    await addDemoPods(lab, 'plumb', say, signal);
  }
  await lab.sync({ signal });
  const missing = await lab.waitRoutes({ signal, timeoutMs: 60_000 });
  if (missing.length > 0) throw new CalicoError('CALICO_ERR_IO', `pod routes missing: ${missing.join(', ')}`);
  say('');
  for (const p of DEMO_PODS) {
    const r = lab.pod(`${p.namespace}/${p.name}`);
    const labels = Object.entries(p.labels)
      .map(([k, v]) => `${k}=${v}`)
      .join(',');
    say(
      `  ${`${p.namespace}/${p.name}`.padEnd(22)} ${p.node}  ${r.ip.padEnd(15)} ${labels.padEnd(18)} ${p.role}, port ${p.port}`,
    );
  }
}

async function runStep(
  lab: LabCluster,
  s: DemoStep,
  index: number,
  ctx: {
    say: Say;
    dir: string;
    previous: Matrix;
    timeoutMs: number;
    signal: AbortSignal;
    earlier: readonly DemoStep[];
    flows: GoldmaneClient | undefined;
  },
): Promise<{ matrix: Matrix; wrong: number }> {
  const { say, dir } = ctx;
  say('');
  say(RULE);
  say(`Step ${index}: ${s.title}`);
  say(RULE);
  for (const [name, text] of Object.entries(s.files))
    writeFileSync(join(dir, name), text, { mode: FILE_MODE });
  for (const name of Object.keys(s.files).filter((f) =>
    s.commands.some((c) => c.includes(f) && c[0] === 'apply'),
  )) {
    say(`  ${name}:`);
    say(indent(s.files[name]!, '    | '));
  }
  for (const c of s.commands) {
    const code = await calicoctl(lab, c, say, dir);
    if (code !== 0) throw new CalicoError('CALICO_ERR_IO', `calicoctl ${c.join(' ')} exited with ${code}`);
  }
  await lab.sync({ signal: ctx.signal });
  say('');
  for (const l of s.explain) say(`  ${l}`);
  const before = ctx.flows !== undefined ? await snapshotFlows(ctx.flows) : undefined;
  const matrix = await measure(lab, ctx.timeoutMs, ctx.signal);
  const wrong = report(say, matrix, ctx.previous, s.expect);
  const names = s.names === undefined ? 0 : await reportNames(lab, s.names, say, ctx.timeoutMs);
  if (ctx.flows !== undefined && before !== undefined)
    await showFlows(ctx.flows, before, say, ctx.signal, lab.clusterDnsRunning());
  for (const e of s.explainCells) {
    say('');
    const to = await explainTarget(lab, e);
    const what = to.resolve === undefined ? 'denied' : 'decided';
    say(`  Why is ${e.from} -> ${e.to} ${what}? (policy explain evaluates the same model the nodes enforce)`);
    writeFileSync(
      join(dir, 'workloads.yaml'),
      workloadsYaml((key) => lab.pod(key).ip),
      { mode: FILE_MODE },
    );
    const current = ['workloads.yaml', ...filesInForce([...ctx.earlier, s])];
    await calicoctl(
      lab,
      [
        'policy',
        'explain',
        ...current.flatMap((f) => ['-f', f]),
        '--from',
        e.from,
        '--to',
        to.address,
        '--port',
        String(e.port),
        ...(to.resolve !== undefined ? ['--resolve', to.resolve] : []),
      ],
      say,
      dir,
    );
  }
  for (const c of s.show) await calicoctl(lab, c, say, dir);
  return { matrix, wrong: wrong + names };
}

/** Every cell the matrix probes, as the flows name it. */
const MATRIX_CELLS: readonly FlowCell[] = DEMO_SOURCES.flatMap((from) =>
  DEMO_TARGETS.filter((t) => t.key !== from).map((t) => ({
    from,
    to: t.key,
    protocol: t.protocol,
    port: t.port,
  })),
);

/**
 * The flows the step's probes made, read back from the lab's calico-goldmane with the policy that decided each
 * (demo-flows.ts), waiting (bounded) for every node's next flush.
 */
async function showFlows(
  client: GoldmaneClient,
  before: FlowSnapshot,
  say: Say,
  signal: AbortSignal,
  dnsProxied: boolean,
): Promise<void> {
  const ends: CellEnds = {
    local: (k) => k !== 'outside',
    proxied: (c) => c.to === CLUSTER_DNS_KEY && c.protocol === 'udp' && c.port === 53 && dnsProxied,
  };
  const { flows, missing } = await stepFlows(client, before, MATRIX_CELLS, ends, {
    timeoutMs: 20_000,
    signal,
  });
  say('');
  say('  Flows of this step (calico-goldmane; the same as calicoctl flows and calico-lab ui show):');
  say(indent(renderStepFlows(flows, missing).join('\n')));
}

/**
 * Why the DNS policy step cannot run on this lab, or false: it needs the cluster DNS, and agents whose DNS
 * path learns addresses from answers (the agent marks `dnsTrustedServers` as used once it does).
 */
export function dnsPolicyUnavailableReason(lab: LabCluster): string | false {
  if (!lab.clusterDnsRunning()) return 'the lab has no cluster DNS (dnsmasq)';
  if (paramDef('dnsTrustedServers').use === undefined)
    return 'this calico-node does not learn names from DNS answers yet (it does not use FelixConfiguration dnsTrustedServers)';
  return false;
}

/** The address `policy explain` gets for a cell; for a name, the one the pod's lookup returned, and `--resolve`. */
async function explainTarget(
  lab: LabCluster,
  e: ExplainCell,
): Promise<{ readonly address: string; readonly resolve?: string }> {
  const chain = zoneChain(e.to);
  if (chain === undefined) return { address: e.to === 'outside' ? lab.addressOf('outside') : e.to };
  const looked = await lab.resolve(e.from, e.to).catch(() => undefined);
  const address = looked?.addresses[0] ?? chain.address;
  return { address, resolve: `${e.to}=${address}` };
}

/**
 * Connections by name (looked up from the pod through the cluster DNS, then connected); prints each with the
 * address it resolved to and returns how many differ from what the step expects.
 */
async function reportNames(
  lab: LabCluster,
  names: readonly DemoNameProbe[],
  say: Say,
  timeoutMs: number,
): Promise<number> {
  say('');
  say('  By name (looked up from the pod through kube-system/coredns, then connected):');
  let wrong = 0;
  for (const n of names) {
    const o = await lab.probe(n.from, { to: n.name, protocol: 'tcp', port: n.port, timeoutMs });
    const address = zoneChain(n.name)?.address ?? '?';
    const cell = o.verdict === 'allowed' ? 'allow' : o.verdict === 'denied' ? 'DENY' : o.verdict;
    say(`    ${n.from.padEnd(20)} -> ${`${n.name} (${address})`.padEnd(38)} tcp/${n.port}  ${cell}`);
    if (o.verdict !== n.expect) {
      wrong++;
      say(`  UNEXPECTED: ${n.from} -> ${n.name} is ${o.verdict}, expected ${n.expect} (${o.detail})`);
    }
  }
  return wrong;
}

async function openLab(opts: DemoOptions, say: Say, signal: AbortSignal): Promise<LabCluster> {
  const kubernetes = opts.kubernetes === true;
  const why = labUnavailableReason(opts.network, true, kubernetes);
  if (why !== false) throw new CalicoError('CALICO_ERR_USAGE', `the demo cannot run here: ${why}`);
  const racks = defaultRacks(opts.network, 2);
  const req = { nodes: 2, network: opts.network, racks, datastore: opts.datastore, agents: true, kubernetes };
  if (opts.keep) {
    if (opts.runDir === undefined)
      throw new CalicoError('CALICO_ERR_USAGE', 'a kept demo lab needs a run dir');
    await up(opts.runDir, req, say, signal);
    return LabCluster.attach(opts.runDir);
  }
  // What an earlier demo killed outright left behind (its owner process is gone).
  const swept = await sweepStaleLabs(new NodeCommandRunner(), { signal });
  if (swept.length > 0) say(`(removed ${swept.length} namespaces a dead lab left behind)`);
  const lab = await LabCluster.create({
    network: opts.network,
    racks,
    datastore: opts.datastore,
    agentEnv: { FELIX_HEALTHENABLED: 'false' },
    signal,
    ...(opts.runDir !== undefined ? { runDir: opts.runDir } : {}),
  });
  try {
    say(`Building a two-node lab: networking ${opts.network}, ${racks} rack(s), datastore ${opts.datastore}`);
    await buildLab(lab, { ...req, runDir: lab.runDir }, say, signal);
    return lab;
  } catch (e) {
    await lab.destroy().catch(() => undefined);
    throw e;
  }
}

export async function runDemo(opts: DemoOptions, say: Say, signal: AbortSignal): Promise<number> {
  say(RULE);
  say('calico-ts demo: Calico networking and network policy on two nodes, in network namespaces');
  say(RULE);
  const steps = demoSteps(splitStarter(readFileSync(join(repoRoot(), 'examples', 'starter.yaml'), 'utf8')));
  const lab = await openLab(opts, say, signal);
  const server = lab.goldmaneServer();
  const flows = server !== undefined ? new GoldmaneClient(server) : undefined;
  let wrong = 0;
  try {
    say('');
    say('Pods (namespace/name, node, IP from IPAM, labels, role):');
    await createPods(lab, say, signal);
    await showRouting(lab, say);
    const dir = join(lab.runDir, 'demo');
    ensureDirSync(dir);
    say('');
    say(RULE);
    say('Step 0: no policy. Kubernetes networking is flat: every pod reaches every pod, and the outside.');
    say(RULE);
    say('  Rows are sources, columns destinations (port probed); allow = connected, DENY = dropped.');
    const before = flows !== undefined ? await snapshotFlows(flows) : undefined;
    let previous = await measure(lab, opts.probeTimeoutMs, signal);
    wrong += report(say, previous, undefined, BASELINE_EXPECT);
    if (flows !== undefined && before !== undefined)
      await showFlows(flows, before, say, signal, lab.clusterDnsRunning());
    for (const [i, s] of steps.entries()) {
      signal.throwIfAborted();
      const missing = s.needs === 'dns-policy' ? dnsPolicyUnavailableReason(lab) : false;
      if (missing !== false) {
        say('');
        say(RULE);
        say(`Step ${i + 1}: ${s.title}`);
        say(RULE);
        say(`  skipped: ${missing}`);
        continue;
      }
      const r = await runStep(lab, s, i + 1, {
        say,
        dir,
        previous,
        timeoutMs: opts.probeTimeoutMs,
        signal,
        earlier: steps.slice(0, i),
        flows,
      });
      wrong += r.wrong;
      previous = r.matrix;
    }
    say('');
    say(RULE);
    say(
      wrong === 0
        ? 'Demo complete: every verdict matched Calico semantics.'
        : `Demo complete with ${wrong} unexpected verdict(s).`,
    );
  } catch (e) {
    say(`demo failed: ${errorMessage(e)}`);
    throw e;
  } finally {
    flows?.close();
    if (opts.keep) {
      await lab.detach();
      const cmd = (...args: string[]): string => labCommand(lab.runDir, args);
      say(
        `The lab is still up in ${lab.runDir}: ${cmd('status')} | probe | exec | logs | down ` +
          `(eval "$(${cmd('env')})" for calicoctl).`,
      );
    } else {
      await lab.destroy();
      say('Lab removed (namespaces, agents, BIRD, datastore).');
    }
  }
  return wrong === 0 ? 0 : 1;
}
