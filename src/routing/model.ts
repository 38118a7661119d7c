/**
 * The BGP view of one node (confd's GetBirdBGPConfig for both families): router id, AS, listen port, log
 * level, and per family the peers with their BIRD protocol names, the blocks to advertise, service routes,
 * communities and how each IP pool's routes are exported and programmed. Pure: the same input always gives
 * the same view, whatever the order of the resources in it.
 */
import { parseCidr } from '../lib/net/ip.js';
import { err, ok, type Result } from '../lib/result.js';
import { bgpConfigurationNode, DEFAULT_BGP_CONFIGURATION } from '../api/v3/bgp-configuration.js';
import type { BGPConfiguration, BGPConfigurationSpec, BGPFilter } from '../api/v3/bgp-types.js';
import { hashToIPv4 } from './names.js';
import {
  computePeerings,
  type Cluster,
  nodeInfo,
  nodeIp,
  type NodeInfo,
  type Peering,
  subnetOf,
} from './peers.js';
import { buildMeshPeers, buildPeer, type BuiltPeer, type PeerContext } from './peer-options.js';
import type {
  BgpView,
  BirdLogLevel,
  BirdPeer,
  CommunityRule,
  FamilyView,
  IpFamily,
  LocalBlock,
  PasswordProblem,
  PoolRoute,
  RoutingInput,
  RoutingPool,
} from './types.js';

export const DEFAULT_AS_NUMBER = 64512;
export const DEFAULT_NORMAL_ROUTE_PRIORITY = 1024;
/** Nodes with this label set to "true" do not advertise service ranges (confd's route generator). */
export const EXCLUDE_FROM_LB_LABEL = 'node.kubernetes.io/exclude-from-external-load-balancers';

function byName<T extends { metadata: { name: string } }>(a: T, b: T): number {
  return a.metadata.name < b.metadata.name ? -1 : a.metadata.name > b.metadata.name ? 1 : 0;
}

/** confd maps BGP log severities onto BIRD's three levels: debug, info, or none. */
function birdLogLevel(severity: string | undefined): BirdLogLevel {
  const l = (severity ?? 'info').toLowerCase();
  return l === 'debug' || l === 'info' ? l : 'none';
}

function routerIdFor(input: RoutingInput, me: NodeInfo): Result<string, string> {
  const setting = input.routerId ?? '';
  if (setting === 'hash') return ok(hashToIPv4(input.nodeName));
  if (setting !== '') return ok(setting);
  if (me.ipv4 !== undefined) return ok(me.ipv4);
  return err(
    `node ${input.nodeName} has no IPv4 address for the BGP router id: set CALICO_ROUTER_ID (an IPv4 address, or "hash")`,
  );
}

interface Configs {
  readonly global: BGPConfigurationSpec;
  readonly perNode: ReadonlyMap<string, BGPConfigurationSpec>;
}

function splitConfigs(configs: readonly BGPConfiguration[]): Configs {
  let global: BGPConfigurationSpec = {};
  const perNode = new Map<string, BGPConfigurationSpec>();
  for (const c of configs) {
    if (c.metadata.name === DEFAULT_BGP_CONFIGURATION) global = c.spec;
    const node = bgpConfigurationNode(c.metadata.name);
    if (node !== undefined) perNode.set(node, c.spec);
  }
  return { global, perNode };
}

export function computeBgpView(input: RoutingInput): Result<BgpView, string> {
  const configs = splitConfigs(input.bgpConfigurations ?? []);
  const { global } = configs;
  const nodes = [...input.nodes]
    .sort(byName)
    .map((n) => nodeInfo(n, configs.perNode.get(n.metadata.name)?.listenPort));
  const cluster: Cluster = {
    nodes,
    globalAs: global.asNumber ?? DEFAULT_AS_NUMBER,
    globalListenPort: global.listenPort,
  };
  const meNode = input.nodes.find((n) => n.metadata.name === input.nodeName);
  const me = nodes.find((n) => n.name === input.nodeName);
  if (meNode === undefined || me === undefined) return err(`node ${input.nodeName} not found`);
  if (meNode.spec.bgp === undefined) return err(`node ${input.nodeName} has no BGP configuration (spec.bgp)`);
  const routerId = routerIdFor(input, me);
  if (!routerId.ok) return routerId;
  const nodeConfig = configs.perNode.get(input.nodeName);
  const asNumber = me.asNumber ?? cluster.globalAs;
  const peerings = computePeerings(cluster, input.bgpPeers ?? [], me);
  const filters = [...(input.bgpFilters ?? [])].sort(byName);
  const ctx: FamilyContext = { input, configs, cluster, me, asNumber, peerings, filters };
  const v4 = familyView(ctx, 4);
  const v6 = familyView(ctx, 6);
  return ok({
    nodeName: input.nodeName,
    routerId: routerId.value,
    asNumber,
    listenPort: nodeConfig?.listenPort ?? global.listenPort,
    logLevel: birdLogLevel(nodeConfig?.logSeverityScreen ?? global.logSeverityScreen),
    directInterfaces: [
      ...(global.ignoredInterfaces ?? []).map((i) => `-"${i}"`),
      '-"cali*"',
      '-"kube-ipvs*"',
      '"*"',
    ],
    filters,
    v4,
    v6,
  });
}

interface FamilyContext {
  readonly input: RoutingInput;
  readonly configs: Configs;
  readonly cluster: Cluster;
  readonly me: NodeInfo;
  readonly asNumber: number;
  readonly peerings: readonly Peering[];
  readonly filters: readonly BGPFilter[];
}

function familyOf(cidr: string): IpFamily | undefined {
  return parseCidr(cidr)?.family;
}

function familyView(ctx: FamilyContext, family: IpFamily): FamilyView | undefined {
  const { me, configs, input } = ctx;
  const myIp = nodeIp(me, family);
  if (myIp === undefined) return undefined;
  const global = configs.global;
  const peerCtx: PeerContext = {
    family,
    myIp,
    myAs: ctx.asNumber,
    myRrClusterId: me.rrClusterId,
    filterNames: new Set(ctx.filters.map((f) => f.metadata.name)),
    secrets: input.secrets,
  };
  const familyPeerings = ctx.peerings.filter((p) => p.family === family);
  const meshEnabled = (global.nodeToNodeMeshEnabled ?? true) && me.rrClusterId === '';
  const built = [
    ...(meshEnabled ? buildMeshPeers(ctx.cluster, peerCtx, global) : []),
    ...familyPeerings
      .filter((p) => p.scope === 'global')
      .flatMap((p) => buildPeer(p, 'global', peerCtx) ?? []),
    ...familyPeerings.filter((p) => p.scope === 'node').flatMap((p) => buildPeer(p, 'node', peerCtx) ?? []),
  ];
  const { peers, passwordProblems } = splitBuilt(built);
  const services = serviceRoutes(global, family, me.labels[EXCLUDE_FROM_LB_LABEL] === 'true');
  return {
    family,
    nodeIp: myIp,
    nodeSubnet: subnetOf(family === 4 ? me.ipv4Cidr : me.ipv6Cidr),
    listenAddress: global.bindMode === 'NodeIP' ? myIp : undefined,
    normalRoutePriority:
      (family === 4 ? global.ipv4NormalRoutePriority : global.ipv6NormalRoutePriority) ??
      DEFAULT_NORMAL_ROUTE_PRIORITY,
    peers,
    passwordProblems,
    blocks: localBlocks(input, family),
    staticRoutes: services.advertised,
    rejectCidrs: services.rejected,
    peerRoutes: familyPeerings.flatMap((p) =>
      (p.source.reachableBy ?? '') === '' ? [] : [{ ip: p.ip, via: p.source.reachableBy ?? '' }],
    ),
    communities: communityRules(configs.perNode.get(input.nodeName), global, family),
    pools: poolRoutes(input.ipPools ?? [], global, family),
    felixTunnelInterfaces: ['*.cali', '*.calico', ...(clusterRoutePolicy(global).ipip ? [] : ['tunl0'])],
    reflectedServiceRanges: me.rrClusterId === '' ? [] : reflectedRanges(global, family),
    wireguardNextHops: wireguardNextHops(ctx.cluster, me, family),
  };
}

function byStringKey<T>(key: (t: T) => string): (a: T, b: T) => number {
  return (a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0);
}

/** The sessions BIRD gets, and the peerings whose password cannot be had, each sorted by protocol name. */
function splitBuilt(built: readonly BuiltPeer[]): {
  peers: BirdPeer[];
  passwordProblems: PasswordProblem[];
} {
  const peers: BirdPeer[] = [];
  const passwordProblems: PasswordProblem[] = [];
  for (const b of built) {
    if (b.kind === 'peer') peers.push(b.peer);
    if (b.problem !== undefined) passwordProblems.push(b.problem);
  }
  return {
    peers: peers.sort(byStringKey((p) => p.name)),
    passwordProblems: passwordProblems.sort(byStringKey((p) => p.peer)),
  };
}

function localBlocks(input: RoutingInput, family: IpFamily): LocalBlock[] {
  const out: LocalBlock[] = [];
  for (const b of input.blocks ?? []) {
    if (familyOf(b.cidr) !== family) continue;
    const state = b.state ?? '';
    // confd treats a pending affinity as absent: the block is neither routed nor advertised yet.
    if (state === 'pending') continue;
    out.push({ cidr: b.cidr, state: state === '' ? 'implicit' : state });
  }
  return out.sort((a, b) => (a.cidr < b.cidr ? -1 : a.cidr > b.cidr ? 1 : 0));
}

function isHostCidr(cidr: string): boolean {
  const c = parseCidr(cidr);
  return c !== undefined && c.prefix === (c.family === 4 ? 32 : 128);
}

function cidrsOf(blocks: readonly { cidr?: string }[] | undefined, family: IpFamily): string[] {
  return (blocks ?? []).flatMap((b) => (b.cidr !== undefined && familyOf(b.cidr) === family ? [b.cidr] : []));
}

/**
 * Service ranges from the default BGPConfiguration: cluster IPs, external IPs and LoadBalancer ranges (single
 * LoadBalancer addresses are per-service, which needs Services: not modelled). All are kept out of the
 * kernel; they are advertised unless the node is excluded from load balancers.
 */
function serviceRoutes(
  global: BGPConfigurationSpec,
  family: IpFamily,
  excluded: boolean,
): { advertised: string[]; rejected: string[] } {
  const all = [
    ...cidrsOf(global.serviceClusterIPs, family),
    ...cidrsOf(global.serviceExternalIPs, family),
    ...cidrsOf(global.serviceLoadBalancerIPs, family).filter((c) => !isHostCidr(c)),
  ];
  const unique = [...new Set(all)].sort();
  return { advertised: excluded ? [] : unique, rejected: unique };
}

function reflectedRanges(global: BGPConfigurationSpec, family: IpFamily): string[] {
  return [...cidrsOf(global.serviceLoadBalancerIPs, family), ...cidrsOf(global.serviceExternalIPs, family)];
}

/** prefixAdvertisements of the node's own BGPConfiguration if it has any, else of the default one. */
function communityRules(
  nodeConfig: BGPConfigurationSpec | undefined,
  global: BGPConfigurationSpec,
  family: IpFamily,
): CommunityRule[] {
  const source = nodeConfig?.prefixAdvertisements !== undefined ? nodeConfig : global;
  const defined = source.communities ?? [];
  const rules: CommunityRule[] = [];
  for (const pa of source.prefixAdvertisements ?? []) {
    if (familyOf(pa.cidr) !== family) continue;
    const values = new Set<string>();
    for (const c of pa.communities) {
      if (/^[0-9]+:[0-9]+(:[0-9]+)?$/.test(c)) values.add(c);
      else {
        const named = defined.find((d) => d.name === c);
        if (named !== undefined) values.add(named.value);
      }
    }
    if (values.size > 0) rules.push({ cidr: pa.cidr, values: [...values].sort() });
  }
  return rules;
}

/** Which pools' cluster routes BIRD programs (BGPConfiguration.programClusterRoutes; default EnabledNoEncapOnly). */
export function clusterRoutePolicy(global: BGPConfigurationSpec): { ipip: boolean; noEncap: boolean } {
  switch (global.programClusterRoutes ?? 'EnabledNoEncapOnly') {
    case 'Disabled':
      return { ipip: false, noEncap: false };
    case 'Enabled':
      return { ipip: true, noEncap: true };
    case 'EnabledIPIPOnly':
      return { ipip: true, noEncap: false };
    case 'EnabledNoEncapOnly':
      return { ipip: false, noEncap: true };
  }
}

function encapMode(mode: string | undefined): 'Always' | 'CrossSubnet' | undefined {
  return mode === 'Always' || mode === 'CrossSubnet' ? mode : undefined;
}

function poolRoutes(
  pools: readonly RoutingPool[],
  global: BGPConfigurationSpec,
  family: IpFamily,
): PoolRoute[] {
  const policy = clusterRoutePolicy(global);
  return pools
    .filter((p) => familyOf(p.spec.cidr) === family)
    .map((p): PoolRoute => {
      const vxlan = encapMode(p.spec.vxlanMode) !== undefined;
      const ipipMode = vxlan ? undefined : encapMode(p.spec.ipipMode);
      const encap = vxlan ? 'vxlan' : ipipMode !== undefined ? 'ipip' : 'none';
      return {
        cidr: p.spec.cidr,
        encap,
        ipipMode,
        disableBGPExport: p.spec.disableBGPExport ?? false,
        programmedByBird: encap === 'vxlan' ? false : encap === 'ipip' ? policy.ipip : policy.noEncap,
      };
    })
    .sort((a, b) => (a.cidr < b.cidr ? -1 : a.cidr > b.cidr ? 1 : 0));
}

/** When this node runs WireGuard, routes via other WireGuard nodes are Felix's to program. */
function wireguardNextHops(cluster: Cluster, me: NodeInfo, family: IpFamily): string[] {
  const mine = family === 4 ? me.wireguardV4 : me.wireguardV6;
  if (mine === undefined || mine === '') return [];
  return cluster.nodes
    .filter((n) => n !== me && (family === 4 ? n.wireguardV4 : n.wireguardV6) !== undefined)
    .flatMap((n) => nodeIp(n, family) ?? [])
    .sort();
}
