/**
 * The nftables dataplane, assembled: one `table inet calico`, the managers in apply order, and the loop that
 * drives them (manager.ts has the contract, loop.ts the phases). The agent supplies the hooks (status files,
 * metrics, logs, exit on a fatal failure) and the calc graph's replay for full resyncs.
 *
 *   static ─ dns-steering ─ ipsets ─ domain-sets ─ policies ─ profiles ─ workload-endpoints ─ host-endpoints ─ nat
 *                                                                                      (intent in the table)
 *   table.apply()                                                                      (one nft transaction)
 *   vxlan ─ cluster-routes ─ workload-routes                                           (their own kernel work)
 */
import type { DataplaneMessage, WorkloadEndpointMsg } from '../calc/messages.js';
import type { Clock } from '../lib/async.js';
import type { CommandRunner } from './exec/command-runner.js';
import { DataplaneLoop, type KernelEvents, type LoopHooks } from './loop.js';
import type { Manager } from './manager.js';
import { ClusterRouteManager } from './managers/cluster-routes.js';
import { DnsSteeringManager } from './managers/dns-steering.js';
import { DomainSetsManager } from './managers/domain-sets.js';
import { HostEndpointManager, type HostEndpointWarn } from './managers/host-endpoints.js';
import { IpSetsManager } from './managers/ipsets.js';
import { NatManager } from './managers/nat.js';
import { PolicyManager } from './managers/policies.js';
import { ProfileManager } from './managers/profiles.js';
import { StaticManager } from './managers/static.js';
import { VxlanManager } from './managers/vxlan.js';
import { WorkloadEndpointManager } from './managers/workload-endpoints.js';
import { WorkloadRouteManager } from './managers/workload-routes.js';
import { NftTable } from './nftables/table.js';

export interface NftablesDataplaneOptions {
  readonly runner: CommandRunner;
  readonly hostname: string;
  /** BIRD runs here (CALICO_NETWORKING_BACKEND=bird) and programs no-encap routes and their blackholes. */
  readonly birdProgramsNoEncap: boolean;
  readonly refreshIntervalMs: number;
  readonly hooks: LoopHooks;
  /** The calc graph's whole current output (CalcGraph.replay), for a full resync after a failure. */
  readonly resyncSource: () => readonly DataplaneMessage[];
  readonly clock?: Clock;
  readonly retryMinMs?: number;
  readonly retryMaxMs?: number;
  /** Warnings about the datastore's contents that do not stop programming (host endpoints ignored). */
  readonly warn?: HostEndpointWarn;
  /** Wakes work waiting for an interface when links change (the agent: an IpLinkMonitor). */
  readonly kernelEvents?: KernelEvents;
}

export interface NftablesDataplane {
  readonly loop: DataplaneLoop;
  readonly table: NftTable;
  readonly managers: readonly Manager[];
  /** The local workload endpoints the dataplane knows (status files, the CNI server's policy wait). */
  readonly workloadEndpoints: ReadonlyMap<string, WorkloadEndpointMsg>;
  /** Cluster networking, for status and metrics. */
  readonly vxlan: VxlanManager;
  readonly clusterRoutes: ClusterRouteManager;
  /** DNS policy: which trusted servers' workload queries go to the node-local DNS proxy. */
  readonly dnsSteering: DnsSteeringManager;
  /** DNS policy's domain sets: id -> patterns, for the DNS path. */
  readonly domainSets: DomainSetsManager;
}

/** The managers in apply order, over `table`, with the handles the agent reads. */
export function createNftablesManagers(
  table: NftTable,
  o: Pick<NftablesDataplaneOptions, 'runner' | 'hostname' | 'birdProgramsNoEncap' | 'warn'>,
): Omit<NftablesDataplane, 'loop' | 'table'> {
  const policies = new PolicyManager(table);
  const domainSets = new DomainSetsManager(table);
  const workloads = new WorkloadEndpointManager(table, policies.tiers);
  const vxlan = new VxlanManager(o.runner, o.hostname);
  const clusterRoutes = new ClusterRouteManager({
    runner: o.runner,
    birdProgramsNoEncap: o.birdProgramsNoEncap,
    vxlanReady: () => vxlan.state.state === 'ready',
  });
  const dnsSteering = new DnsSteeringManager(table);
  const managers: Manager[] = [
    new StaticManager(table),
    dnsSteering,
    new IpSetsManager(table),
    domainSets,
    policies,
    new ProfileManager(table),
    workloads,
    new HostEndpointManager(table, policies.tiers, o.runner, o.warn),
    new NatManager(table),
    vxlan,
    clusterRoutes,
    new WorkloadRouteManager(o.runner),
  ];
  return { managers, workloadEndpoints: workloads.endpoints, vxlan, clusterRoutes, dnsSteering, domainSets };
}

export function createNftablesDataplane(o: NftablesDataplaneOptions): NftablesDataplane {
  const table = new NftTable({ runner: o.runner });
  const parts = createNftablesManagers(table, o);
  const loop = new DataplaneLoop({
    managers: parts.managers,
    table,
    hooks: o.hooks,
    resyncSource: o.resyncSource,
    refreshIntervalMs: o.refreshIntervalMs,
    ...(o.clock !== undefined ? { clock: o.clock } : {}),
    ...(o.retryMinMs !== undefined ? { retryMinMs: o.retryMinMs } : {}),
    ...(o.retryMaxMs !== undefined ? { retryMaxMs: o.retryMaxMs } : {}),
    ...(o.kernelEvents !== undefined ? { kernelEvents: o.kernelEvents } : {}),
  });
  return { loop, table, ...parts };
}
