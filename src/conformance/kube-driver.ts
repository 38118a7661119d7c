/**
 * The `nftables` dataplane through the Kubernetes API (`--kubernetes`): cases run in a KubeLab
 * (labkit/kube/cluster.ts: etcd, kube-apiserver, controller manager and scheduler; per node a lab kubelet
 * and calico-node on the Kubernetes datastore). Each state is written to kube-apiserver as a user's kubectl
 * would write it (kube-state.ts: Namespaces, Pods bound to nodes with the case address in Calico's ipAddrs
 * annotation, NetworkPolicies; Calico-kind policies as CRDs through the Kubernetes datastore); the lab
 * kubelets run the pods through the calico CNI plugin; the agents learn everything from the API. The driver
 * then waits for the sync barrier (kube-sync.ts: every agent has programmed every write), empties each
 * node's conntrack table and probes with real connections (cell-prober.ts).
 *
 * One cluster per run; pods whose spec and address are unchanged are kept across states and cases and only
 * relabelled. calico-ipam hands out only pool addresses: the driver creates IPPools (CRDs) for case
 * addresses no pool covers (case-pools.ts), as for the lab datastore. IPv4 only, as the agents' pools are.
 */
import { existsSync } from 'node:fs';
import { findEtcdBinary } from '../datastore/etcd/binary.js';
import { findKubeBinaries } from '../datastore/kubernetes/control-plane/binaries.js';
import { KubeTransport } from '../datastore/kubernetes/transport.js';
import { CalicoError } from '../lib/errors.js';
import { cniUnavailableReason } from '../labkit/cni.js';
import { KubeLab, type PodJson } from '../labkit/kube/cluster.js';
import { findPeerBinary, type PolicyAgent } from '../labkit/kube/peer.js';
import { kernelTestSkipReason } from '../labkit/netns.js';
import { defaultAgentEntry } from '../labkit/paths.js';
import type { LabNetwork } from '../labkit/topology.js';
import { ensureCasePools } from './case-pools.js';
import type { CaseState, NetpolCase } from './cases.js';
import { CellProber } from './cell-prober.js';
import type { CellOutcome, DataplaneDriver, ProbeCell } from './driver.js';
import { CaseApi } from './kube-api.js';
import { podObject, splitStatePolicies } from './kube-objects.js';
import { KubeCaseObjects, type WantedPod } from './kube-state.js';
import { SyncBarrier } from './kube-sync.js';
import { casePorts } from './nftables-driver.js';

export interface KubernetesDriverOptions {
  /** Lab nodes; pods are spread over them. Default 1. */
  readonly nodes?: number;
  /** Who routes pods between nodes (the agents). Default `vxlan`. */
  readonly network?: Exclude<LabNetwork, 'static'>;
  /** A denied cell costs this long. Default 1000 ms. */
  readonly probeTimeoutMs?: number;
  readonly probeConcurrency?: number;
  readonly keepRunDir?: boolean;
  /** Progress lines. */
  readonly log?: (line: string) => void;
  /**
   * Who enforces the policies: calico-node (default) or the upstream reference implementation
   * kube-network-policies in its place (one node; Calico kinds are written but nothing enforces them).
   */
  readonly policyAgent?: PolicyAgent;
}

/** Why `--kubernetes` cannot run here, or false. */
export function kubernetesUnavailableReason(
  agentEntry: string = defaultAgentEntry(),
  policyAgent: PolicyAgent = 'calico-node',
): string | false {
  const tools = kernelTestSkipReason(['ip', 'nft', 'sysctl', 'conntrack', 'socat']);
  if (tools !== false) return tools;
  if (policyAgent !== 'calico-node') {
    const peer = findPeerBinary();
    if (!peer.ok) return peer.reason;
  }
  const kube = findKubeBinaries();
  if (!kube.ok) return kube.reason;
  if (findEtcdBinary() === undefined) return 'no etcd binary (apt-get install etcd-server)';
  if (!existsSync(agentEntry)) return `${agentEntry} is missing (npm run build)`;
  return cniUnavailableReason();
}

interface Cluster {
  readonly k: KubeLab;
  readonly transport: KubeTransport;
  readonly objects: KubeCaseObjects;
  readonly barrier: SyncBarrier;
}

type Signal = { readonly signal: AbortSignal };

export class KubernetesDriver implements DataplaneDriver {
  readonly name: string;
  readonly #o: KubernetesDriverOptions;
  readonly #prober: CellProber;
  #cluster: Promise<Cluster> | undefined;
  #ports: number[] = [];
  /** Addresses an enabled pool is known to cover (pools are never removed during a run). */
  readonly #pooled = new Set<string>();

  constructor(o: KubernetesDriverOptions = {}) {
    this.#o = o;
    this.name =
      (o.policyAgent ?? 'calico-node') === 'calico-node'
        ? 'nftables (Kubernetes API)'
        : `${o.policyAgent} (Kubernetes API)`;
    this.#prober = new CellProber({
      probe: async (from, p) => {
        const c = await this.#cluster;
        if (c === undefined) throw new CalicoError('CALICO_ERR_BUG', 'probe before the cluster was made');
        return c.k.probe(from, p);
      },
      ...(o.probeTimeoutMs !== undefined ? { probeTimeoutMs: o.probeTimeoutMs } : {}),
      ...(o.probeConcurrency !== undefined ? { concurrency: o.probeConcurrency } : {}),
    });
  }

  #ready(signal: AbortSignal): Promise<Cluster> {
    this.#cluster ??= this.#start(signal);
    return this.#cluster;
  }

  async #start(signal: AbortSignal): Promise<Cluster> {
    const nodes = this.#o.nodes ?? 1;
    const network = this.#o.network ?? 'vxlan';
    const t0 = performance.now();
    const k = await KubeLab.start(nodes, {
      network,
      agentEnv: { FELIX_HEALTHENABLED: 'false' },
      // The corpus's older upstream revisions write ipBlock CIDRs with host bits (e.g. 10.244.1.10/4), which
      // mean the network containing them; kube-apiserver v1.37 refuses them unless this (beta) gate is off.
      featureGates: { StrictIPCIDRValidation: false },
      ...(this.#o.keepRunDir !== undefined ? { keepRunDir: this.#o.keepRunDir } : {}),
      ...(this.#o.policyAgent !== undefined ? { policyAgent: this.#o.policyAgent } : {}),
      signal,
    });
    try {
      this.#o.log?.(
        `Kubernetes lab: ${nodes} node(s), ${k.policyAgent}, networking ${network}, run dir ${k.runDir}, KUBECONFIG=${k.kubeconfig} ` +
          `(up in ${((performance.now() - t0) / 1000).toFixed(1)} s)`,
      );
      const transport = KubeTransport.fromFile(k.kubeconfig);
      const api = new CaseApi(transport);
      const names = k.lab.nodes().map((n) => n.name);
      const barrier = new SyncBarrier(new KubeCaseObjects(api, k.lab.datastore), names, async (from, p) => {
        if (!k.lab.hasPod(from) || !k.lab.hasPod(p.to)) await refreshPods(k, transport, signal);
        return k.probe(from, p);
      });
      const c: Cluster = { k, transport, objects: new KubeCaseObjects(api, k.lab.datastore), barrier };
      await this.#ensurePools(c, barrier.addresses(), signal);
      const ms = await barrier.sync({ signal });
      this.#o.log?.(`sync barrier up (first sync ${ms.toFixed(0)} ms)`);
      return c;
    } catch (e) {
      await k.dispose().catch(() => undefined);
      throw e;
    }
  }

  async #ensurePools(c: Cluster, ips: readonly string[], signal: AbortSignal): Promise<void> {
    const unknown = ips.filter((ip) => !this.#pooled.has(ip));
    if (unknown.length === 0) return;
    const created = await ensureCasePools(c.k.lab.datastore, unknown, { network: c.k.lab.network, signal });
    if (created.length > 0) this.#o.log?.(`created IP pools ${created.join(', ')}`);
    for (const ip of unknown) this.#pooled.add(ip);
  }

  async startCase(c: NetpolCase, opts: Signal): Promise<void> {
    const cluster = await this.#ready(opts.signal);
    this.#ports = casePorts(c);
    // An agent that died in an earlier case failed that case; the next one gets a fresh agent.
    for (const n of cluster.k.lab.nodes()) {
      if (cluster.k.policyAgentRunning(n.name)) continue;
      const log = cluster.k.policyAgentLogFile(n.name);
      if (cluster.k.policyAgent !== 'calico-node')
        throw new CalicoError(
          'CALICO_ERR_IO',
          `${cluster.k.policyAgent} on ${n.name} is not running (see ${log})`,
        );
      this.#o.log?.(`agent of ${n.name} is not running (see ${log}); restarting it`);
      await cluster.k.lab.startAgent(n.name, { signal: opts.signal });
    }
  }

  async applyState(state: CaseState, opts: Signal): Promise<readonly string[]> {
    const { signal } = opts;
    if (state.clusterPolicies.length > 0)
      return [
        `${state.clusterPolicies.map((p) => p.field).join(', ')}: admin and cluster network policies are not ` +
          'created through the Kubernetes API by this driver (run them without --kubernetes)',
      ];
    const split = splitStatePolicies(state);
    if (split.problems.length > 0) return split.problems;
    const c = await this.#ready(signal);
    await this.#prober.settle();
    const namespaces = Object.fromEntries(
      Object.entries(state.namespaces).map(([name, ns]) => [name, ns.labels ?? {}]),
    );
    await c.objects.ensureNamespaces(namespaces, { signal });
    const pods = await this.#wantedPods(c, state, signal);
    await this.#ensurePools(
      c,
      pods.map((p) => p.ip),
      signal,
    );

    await c.objects.setPods(pods, { signal });
    const refused = await c.objects.setPolicies(split.kube, { signal });
    if (refused.length > 0) return refused;
    await c.objects.setCalicoResources(split.calico, { signal });
    await c.objects.dropNamespaces(new Set(Object.keys(namespaces)), { signal });
    await refreshPods(c.k, c.transport, signal);

    await c.barrier.sync({ signal });
    for (const n of c.k.lab.nodes()) await c.k.lab.flushConntrack(n.name, { signal });
    this.#prober.setPods(state.pods);
    this.#prober.start(state, signal);
    return [];
  }

  /** The state's pods (hostNetwork ones are not run by the lab), each on the node its address belongs to. */
  async #wantedPods(c: Cluster, state: CaseState, signal: AbortSignal): Promise<WantedPod[]> {
    const out: WantedPod[] = [];
    const nodes = c.k.lab.nodes();
    for (const [i, p] of state.pods.filter((x) => x.hostNetwork !== true).entries()) {
      // One node: no need to read the IPAM blocks for it.
      const only = nodes.length === 1 ? nodes[0]?.name : undefined;
      const node = only ?? (await c.k.lab.nodeFor(p.ip, i, { signal }));
      out.push({ object: podObject(p, { node, served: this.#ports }), ip: p.ip });
    }
    return out;
  }

  probe(cells: readonly ProbeCell[], opts: Signal): Promise<readonly CellOutcome[]> {
    return this.#prober.probe(cells, opts.signal);
  }

  async endCase(): Promise<void> {
    await this.#prober.settle();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.#prober.settle();
    const c = this.#cluster;
    this.#cluster = undefined;
    if (c === undefined) return;
    const cluster = await c.catch(() => undefined);
    if (cluster === undefined) return;
    cluster.transport.close();
    await cluster.k.dispose();
  }
}

/** Tells the lab every pod of the cluster (read from the API), so probes can start and end at them. */
async function refreshPods(k: KubeLab, transport: KubeTransport, signal: AbortSignal): Promise<void> {
  const r = await transport.request('GET', '/api/v1/pods', undefined, { signal });
  if (r.status !== 200) throw new CalicoError('CALICO_ERR_IO', `list pods: ${r.status}`);
  const items = ((r.body as { items?: PodJson[] }).items ?? []).filter(
    (p) => p.metadata.deletionTimestamp === undefined,
  );
  k.refreshPods(items);
}
