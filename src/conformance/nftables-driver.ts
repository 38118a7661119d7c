/**
 * The `nftables` dataplane: cases run on the real kernel, in a lab (src/labkit) whose node runs the calico-ts
 * agent. Each state goes through the datastore as an orchestrator would write it (Kubernetes Namespaces,
 * Pods, the decoded policies), the driver waits until the agent has programmed it (sentinel revision,
 * endpoint status files), empties the node's conntrack table (every probe is judged as a new connection, as
 * the truth tables mean it), and probes with real TCP connections and UDP datagrams.
 *
 * Pods get their network through the `calico` CNI plugin and calico-ipam (`pods: 'cni'`, the default), as a
 * container runtime would: the lab stores the Pod with its case address in the `cni.projectcalico.org/ipAddrs`
 * annotation and runs the plugin, which assigns exactly that address, wires the veth, writes the
 * WorkloadEndpoint and waits for the agent. calico-ipam hands out only addresses of a configured pool, so the
 * driver first creates the IPPools the case addresses need (case-pools.ts: the /16, or the /112 with
 * `--ip-family 6`, around each address no pool covers yet). With `pods: 'plumb'` the lab wires the pods and
 * writes their WorkloadEndpoints itself (no CNI, no pools needed).
 *
 * Multi-node (`nodes` > 1): pods are spread over the nodes. In a `static` lab (the default) the lab writes a
 * route per pod on every other node; with `network` bgp, vxlan or vxlan-crosssubnet the agents route pods
 * between nodes (BIRD mesh or VXLAN): each pod goes to the node that owns the IPAM block of its address (else
 * the node topology.ts maps the block to) and gets its address there (from calico-ipam, or assigned by the lab
 * for plumbed pods), so the block's route leads to it; the driver waits for the routes before probing. Those
 * modes are IPv4 only: the agents' pools are.
 *
 * One lab per run, reused across cases: pods that stay identical (same key and address) are kept and only
 * relabelled, the rest are replaced (a CNI pod through CNI DEL, which releases its address), namespaces and
 * policies are made exactly the state's. Every probed port is served (TCP and UDP echo) by every pod of the
 * case. The cells are probed by cell-prober.ts (all at once as soon as the state is in force; SCTP skipped).
 *
 * Admin network policy cases: the lab gets a node per case node, holding its addresses, with its Calico Node
 * resource carrying the case node's labels and addresses; hostNetwork pods listen in their node's namespace
 * on their address (lab-nodes.ts); the AdminNetworkPolicies, BaselineAdminNetworkPolicy and
 * ClusterNetworkPolicies are stored beside the state's other policies.
 */
import { existsSync } from 'node:fs';
import { keyOf, type Resource } from '../datastore/index.js';
import { checkIpam, type CheckResult } from '../ipam/index.js';
import { CalicoError } from '../lib/errors.js';
import { parseIp } from '../lib/net/ip.js';
import { LabCluster, sweepStaleLabs } from '../labkit/cluster.js';
import { cniUnavailableReason } from '../labkit/cni.js';
import { kernelTestSkipReason } from '../labkit/netns.js';
import { defaultAgentEntry } from '../labkit/paths.js';
import { agentRouted, defaultRacks, type LabNetwork } from '../labkit/topology.js';
import type { PodVia } from '../labkit/pods.js';
import { NodeCommandRunner } from '../dataplane/exec/node-runner.js';
import type { CasePod, CaseState, NetpolCase } from './cases.js';
import { CellProber } from './cell-prober.js';
import { ensureCasePools } from './case-pools.js';
import { CaseNodes } from './lab-nodes.js';
import type { CellOutcome, DataplaneDriver, ProbeCell } from './driver.js';
import { caseNamespaces, decodeStatePolicies } from './sim.js';

export { HOST_NETWORK_SKIP_REASON, SCTP_SKIP_REASON } from './cell-prober.js';

/**
 * Every kind a case's `policies` may hold (policies, their tiers, network sets); the driver keeps exactly the
 * state's objects of these, so nothing of an earlier case lingers (the built-in tiers are the model's own and
 * never stored by the lab).
 */
const CASE_KINDS = [
  'KubernetesNetworkPolicy',
  'NetworkPolicy',
  'GlobalNetworkPolicy',
  'StagedNetworkPolicy',
  'StagedGlobalNetworkPolicy',
  'StagedKubernetesNetworkPolicy',
  'Tier',
  'NetworkSet',
  'GlobalNetworkSet',
  'AdminNetworkPolicy',
  'BaselineAdminNetworkPolicy',
  'ClusterNetworkPolicy',
] as const;

export interface NftablesDriverOptions {
  readonly family: 4 | 6;
  /** Lab nodes; pods are spread over them. Default 1. */
  readonly nodes?: number;
  /** Who routes pods between nodes. Default `static` (the lab). */
  readonly network?: LabNetwork;
  /** How pods get their network: the `calico` CNI plugin (default) or the lab's own wiring. */
  readonly pods?: PodVia;
  /** A denied cell costs this long. Default 1000 ms. */
  readonly probeTimeoutMs?: number;
  /** Probes in flight at once. Default 128. */
  readonly probeConcurrency?: number;
  readonly agentEntry?: string;
  readonly agentEnv?: Readonly<Record<string, string>>;
  readonly keepRunDir?: boolean;
  /** Progress lines (lab location, agent log on failure). */
  readonly log?: (line: string) => void;
}

/** Why `--dataplane nftables` cannot run here (with pods made `pods`), or false. */
export function nftablesUnavailableReason(
  agentEntry: string = defaultAgentEntry(),
  pods: PodVia = 'cni',
): string | false {
  const tools = kernelTestSkipReason(['ip', 'nft', 'sysctl', 'conntrack']);
  if (tools !== false) return tools;
  if (!existsSync(agentEntry)) return `${agentEntry} is missing (npm run build)`;
  return pods === 'cni' ? cniUnavailableReason() : false;
}

/** A kept pod must have exactly the case address (compared as addresses, not as text). */
function sameIp(want: string | undefined, have: string): boolean {
  const a = want === undefined ? undefined : parseIp(want);
  const b = parseIp(have);
  return a !== undefined && b !== undefined && a.family === b.family && a.value === b.value;
}

function podKeyOf(p: CasePod): string {
  return `${p.namespace}/${p.name}`;
}

/** The ports every pod serves in a case: every port any probe of any state uses. */
export function casePorts(c: NetpolCase): number[] {
  const ports = new Set<number>();
  for (const s of c.states) for (const p of s.probes) ports.add(p.port);
  return [...ports].sort((a, b) => a - b);
}

export class NftablesDriver implements DataplaneDriver {
  readonly name = 'nftables';
  readonly #opts: NftablesDriverOptions;
  readonly #prober: CellProber;
  readonly #caseNodes = new CaseNodes();
  #lab: Promise<LabCluster> | undefined;
  #ports: number[] = [];
  /** Addresses an enabled pool is known to cover (pools are never removed during a run). */
  #pooled = new Set<string>();

  constructor(opts: NftablesDriverOptions) {
    this.#opts = opts;
    this.#prober = new CellProber({
      probe: async (from, p) => {
        const lab = await this.#lab;
        if (lab === undefined) throw new CalicoError('CALICO_ERR_BUG', 'probe before the lab was made');
        return lab.probe(from, p);
      },
      ...(opts.probeTimeoutMs !== undefined ? { probeTimeoutMs: opts.probeTimeoutMs } : {}),
      ...(opts.probeConcurrency !== undefined ? { concurrency: opts.probeConcurrency } : {}),
      hostNetwork: true,
    });
  }

  #labReady(signal: AbortSignal): Promise<LabCluster> {
    this.#lab ??= this.#createLab(signal);
    return this.#lab;
  }

  async #createLab(signal: AbortSignal): Promise<LabCluster> {
    const runner = new NodeCommandRunner();
    const swept = await sweepStaleLabs(runner, { signal });
    if (swept.length > 0) this.#opts.log?.(`swept ${swept.length} stale lab namespaces`);
    const network = this.#opts.network ?? 'static';
    if (agentRouted(network) && this.#opts.family === 6)
      throw new CalicoError(
        'CALICO_ERR_USAGE',
        `--network ${network} routes IPv4 pools only; use --ip-family 4`,
      );
    const nodes = this.#opts.nodes ?? 1;
    const lab = await LabCluster.create({
      runner,
      network,
      racks: defaultRacks(network, nodes),
      ...(this.#opts.agentEntry !== undefined ? { agentEntry: this.#opts.agentEntry } : {}),
      agentEnv: { FELIX_HEALTHENABLED: 'false', ...(this.#opts.agentEnv ?? {}) },
      ...(this.#opts.keepRunDir !== undefined ? { keepRunDir: this.#opts.keepRunDir } : {}),
    });
    try {
      this.#opts.log?.(`lab run dir ${lab.runDir}`);
      for (let i = 1; i <= nodes; i++) {
        await lab.addNode(`node-${i}`, { startAgent: true, signal });
      }
      const short = await lab.waitBgpMesh({ signal });
      if (short.length > 0)
        throw new CalicoError('CALICO_ERR_IO', `BGP sessions not up: ${short.join(', ')}`);
      this.#opts.log?.(`lab: ${nodes} node(s), networking ${network}`);
      return lab;
    } catch (e) {
      await lab.destroy();
      throw e;
    }
  }

  /** The run's lab (made on first use), for drivers that look at its nodes too (flow-traces.ts). */
  labCluster(signal: AbortSignal): Promise<LabCluster> {
    return this.#labReady(signal);
  }

  async startCase(c: NetpolCase, opts: { signal: AbortSignal }): Promise<void> {
    const lab = await this.#labReady(opts.signal);
    this.#ports = casePorts(c);
    await this.#caseNodes.ensureLabNodes(lab, c.nodes.length, {
      signal: opts.signal,
      ...(this.#opts.log !== undefined ? { log: this.#opts.log } : {}),
    });
    // An agent that died in an earlier case failed that case; the next one gets a fresh agent.
    for (const n of lab.nodes()) {
      if (lab.agentRunning(n.name)) continue;
      this.#opts.log?.(`agent of ${n.name} is not running (see ${lab.agentLogFile(n.name)}); restarting it`);
      await lab.startAgent(n.name, { signal: opts.signal });
    }
  }

  async applyState(state: CaseState, opts: { signal: AbortSignal }): Promise<readonly string[]> {
    const { signal } = opts;
    const { resources, problems } = decodeStatePolicies(state);
    if (problems.length > 0) return problems;
    const lab = await this.#labReady(signal);
    await this.#prober.settle();
    const namespaces = Object.fromEntries(
      caseNamespaces(state).map((n) => [n.metadata.name, n.metadata.labels]),
    );
    await lab.setNamespaces(namespaces, { signal });
    await this.#caseNodes.apply(lab, state, { signal });
    await this.#reconcilePods(lab, state.pods, signal);
    await this.#caseNodes.reconcilePods(lab, state, this.#ports);
    const policies: Resource[] = resources;
    const kinds = new Set<string>([...CASE_KINDS, ...policies.map((r) => keyOf(r).kind)]);
    await lab.replaceResources([...kinds], policies, { signal });
    await lab.sync({ signal });
    const missing = await lab.waitEndpoints(undefined, { signal, timeoutMs: 10_000 });
    if (missing.length > 0) return [`agent wrote no endpoint status for ${missing.join(', ')}`];
    const unrouted = await lab.waitRoutes({ signal, timeoutMs: 30_000 });
    if (unrouted.length > 0) return [`no cluster route for ${unrouted.join(', ')}`];
    for (const n of lab.nodes()) await lab.flushConntrack(n.name, { signal });
    this.#prober.start(state, signal);
    return [];
  }

  async #reconcilePods(lab: LabCluster, pods: readonly CasePod[], signal: AbortSignal): Promise<void> {
    const want = new Map(pods.filter((p) => p.hostNetwork !== true).map((p) => [podKeyOf(p), p]));
    this.#prober.setPods(pods);
    const gone = lab
      .pods()
      .filter((r) => !sameIp(want.get(`${r.namespace}/${r.name}`)?.ip, r.ip))
      .map((r) => `${r.namespace}/${r.name}`);
    if (gone.length > 0) await lab.removePods(gone);
    const added: { node: string; spec: CasePod & { ports: number[] } }[] = [];
    for (const [i, p] of [...want.values()].entries()) {
      const key = podKeyOf(p);
      if (lab.hasPod(key)) {
        await lab.updatePod(
          key,
          { labels: p.labels, containerPorts: p.containerPorts, ports: this.#ports },
          { signal },
        );
      } else {
        added.push({ node: await lab.nodeFor(p.ip, i, { signal }), spec: { ...p, ports: this.#ports } });
      }
    }
    if (added.length === 0) return;
    const via = this.#opts.pods ?? 'cni';
    if (via === 'cni')
      await this.#ensurePools(
        lab,
        added.map((a) => a.spec.ip),
        signal,
      );
    await lab.addPods(added, { signal, via });
  }

  /** calico-ipam assigns only addresses of a pool: creates the pools the CNI pods' addresses need. */
  async #ensurePools(lab: LabCluster, ips: readonly string[], signal: AbortSignal): Promise<void> {
    const unknown = ips.filter((ip) => !this.#pooled.has(ip));
    if (unknown.length === 0) return;
    const created = await ensureCasePools(lab.datastore, unknown, { network: lab.network, signal });
    if (created.length > 0) this.#opts.log?.(`created IP pools ${created.join(', ')} for the case addresses`);
    for (const ip of unknown) this.#pooled.add(ip);
  }

  /** `calicoctl ipam check` of the lab's datastore (nothing leaked, nothing unallocated, no stale records). */
  async checkIpam(opts: { signal: AbortSignal }): Promise<CheckResult> {
    const lab = await this.#labReady(opts.signal);
    return checkIpam(lab.datastore, { version: 'calico-conformance' });
  }

  probe(cells: readonly ProbeCell[], opts: { signal: AbortSignal }): Promise<readonly CellOutcome[]> {
    return this.#prober.probe(cells, opts.signal);
  }

  async endCase(): Promise<void> {
    await this.#prober.settle();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.#prober.settle();
    const lab = this.#lab;
    this.#lab = undefined;
    if (lab !== undefined) await (await lab.catch(() => undefined))?.destroy();
  }
}
