/**
 * LabCluster's Kubernetes part (cluster.ts delegates to it): the lab's control plane (kube/lab.ts), its
 * Nodes, calico-apiserver (kube/apiserver.ts), the nodes' lab kubelets (kube/kubelets.ts), and the pods
 * those kubelets run, which the lab probes like its own but does not own (KubeLab, kube/cluster.ts, hands
 * them over with `setPods`).
 */
import type { CommandRunner } from '../../dataplane/exec/command-runner.js';
import { CalicoError } from '../../lib/errors.js';
import { LAB_NETNS_PREFIX, sig, type Timing } from '../cluster-options.js';
import type { ProbeAgents } from '../probe-client.js';
import { recordKey } from '../pods.js';
import { saveState, type LabState, type NodeRecord, type PodRecord } from '../state.js';
import { podMtu } from '../topology.js';
import { ensureLabApiServer } from './apiserver.js';
import { kubeletRunning, startLabKubelet, stopLabKubelet, stopLabKubelets } from './kubelets.js';
import { ensureLabKubernetes, registerLabNodes, stopLabKubernetes, waitLabNodesSchedulable } from './lab.js';

export interface KubeletStartOptions extends Timing {
  readonly heartbeatMs?: number;
  readonly policySetupTimeoutSeconds?: number;
}

export class LabKubernetes {
  readonly #state: LabState;
  readonly #probes: ProbeAgents;
  /** Installs the CNI plugins in the run dir (once) and returns their directory. */
  readonly #ensureCni: (options: Timing) => Promise<string>;
  /** Pods the lab's kubelets run, by key. */
  readonly #pods = new Map<string, PodRecord>();

  constructor(state: LabState, probes: ProbeAgents, ensureCni: (options: Timing) => Promise<string>) {
    this.#state = state;
    this.#probes = probes;
    this.#ensureCni = ensureCni;
  }

  get pods(): ReadonlyMap<string, PodRecord> {
    return this.#pods;
  }

  /** Starts the control plane unless it serves already. */
  async start(options: Timing = {}): Promise<void> {
    await ensureLabKubernetes(this.#state, sig(options));
  }

  registerNodes(): Promise<string[]> {
    return registerLabNodes(this.#state);
  }

  waitNodesSchedulable(names: readonly string[], options: Timing = {}): Promise<void> {
    return waitLabNodesSchedulable(this.#state, names, options);
  }

  startApiServer(options: Timing = {}): Promise<number> {
    return ensureLabApiServer(this.#state, sig(options));
  }

  async startKubelet(node: string, options: KubeletStartOptions = {}): Promise<void> {
    const ds = this.#state.datastore;
    if (ds?.type !== 'kubernetes')
      throw new CalicoError('CALICO_ERR_USAGE', 'lab kubelets run only in a Kubernetes-datastore lab');
    const record = this.#node(node);
    const cniBinDir = await this.#ensureCni(sig(options));
    await startLabKubelet(this.#state, record, {
      kubeconfig: ds.kubeconfig,
      cniBinDir,
      mtu: podMtu(this.#state.network ?? 'static'),
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
    return kubeletRunning(this.#node(node));
  }

  async stopKubelet(node: string): Promise<void> {
    await stopLabKubelet(this.#node(node));
    saveState(this.#state);
  }

  /** Makes these the kubelets' pods; a pod gone, or whose probe socket moved, loses its probe client. */
  setPods(records: readonly PodRecord[]): void {
    const keys = new Set(records.map(recordKey));
    for (const k of [...this.#pods.keys()])
      if (!keys.has(k)) {
        this.#pods.delete(k);
        this.#probes.forget(k);
      }
    for (const r of records) {
      const before = this.#pods.get(recordKey(r));
      if (before !== undefined && before.socketPath !== r.socketPath) this.#probes.forget(recordKey(r));
      this.#pods.set(recordKey(r), r);
    }
  }

  /** Stops the kubelets (their pods' namespaces go) and the control plane; returns the problems met. */
  async stop(runner: CommandRunner): Promise<unknown[]> {
    const errors = (await stopLabKubelets(runner, this.#state)).errors;
    this.#pods.clear();
    await stopLabKubernetes(this.#state).catch((e: unknown) => errors.push(e));
    return errors;
  }

  #node(name: string): NodeRecord {
    const record = this.#state.nodes.find((n) => n.name === name);
    if (record === undefined) throw new CalicoError('CALICO_ERR_NOT_FOUND', `no lab node ${name}`);
    return record;
  }
}
