/**
 * Cluster networking on one node (Felix's VXLAN, route and masquerade managers): records host metadata,
 * pools, VTEPs and routes from the calc graph; `prepare()` renders natOutgoing into the shared nftables table
 * (intent only, applied with the policy in one transaction); `apply()` programs the VXLAN device and its
 * entries, then the cluster routes. Messages are recorded without I/O; everything is re-derived from current
 * state, so a restart converges on the same kernel state.
 */
import type {
  DataplaneMessage,
  HostMetadataMsg,
  IpPoolMsg,
  NetworkMessage,
  RouteMsg,
  VtepMsg,
} from '../../calc/messages.js';
import type { CommandRunner } from '../exec/command-runner.js';
import type { TableIntent } from '../nftables/intent.js';
import { desiredClusterRoutes } from '../rules/cluster-routes.js';
import { type NatConfig, renderNatChains, renderNatSets } from '../rules/nat.js';
import { IPIP_DEVICE, VXLAN_DEVICE } from '../rules/names.js';
import { type VxlanConfig, vxlanConfigFrom } from '../rules/vxlan.js';
import { ClusterRouteManager } from './cluster-routes.js';
import { queryJson } from '../iproute/tools.js';
import { VxlanManager, type VxlanOutcome } from './vxlan.js';

export interface NetworkDataplaneOptions {
  readonly hostname: string;
  readonly runner: CommandRunner;
  readonly table: TableIntent;
  /** BIRD runs here (CALICO_NETWORKING_BACKEND=bird) and programs no-encap routes and their blackholes. */
  readonly birdProgramsNoEncap: boolean;
}

export interface NetworkStats {
  readonly routes: number;
  readonly vteps: number;
  readonly pools: number;
  readonly vxlan: VxlanOutcome['state'];
  readonly programmedRoutes: number;
}

type ConfigMessage = Extract<DataplaneMessage, { kind: 'configUpdate' }>;

function natConfigFrom(values: Readonly<Record<string, string>>): NatConfig {
  return {
    excludeHostIps: (values.natOutgoingExclusions ?? '').toLowerCase() === 'ippoolsandhostips',
    tunnelDevices: [VXLAN_DEVICE, IPIP_DEVICE],
  };
}

export class NetworkDataplane {
  private readonly opts: NetworkDataplaneOptions;
  private readonly vxlan: VxlanManager;
  private readonly clusterRoutes: ClusterRouteManager;
  private readonly hosts = new Map<string, HostMetadataMsg>();
  private readonly pools = new Map<string, IpPoolMsg>();
  private readonly vteps = new Map<string, VtepMsg>();
  private readonly routes = new Map<string, RouteMsg>();
  private vxlanConfig: VxlanConfig = vxlanConfigFrom({});
  private natConfig: NatConfig = natConfigFrom({});
  private natDirty = true;
  /** Kernel work to do: set by messages and resync requests, cleared by a successful apply. */
  private dirty = true;
  private lastVxlan: VxlanOutcome = { state: 'absent' };
  /** Work that could not be done yet (waiting for the local VTEP or its interface). */
  pending = 0;

  constructor(opts: NetworkDataplaneOptions) {
    this.opts = opts;
    this.vxlan = new VxlanManager(opts.runner);
    this.clusterRoutes = new ClusterRouteManager(opts.runner);
  }

  get vxlanState(): VxlanOutcome {
    return this.lastVxlan;
  }

  stats(): NetworkStats {
    return {
      routes: this.routes.size,
      vteps: this.vteps.size,
      pools: this.pools.size,
      vxlan: this.lastVxlan.state,
      programmedRoutes: this.clusterRoutes.programmed,
    };
  }

  /** Makes the next apply read the kernel back even if nothing changed (periodic drift repair). */
  requestResync(): void {
    this.dirty = true;
  }

  onMessage(m: NetworkMessage | ConfigMessage): void {
    this.dirty = true;
    switch (m.kind) {
      case 'configUpdate': {
        this.vxlanConfig = vxlanConfigFrom(m.config);
        const nat = natConfigFrom(m.config);
        if (JSON.stringify(nat) !== JSON.stringify(this.natConfig)) this.natDirty = true;
        this.natConfig = nat;
        return;
      }
      case 'hostMetadataUpdate':
        this.hosts.set(m.hostname, m.metadata);
        this.natDirty = true;
        return;
      case 'hostMetadataRemove':
        this.hosts.delete(m.hostname);
        this.natDirty = true;
        return;
      case 'ipPoolUpdate':
        this.pools.set(m.id, m.pool);
        this.natDirty = true;
        return;
      case 'ipPoolRemove':
        this.pools.delete(m.id);
        this.natDirty = true;
        return;
      case 'vtepUpdate':
        this.vteps.set(m.vtep.node, m.vtep);
        return;
      case 'vtepRemove':
        this.vteps.delete(m.node);
        return;
      case 'routeUpdate':
        this.routes.set(m.route.dst, m.route);
        return;
      case 'routeRemove':
        this.routes.delete(m.dst);
        return;
    }
  }

  /** Records the natOutgoing chains and sets in the table (no I/O); before every table apply. */
  prepare(): void {
    if (!this.natDirty) return;
    this.natDirty = false;
    for (const s of renderNatSets(this.pools.values(), this.hosts.values())) this.opts.table.updateSet(s);
    for (const c of renderNatChains(this.natConfig))
      this.opts.table.updateChain(c.name, c.rules, c.hook !== undefined ? { hook: c.hook } : {});
  }

  /** Programs the VXLAN device and entries, then the cluster routes (no-op when nothing changed). */
  async apply(signal?: AbortSignal): Promise<void> {
    if (!this.dirty && this.pending === 0) return;
    this.dirty = false;
    try {
      await this.applyNow(signal);
    } catch (e) {
      this.dirty = true;
      throw e;
    }
  }

  private async applyNow(signal: AbortSignal | undefined): Promise<void> {
    const wanted = [...this.pools.values()].some((p) => p.vxlanMode !== 'Never' && !p.cidr.includes(':'));
    this.lastVxlan = await this.vxlan.apply(
      { hostname: this.opts.hostname, config: this.vxlanConfig, wanted, vteps: this.vteps },
      signal,
    );
    const ipipReady =
      [...this.routes.values()].some((r) => r.encap === 'ipip') &&
      (await queryJson(this.opts.runner, 'ip', ['-j', 'link', 'show', 'dev', IPIP_DEVICE], signal, true)) !==
        undefined;
    const desired = desiredClusterRoutes(this.routes.values(), {
      birdProgramsNoEncap: this.opts.birdProgramsNoEncap,
      vxlanReady: this.lastVxlan.state === 'ready',
      ipipReady,
    });
    await this.clusterRoutes.apply(desired, this.lastVxlan.state === 'ready', signal);
    this.pending = this.lastVxlan.state === 'waiting' ? 1 : 0;
  }
}
