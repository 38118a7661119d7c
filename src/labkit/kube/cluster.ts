/**
 * KubeLab: the lab kit's Kubernetes cluster, the composition the `calico-lab up --kubernetes` lab, the
 * conformance driver through the API and the Kubernetes benchmarks build on. A LabCluster on the Kubernetes
 * datastore (cluster.ts, `datastore: 'kubernetes'`):
 *
 *   control plane (kube/lab.ts: etcd, kube-apiserver, controller manager, scheduler, Calico's CRDs)
 *   per node: namespace -> Node registered -> lab kubelet (kube/kubelets.ts; its API relay gives the node's
 *             namespace the API server on 127.0.0.1) -> calico-node with DATASTORE_TYPE=kubernetes and the
 *             lab's KUBECONFIG (it creates the IP pool on KDD, as calico-node does)
 *   pods:     created with kubectl (or the API); the node's kubelet runs each through the `calico` CNI plugin
 *
 *   await using k = await KubeLab.start(2);
 *   await k.kubectlOk(['create', 'deployment', 'web', '--image=x', '--port=80', '--replicas=2']);
 *   const pods = await k.waitPodsRunning({ namespace: 'default', count: 2 });
 *   await k.probe(pods[0]!.key, { to: pods[1]!.key, protocol: 'tcp', port: 80 });
 *
 * `waitPodsRunning` returns once the pods are Running and Ready and their agent has written their endpoint
 * status (policy programmed for them). After a policy change, `sync` waits until every agent has applied
 * a sentinel written afterwards (see cluster.ts). `dispose` removes everything: kubelets and pod
 * namespaces, agents and node namespaces, the control plane, the run dir.
 */
import { NodeCommandRunner } from '../../dataplane/exec/node-runner.js';
import type { RunResult } from '../../dataplane/exec/command-runner.js';
import { requireKubeBinaries } from '../../datastore/kubernetes/control-plane/binaries.js';
import { waitFor } from '../../lib/async.js';
import { CalicoError } from '../../lib/errors.js';
import { runCalicoctlProcess, type CalicoctlRun } from '../calicoctl.js';
import { LabCluster, type LabProbe } from '../cluster.js';
import type { ProbeOutcome } from '../probe-protocol.js';
import { LAB_POOL_CIDR, defaultRacks, type LabNetwork } from '../topology.js';
import { LabProcess } from '../process.js';
import { kubeletPodRecords } from './kubelets.js';
import { findPeerBinary, peerCredentials, peerLogFile, startPeer, type PolicyAgent } from './peer.js';

export interface KubeLabOptions {
  /** Who routes pods between nodes: the agents (BIRD or VXLAN). Default `vxlan`. */
  readonly network?: Exclude<LabNetwork, 'static'>;
  readonly racks?: number;
  /** Default: a fresh directory in the temp dir. */
  readonly runDir?: string;
  readonly detached?: boolean;
  readonly ownerPid?: number;
  readonly keepRunDir?: boolean;
  /** Extra calico-node environment (FELIX_* settings). */
  readonly agentEnv?: Readonly<Record<string, string>>;
  /** kube-apiserver feature gates (LabCluster `kubeFeatureGates`). */
  readonly featureGates?: Readonly<Record<string, boolean>>;
  /** The kubelets' Node heartbeat. Default 10 s. */
  readonly heartbeatMs?: number;
  /** Bound of each start step (agent start, kubelet start). Default 60 s. */
  readonly timeoutMs?: number;
  readonly signal?: AbortSignal;
  /**
   * Who enforces NetworkPolicy on the nodes: calico-node (default), or the upstream reference implementation
   * kube-network-policies in its place (peer.ts; one node: without calico-node nothing routes pods between
   * nodes; the CNI plugin does not wait for an agent, `policy_setup_timeout_seconds: 0`).
   */
  readonly policyAgent?: PolicyAgent;
}

/** A pod of the cluster as `waitPodsRunning` reports it. */
export interface KubeLabPod {
  /** `namespace/name`, the key `probe` takes. */
  readonly key: string;
  readonly namespace: string;
  readonly name: string;
  readonly uid: string;
  readonly node: string;
  readonly ip: string;
  readonly labels: Readonly<Record<string, string>>;
}

export interface PodQuery {
  readonly namespace: string;
  /** `kubectl -l` syntax. */
  readonly selector?: string;
  /** Wait until exactly this many pods match (default: at least one, all Running). */
  readonly count?: number;
}

export interface PodJson {
  readonly metadata: {
    readonly name: string;
    readonly namespace: string;
    readonly uid: string;
    readonly labels?: Record<string, string>;
    readonly deletionTimestamp?: string;
  };
  readonly spec: {
    readonly nodeName?: string;
    readonly containers?: readonly {
      readonly ports?: readonly { name?: string; containerPort: number; protocol?: string }[];
    }[];
  };
  readonly status?: {
    readonly phase?: string;
    readonly podIP?: string;
    readonly conditions?: readonly { readonly type: string; readonly status: string }[];
  };
}

type Timing = { readonly timeoutMs?: number; readonly signal?: AbortSignal };

export type KubeNodeOptions = Timing & {
  readonly heartbeatMs?: number;
  /** Start calico-node on the nodes (default true; false when another agent enforces policy). */
  readonly calicoNode?: boolean;
  /** Says each step as it starts and ends (`calico-lab up`'s progress lines). */
  readonly step?: <T>(what: string, fn: () => Promise<T>) => Promise<T>;
};

/**
 * Brings a Kubernetes-datastore lab's nodes up: adds the nodes not there yet (namespace), registers every
 * node as a Node, then starts every kubelet that is not running, then every agent that is not (they reach the
 * API server through the kubelet's relay). Idempotent.
 */
export async function addKubeNodes(
  lab: LabCluster,
  names: readonly string[],
  options: KubeNodeOptions = {},
): Promise<void> {
  const timeoutMs = options.timeoutMs ?? 60_000;
  const step = options.step ?? (<T>(_what: string, fn: () => Promise<T>): Promise<T> => fn());
  for (const name of names)
    if (!lab.nodes().some((n) => n.name === name))
      await step(`${name}: namespace`, () => lab.addNode(name, sig(options)));
  await lab.registerKubernetesNodes();
  const heartbeat = options.heartbeatMs !== undefined ? { heartbeatMs: options.heartbeatMs } : {};
  const calicoNode = options.calicoNode ?? true;
  // Without calico-node the CNI plugin has no agent to wait for: it returns once the pod is wired.
  const wait = calicoNode ? {} : { policySetupTimeoutSeconds: 0 };
  const kubelets = names.filter((n) => !lab.kubeletRunning(n));
  if (kubelets.length > 0)
    await step(`lab kubelet on ${kubelets.join(', ')}`, () =>
      Promise.all(
        kubelets.map((n) => lab.startKubelet(n, { timeoutMs, ...heartbeat, ...wait, ...sig(options) })),
      ),
    );
  await step(`nodes ${names.join(', ')} Ready and schedulable`, () =>
    lab.waitKubernetesNodesSchedulable(names, { timeoutMs, ...sig(options) }),
  );
  if (!calicoNode) return;
  const agents = names.filter((n) => !lab.agentRunning(n));
  if (agents.length > 0)
    await step(`calico-node on ${agents.join(', ')} (Kubernetes datastore, networking ${lab.network})`, () =>
      Promise.all(agents.map((n) => lab.startAgent(n, { timeoutMs, ...sig(options) }))),
    );
}

export class KubeLab implements AsyncDisposable {
  readonly lab: LabCluster;
  readonly policyAgent: PolicyAgent;
  #runner: NodeCommandRunner | undefined;
  /** The peer's process per node (policyAgent kube-network-policies). */
  readonly #peers = new Map<string, LabProcess>();

  private constructor(lab: LabCluster, policyAgent: PolicyAgent = 'calico-node') {
    this.lab = lab;
    this.policyAgent = policyAgent;
  }

  /**
   * Starts the control plane and `nodes` (a count, or names), each with its kubelet and calico-node, and
   * waits until every agent is in sync. On failure everything started is removed.
   */
  static async start(nodes: number | readonly string[], options: KubeLabOptions = {}): Promise<KubeLab> {
    const names =
      typeof nodes === 'number' ? Array.from({ length: nodes }, (_, i) => `node-${i + 1}`) : [...nodes];
    if (names.length === 0) throw new CalicoError('CALICO_ERR_USAGE', 'a Kubernetes lab needs a node');
    const policyAgent = options.policyAgent ?? 'calico-node';
    if (policyAgent !== 'calico-node' && names.length !== 1)
      throw new CalicoError(
        'CALICO_ERR_USAGE',
        `a Kubernetes lab with ${policyAgent} runs one node (calico-node routes pods between nodes)`,
      );
    const peer = policyAgent === 'calico-node' ? undefined : findPeerBinary();
    if (peer?.ok === false) throw new CalicoError('CALICO_ERR_USAGE', peer.reason);
    const network = options.network ?? 'vxlan';
    const lab = await LabCluster.create({
      datastore: 'kubernetes',
      network,
      racks: options.racks ?? defaultRacks(network, names.length),
      ...(options.runDir !== undefined ? { runDir: options.runDir } : {}),
      ...(options.detached !== undefined ? { detached: options.detached } : {}),
      ...(options.ownerPid !== undefined ? { ownerPid: options.ownerPid } : {}),
      ...(options.keepRunDir !== undefined ? { keepRunDir: options.keepRunDir } : {}),
      ...(options.agentEnv !== undefined ? { agentEnv: options.agentEnv } : {}),
      ...(options.featureGates !== undefined ? { kubeFeatureGates: options.featureGates } : {}),
      ...sig(options),
    });
    const k = new KubeLab(lab, policyAgent);
    try {
      if (peer === undefined) await k.addNodes(names, options);
      else await k.#addPeerNodes(names, peer.path, options);
    } catch (e) {
      await k.dispose().catch(() => undefined);
      throw e;
    }
    return k;
  }

  /** A KubeLab over a lab an earlier process started (the CLI's). */
  static async attach(runDir: string): Promise<KubeLab> {
    const lab = await LabCluster.attach(runDir);
    if (lab.state.datastore?.type !== 'kubernetes') {
      await lab.detach();
      throw new CalicoError('CALICO_ERR_USAGE', `the lab in ${runDir} is not on the Kubernetes datastore`);
    }
    return new KubeLab(lab);
  }

  /** Adds the nodes not there yet and starts what is not running (`addKubeNodes`). */
  async addNodes(names: readonly string[], options: KubeNodeOptions = {}): Promise<void> {
    await addKubeNodes(this.lab, names, options);
  }

  /** Nodes with kubelets and, in calico-node's place, the peer on each (peer.ts). */
  async #addPeerNodes(names: readonly string[], binary: string, options: KubeNodeOptions): Promise<void> {
    await addKubeNodes(this.lab, names, { ...options, calicoNode: false });
    // calico-node would create the default pool on KDD; without it the lab does (the same pool).
    await this.kubectlOk(['apply', '-f', '-'], { stdin: JSON.stringify(defaultPool()), ...sig(options) });
    const credentials = await peerCredentials((args, o) => this.kubectlOk(args, { ...o, ...sig(options) }));
    for (const name of names) {
      const node = this.lab.nodes().find((n) => n.name === name);
      if (node === undefined) throw new CalicoError('CALICO_ERR_BUG', `no lab node ${name}`);
      const proc = await startPeer(node, {
        binary,
        credentials,
        ...(options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {}),
        ...sig(options),
      });
      this.#peers.set(name, proc);
    }
  }

  /** Whether the node's policy agent (calico-node or the peer) runs. */
  policyAgentRunning(node: string): boolean {
    if (this.policyAgent === 'calico-node') return this.lab.agentRunning(node);
    return this.#peers.get(node)?.isRunning() === true;
  }

  /** The peer's pid on the node (policyAgent kube-network-policies), while it runs. */
  peerPid(node: string): number | undefined {
    return this.#peers.get(node)?.pid;
  }

  /** The node's policy agent's log. */
  policyAgentLogFile(node: string): string {
    if (this.policyAgent === 'calico-node') return this.lab.agentLogFile(node);
    return peerLogFile(this.lab.node(node));
  }

  get runDir(): string {
    return this.lab.runDir;
  }

  get kubeconfig(): string {
    const ds = this.lab.state.datastore;
    if (ds?.type !== 'kubernetes') throw new CalicoError('CALICO_ERR_BUG', 'not a Kubernetes lab');
    return ds.kubeconfig;
  }

  /** What `calico-lab env` prints: KUBECONFIG and DATASTORE_TYPE=kubernetes, for kubectl and calicoctl. */
  get env(): Record<string, string> {
    return { ...this.lab.datastoreEnv };
  }

  /** kubectl of the control plane's release, with the lab's kubeconfig. */
  kubectl(args: readonly string[], options: Timing & { readonly stdin?: string } = {}): Promise<RunResult> {
    this.#runner ??= new NodeCommandRunner({ env: { KUBECONFIG: this.kubeconfig } });
    return this.#runner.run(requireKubeBinaries().path('kubectl'), args, {
      timeoutMs: options.timeoutMs ?? 60_000,
      ...(options.stdin !== undefined ? { stdin: options.stdin } : {}),
      ...sig(options),
    });
  }

  /** kubectl; throws with its output unless it exits 0. Returns stdout. */
  async kubectlOk(
    args: readonly string[],
    options: Timing & { readonly stdin?: string } = {},
  ): Promise<string> {
    const r = await this.kubectl(args, options);
    if (r.code !== 0)
      throw new CalicoError(
        'CALICO_ERR_IO',
        `kubectl ${args.join(' ')} exited ${r.code}: ${r.stderr}${r.stdout}`,
      );
    return r.stdout;
  }

  /** This build's calicoctl on the lab's datastore (DATASTORE_TYPE=kubernetes, KUBECONFIG). */
  calicoctl(
    args: readonly string[],
    options: { readonly stdin?: string; readonly signal?: AbortSignal } = {},
  ): Promise<CalicoctlRun> {
    return runCalicoctlProcess(args, this.env, options);
  }

  async #listPods(q: PodQuery, options: Timing): Promise<PodJson[]> {
    const out = await this.kubectlOk(
      [
        'get',
        'pods',
        '-n',
        q.namespace,
        ...(q.selector !== undefined ? ['-l', q.selector] : []),
        '-o',
        'json',
      ],
      sig(options),
    );
    return (JSON.parse(out) as { items: PodJson[] }).items;
  }

  /**
   * Waits (bounded, default 120 s) until the pods `q` names are Running and Ready with an address (exactly
   * `count` of them when given), then until their agent has programmed their endpoints. Returns them sorted
   * by key.
   */
  async waitPodsRunning(q: PodQuery, options: Timing = {}): Promise<KubeLabPod[]> {
    const timeoutMs = options.timeoutMs ?? 120_000;
    const t0 = Date.now();
    let last: PodJson[] = [];
    const pods = await waitFor(
      async () => {
        last = (await this.#listPods(q, options)).filter((p) => p.metadata.deletionTimestamp === undefined);
        const ok =
          (q.count === undefined ? last.length > 0 : last.length === q.count) && last.every(runningAndReady);
        return ok ? last : undefined;
      },
      {
        timeoutMs,
        intervalMs: 250,
        what: `pods in ${q.namespace}${q.selector !== undefined ? ` (${q.selector})` : ''} Running and Ready`,
        describe: () =>
          last
            .map((p) => `${p.metadata.name} ${p.status?.phase ?? '?'} ${p.status?.podIP ?? ''}`)
            .join(', ') || 'no pods',
        ...sig(options),
      },
    );
    this.refreshPods(pods);
    // The peer keeps no per-endpoint status: its verdict is computed per new connection from its informers.
    if (this.policyAgent !== 'calico-node')
      return pods.map(labPodOf).sort((a, b) => a.key.localeCompare(b.key));
    const keys = pods.map(keyOf);
    const missing = await this.lab.waitEndpoints(keys, {
      timeoutMs: Math.max(1000, timeoutMs - (Date.now() - t0)),
      ...sig(options),
    });
    if (missing.length > 0)
      throw new CalicoError(
        'CALICO_ERR_IO',
        `no endpoint status (policy not programmed) for ${missing.join(', ')}`,
      );
    return pods.map(labPodOf).sort((a, b) => a.key.localeCompare(b.key));
  }

  /**
   * Tells the lab about the running pods (from their kubelets' sandbox records and `pods`, the API's view),
   * so that `probe` and `lab.pod` know them: these become the pods it knows (a caller that reads pods from
   * the API itself, e.g. of every namespace, passes them all).
   */
  refreshPods(pods: readonly PodJson[]): void {
    const byUid = new Map(
      pods.map((p) => [
        p.metadata.uid,
        {
          labels: { ...(p.metadata.labels ?? {}) },
          containerPorts: (p.spec.containers ?? []).flatMap((c) => c.ports ?? []).map((x) => ({ ...x })),
        },
      ]),
    );
    this.lab.setKubernetesPods(kubeletPodRecords(this.lab.nodes(), byUid));
  }

  /**
   * Waits until every agent has programmed everything written so far (cluster.ts `sync`). calico-node only:
   * the peer reports nothing to wait on (callers probe the dataplane, as the conformance sync barrier does).
   */
  sync(options: Timing = {}): Promise<number> {
    if (this.policyAgent !== 'calico-node')
      throw new CalicoError('CALICO_ERR_USAGE', `sync: ${this.policyAgent} reports no programmed state`);
    return this.lab.sync(options);
  }

  /** One connect probe from a pod (`namespace/name`, as `waitPodsRunning` returned it) to a pod or address. */
  probe(from: string, p: LabProbe): Promise<ProbeOutcome> {
    return this.lab.probe(from, p);
  }

  /** Removes everything (kubelets, pod and node namespaces, agents, the control plane, the run dir). */
  async dispose(): Promise<void> {
    await Promise.all([...this.#peers.values()].map((p) => p.stop(2000)));
    this.#peers.clear();
    await this.lab.destroy();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.dispose();
  }
}

/** The IP pool calico-node creates on a lab's KDD (CALICO_IPV4POOL_CIDR, no encapsulation on one node). */
function defaultPool(): object {
  return {
    apiVersion: 'crd.projectcalico.org/v1',
    kind: 'IPPool',
    metadata: { name: 'default-ipv4-ippool' },
    spec: {
      cidr: LAB_POOL_CIDR,
      blockSize: 26,
      ipipMode: 'Never',
      vxlanMode: 'Never',
      natOutgoing: false,
      nodeSelector: 'all()',
    },
  };
}

function keyOf(p: PodJson): string {
  return `${p.metadata.namespace}/${p.metadata.name}`;
}

function runningAndReady(p: PodJson): boolean {
  const ready = p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') === true;
  return p.status?.phase === 'Running' && ready && p.status.podIP !== undefined;
}

function labPodOf(p: PodJson): KubeLabPod {
  return {
    key: keyOf(p),
    namespace: p.metadata.namespace,
    name: p.metadata.name,
    uid: p.metadata.uid,
    node: p.spec.nodeName ?? '',
    ip: p.status?.podIP ?? '',
    labels: { ...(p.metadata.labels ?? {}) },
  };
}

function sig(o: { readonly signal?: AbortSignal }): { signal?: AbortSignal } {
  return o.signal !== undefined ? { signal: o.signal } : {};
}
