/**
 * LabCluster: a Calico cluster on one machine, made of network namespaces. Nodes are namespaces joined by a
 * fabric namespace (plumbing.ts), each running its own agent process (agent.ts); pods are namespaces wired
 * into their node as the CNI plugin would (veth, addresses, routes, sysctls, hairpin), each with a probe
 * agent (probe-agent.ts) that serves echo ports and runs connect probes. The orchestrator's side is played
 * through an embedded datastore file in the run dir: WorkloadEndpoints, Kubernetes Namespaces, policies, and
 * a sentinel Profile whose revision tells when every agent has programmed a change (`sync`).
 *
 *   await using lab = await LabCluster.create();
 *   await lab.addNode('node-1', { startAgent: true });
 *   await lab.addPod('node-1', { namespace: 'x', name: 'a', ip: '10.244.1.10', ports: [80] });
 *   await lab.sync();
 *   await lab.probe('x/a', { to: 'x/b', protocol: 'tcp', port: 80, timeoutMs: 1000 });
 *
 * Everything is inside namespaces named `calts-lab-<owner pid>-…` (nothing touches the root namespace) and
 * is removed on dispose, even after failures; `sweepStaleLabs` removes what a crashed lab left. The prefix is
 * the lab's own so that a sweep never touches the namespaces of other suites running at the same time.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Backend, Resource } from '../datastore/index.js';
import { keyOf } from '../datastore/index.js';
import { openSqliteBackend } from '../datastore/sqlite/sqlite-backend.js';
import { netnsRunner, type CommandRunner } from '../dataplane/exec/command-runner.js';
import { NodeCommandRunner } from '../dataplane/exec/node-runner.js';
import { CalicoError, NotFoundError, errorMessage } from '../lib/errors.js';
import { parseIp } from '../lib/net/ip.js';
import { NodeAgent, endpointStatusPath, nodeAgentOf, type AgentStatus } from './agent.js';
import { addNodeNetwork, createFabric, deleteLabNamespaces, wirePodRoutes } from './cluster-net.js';
import { mapLimit, sleep } from './concurrency.js';
import { runChecked, sweepStaleNamespaces, uniqueNamespaceName } from './netns.js';
import { defaultAgentEntry } from './paths.js';
import { newPodRecord, plumbPod, podEndpoint, recordKey, unplumbPod } from './pods.js';
import { ProbeAgents } from './probe-client.js';
import type { ProbeOutcome, ProbeProtocol } from './probe-protocol.js';
import { LabProcess } from './process.js';
import { ensureNamespaces, replaceResources } from './resource-sync.js';
import { labNamespace, labWorkloadEndpoint, syncProfile, type LabPodSpec } from './resources.js';
import { loadState, saveState, type LabState, type NodeRecord, type PodRecord } from './state.js';

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
  /** Extra agent environment (FELIX_* settings). */
  readonly agentEnv?: Readonly<Record<string, string>>;
  /** Processes outlive this process (the CLI). */
  readonly detached?: boolean;
  /** Whose death makes the lab's namespaces stale. Default: this process. */
  readonly ownerPid?: number;
  /** Keep the run dir (logs, datastore) on dispose. */
  readonly keepRunDir?: boolean;
  readonly agentStartTimeoutMs?: number;
  readonly syncTimeoutMs?: number;
}

export interface AddPodOptions {
  readonly signal?: AbortSignal;
  /** Pods plumbed at once. Default 4. */
  readonly concurrency?: number;
}

export interface LabProbe {
  /** A pod key (`ns/name`) or an IP address. */
  readonly to: string;
  readonly protocol: ProbeProtocol;
  readonly port: number;
  readonly timeoutMs?: number;
}

type Timing = { readonly timeoutMs?: number; readonly signal?: AbortSignal };

const NODE_NAME = /^[a-z0-9]([-a-z0-9.]{0,61}[a-z0-9])?$/;

export class LabCluster implements AsyncDisposable {
  readonly datastore: Backend;
  readonly #runner: CommandRunner;
  readonly #state: LabState;
  readonly #opts: LabClusterOptions;
  readonly #agents = new Map<string, NodeAgent>();
  readonly #probes = new ProbeAgents();
  #syncCounter = 0;
  #disposed = false;

  private constructor(runner: CommandRunner, state: LabState, datastore: Backend, opts: LabClusterOptions) {
    this.#runner = runner;
    this.#state = state;
    this.datastore = datastore;
    this.#opts = opts;
  }

  static async create(options: LabClusterOptions = {}): Promise<LabCluster> {
    const ownerPid = options.ownerPid ?? process.pid;
    const runDir =
      options.runDir ?? mkdtempSync(join(tmpdir(), `${LAB_NETNS_PREFIX}${ownerPid.toString(36)}-`));
    mkdirSync(join(runDir, 'pods'), { recursive: true });
    const entry = options.agentEntry === undefined ? defaultAgentEntry() : options.agentEntry;
    const state: LabState = {
      version: 1,
      ownerPid,
      runDir,
      datastorePath: join(runDir, 'calico.db'),
      ...(entry !== null ? { agentEntry: entry } : {}),
      agentEnv: { ...(options.agentEnv ?? {}) },
      detached: options.detached === true,
      nodes: [],
      pods: [],
    };
    const datastore = await openSqliteBackend({ path: state.datastorePath, synchronous: 'normal' });
    const lab = new LabCluster(options.runner ?? new NodeCommandRunner(), state, datastore, options);
    saveState(state);
    return lab;
  }

  /** Re-opens a lab an earlier process created (detached): its processes are adopted by pid. */
  static async attach(runDir: string, options: LabClusterOptions = {}): Promise<LabCluster> {
    const state = loadState(runDir);
    const datastore = await openSqliteBackend({ path: state.datastorePath, synchronous: 'normal' });
    const lab = new LabCluster(options.runner ?? new NodeCommandRunner(), state, datastore, {
      ...options,
      detached: state.detached,
    });
    for (const p of state.pods)
      if (p.probePid !== undefined) lab.#probes.add(recordKey(p), LabProcess.adopt(p.probePid, p.logFile));
    return lab;
  }

  get runDir(): string {
    return this.#state.runDir;
  }

  get datastorePath(): string {
    return this.#state.datastorePath;
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
    const p = this.#state.pods.find((x) => recordKey(x) === key);
    if (p === undefined) throw new CalicoError('CALICO_ERR_NOT_FOUND', `no lab pod ${key}`);
    return p;
  }

  hasPod(key: string): boolean {
    return this.#state.pods.some((x) => recordKey(x) === key);
  }

  async addNode(
    name: string,
    options: { readonly startAgent?: boolean } & Timing = {},
  ): Promise<Readonly<NodeRecord>> {
    if (!NODE_NAME.test(name)) throw new CalicoError('CALICO_ERR_USAGE', `invalid node name "${name}"`);
    if (this.#state.nodes.some((n) => n.name === name))
      throw new CalicoError('CALICO_ERR_ALREADY_EXISTS', `lab node ${name} exists`);
    const signal = options.signal !== undefined ? { signal: options.signal } : {};
    if (this.#state.fabricNs === undefined) {
      this.#state.fabricNs = this.#newNamespaceName();
      saveState(this.#state);
      await createFabric(this.#runner, this.#state.fabricNs, signal);
    }
    const record: NodeRecord = {
      name,
      index: Math.max(0, ...this.#state.nodes.map((n) => n.index)) + 1,
      netns: this.#newNamespaceName(),
      runDir: join(this.#state.runDir, 'nodes', name),
    };
    this.#state.nodes.push(record);
    saveState(this.#state);
    mkdirSync(record.runDir, { recursive: true });
    await addNodeNetwork(this.#runner, this.#state.fabricNs, record, signal);
    for (const p of this.#state.pods) {
      if (p.node !== name) await wirePodRoutes(this.#runner, [record], p, this.node(p.node), signal);
    }
    if (options.startAgent === true) await this.startAgent(name, options);
    return record;
  }

  #newNamespaceName(): string {
    return uniqueNamespaceName(LAB_NETNS_PREFIX, this.#state.ownerPid);
  }

  #agent(node: string): NodeAgent {
    let agent = this.#agents.get(node);
    if (agent === undefined) {
      agent = nodeAgentOf(this.#state, this.node(node));
      this.#agents.set(node, agent);
    }
    return agent;
  }

  #recordAgent(node: string): void {
    const n = this.#state.nodes.find((x) => x.name === node);
    if (n === undefined) return;
    const pid = this.#agent(node).pid;
    if (pid === undefined) delete n.agentPid;
    else n.agentPid = pid;
    saveState(this.#state);
  }

  /** Starts the node's agent and waits (bounded) until it reports in sync. */
  async startAgent(node: string, options: Timing = {}): Promise<void> {
    const agent = this.#agent(node);
    try {
      await agent.start({
        timeoutMs: options.timeoutMs ?? this.#opts.agentStartTimeoutMs ?? 30_000,
        ...sig(options),
      });
    } finally {
      this.#recordAgent(node);
    }
  }

  /** SIGTERM: the agent exits and leaves its kernel state (policy stays enforced). */
  async stopAgent(node: string): Promise<void> {
    await this.#agent(node).stop();
    this.#recordAgent(node);
  }

  /** SIGKILL, as in a crash. */
  async killAgent(node: string): Promise<void> {
    await this.#agent(node).kill();
    this.#recordAgent(node);
  }

  async restartAgent(node: string, options: Timing = {}): Promise<void> {
    await this.stopAgent(node);
    await this.startAgent(node, options);
  }

  agentRunning(node: string): boolean {
    return this.#state.agentEntry !== undefined && this.#agent(node).isRunning();
  }

  agentStatus(node: string): Promise<AgentStatus | undefined> {
    return this.#agent(node).status();
  }

  agentLogFile(node: string): string {
    return this.#agent(node).logFile;
  }

  async addPod(node: string, spec: LabPodSpec, options: AddPodOptions = {}): Promise<Readonly<PodRecord>> {
    const [record] = await this.addPods([{ node, spec }], options);
    return record!;
  }

  /** Creates pods (plumbing in parallel), then writes their WorkloadEndpoints in one batch. */
  async addPods(
    items: readonly { readonly node: string; readonly spec: LabPodSpec }[],
    options: AddPodOptions = {},
  ): Promise<Readonly<PodRecord>[]> {
    const specs = items.map((i) => i.spec);
    const records = items.map(({ node, spec }) =>
      newPodRecord(this.#state, node, spec, specs, this.#newNamespaceName()),
    );
    // Recorded before anything exists: cleanup finds half-created pods.
    this.#state.pods.push(...records);
    saveState(this.#state);
    await mapLimit(records, options.concurrency ?? 4, async (r) => {
      try {
        const agent = await plumbPod(this.#runner, this.#state, r, sig(options));
        this.#probes.add(recordKey(r), agent.process, agent.client);
      } catch (e) {
        await this.#teardownPods([r]).catch(() => undefined);
        throw e;
      }
    });
    saveState(this.#state);
    await ensureNamespaces(
      this.datastore,
      records.map((r) => r.namespace),
      sig(options),
    );
    await this.datastore.applyMany(records.map(podEndpoint), sig(options));
    return records;
  }

  async removePod(key: string): Promise<void> {
    await this.removePods([key]);
  }

  /** Deletes the pods' WorkloadEndpoints (as the CNI plugin does first), then their namespaces. */
  async removePods(keys: readonly string[]): Promise<void> {
    const records = keys.map((k) => this.#podRecord(k));
    for (const r of records) {
      await this.datastore.delete(keyOf(podEndpoint(r))).catch((e: unknown) => {
        if (!(e instanceof NotFoundError)) throw e;
      });
    }
    await this.#teardownPods(records);
  }

  async #teardownPods(records: readonly PodRecord[]): Promise<void> {
    try {
      await mapLimit(records, 4, async (r) => {
        const key = recordKey(r);
        this.#probes.forget(key);
        await unplumbPod(this.#runner, this.#state, r);
        const i = this.#state.pods.indexOf(r);
        if (i >= 0) this.#state.pods.splice(i, 1);
      });
    } finally {
      saveState(this.#state);
    }
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
      await (await this.#probes.client(key, this.pod(key).socketPath)).serve(r.ports);
    }
    const before = JSON.stringify(podEndpoint(r));
    if (change.labels !== undefined) r.labels = { ...change.labels };
    if (change.containerPorts !== undefined) r.containerPorts = [...change.containerPorts];
    saveState(this.#state);
    const wep = podEndpoint(r);
    if (JSON.stringify(wep) !== before) await this.datastore.applyMany([wep], sig(options));
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
   * Writes the sentinel Profile and waits until every agent the lab started (and did not stop) has applied
   * its revision, i.e. every earlier write is programmed in every node's kernel. Returns the revision.
   */
  async sync(options: Timing = {}): Promise<number> {
    const token = `${process.pid}-${Date.now()}-${++this.#syncCounter}`;
    const [stored] = await this.datastore.applyMany([syncProfile(token)], sig(options));
    const revision = Number(stored?.metadata.resourceVersion);
    if (!Number.isSafeInteger(revision)) throw new CalicoError('CALICO_ERR_BUG', 'sentinel has no revision');
    // Every agent the lab started and did not stop: one that died fails the wait (with its log).
    const started = this.#state.nodes.filter((n) => n.agentPid !== undefined);
    await Promise.all(
      started.map((n) =>
        this.#agent(n.name).waitApplied(revision, {
          timeoutMs: options.timeoutMs ?? this.#opts.syncTimeoutMs ?? 30_000,
          ...sig(options),
        }),
      ),
    );
    return revision;
  }

  /** True once the node's agent has written the pod's endpoint status file (its policy is programmed). */
  endpointProgrammed(key: string): boolean {
    const r = this.pod(key);
    return existsSync(
      endpointStatusPath(this.node(r.node).runDir, r.namespace, labWorkloadEndpoint(r.node, r).metadata.name),
    );
  }

  /** Waits (bounded) for the endpoint status of these pods (default: all); returns those still missing. */
  async waitEndpoints(keys?: readonly string[], options: Timing = {}): Promise<string[]> {
    const deadline = Date.now() + (options.timeoutMs ?? 10_000);
    const all = keys ?? this.#state.pods.map(recordKey);
    for (;;) {
      options.signal?.throwIfAborted();
      const missing = all.filter((k) => !this.endpointProgrammed(k));
      if (missing.length === 0 || Date.now() >= deadline) return missing;
      await sleep(10);
    }
  }

  /** Empties the node's connection tracking table (both families), so every probe is a new connection. */
  async flushConntrack(node: string, options: Timing = {}): Promise<void> {
    const ns = netnsRunner(this.#runner, this.node(node).netns);
    await runChecked(ns, 'conntrack', ['-F'], sig(options));
    await runChecked(ns, 'conntrack', ['-F', '-f', 'ipv6'], sig(options));
  }

  /** One connect probe from pod `from` (a pod key) to a pod or address. */
  async probe(from: string, p: LabProbe): Promise<ProbeOutcome> {
    const target = this.hasPod(p.to) ? this.pod(p.to).ip : p.to;
    if (parseIp(target) === undefined)
      throw new CalicoError('CALICO_ERR_USAGE', `no pod or address "${p.to}"`);
    const client = await this.#probes.client(from, this.pod(from).socketPath);
    return client.probe({ protocol: p.protocol, ip: target, port: p.port, timeoutMs: p.timeoutMs ?? 1000 });
  }

  /** Closes connections and the datastore but leaves every namespace and process running (CLI). */
  async detach(): Promise<void> {
    this.#probes.disconnect();
    saveState(this.#state);
    await this.datastore.close();
    this.#disposed = true;
  }

  /** Removes everything: processes, namespaces, the datastore and (unless kept) the run dir. */
  async destroy(): Promise<void> {
    if (this.#disposed) return;
    this.#disposed = true;
    const errors: unknown[] = [];
    this.#probes.disconnect();
    errors.push(...(await deleteLabNamespaces(this.#runner, this.#state)));
    if (this.#state.keeperPid !== undefined) LabProcess.adopt(this.#state.keeperPid).signal('SIGKILL');
    await this.datastore.close().catch((e: unknown) => errors.push(e));
    if (this.#opts.keepRunDir !== true) rmSync(this.#state.runDir, { recursive: true, force: true });
    if (errors.length > 0)
      throw new AggregateError(errors, `lab cleanup failed: ${errors.map(errorMessage).join('; ')}`);
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.destroy();
  }
}

function sig(o: { readonly signal?: AbortSignal }): { signal?: AbortSignal } {
  return o.signal !== undefined ? { signal: o.signal } : {};
}

function sameNumbers(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}
