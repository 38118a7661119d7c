/**
 * `calico-lab up` (and `down`): builds a detached lab step by step with progress lines, idempotently. A lab
 * already up in the run dir is completed (missing nodes added, stopped agents started) with its own settings
 * (up-settings.ts), and says so; asking it for other settings is refused with the `down` hint. The remains of
 * a lab whose keeper process is gone (a reboot, a killed shell) are removed first. A failed or interrupted
 * `up` removes everything it built. Both hold the run dir's lock (cli-lab.ts) while they work.
 *
 * `down --keep-logs` removes the lab but keeps its logs in the run dir: each node's `agent.log`, `status.json`
 * and packet log (`packets.pcap`), BIRD's configuration and, as BIRD itself logs nowhere here, its view of
 * the BGP sessions at teardown (`bird-protocols.txt`), the probe agents' and etcd's logs.
 *
 * The lab's namespaces are named after a keeper process (`sleep infinity`) that `down` ends, so test runs
 * sweeping stale `calts-lab-` namespaces leave a live lab alone.
 */
import { spawn } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { NodeCommandRunner } from '../dataplane/exec/node-runner.js';
import { CalicoError, errorMessage } from '../lib/errors.js';
import { LabCluster } from '../labkit/cluster.js';
import { deleteLabNamespaces } from '../labkit/cluster-net.js';
import { cniUnavailableReason } from '../labkit/cni.js';
import { labDatastore } from '../labkit/datastore.js';
import { findKubeBinaries } from '../datastore/kubernetes/control-plane/binaries.js';
import { ensureLabKubernetes, stopLabKubernetes } from '../labkit/kube/lab.js';
import { addKubeNodes } from '../labkit/kube/cluster.js';
import { stopLabKubelets } from '../labkit/kube/kubelets.js';
import { kernelTestSkipReason } from '../labkit/netns.js';
import { defaultAgentEntry, pruneDir } from '../labkit/paths.js';
import { birdc } from '../labkit/routes.js';
import { CLUSTER_DNS_KEY, clusterDnsUnavailableReason } from '../labkit/cluster-dns.js';
import { LAB_ZONE } from '../labkit/dns-zone.js';
import { LAB_FLOW_FLUSH_INTERVAL } from '../labkit/cluster-flows.js';
import { loadState, statePath } from '../labkit/state.js';
import { agentRouted, nodeAddresses, type LabNetwork } from '../labkit/topology.js';
import { FILE_MODE } from '../sys/files.js';
import { processExists } from '../sys/process.js';
import { LOCK_FILE, attachLab, labCommand, withLabLock } from './cli-lab.js';
import { planUp, type UpAsk, type UpSettings } from './up-settings.js';

export interface UpRequest extends UpSettings {
  readonly runDir: string;
  /** Ports the outside namespace serves. */
  readonly outsidePorts?: readonly number[];
  /** The cluster DNS's TTL (seconds) when it is created. Default 30 (dns-zone.ts). */
  readonly dnsTtl?: number;
}

export type Say = (line: string) => void;

/**
 * Why a lab of this mode cannot be built here (not root, a tool or the build missing, the Kubernetes programs
 * not built), or false.
 */
export function labUnavailableReason(
  network: LabNetwork,
  agents: boolean,
  kubernetes = false,
): string | false {
  const tools = [
    'ip',
    'nft',
    'sysctl',
    'conntrack',
    ...(agents && network === 'bgp' ? ['bird', 'birdc'] : []),
  ];
  const why = kernelTestSkipReason(tools);
  if (why !== false) return why;
  if (agents && !existsSync(defaultAgentEntry())) return `${defaultAgentEntry()} is missing (npm run build)`;
  if (kubernetes) {
    const found = findKubeBinaries();
    if (!found.ok) return found.reason;
    // The lab kubelets run pods through the calico CNI plugin.
    if (agents) return cniUnavailableReason();
  }
  return false;
}

/** Times one step and says how long it took. */
export async function step<T>(say: Say, what: string, fn: () => Promise<T>): Promise<T> {
  const t0 = performance.now();
  say(`  ${what} ...`);
  const r = await fn();
  say(`  ${what}: done in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  return r;
}

/** What `down --keep-logs` keeps of the run dir (relative paths). */
export function isLabLog(relPath: string): boolean {
  const name = basename(relPath);
  return /\.(log|pcap)$/.test(name) || ['status.json', 'bird.cfg', 'bird-protocols.txt'].includes(name);
}

/**
 * Removes what a lab left whose keeper is gone (keeping the lock, and the logs when asked); false when
 * there is no such lab.
 */
async function removeStaleLab(runDir: string, say: Say, keepLogs = false): Promise<boolean> {
  if (!existsSync(statePath(runDir))) return false;
  const state = loadState(runDir);
  if (state.keeperPid !== undefined && processExists(state.keeperPid)) return false;
  say(`removing the remains of an earlier lab in ${runDir} (its keeper process is gone)`);
  const runner = new NodeCommandRunner();
  const kubelets = await stopLabKubelets(runner, state);
  if (kubelets.stopped > 0) say(`  stopped ${kubelets.stopped} lab kubelet(s)`);
  const stopped = await stopLabKubernetes(state).catch((e: unknown) => {
    say(`  (the Kubernetes control plane: ${errorMessage(e)})`);
    return 0;
  });
  if (stopped > 0) say(`  stopped ${stopped} Kubernetes control plane process(es)`);
  const errors = [...kubelets.errors, ...(await deleteLabNamespaces(runner, state))];
  if (errors.length > 0) say(`  (cleanup problems: ${errors.map(errorMessage).join('; ')})`);
  pruneDir(runDir, (rel) => rel === LOCK_FILE || (keepLogs && isLabLog(rel)));
  return true;
}

/**
 * Adds nodes up to `req.nodes` (starting agents), the Kubernetes control plane when asked (each node registered
 * as a Node), the outside namespace, then waits for cluster routes. On the Kubernetes datastore (the control
 * plane runs already) each node gets its lab kubelet before its agent (kube/cluster.ts).
 */
export async function buildLab(
  lab: LabCluster,
  req: UpRequest,
  say: Say,
  signal: AbortSignal,
): Promise<void> {
  if (req.datastore === 'kubernetes') {
    const names = Array.from({ length: req.nodes }, (_, i) => `node-${i + 1}`);
    await addKubeNodes(lab, names, {
      signal,
      step: (what, fn) => step(say, what, fn),
    });
    say(`  Kubernetes Nodes ${names.join(', ')}; KUBECONFIG=${lab.state.kubernetes?.kubeconfig ?? '?'}`);
    await startApiServer(lab, say, signal);
  }
  for (let i = 1; i <= req.nodes && req.datastore !== 'kubernetes'; i++) {
    const name = `node-${i}`;
    if (!lab.nodes().some((n) => n.name === name)) {
      await step(say, `${name}: namespace on rack ${rackLabel(lab, i)}`, () => lab.addNode(name, { signal }));
    }
    if (req.agents && !lab.agentRunning(name)) {
      await step(say, `${name}: starting calico-node (networking ${lab.network})`, () =>
        lab.startAgent(name, { signal, timeoutMs: 60_000 }),
      );
    }
  }
  if (req.kubernetes && req.datastore !== 'kubernetes') {
    await step(
      say,
      'Kubernetes control plane (etcd, kube-apiserver, controller manager, scheduler, CRDs)',
      () => lab.startKubernetes({ signal }),
    );
    const nodes = await lab.registerKubernetesNodes();
    say(`  Kubernetes Nodes ${nodes.join(', ')}; KUBECONFIG=${lab.state.kubernetes?.kubeconfig ?? '?'}`);
    await startApiServer(lab, say, signal);
  }
  if (lab.state.outside === undefined)
    await step(say, 'outside namespace (stands for the Internet)', () =>
      lab.addOutside({ ports: req.outsidePorts ?? [80], signal }),
    );
  await startClusterDns(lab, req, say, signal);
  if (req.agents) await startFlowLogs(lab, say, signal);
  if (!req.agents || !agentRouted(lab.network) || lab.nodes().length < 2) return;
  if (lab.network === 'bgp') {
    const short = await step(say, 'BGP full mesh between the nodes (BIRD)', () =>
      lab.waitBgpMesh({ signal, timeoutMs: 90_000 }),
    );
    if (short.length > 0) throw new CalicoError('CALICO_ERR_IO', `BGP sessions not up: ${short.join(', ')}`);
  }
  const missing = await step(say, 'cluster routes on every node', () =>
    lab.waitRoutes({ signal, timeoutMs: 60_000 }),
  );
  if (missing.length > 0) throw new CalicoError('CALICO_ERR_IO', `routes missing: ${missing.join(', ')}`);
}

/**
 * The cluster DNS (labkit cluster-dns.ts): dnsmasq in kube-system/coredns, unless it runs. Not in a
 * Kubernetes-datastore lab (its pods are the kubelets'), nor where dnsmasq is missing: `up` says so.
 */
async function startClusterDns(
  lab: LabCluster,
  req: UpRequest,
  say: Say,
  signal: AbortSignal,
): Promise<void> {
  if (lab.clusterDnsRunning()) return;
  const why =
    req.datastore === 'kubernetes'
      ? "not in a Kubernetes-datastore lab yet (pods there are the lab kubelets')"
      : clusterDnsUnavailableReason();
  if (why !== false) {
    say(`  (no cluster DNS: ${why})`);
    return;
  }
  const names = LAB_ZONE.filter((r) => !r.name.startsWith('edge.')).map((r) => r.name);
  const ip = await step(say, `cluster DNS: dnsmasq in ${CLUSTER_DNS_KEY} (${names.join(', ')})`, () =>
    lab.addClusterDns({ signal, ...(req.dnsTtl !== undefined ? { ttl: req.dnsTtl } : {}) }),
  );
  say(
    `  ${CLUSTER_DNS_KEY} serves DNS on ${ip}:53 (TTL ${lab.state.clusterDns?.ttl ?? '?'} s); pods resolve through it; ` +
      `FelixConfiguration default dnsTrustedServers: ${ip}:53`,
  );
}

/**
 * Flow logs (labkit cluster-flows.ts): calico-goldmane on a unix socket in the run dir, and the agents pointed
 * at it (FelixConfiguration default flowLogsGoldmaneServer, flowLogsFlushInterval).
 */
async function startFlowLogs(lab: LabCluster, say: Say, signal: AbortSignal): Promise<void> {
  if (lab.goldmaneServer() !== undefined) return;
  const server = await step(say, 'flow logs: calico-goldmane (flows from every node, 15 s buckets)', () =>
    lab.addFlowLogs({ signal }),
  );
  say(
    `  FelixConfiguration default flowLogsGoldmaneServer: ${server}, flowLogsFlushInterval: ` +
      `${LAB_FLOW_FLUSH_INTERVAL}; see them with calicoctl flows or calico-lab ui`,
  );
}

/** calico-apiserver beside the control plane, registered with the aggregator (kube/apiserver.ts). */
async function startApiServer(lab: LabCluster, say: Say, signal: AbortSignal): Promise<void> {
  const port = await step(say, 'calico-apiserver (APIService v3.projectcalico.org Available)', () =>
    lab.startCalicoApiServer({ signal }),
  );
  say(`  projectcalico.org/v3 served by calico-apiserver on https://127.0.0.1:${port} (kubectl apply works)`);
}

function rackLabel(lab: LabCluster, index: number): string {
  const racks = lab.state.racks ?? 1;
  const rack = ((index - 1) % racks) + 1;
  return `${rack} (${nodeAddresses(index, rack).v4}/24)`;
}

/** The settings of the lab in the run dir. */
export function labSettings(lab: LabCluster): UpSettings {
  return {
    nodes: lab.nodes().length,
    network: lab.network,
    racks: lab.state.racks ?? 1,
    datastore: datastoreChoice(labDatastore(lab.state).type),
    agents: lab.state.agentEntry !== undefined,
    kubernetes: lab.state.kubernetes !== undefined,
  };
}

/**
 * `calico-lab up`: creates the lab asked for, or completes the one in the run dir with its own settings.
 * Returns the settings built with.
 */
export async function up(
  runDir: string,
  ask: UpAsk,
  say: Say,
  signal: AbortSignal,
  options: { readonly outsidePorts?: readonly number[]; readonly dnsTtl?: number } = {},
): Promise<UpSettings> {
  return withLabLock(
    runDir,
    say,
    async () => {
      await removeStaleLab(runDir, say);
      if (!existsSync(statePath(runDir))) return create(runDir, ask, say, signal, options);
      const moved = await ensureKddControlPlane(runDir, say, signal);
      const lab = await LabCluster.attach(runDir);
      if (moved) {
        // The kubelets' API relays listen on the old port: start kubelets and agents anew (pods are adopted).
        for (const n of lab.nodes()) {
          await lab.stopKubelet(n.name);
          if (lab.agentRunning(n.name)) await lab.stopAgent(n.name);
        }
      }
      try {
        const plan = planUp(ask, labSettings(lab));
        if (!plan.ok)
          throw new CalicoError(
            'CALICO_ERR_USAGE',
            `${plan.problem}: a lab is up in ${runDir}; to start over: ${labCommand(runDir, ['down'])}`,
          );
        say(`a lab is up in ${runDir}; ${plan.notes.join('; ')}`);
        await buildLab(lab, { ...plan.settings, runDir, ...options }, say, signal);
        return plan.settings;
      } finally {
        await lab.detach();
      }
    },
    { create: true },
  );
}

/** The `up` choice a lab's datastore record stands for. */
function datastoreChoice(type: 'embedded' | 'etcdv3' | 'kubernetes'): UpSettings['datastore'] {
  return type === 'etcdv3' ? 'etcd' : type;
}

/**
 * On a Kubernetes-datastore lab, starts the control plane again when it does not serve (before the lab is
 * opened: it is the lab's datastore). True when its API server came back on another address.
 */
async function ensureKddControlPlane(runDir: string, say: Say, signal: AbortSignal): Promise<boolean> {
  const state = loadState(runDir);
  if (state.datastore?.type !== 'kubernetes') return false;
  const before = state.kubernetes?.server;
  const record = await step(say, "Kubernetes control plane (the lab's datastore)", () =>
    ensureLabKubernetes(state, { signal }),
  );
  return before !== undefined && record.server !== before;
}

async function create(
  runDir: string,
  ask: UpAsk,
  say: Say,
  signal: AbortSignal,
  options: { readonly outsidePorts?: readonly number[]; readonly dnsTtl?: number },
): Promise<UpSettings> {
  const plan = planUp(ask);
  if (!plan.ok) throw new CalicoError('CALICO_ERR_USAGE', plan.problem);
  const req: UpRequest = { ...plan.settings, runDir, ...options };
  const why = labUnavailableReason(req.network, req.agents, req.kubernetes);
  if (why !== false) throw new CalicoError('CALICO_ERR_USAGE', `cannot build a lab here: ${why}`);
  const keeper = spawn('sleep', ['infinity'], { detached: true, stdio: 'ignore' });
  keeper.unref();
  if (keeper.pid === undefined) throw new CalicoError('CALICO_ERR_IO', 'cannot start the keeper process');
  say(
    `creating a ${req.nodes}-node lab (networking ${req.network}, ${req.racks} rack(s), datastore ${req.datastore}${req.agents ? '' : ', no agents'}${req.kubernetes ? ', Kubernetes' : ''}) in ${runDir}`,
  );
  let lab: LabCluster | undefined;
  try {
    const what =
      req.datastore === 'etcd'
        ? 'run dir, fabric and etcd'
        : req.datastore === 'kubernetes'
          ? 'run dir and the Kubernetes control plane (etcd, kube-apiserver, controller manager, scheduler, CRDs)'
          : 'run dir';
    lab = await step(say, what, () =>
      LabCluster.create({
        runDir,
        detached: true,
        ownerPid: keeper.pid!,
        keepRunDir: false,
        network: req.network,
        racks: req.racks,
        datastore: req.datastore,
        signal,
        ...(req.agents ? {} : { agentEntry: null }),
      }),
    );
    lab.keeperPid = keeper.pid;
    await buildLab(lab, req, say, signal);
  } catch (e) {
    say(`failed (${errorMessage(e)}); removing what was built`);
    if (lab !== undefined) await lab.destroy().catch(() => undefined);
    else process.kill(keeper.pid, 'SIGKILL');
    throw e;
  }
  await lab.detach();
  return plan.settings;
}

/** BIRD logs nowhere here: its view of the sessions at teardown goes next to the agent's log. */
async function saveBirdView(lab: LabCluster, say: Say): Promise<void> {
  if (lab.network !== 'bgp') return;
  const runner = new NodeCommandRunner();
  for (const n of lab.nodes()) {
    const r = await birdc(runner, n, ['show', 'protocols', 'all']).catch((e: unknown) => ({
      code: -1,
      stdout: '',
      stderr: errorMessage(e),
    }));
    const text = r.code === 0 ? r.stdout : `birdc failed (${r.code}): ${r.stderr}`;
    try {
      writeFileSync(join(n.runDir, 'bird-protocols.txt'), text, { mode: FILE_MODE });
    } catch (e) {
      say(`  (BIRD's view of ${n.name} not saved: ${errorMessage(e)})`);
    }
  }
}

/** `calico-lab down`: removes the lab (nothing to do when there is none), keeping its logs when asked. */
export async function down(
  runDir: string,
  say: Say,
  options: { readonly keepLogs?: boolean } = {},
): Promise<void> {
  const keepLogs = options.keepLogs === true;
  await withLabLock(runDir, say, async () => {
    if (await removeStaleLab(runDir, say, keepLogs)) {
      // Nothing is left to lock: the lock file goes too (and the run dir unless logs are kept).
      const kept = pruneDir(runDir, (rel) => keepLogs && isLabLog(rel));
      if (keepLogs) say(`its logs are kept in ${runDir} (${kept.length} files)`);
      return;
    }
    if (!existsSync(statePath(runDir))) {
      say(`no lab in ${runDir}`);
      return;
    }
    const lab = await attachLab(runDir);
    if (keepLogs) await saveBirdView(lab, say);
    const kept = await lab.destroy(keepLogs ? { keep: isLabLog } : {});
    say(`lab in ${runDir} removed`);
    if (keepLogs) {
      say(`its logs are kept in ${runDir} (${kept.length} files; remove the directory when done):`);
      for (const f of kept) say(`  ${join(runDir, f)}`);
    }
  });
}
