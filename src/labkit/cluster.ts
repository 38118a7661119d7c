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
import type { Backend, Resource } from '../datastore/index.js';
import { netnsRunner, type CommandRunner } from '../dataplane/exec/command-runner.js';
import { NodeCommandRunner } from '../dataplane/exec/node-runner.js';
import { CalicoError } from '../lib/errors.js';
import { parseIp } from '../lib/net/ip.js';
import type { NflogRecord } from '../dataplane/nflog.js';
import type { AgentStatus } from './agent.js';
import { LabAgents, LabSyncError } from './cluster-agents.js';
import {
  addLabClusterDns,
  clusterDnsAddress,
  clusterDnsRunning,
  resolveFromPod,
  type ClusterDnsContext,
} from './cluster-dns.js';
import { LabHostPods, type HostPodSpec } from './cluster-host-pods.js';
import { LabInfra } from './cluster-infra.js';
import { newLab, teardownLab } from './cluster-lifecycle.js';
import {
  LAB_NETNS_PREFIX,
  sig,
  type AddPodOptions,
  type LabClusterOptions,
  type LabProbe,
  type Timing,
} from './cluster-options.js';
import { addLabPods, teardownLabPods, updateLabPod, type PodBatchContext } from './cluster-pods.js';
import { ProbePaths, probeFrom } from './cluster-probe.js';
import { waitUntilNoneMissing } from './concurrency.js';
import { labDatastoreEnv, openLabBackend } from './datastore.js';
import type { DnsQueryType } from './dns-lookup.js';
import { ensureLabGoldmane, goldmaneRunning } from './cluster-flows.js';
import { LabKubernetes, type KubeletStartOptions } from './kube/lab-cluster.js';
import { kubeletPodRecords } from './kube/kubelets.js';
import { runChecked, sweepStaleNamespaces, uniqueNamespaceName } from './netns.js';
import { nodePacketLog } from './packet-log.js';
import { endpointProgrammed, recordKey } from './pods.js';
import { ProbeAgents } from './probe-client.js';
import type { ProbeOutcome, ResolveOutcome } from './probe-protocol.js';
import { LabProcess } from './process.js';
import { replaceResources } from './resource-sync.js';
import { labNamespace, syncSentinel, type LabPodSpec } from './resources.js';
import {
  loadState,
  saveState,
  type HostPodRecord,
  type LabState,
  type NodeRecord,
  type PodRecord,
} from './state.js';
import { agentRouted, nodeIndexForAddress, type LabNetwork } from './topology.js';

export { LAB_NETNS_PREFIX } from './cluster-options.js';
export type { AddPodOptions, LabClusterOptions, LabProbe } from './cluster-options.js';

/** Deletes the namespaces of labs whose owner process is gone (and kills what still runs in them). */
export function sweepStaleLabs(
  runner: CommandRunner,
  options: { readonly signal?: AbortSignal } = {},
): Promise<string[]> {
  return sweepStaleNamespaces(runner, LAB_NETNS_PREFIX, options);
}

export class LabCluster implements AsyncDisposable {
  readonly datastore: Backend;
  readonly #runner: CommandRunner;
  readonly #state: LabState;
  readonly #opts: LabClusterOptions;
  readonly #agents: LabAgents;
  readonly #probes = new ProbeAgents();
  readonly #infra: LabInfra;
  readonly #hostPods: LabHostPods;
  readonly #paths: ProbePaths;
  /** The control plane, kubelets and the pods they run (kube/lab-cluster.ts). */
  readonly #kube: LabKubernetes;
  #syncCounter = 0;
  #disposed = false;

  private constructor(runner: CommandRunner, state: LabState, datastore: Backend, opts: LabClusterOptions) {
    this.#runner = runner;
    this.#state = state;
    this.datastore = datastore;
    this.#opts = opts;
    this.#infra = new LabInfra(runner, state, this.#probes);
    this.#hostPods = new LabHostPods(runner, state, this.#probes);
    this.#kube = new LabKubernetes(state, this.#probes, (o) => this.#infra.ensureCni(o));
    this.#paths = new ProbePaths(runner, state, () => [...state.pods, ...this.#kube.pods.values()]);
    this.#agents = new LabAgents(
      state,
      opts.agentStartTimeoutMs !== undefined ? { startTimeoutMs: opts.agentStartTimeoutMs } : {},
    );
  }

  static async create(options: LabClusterOptions = {}): Promise<LabCluster> {
    const { runner, state, datastore } = await newLab(options);
    return new LabCluster(runner, state, datastore, options);
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
    lab.#hostPods.adopt();
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
    return this.#kube.pods.get(key) ?? this.#podRecord(key);
  }

  hasPod(key: string): boolean {
    return this.#kube.pods.has(key) || this.#state.pods.some((x) => recordKey(x) === key);
  }

  /** The hostNetwork pods (cluster-host-pods.ts). */
  hostPods(): readonly Readonly<HostPodRecord>[] {
    return this.#hostPods.list();
  }

  hasHostPod(key: string): boolean {
    return this.#hostPods.get(key) !== undefined;
  }

  /**
   * Makes `ips` the node's addresses besides its fabric ones (on its `lo`, routed to it by the fabric): the
   * addresses its hostNetwork pods have.
   */
  async setNodeHostAddresses(node: string, ips: readonly string[], options: Timing = {}): Promise<void> {
    await this.#hostPods.setNodeAddresses(node, ips, sig(options));
  }

  /** A hostNetwork pod on `node`, serving `spec.ports` on `spec.ip` (one of the node's host addresses). */
  addHostPod(node: string, spec: HostPodSpec): Promise<Readonly<HostPodRecord>> {
    return this.#hostPods.add(node, spec);
  }

  removeHostPods(keys: readonly string[]): Promise<void> {
    return this.#hostPods.remove(keys);
  }

  /** Sets the ports a hostNetwork pod serves. */
  setHostPodPorts(key: string, ports: readonly number[]): Promise<void> {
    return this.#hostPods.setPorts(key, ports);
  }

  /**
   * Makes these the pods the lab's kubelets run (kube/cluster.ts): `pod`, `probe`, `endpointProgrammed` and
   * the probe path checks know them; the lab does not own them (their kubelet does).
   */
  setKubernetesPods(records: readonly PodRecord[]): void {
    this.#kube.setPods(records);
  }

  /** The namespace of a node, a pod (`ns/name`), `outside` or `fabric` (for `calico-lab exec`). */
  netnsOf(target: string): string {
    if (target === 'outside' || target === 'fabric') return this.#infra.netnsOf(target);
    return target.includes('/') ? this.pod(target).netns : this.node(target).netns;
  }

  /** A node on the fabric (cluster-infra.ts), with its agent started when asked. */
  async addNode(
    name: string,
    options: { readonly startAgent?: boolean } & Timing = {},
  ): Promise<Readonly<NodeRecord>> {
    const record = await this.#infra.addNode(name, sig(options));
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

  /** Starts the lab's Kubernetes control plane unless it serves already (kube/lab.ts). */
  startKubernetes(options: Timing = {}): Promise<void> {
    return this.#kube.start(options);
  }

  /** Registers every lab node as a Kubernetes Node (a lab with a control plane); returns their names. */
  registerKubernetesNodes(): Promise<string[]> {
    return this.#kube.registerNodes();
  }

  /** Waits (bounded) until the named Nodes are Ready and untainted, so pods may land on each. */
  waitKubernetesNodesSchedulable(names: readonly string[], options: Timing = {}): Promise<void> {
    return this.#kube.waitNodesSchedulable(names, options);
  }

  /** Starts calico-apiserver unless it runs and waits until its APIService is Available; returns its port. */
  startCalicoApiServer(options: Timing = {}): Promise<number> {
    return this.#kube.startApiServer(options);
  }

  /** Starts the node's agent and waits (bounded) until it reports in sync. */
  async startAgent(node: string, options: Timing = {}): Promise<void> {
    await this.#agents.start(node, options);
  }

  /**
   * Starts the node's lab kubelet (a Kubernetes-datastore lab; kube/kubelets.ts) unless it runs, and waits
   * (bounded) until it watches its pods. It gives the node's namespace the API server, so it comes before the
   * node's agent.
   */
  startKubelet(node: string, options: KubeletStartOptions = {}): Promise<void> {
    return this.#kube.startKubelet(node, options);
  }

  kubeletRunning(node: string): boolean {
    return this.#kube.kubeletRunning(node);
  }

  /** Stops the node's kubelet; its pods keep running (the next kubelet adopts them). */
  stopKubelet(node: string): Promise<void> {
    return this.#kube.stopKubelet(node);
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
    await updateLabPod(this.#podContext(), this.#podRecord(key), change, sig(options));
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
  addClusterDns(options: Timing & { readonly ttl?: number; readonly node?: string } = {}): Promise<string> {
    const ctx: ClusterDnsContext = {
      runner: this.#runner,
      state: this.#state,
      datastore: this.datastore,
      hasPod: (k) => this.hasPod(k),
      pod: (k) => this.pod(k),
      addPod: (node, spec, o) => this.addPod(node, spec, o),
      client: (k) => this.#client(k),
    };
    return addLabClusterDns(ctx, this.network, options);
  }

  /**
   * Starts the lab's flow logs (cluster-flows.ts): calico-goldmane in the fabric namespace on a unix socket and
   * FelixConfiguration `default` pointing the agents at it. Idempotent. Returns its gRPC target.
   */
  addFlowLogs(options: Timing & { readonly flushInterval?: string } = {}): Promise<string> {
    return ensureLabGoldmane(
      { state: this.#state, datastore: this.datastore, fabric: (o) => this.#infra.ensureFabric(o) },
      options,
    );
  }

  /** The gRPC target of the lab's calico-goldmane, when it runs. */
  goldmaneServer(): string | undefined {
    return goldmaneRunning(this.#state) ? this.#state.goldmane?.server : undefined;
  }

  /** The cluster DNS pod's address, if the lab has one. */
  clusterDnsAddress(): string | undefined {
    return clusterDnsAddress({ state: this.#state, hasPod: (k) => this.hasPod(k), pod: (k) => this.pod(k) });
  }

  /** Whether the cluster DNS's dnsmasq runs (ours: its command line names the lab's configuration). */
  clusterDnsRunning(): boolean {
    return clusterDnsRunning(this.#state);
  }

  /** Looks `name` up from pod `from` through its resolv.conf (the cluster DNS) or `server`. */
  async resolve(
    from: string,
    name: string,
    options: { readonly type?: DnsQueryType; readonly server?: string; readonly timeoutMs?: number } = {},
  ): Promise<ResolveOutcome & { readonly addresses: readonly string[] }> {
    return resolveFromPod(await this.#client(from), name, options);
  }

  /** The address a probe target names: a pod key (hostNetwork pods too), `outside`, or an address. */
  addressOf(to: string): string {
    const target = this.hasPod(to)
      ? this.pod(to).ip
      : (this.#hostPods.get(to)?.ip ?? (to === 'outside' ? this.#state.outside?.ip : to));
    if (target === undefined || parseIp(target) === undefined)
      throw new CalicoError('CALICO_ERR_USAGE', `no pod or address "${to}"`);
    return target;
  }

  /**
   * One connect probe from pod `from` (a pod key, a hostNetwork pod's key, or `outside`) to a pod, `outside`,
   * an address or a name (looked up from `from` first: a lookup that fails is the probe's outcome, saying
   * so). A hostNetwork pod probes from its own address.
   */
  async probe(from: string, p: LabProbe): Promise<ProbeOutcome> {
    const host = this.hasPod(from) ? undefined : this.#hostPods.get(from);
    if (host !== undefined)
      return probeFrom(this, this.#paths, from, await this.#hostPods.client(from), p, host.ip);
    const client = from === 'outside' ? await this.#infra.outsideClient() : await this.#client(from);
    return probeFrom(this, this.#paths, from, client, p);
  }

  #client(key: string): ReturnType<ProbeAgents['client']> {
    return this.#probes.client(key, this.pod(key).socketPath);
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
    return teardownLab({
      runner: this.#runner,
      state: this.#state,
      datastore: this.datastore,
      probes: this.#probes,
      kube: this.#kube,
      keepRunDir: this.#opts.keepRunDir === true,
      ...(options.keep !== undefined ? { keep: options.keep } : {}),
    });
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.destroy();
  }
}
