/**
 * A case's nodes and hostNetwork pods on the nftables driver's lab. Case node i is lab node i (the lab gets
 * as many nodes as the case has): the lab node holds the case node's addresses (on its `lo`, routed to it by
 * the fabric; labkit/cluster-host-pods.ts), and its Calico `Node` resource carries the case node's labels
 * and addresses (`spec.addresses`, `InternalIP`, as in sim.ts), besides what the agent and the lab wrote
 * there (kept as first read, so one case's labels never leak into the next). A hostNetwork pod is a
 * listener in its node's namespace on its address, which is its node's (Kubernetes gives such a pod its
 * node's address): so a workload's connection to it goes through Calico's from-workload chains (INPUT on its
 * own node, FORWARD towards another), as in Felix, and no WorkloadEndpoint is made for it.
 */
import { CalicoError } from '../lib/errors.js';
import { formatIp, parseIp } from '../lib/net/ip.js';
import type { LabCluster } from '../labkit/cluster.js';
import { nodeAddresses } from '../labkit/topology.js';
import type { Resource } from '../datastore/index.js';
import { NotFoundError } from '../lib/errors.js';
import type { CaseNode, CasePod, CaseState } from './cases.js';

type Signal = { readonly signal: AbortSignal };

interface NodeBase {
  readonly labels: Record<string, string>;
  readonly addresses: readonly { address: string; type?: string }[];
}

interface NodeLike {
  metadata: { name: string; labels?: Record<string, string>; resourceVersion?: string };
  spec?: {
    addresses?: { address: string; type?: string }[];
    bgp?: { ipv4Address?: string; ipv6Address?: string };
  } & Record<string, unknown>;
}

/**
 * The Node's addresses with the lab node's fabric address of each family it lacks, as calico-node records
 * them (`CalicoNodeIP`, with the subnet): the node's address for the cluster's routes (`spec.bgp` first, else
 * the first address of the family) must stay its fabric one, never a case address only its `lo` holds.
 */
function ownAddresses(stored: NodeLike | undefined, node: { index: number; rack?: number }) {
  const have = stored?.spec?.addresses ?? [];
  const bgp = stored?.spec?.bgp;
  const has = (family: 4 | 6, bgpAddress: string | undefined): boolean =>
    bgpAddress !== undefined || have.some((a) => parseIp(a.address.split('/')[0] ?? '')?.family === family);
  const a = nodeAddresses(node.index, node.rack ?? 1);
  return [
    ...have,
    ...(has(4, bgp?.ipv4Address) ? [] : [{ address: `${a.v4}/24`, type: 'CalicoNodeIP' }]),
    ...(has(6, bgp?.ipv6Address) ? [] : [{ address: `${a.v6}/64`, type: 'CalicoNodeIP' }]),
  ];
}

function canonical(ip: string): string {
  const a = parseIp(ip);
  return a === undefined ? ip : formatIp(a.family, a.value);
}

/** The lab node a case node name stands for (by the case's order), or undefined. */
export function labNodeOf(
  nodeName: string | undefined,
  caseNodes: readonly CaseNode[],
  labNodes: readonly { readonly name: string }[],
): string | undefined {
  if (nodeName === undefined) return caseNodes.length === 0 ? labNodes[0]?.name : undefined;
  const i = caseNodes.findIndex((n) => n.name === nodeName);
  if (i >= 0) return labNodes[i]?.name;
  // A case without nodes: hostNetwork pods name the lab's nodes directly.
  return caseNodes.length === 0 ? labNodes.find((n) => n.name === nodeName)?.name : undefined;
}

/**
 * The addresses each lab node must hold for a state: its case node's, and those of the hostNetwork pods on
 * it. Throws (naming the pod) for a hostNetwork pod whose node is not one of the case's.
 */
export function labNodeAddresses(
  state: Pick<CaseState, 'nodes' | 'pods'>,
  labNodes: readonly { readonly name: string }[],
): Map<string, string[]> {
  const out = new Map<string, string[]>(labNodes.map((n) => [n.name, []]));
  state.nodes.forEach((n, i) => {
    const lab = labNodes[i];
    if (lab !== undefined) out.get(lab.name)?.push(...n.ips.map(canonical));
  });
  for (const p of state.pods.filter((x) => x.hostNetwork === true)) {
    const lab = labNodeOf(p.nodeName, state.nodes, labNodes);
    if (lab === undefined)
      throw new CalicoError(
        'CALICO_ERR_USAGE',
        `hostNetwork pod ${p.namespace}/${p.name}: node "${p.nodeName ?? ''}" is none of the case's nodes`,
      );
    const ips = out.get(lab) ?? [];
    if (!ips.includes(canonical(p.ip))) ips.push(canonical(p.ip));
  }
  return out;
}

export class CaseNodes {
  /** Each lab node's Node resource as first read (the agent's and the lab's labels and addresses). */
  readonly #base = new Map<string, NodeBase>();

  /** Adds lab nodes (with their agents) until the lab has one per case node. */
  async ensureLabNodes(lab: LabCluster, count: number, opts: Signal & { log?: (l: string) => void }) {
    let n = lab.nodes().length;
    if (n >= count) return;
    while (n < count) {
      n++;
      await lab.addNode(`node-${n}`, { startAgent: true, signal: opts.signal });
    }
    const short = await lab.waitBgpMesh({ signal: opts.signal });
    if (short.length > 0) throw new CalicoError('CALICO_ERR_IO', `BGP sessions not up: ${short.join(', ')}`);
    opts.log?.(`lab: ${n} node(s) for the case's nodes`);
  }

  /** The lab nodes' addresses and Node resources for the state (before its hostNetwork pods start). */
  async apply(lab: LabCluster, state: CaseState, opts: Signal): Promise<void> {
    const labNodes = lab.nodes();
    const addresses = labNodeAddresses(state, labNodes);
    // Pods that go or move first: an address leaves its node only once nobody serves on it.
    const want = new Map(state.pods.filter((p) => p.hostNetwork === true).map((p) => [key(p), p]));
    const gone = lab.hostPods().filter((h) => {
      const p = want.get(`${h.namespace}/${h.name}`);
      return (
        p === undefined || canonical(p.ip) !== h.ip || labNodeOf(p.nodeName, state.nodes, labNodes) !== h.node
      );
    });
    if (gone.length > 0) await lab.removeHostPods(gone.map((h) => `${h.namespace}/${h.name}`));
    for (const n of labNodes) await lab.setNodeHostAddresses(n.name, addresses.get(n.name) ?? [], opts);
    // NetworkPolicy cases leave the Node resources alone, unless a case before them changed them.
    if (state.nodes.length === 0 && this.#base.size === 0) return;
    const resources: Resource[] = [];
    for (const [i, n] of labNodes.entries()) {
      const desired = await this.#nodeResource(lab, n, state.nodes[i], opts);
      if (desired !== undefined) resources.push(desired);
    }
    if (resources.length > 0) await lab.datastore.applyMany(resources, opts);
  }

  /** Starts the state's hostNetwork pods that are not running, and serves `ports` on every one. */
  async reconcilePods(lab: LabCluster, state: CaseState, ports: readonly number[]): Promise<void> {
    for (const p of state.pods.filter((x) => x.hostNetwork === true)) {
      const k = key(p);
      if (lab.hasHostPod(k)) {
        await lab.setHostPodPorts(k, ports);
        continue;
      }
      const node = labNodeOf(p.nodeName, state.nodes, lab.nodes());
      if (node === undefined) throw new CalicoError('CALICO_ERR_BUG', `no lab node for ${k}`);
      await lab.addHostPod(node, { namespace: p.namespace, name: p.name, ip: p.ip, ports });
    }
  }

  /** The lab node's Node resource with the case node's labels and addresses, or undefined when unchanged. */
  async #nodeResource(
    lab: LabCluster,
    node: { readonly name: string; readonly index: number; readonly rack?: number },
    caseNode: CaseNode | undefined,
    opts: Signal,
  ): Promise<Resource | undefined> {
    const { name } = node;
    let stored: NodeLike | undefined;
    try {
      stored = await lab.datastore.get({ kind: 'Node', name }, opts);
    } catch (e) {
      if (!(e instanceof NotFoundError)) throw e;
    }
    let base = this.#base.get(name);
    if (base === undefined) {
      base = {
        labels: { ...(stored?.metadata.labels ?? {}) },
        addresses: [...ownAddresses(stored, node)],
      };
      this.#base.set(name, base);
    }
    const labels = { ...base.labels, ...(caseNode?.labels ?? {}) };
    const caseAddresses = (caseNode?.ips ?? []).map((address) => ({ address, type: 'InternalIP' }));
    const addresses = [...base.addresses, ...caseAddresses];
    const spec = { ...(stored?.spec ?? {}) };
    if (addresses.length > 0) spec.addresses = addresses;
    else delete spec.addresses;
    const same =
      stored !== undefined &&
      JSON.stringify(stored.metadata.labels ?? {}) === JSON.stringify(labels) &&
      JSON.stringify(stored.spec?.addresses ?? []) === JSON.stringify(addresses);
    if (same) return undefined;
    const metadata = { ...(stored?.metadata ?? {}), name, labels };
    delete metadata.resourceVersion;
    const doc = { ...(stored ?? {}), apiVersion: 'projectcalico.org/v3', kind: 'Node', metadata, spec };
    return doc;
  }
}

function key(p: CasePod): string {
  return `${p.namespace}/${p.name}`;
}
