/**
 * LabCluster: a Calico cluster on one machine, made of network namespaces. Nodes are namespaces on the racks
 * of a routed fabric namespace (topology.ts, plumbing.ts), each running its own agent process (agent.ts)
 * with the networking mode's settings, so that in `bgp` and `vxlan*` labs the cluster routes come from the
 * agents (BIRD mesh or VXLAN), and from the lab only in `static` labs. Pods are namespaces given their
 * network by the `calico` CNI plugin or by the lab's own wiring (pods.ts), each with a probe agent
 * (probe-agent.ts) that serves echo ports and runs connect probes; an optional `outside` namespace stands for
 * the Internet. The orchestrator's side is played through the lab's datastore (datastore.ts: an embedded
 * file in the run dir, or a private etcd on a unix socket): Pods, WorkloadEndpoints, Kubernetes Namespaces,
 * policies, and a sentinel Profile whose revision tells when every agent has programmed a change (`sync`).
 *
 *   await using lab = await LabCluster.create({ network: 'vxlan' });
 *   await lab.addNode('node-1', { startAgent: true });
 *   await lab.addPod('node-1', { namespace: 'x', name: 'a', ports: [80] }, { via: 'cni' });
 *   await lab.sync();
 *   await lab.probe('x/a', { to: 'x/b', protocol: 'tcp', port: 80, timeoutMs: 1000 });
 *
 * Everything is inside namespaces named `calts-lab-<owner pid>-…` (nothing touches the root namespace) and
 * is removed on dispose, even after failures; `sweepStaleLabs` removes what a crashed lab left. The prefix is
 * the lab's own so that a sweep never touches the namespaces of other suites running at the same time.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Backend, Resource } from '../datastore/index.js';
import { netnsRunner, type CommandRunner } from '../dataplane/exec/command-runner.js';
import { NodeCommandRunner } from '../dataplane/exec/node-runner.js';
import { CalicoError, errorMessage } from '../lib/errors.js';
import { parseIp } from '../lib/net/ip.js';
import type { NflogRecord } from '../dataplane/nflog.js';
import type { AgentStatus } from './agent.js';
import { LabAgents, LabSyncError } from './cluster-agents.js';
import { LabInfra } from './cluster-infra.js';
import { addLabPods, teardownLabPods, type PodBatchContext } from './cluster-pods.js';
import { addNodeNetwork, deleteLabNamespaces, wirePodRoutes } from './cluster-net.js';
import { ProbePaths } from './cluster-probe.js';
import { waitUntilNoneMissing } from './concurrency.js';
import { labDatastoreEnv, openLabBackend, type LabDatastoreChoice } from './datastore.js';
import { runChecked, sweepStaleNamespaces, uniqueNamespaceName } from './netns.js';
import { nodePacketLog, startPacketLog } from './packet-log.js';
import { clusterDnsFiles, defaultAgentEntry, pruneDir } from './paths.js';
import { endpointProgrammed, podEndpoint, recordKey, writePodMetadata, type PodVia } from './pods.js';
import {
  ensureLabKubernetes,
  registerLabNodes,
  stopLabKubernetes,
  waitLabNodesSchedulable,
} from './kube/lab.js';
import { ensureLabApiServer } from './kube/apiserver.js';
import {
  kubeletPodRecords,
  kubeletRunning,
  startLabKubelet,
  stopLabKubelet,
  stopLabKubelets,
} from './kube/kubelets.js';
import { ProbeAgents } from './probe-client.js';
import type { ProbeOutcome, ProbeProtocol, ResolveOutcome } from './probe-protocol.js';
import { ensureClusterDns, isLabDnsmasq, resolveFromPod } from './cluster-dns.js';
import { cniUnavailableReason } from './cni.js';
import { isQueryName, type DnsQueryType } from './dns-lookup.js';
import { STATIC_CLUSTER_DNS_IP } from './dns-zone.js';
import { LabProcess } from './process.js';
import { replaceResources } from './resource-sync.js';
import { labNamespace, syncSentinel, type LabPodSpec } from './resources.js';
import {
  loadState,
  newLabState,
  saveState,
  type LabState,
  type NodeRecord,
  type PodRecord,
} from './state.js';
import {
  agentRouted,
  nodeIndexForAddress,
  podMtu,
  rackOf,
  topologyProblem,
  type LabNetwork,
} from './topology.js';
import { PRIVATE_DIR_MODE, ensureDirSync } from '../sys/files.js';

/** Every lab namespace (and default run dir) starts with this. */
export const LAB_NETNS_PREFIX = 'calts-lab-';

/** Deletes the namespaces of labs whose owner process is gone (and kills what still runs in them). */
export function sweepStaleLabs(
  runner: CommandRunner,
  options: { readonly signal?: AbortSignal } = {},
): Promise<string[]> {
  return sweepStaleNamespaces(runner, LAB_NETNS_PREFIX, options);
}

export interface LabClusterOptions {
  readonly runner?: CommandRunner;
  /** Created when missing. Default: a fresh `calts-<pid>-…` directory in the temp dir. */
  readonly runDir?: string;
  /** The agent's entry script; `null`: nodes run no agent. Default `<repo>/dist/src/agent/main.js`. */
  readonly agentEntry?: string | null;
  /** Extra agent environment (FELIX_* settings); wins over the networking mode's. */
  readonly agentEnv?: Readonly<Record<string, string>>;
  /** Who routes pods between nodes (topology.ts). Default `static`. */
  readonly network?: LabNetwork;
  /** Fabric racks (subnets); nodes go round-robin. Default 1. */
  readonly racks?: number;
  /**
   * Default `embedded`. `kubernetes`: the lab's control plane is started first and is the datastore of
   * everything (agents, CNI plugins, calicoctl); pods are run by lab kubelets (`startKubelet`).
   */
  readonly datastore?: LabDatastoreChoice;
  /** kube-apiserver feature gates of a `kubernetes` lab's control plane (only on its first start). */
  readonly kubeFeatureGates?: Readonly<Record<string, boolean>>;
  /** Processes outlive this process (the CLI). */
  readonly detached?: boolean;
  /** Whose death makes the lab's namespaces stale. Default: this process. */
  readonly ownerPid?: number;
  /** Keep the run dir (logs, datastore) on dispose. */
  readonly keepRunDir?: boolean;
  readonly agentStartTimeoutMs?: number;
  readonly syncTimeoutMs?: number;
  readonly signal?: AbortSignal;
}

export interface AddPodOptions {
  readonly signal?: AbortSignal;
  /** Pods plumbed at once. Default 4. */
  readonly concurrency?: number;
  /** Through the CNI plugin or the lab's wiring. Default: the lab's wiring. */
  readonly via?: PodVia;
}

export interface LabProbe {
  /**
   * A pod key (`ns/name`), `outside`, an IP address, or a DNS name: looked up first from the pod through the
   * cluster DNS (its resolv.conf), then probed at the answer's first address.
   */
  readonly to: string;
  readonly protocol: ProbeProtocol;
  readonly port: number;
  readonly timeoutMs?: number;
  /**
   * UDP to a DNS server: send a query for this name instead of the echo payload; any answer is `allowed`
   * (the target serves DNS, not echo).
   */
  readonly dnsQuery?: string;
}

type Timing = { readonly timeoutMs?: number; readonly signal?: AbortSignal };

const NODE_NAME = /^[a-z0-9]([-a-z0-9.]{0,61}[a-z0-9])?$/;

export class LabCluster implements AsyncDisposable {
  readonly datastore: Backend;
  readonly #runner: CommandRunner;
  readonly #state: LabState;
  readonly #opts: LabClusterOptions;
  readonly #agents: LabAgents;
  readonly #probes = new ProbeAgents();
  readonly #infra: LabInfra;
  readonly #paths: ProbePaths;
  /** Pods the lab's kubelets run (kube/cluster.ts), probed like the lab's own. */
  readonly #kubePods = new Map<string, PodRecord>();
  #syncCounter = 0;
  #disposed = false;

  private constructor(runner: CommandRunner, state: LabState, datastore: Backend, opts: LabClusterOptions) {
    this.#runner = runner;
    this.#state = state;
    this.datastore = datastore;
    this.#opts = opts;
    this.#infra = new LabInfra(runner, state, this.#probes);
    this.#paths = new ProbePaths(runner, state, () => [...state.pods, ...this.#kubePods.values()]);
    this.#agents = new LabAgents(
      state,
      opts.agentStartTimeoutMs !== undefined ? { startTimeoutMs: opts.agentStartTimeoutMs } : {},
    );
  }

  static async create(options: LabClusterOptions = {}): Promise<LabCluster> {
    const network = options.network ?? 'static';
    const racks = options.racks ?? 1;
    const problem = topologyProblem(network, racks);
    if (problem !== undefined) throw new CalicoError('CALICO_ERR_USAGE', problem);
    const ownerPid = options.ownerPid ?? process.pid;
    const runDir =
      options.runDir ?? mkdtempSync(join(tmpdir(), `${LAB_NETNS_PREFIX}${ownerPid.toString(36)}-`));
    ensureDirSync(runDir, { mode: PRIVATE_DIR_MODE });
    ensureDirSync(join(runDir, 'pods'));
    const entry = options.agentEntry === undefined ? defaultAgentEntry() : options.agentEntry;
    const state = newLabState({
      ownerPid,
      runDir,
      network,
      racks,
      entry,
      detached: options.detached === true,
    });
    Object.assign(state.agentEnv, options.agentEnv ?? {});
    saveState(state);
    const runner = options.runner ?? new NodeCommandRunner();
    const infra = new LabInfra(runner, state, new ProbeAgents());
    try {
      if (options.datastore === 'etcd') await infra.startEtcd(sig(options));
      if (options.datastore === 'kubernetes') {
        const gates = options.kubeFeatureGates;
        const cp = await ensureLabKubernetes(state, {
          ...sig(options),
          ...(gates !== undefined ? { featureGates: gates } : {}),
        });
        state.datastore = { type: 'kubernetes', kubeconfig: cp.kubeconfig };
        saveState(state);
      }
      const datastore = await openLabBackend(state);
      return new LabCluster(runner, state, datastore, options);
    } catch (e) {
      await stopLabKubernetes(state).catch(() => undefined);
      await deleteLabNamespaces(runner, state);
      if (options.keepRunDir !== true) rmSync(runDir, { recursive: true, force: true });
      throw e;
    }
  }

  /** Re-opens a lab an earlier process created (detached): its processes are adopted by pid. */
  static async attach(runDir: string, options: LabClusterOptions = {}): Promise<LabCluster> {
    const state = loadState(runDir);
    const datastore = await openLabBackend(state);
    const lab = new LabCluster(options.runner ?? new NodeCommandRunner(), state, datastore, {
      ...options,
      detached: state.detached,
    });
    for (const p of state.pods)
      if (p.probePid !== undefined) lab.#probes.add(recordKey(p), LabProcess.adopt(p.probePid, p.logFile));
    lab.#infra.adoptOutside();
    // The pods the kubelets run, so `probe` knows them (labels come from the API when a caller needs them).
    if (state.datastore?.type === 'kubernetes') lab.setKubernetesPods(kubeletPodRecords(state.nodes));
    return lab;
  }

  get runDir(): string {
    return this.#state.runDir;
  }

  get datastorePath(): string {
    return this.#state.datastorePath;
  }

  get network(): LabNetwork {
    return this.#state.network ?? 'static';
  }

  /** DATASTORE_TYPE and its settings: what calicoctl and the CNI plugins need to reach this lab. */
  get datastoreEnv(): Record<string, string> {
    return labDatastoreEnv(this.#state);
  }

  get state(): Readonly<LabState> {
    return this.#state;
  }

  set keeperPid(pid: number) {
    this.#state.keeperPid = pid;
    saveState(this.#state);
  }

  nodes(): readonly Readonly<NodeRecord>[] {
    return this.#state.nodes;
  }

  pods(): readonly Readonly<PodRecord>[] {
    return this.#state.pods;
  }

  node(name: string): Readonly<NodeRecord> {
    const n = this.#state.nodes.find((x) => x.name === name);
    if (n === undefined) throw new CalicoError('CALICO_ERR_NOT_FOUND', `no lab node ${name}`);
    return n;
  }

  pod(key: string): Readonly<PodRecord> {
    return this.#kubePods.get(key) ?? this.#podRecord(key);
  }

  hasPod(key: string): boolean {
    return this.#kubePods.has(key) || this.#state.pods.some((x) => recordKey(x) === key);
  }

  /**
   * Makes these the pods the lab's kubelets run (kube/cluster.ts): `pod`, `probe`, `endpointProgrammed` and
   * the probe path checks know them; the lab does not own them (their kubelet does).
   */
  setKubernetesPods(records: readonly PodRecord[]): void {
    const keys = new Set(records.map(recordKey));
    for (const k of [...this.#kubePods.keys()])
      if (!keys.has(k)) {
        this.#kubePods.delete(k);
        this.#probes.forget(k);
      }
    for (const r of records) {
      const before = this.#kubePods.get(recordKey(r));
      if (before !== undefined && before.socketPath !== r.socketPath) this.#probes.forget(recordKey(r));
      this.#kubePods.set(recordKey(r), r);
    }
  }

  /** The namespace of a node, a pod (`ns/name`), `outside` or `fabric` (for `calico-lab exec`). */
  netnsOf(target: string): string {
    if (target === 'outside' || target === 'fabric') return this.#infra.netnsOf(target);
    return target.includes('/') ? this.pod(target).netns : this.node(target).netns;
  }

  async addNode(
    name: string,
    options: { readonly startAgent?: boolean } & Timing = {},
  ): Promise<Readonly<NodeRecord>> {
    if (!NODE_NAME.test(name)) throw new CalicoError('CALICO_ERR_USAGE', `invalid node name "${name}"`);
    if (this.#state.nodes.some((n) => n.name === name))
      throw new CalicoError('CALICO_ERR_ALREADY_EXISTS', `lab node ${name} exists`);
    const fabricNs = await this.#infra.ensureFabric(sig(options));
    const index = Math.max(0, ...this.#state.nodes.map((n) => n.index)) + 1;
    const record: NodeRecord = {
      name,
      index,
      rack: rackOf(index, this.#state.racks ?? 1),
      netns: this.#newNamespaceName(),
      runDir: join(this.#state.runDir, 'nodes', name),
    };
    this.#state.nodes.push(record);
    saveState(this.#state);
    ensureDirSync(record.runDir);
    await addNodeNetwork(this.#runner, fabricNs, record, sig(options));
    startPacketLog(this.#state, record);
    if (!agentRouted(this.network)) {
      for (const p of this.#state.pods)
        if (p.node !== name) await wirePodRoutes(this.#runner, [record], p, this.node(p.node), sig(options));
    }
    if (options.startAgent === true) await this.startAgent(name, options);
    return record;
  }

  /**
   * The node for a pod with a fixed address: round-robin by `ordinal` in a `static` lab; in an agent-routed
   * lab the node whose IPAM block holds the address, else the one topology.ts maps its block to (its route
   * must lead to the node it lives on).
   */
  async nodeFor(ip: string, ordinal: number, options: Timing = {}): Promise<string> {
    const nodes = this.#state.nodes;
    if (nodes.length === 0) throw new CalicoError('CALICO_ERR_USAGE', 'the lab has no node');
    if (!agentRouted(this.network)) return nodes[ordinal % nodes.length]!.name;
    const owner = await this.#infra.blockOwner(this.datastore, ip, sig(options));
    if (owner !== undefined) return owner;
    return nodes[nodeIndexForAddress(ip, nodes.length) ?? ordinal % nodes.length]!.name;
  }

  /** The outside namespace (topology.ts) with a probe agent serving `ports`; idempotent. */
  async addOutside(options: { readonly ports?: readonly number[] } & Timing = {}): Promise<string> {
    return this.#infra.addOutside(options.ports ?? [80], sig(options));
  }

  #newNamespaceName(): string {
    return uniqueNamespaceName(LAB_NETNS_PREFIX, this.#state.ownerPid);
  }

  /** The packets `Log` rules logged on the node so far; throws (saying why) when it has no packet log. */
  packetLog(node: string): NflogRecord[] {
    return nodePacketLog(this.#state, this.node(node));
  }

  /** Starts the node's agent and waits (bounded) until it reports in sync. */
  /** Starts the lab's Kubernetes control plane unless it serves already (kube/lab.ts). */
  async startKubernetes(options: Timing = {}): Promise<void> {
    await ensureLabKubernetes(this.#state, sig(options));
  }

  /** Registers every lab node as a Kubernetes Node (a lab with a control plane); returns their names. */
  registerKubernetesNodes(): Promise<string[]> {
    return registerLabNodes(this.#state);
  }

  /** Waits (bounded) until the named Nodes are Ready and untainted, so pods may land on each. */
  waitKubernetesNodesSchedulable(names: readonly string[], options: Timing = {}): Promise<void> {
    return waitLabNodesSchedulable(this.#state, names, options);
  }

  /** Starts calico-apiserver unless it runs and waits until its APIService is Available; returns its port. */
  startCalicoApiServer(options: Timing = {}): Promise<number> {
    return ensureLabApiServer(this.#state, sig(options));
  }

  async startAgent(node: string, options: Timing = {}): Promise<void> {
    await this.#agents.start(node, options);
  }

  /**
   * Starts the node's lab kubelet (a Kubernetes-datastore lab; kube/kubelets.ts) unless it runs, and waits
   * (bounded) until it watches its pods. It gives the node's namespace the API server, so it comes before the
   * node's agent.
   */
  async startKubelet(
    node: string,
    options: Timing & { readonly heartbeatMs?: number; readonly policySetupTimeoutSeconds?: number } = {},
  ): Promise<void> {
    const ds = this.#state.datastore;
    if (ds?.type !== 'kubernetes')
      throw new CalicoError('CALICO_ERR_USAGE', 'lab kubelets run only in a Kubernetes-datastore lab');
    const record = this.#state.nodes.find((n) => n.name === node);
    if (record === undefined) throw new CalicoError('CALICO_ERR_NOT_FOUND', `no lab node ${node}`);
    const cniBinDir = await this.#infra.ensureCni(sig(options));
    await startLabKubelet(this.#state, record, {
      kubeconfig: ds.kubeconfig,
      cniBinDir,
      mtu: podMtu(this.network),
      netnsPrefix: LAB_NETNS_PREFIX,
      ...(options.heartbeatMs !== undefined ? { heartbeatMs: options.heartbeatMs } : {}),
      ...(options.policySetupTimeoutSeconds !== undefined
        ? { policySetupTimeoutSeconds: options.policySetupTimeoutSeconds }
        : {}),
      ...(options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {}),
      ...sig(options),
    });
  }

  kubeletRunning(node: string): boolean {
    return kubeletRunning(this.node(node));
  }

  /** Stops the node's kubelet; its pods keep running (the next kubelet adopts them). */
  async stopKubelet(node: string): Promise<void> {
    const record = this.#state.nodes.find((n) => n.name === node);
    if (record === undefined) throw new CalicoError('CALICO_ERR_NOT_FOUND', `no lab node ${node}`);
    await stopLabKubelet(record);
    saveState(this.#state);
  }

  /** SIGTERM: the agent exits and leaves its kernel state (policy stays enforced). */
  async stopAgent(node: string): Promise<void> {
    await this.#agents.stop(node);
  }

  /** SIGKILL, as in a crash. */
  async killAgent(node: string): Promise<void> {
    await this.#agents.kill(node);
  }

  async restartAgent(node: string, options: Timing = {}): Promise<void> {
    await this.stopAgent(node);
    await this.startAgent(node, options);
  }

  agentRunning(node: string): boolean {
    return this.#agents.running(node);
  }

  agentStatus(node: string): Promise<AgentStatus | undefined> {
    return this.#agents.status(node);
  }

  agentLogFile(node: string): string {
    return this.#agents.logFile(node);
  }

  /** The nodes whose agent is down (stopped, crashed, or with a stale status.json), and why. */
  agentsDown(): Promise<{ node: string; why: string; logFile: string }[]> {
    return this.#agents.down();
  }

  #podContext(): PodBatchContext {
    return {
      runner: this.#runner,
      state: this.#state,
      datastore: this.datastore,
      probes: this.#probes,
      newNamespaceName: () => this.#newNamespaceName(),
    };
  }

  async addPod(node: string, spec: LabPodSpec, options: AddPodOptions = {}): Promise<Readonly<PodRecord>> {
    const [record] = await this.addPods([{ node, spec }], options);
    return record!;
  }

  /**
   * Creates pods (in parallel): their Namespaces first (the agent takes the pod's profile from it), then
   * each pod's network, then the lab-wired pods' WorkloadEndpoints in one batch.
   */
  async addPods(
    items: readonly { readonly node: string; readonly spec: LabPodSpec }[],
    options: AddPodOptions = {},
  ): Promise<Readonly<PodRecord>[]> {
    const via = options.via ?? 'plumb';
    if (via === 'cni') await this.#infra.ensureCni(sig(options));
    return addLabPods(this.#podContext(), items, { ...options, via });
  }

  async removePod(key: string): Promise<void> {
    await this.removePods([key]);
  }

  /** Deletes the pods' endpoints (as the CNI plugin does first), then their namespaces and addresses. */
  async removePods(keys: readonly string[]): Promise<void> {
    await teardownLabPods(
      this.#podContext(),
      keys.map((k) => this.#podRecord(k)),
    );
  }

  #podRecord(key: string): PodRecord {
    const r = this.#state.pods.find((x) => recordKey(x) === key);
    if (r === undefined) throw new CalicoError('CALICO_ERR_NOT_FOUND', `no lab pod ${key}`);
    return r;
  }

  /** Replaces the pod's labels (its WorkloadEndpoint is rewritten). */
  async setPodLabels(
    key: string,
    labels: Readonly<Record<string, string>>,
    options: Timing = {},
  ): Promise<void> {
    await this.updatePod(key, { labels }, options);
  }

  /** Changes labels, named container ports and/or the ports the pod serves. */
  async updatePod(
    key: string,
    change: Pick<LabPodSpec, 'labels' | 'containerPorts' | 'ports'>,
    options: Timing = {},
  ): Promise<void> {
    const r = this.#podRecord(key);
    if (change.ports !== undefined && !sameNumbers(change.ports, r.ports)) {
      r.ports = [...change.ports];
      await (await this.#probes.client(key, r.socketPath)).serve(r.ports);
    }
    const before = JSON.stringify(podEndpoint(r));
    if (change.labels !== undefined) r.labels = { ...change.labels };
    if (change.containerPorts !== undefined) r.containerPorts = [...change.containerPorts];
    saveState(this.#state);
    if (JSON.stringify(podEndpoint(r)) !== before)
      await writePodMetadata(this.#podContext(), r, sig(options));
  }

  /** Makes the Kubernetes Namespace objects exactly these (created, updated, deleted). */
  async setNamespaces(
    namespaces: Readonly<Record<string, Readonly<Record<string, string>> | undefined>>,
    options: Timing = {},
  ): Promise<void> {
    const desired = Object.entries(namespaces).map(([name, labels]) => labNamespace(name, labels ?? {}));
    await this.replaceResources(['Namespace'], desired, options);
  }

  /**
   * Makes the stored objects of `kinds` (internal kind names, e.g. `KubernetesNetworkPolicy`) exactly
   * `desired`; unchanged objects are not rewritten.
   */
  async replaceResources(
    kinds: readonly string[],
    desired: readonly Resource[],
    options: Timing = {},
  ): Promise<void> {
    await replaceResources(this.datastore, kinds, desired, sig(options));
  }

  /**
   * Writes the sentinel Profile and waits until the agent of every node has applied its revision, i.e. every
   * earlier write is programmed in every node's kernel; then, in an agent-routed lab, until every node routes
   * every pod and IPAM block of the others (`routes: false` skips that). Throws a LabSyncError naming the
   * nodes whose agent is down (stopped, crashed, stale status) or late, or the routes still missing. Returns
   * the revision.
   */
  async sync(options: Timing & { readonly routes?: boolean } = {}): Promise<number> {
    const token = `${process.pid}-${Date.now()}-${++this.#syncCounter}`;
    const kdd = this.#state.datastore?.type === 'kubernetes';
    const [stored] = await this.datastore.applyMany([syncSentinel(token, kdd)], sig(options));
    const revision = Number(stored?.metadata.resourceVersion);
    if (!Number.isSafeInteger(revision)) throw new CalicoError('CALICO_ERR_BUG', 'sentinel has no revision');
    const timeoutMs = options.timeoutMs ?? this.#opts.syncTimeoutMs ?? 30_000;
    await this.#agents.waitApplied(revision, { timeoutMs, ...sig(options) });
    if (options.routes !== false && this.#agents.enabled) {
      const unrouted = await this.waitRoutes({ timeoutMs, ...sig(options) });
      if (unrouted.length > 0) throw new LabSyncError({ revision, unrouted });
    }
    return revision;
  }

  /**
   * In an agent-routed lab, waits (bounded) until every node routes each pod of another node (default: all
   * pods) and every IPAM block affine to another node towards that node. Returns what is still unrouted.
   */
  async waitRoutes(
    options: Timing & { readonly keys?: readonly string[]; readonly pollMs?: number } = {},
  ): Promise<string[]> {
    if (!agentRouted(this.network) || this.#state.nodes.length < 2) return [];
    const pods = (options.keys ?? this.#state.pods.map(recordKey)).map((k) => this.pod(k));
    return this.#infra.waitRoutes(this.datastore, pods, options);
  }

  /** The confirmed IPAM blocks of the lab's nodes (IPv4): `dst` is the block, `home` its node. */
  affineBlocks(options: Timing = {}): Promise<{ dst: string; home: string }[]> {
    return this.#infra.affineBlocks(this.datastore, sig(options));
  }

  /** In a `bgp` lab, waits (bounded) until every node's BIRD has an Established session to every other. */
  async waitBgpMesh(options: Timing = {}): Promise<string[]> {
    if (this.network !== 'bgp') return [];
    return this.#infra.waitBgpMesh(options.timeoutMs ?? 60_000, sig(options));
  }

  /** True once the node's agent has written the pod's endpoint status file (its policy is programmed). */
  endpointProgrammed(key: string): boolean {
    const r = this.pod(key);
    return endpointProgrammed(this.node(r.node), r);
  }

  /** Waits (bounded) for the endpoint status of these pods (default: all); returns those still missing. */
  async waitEndpoints(keys?: readonly string[], options: Timing = {}): Promise<string[]> {
    const all = keys ?? this.#state.pods.map(recordKey);
    return waitUntilNoneMissing(() => all.filter((k) => !this.endpointProgrammed(k)), {
      timeoutMs: options.timeoutMs ?? 10_000,
      intervalMs: 10,
      what: 'endpoint status files',
      ...sig(options),
    });
  }

  /** Empties the node's connection tracking table (both families), so every probe is a new connection. */
  async flushConntrack(node: string, options: Timing = {}): Promise<void> {
    const ns = netnsRunner(this.#runner, this.node(node).netns);
    await runChecked(ns, 'conntrack', ['-F'], sig(options));
    await runChecked(ns, 'conntrack', ['-F', '-f', 'ipv6'], sig(options));
  }

  /**
   * Starts the cluster DNS (cluster-dns.ts): dnsmasq in the pod `kube-system/coredns` (created on the last
   * node unless it exists: through the CNI plugin when it is available, else wired by the lab, at a fixed
   * address in a `static` lab), the outside's addresses for its names, the pods' resolv.conf, and the agents'
   * `dnsTrustedServers`. Idempotent (a dnsmasq that died is started again). Returns the pod's address.
   */
  async addClusterDns(
    options: Timing & { readonly ttl?: number; readonly node?: string } = {},
  ): Promise<string> {
    if (this.#state.datastore?.type === 'kubernetes')
      throw new CalicoError(
        'CALICO_ERR_USAGE',
        "the cluster DNS runs in the lab's own pods; a Kubernetes-datastore lab's pods are the kubelets'",
      );
    const routed = agentRouted(this.network);
    const via: PodVia = routed && cniUnavailableReason() === false ? 'cni' : 'plumb';
    return ensureClusterDns(
      {
        runner: this.#runner,
        state: this.#state,
        datastore: this.datastore,
        hasPod: (k) => this.hasPod(k),
        pod: (k) => this.pod(k),
        addPod: (node, spec, o) => this.addPod(node, spec, o),
        client: (k) => this.#probes.client(k, this.pod(k).socketPath),
      },
      {
        via,
        ...(routed ? {} : { ip: STATIC_CLUSTER_DNS_IP }),
        ...(options.ttl !== undefined ? { ttl: options.ttl } : {}),
        ...(options.node !== undefined ? { node: options.node } : {}),
        ...sig(options),
      },
    );
  }

  /** The cluster DNS pod's address, if the lab has one. */
  clusterDnsAddress(): string | undefined {
    const dns = this.#state.clusterDns;
    return dns !== undefined && this.hasPod(dns.pod) ? this.pod(dns.pod).ip || undefined : undefined;
  }

  /** Whether the cluster DNS's dnsmasq runs (ours: its command line names the lab's configuration). */
  clusterDnsRunning(): boolean {
    const pid = this.#state.clusterDns?.pid;
    return pid !== undefined && isLabDnsmasq(pid, clusterDnsFiles(this.runDir).configFile);
  }

  /** Looks `name` up from pod `from` through its resolv.conf (the cluster DNS) or `server`. */
  async resolve(
    from: string,
    name: string,
    options: { readonly type?: DnsQueryType; readonly server?: string; readonly timeoutMs?: number } = {},
  ): Promise<ResolveOutcome & { readonly addresses: readonly string[] }> {
    return resolveFromPod(await this.#probes.client(from, this.pod(from).socketPath), name, options);
  }

  /** The address a probe target names: a pod key, `outside`, or an address. */
  addressOf(to: string): string {
    const target = this.hasPod(to) ? this.pod(to).ip : to === 'outside' ? this.#state.outside?.ip : to;
    if (target === undefined || parseIp(target) === undefined)
      throw new CalicoError('CALICO_ERR_USAGE', `no pod or address "${to}"`);
    return target;
  }

  /**
   * One connect probe from pod `from` (a pod key, or `outside`) to a pod, `outside`, an address or a name
   * (looked up from `from` first: a lookup that fails is the probe's outcome, saying so).
   */
  async probe(from: string, p: LabProbe): Promise<ProbeOutcome> {
    const client =
      from === 'outside'
        ? await this.#infra.outsideClient()
        : await this.#probes.client(from, this.pod(from).socketPath);
    const timeoutMs = p.timeoutMs ?? 1000;
    const startedAt = this.#paths.now();
    // A silent drop is "denied" only when the packets had a route both ways (cluster-probe.ts).
    const judge = (ip: string, o: ProbeOutcome): Promise<ProbeOutcome> =>
      this.#paths.judge(from, ip, o, startedAt);
    if (p.dnsQuery !== undefined) {
      const ip = this.addressOf(p.to);
      const o = await client.resolve({ name: p.dnsQuery, type: 'A', server: ip, port: p.port, timeoutMs });
      return judge(ip, {
        verdict: o.verdict,
        detail: `DNS ${p.dnsQuery}: ${o.detail}`,
        elapsedMs: o.elapsedMs,
      });
    }
    const byName =
      !this.hasPod(p.to) && p.to !== 'outside' && parseIp(p.to) === undefined && isQueryName(p.to);
    if (!byName) {
      const ip = this.addressOf(p.to);
      return judge(ip, await client.probe({ protocol: p.protocol, ip, port: p.port, timeoutMs }));
    }
    const r = await resolveFromPod(client, p.to, { timeoutMs });
    const dnsIp = this.clusterDnsAddress();
    if (r.verdict !== 'allowed') {
      const o = {
        verdict: r.verdict,
        detail: `lookup of ${p.to} via ${r.server || '?'}: ${r.detail}`,
        elapsedMs: r.elapsedMs,
      };
      return dnsIp !== undefined ? judge(dnsIp, o) : o;
    }
    const ip = r.addresses[0];
    if (ip === undefined)
      return { verdict: 'error', detail: `${p.to}: ${r.detail}, no address`, elapsedMs: r.elapsedMs };
    const o = await judge(ip, await client.probe({ protocol: p.protocol, ip, port: p.port, timeoutMs }));
    return { ...o, detail: `${p.to} is ${ip} (${r.detail}); ${o.detail}` };
  }

  /**
   * Closes connections and the datastore but leaves every namespace and process running (CLI). The state is
   * not written: every change saved it already, and a command that only looked (a probe, a status) must not
   * write back what it read while another command changed the lab (an agent's new pid would be lost).
   */
  async detach(): Promise<void> {
    this.#probes.disconnect();
    await this.datastore.close();
    this.#disposed = true;
  }

  /**
   * Removes everything: processes, namespaces, the datastore and (unless kept) the run dir. With `keep`, the
   * run dir's files it accepts (relative paths, e.g. logs) stay; returns them.
   */
  async destroy(options: { readonly keep?: (relPath: string) => boolean } = {}): Promise<string[]> {
    if (this.#disposed) return [];
    this.#disposed = true;
    const errors: unknown[] = [];
    this.#probes.disconnect();
    // Before the namespaces go: an etcd runs in the fabric namespace.
    await this.datastore.close().catch((e: unknown) => errors.push(e));
    const kubelets = await stopLabKubelets(this.#runner, this.#state);
    errors.push(...kubelets.errors);
    this.#kubePods.clear();
    await stopLabKubernetes(this.#state).catch((e: unknown) => errors.push(e));
    errors.push(...(await deleteLabNamespaces(this.#runner, this.#state)));
    if (this.#state.keeperPid !== undefined) LabProcess.adopt(this.#state.keeperPid).signal('SIGKILL');
    let kept: string[] = [];
    if (this.#opts.keepRunDir !== true) {
      const keep = options.keep;
      if (keep === undefined) rmSync(this.#state.runDir, { recursive: true, force: true });
      else kept = pruneDir(this.#state.runDir, keep);
    }
    if (errors.length > 0)
      throw new AggregateError(errors, `lab cleanup failed: ${errors.map(errorMessage).join('; ')}`);
    return kept;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.destroy();
  }
}

function sig(o: { readonly signal?: AbortSignal }): { signal?: AbortSignal } {
  return o.signal !== undefined ? { signal: o.signal } : {};
}

function sameNumbers(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}
