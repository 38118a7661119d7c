/**
 * THE contract between the calculation graph and the dataplane (Felix's felixbackend.proto `ToDataplane`):
 * one closed, JSON-serialisable union. The event sequencer emits these in dependency order: IP sets before
 * the policies that use them, policies and profiles before the endpoints that reference them; removals in
 * reverse. A dataplane `switch (msg.kind)` must be exhaustive.
 *
 * Cluster networking (Felix's HostMetadata, IPPool, VTEP and Route updates): host metadata and pools come
 * early; then route removals, VTEP removals, VTEP updates and route updates, so that no route is ever
 * programmed without the VTEP it goes through; pool and host removals come last.
 */

import type { FelixConfig } from '../api/v3/felix-config-params.js';
import type { ResolvedFelixConfig } from '../api/v3/felix-config.js';

/** IP-set ids: selector sets `s:<uid>`, named-port sets `n:<hash>`. */
export type IpSetType = 'net' | 'ipPort';

export interface PortRangeMsg {
  readonly first: number;
  readonly last: number;
}

/** A rule as the dataplane renders it: selectors already turned into IP-set ids (Felix's ParsedRule). */
export interface RuleMsg {
  readonly action: 'allow' | 'deny' | 'pass' | 'log';
  /** Index of the rule in its policy/profile direction, for traces and comments. */
  readonly index: number;
  readonly ipVersion?: 4 | 6;
  readonly protocol?: number;
  readonly notProtocol?: number;
  readonly icmpType?: number;
  readonly icmpCode?: number;
  readonly notIcmpType?: number;
  readonly notIcmpCode?: number;
  readonly srcNets: readonly string[];
  readonly notSrcNets: readonly string[];
  readonly srcPorts: readonly PortRangeMsg[];
  readonly notSrcPorts: readonly PortRangeMsg[];
  readonly srcIpSetIds: readonly string[];
  readonly notSrcIpSetIds: readonly string[];
  readonly srcNamedPortIpSetIds: readonly string[];
  readonly notSrcNamedPortIpSetIds: readonly string[];
  readonly dstNets: readonly string[];
  readonly notDstNets: readonly string[];
  readonly dstPorts: readonly PortRangeMsg[];
  readonly notDstPorts: readonly PortRangeMsg[];
  readonly dstIpSetIds: readonly string[];
  readonly notDstIpSetIds: readonly string[];
  readonly dstNamedPortIpSetIds: readonly string[];
  readonly notDstNamedPortIpSetIds: readonly string[];
  /** DNS policy: the destination must be in this domain set (`domainSetUpdate`), filled by the DNS path. */
  readonly dstDomainSetId?: string;
  /**
   * DNS policy, egress Allow rules only: the destination matches the selector's IP set (`dstIpSetIds`) OR
   * this domain set, which holds the `allowedEgressDomains` of the network sets the selector selects (absent
   * while they have none). Every other match of the rule applies to both alternatives.
   */
  readonly dstSelectorDomainSetId?: string;
}

export interface PolicyMsg {
  readonly tier: string;
  readonly inboundRules: readonly RuleMsg[];
  readonly outboundRules: readonly RuleMsg[];
  readonly untracked: boolean;
  readonly preDnat: boolean;
  readonly applyOnForward: boolean;
}

export interface ProfileMsg {
  readonly inboundRules: readonly RuleMsg[];
  readonly outboundRules: readonly RuleMsg[];
}

/** Policies of one tier that apply to an endpoint, in order, per direction (staged policies excluded). */
export interface TierInfo {
  readonly name: string;
  readonly defaultAction: 'deny' | 'pass';
  readonly ingressPolicies: readonly string[];
  readonly egressPolicies: readonly string[];
}

export interface WorkloadEndpointMsg {
  readonly namespace: string;
  readonly name: string;
  /** `<namespace>/<pod>` for people. */
  readonly display: string;
  readonly interfaceName: string;
  readonly ipv4Nets: readonly string[];
  readonly ipv6Nets: readonly string[];
  readonly tiers: readonly TierInfo[];
  readonly profileIds: readonly string[];
}

export interface HostEndpointMsg {
  readonly name: string;
  /** '' when matched by expected IPs; '*' for all interfaces. */
  readonly interfaceName: string;
  readonly expectedIpv4Addrs: readonly string[];
  readonly expectedIpv6Addrs: readonly string[];
  readonly tiers: readonly TierInfo[];
  readonly untrackedTiers: readonly TierInfo[];
  readonly preDnatTiers: readonly TierInfo[];
  readonly forwardTiers: readonly TierInfo[];
  readonly profileIds: readonly string[];
}

/** What the dataplane knows of a node (Felix's HostMetadataV4V6Update). */
export interface HostMetadataMsg {
  readonly hostname: string;
  /** The node's IPv4 address (no prefix length), when it has one. */
  readonly ipv4Addr?: string;
  /** The node's IPv4 subnet in network form (`10.0.1.0/24`), when its address was given with a prefix. */
  readonly ipv4Subnet?: string;
  readonly ipv6Addr?: string;
  readonly asNumber?: number;
}

export type EncapModeMsg = 'Never' | 'Always' | 'CrossSubnet';

export interface IpPoolMsg {
  readonly cidr: string;
  readonly vxlanMode: EncapModeMsg;
  readonly ipipMode: EncapModeMsg;
  readonly natOutgoing: boolean;
  readonly disabled: boolean;
  readonly disableBGPExport: boolean;
}

/** A VXLAN tunnel endpoint: a node's tunnel address and MAC, reached through its node IP. */
export interface VtepMsg {
  readonly node: string;
  /** The node IP the encapsulated packets are sent to (the FDB entry's `dst`). */
  readonly parentDeviceIp: string;
  /** The node's VXLAN tunnel address (on its `vxlan.calico`). */
  readonly ipv4Addr: string;
  readonly mac: string;
}

/** The encapsulation of a pool's routes. */
export type PoolType = 'none' | 'vxlan' | 'ipip';

/** A route to a block (or a borrowed /32) of a node (Felix's RouteUpdate for workload routes). */
export interface RouteMsg {
  readonly dst: string;
  /** `localWorkload`: a block affine to this node (or an address of ours borrowed from another block). */
  readonly type: 'localWorkload' | 'remoteWorkload';
  readonly dstNode: string;
  /** The destination node's IPv4 address, when known. */
  readonly dstNodeIp?: string;
  /** True for a single address allocated to `dstNode` from another node's block. */
  readonly borrowed: boolean;
  /** The pool holding `dst`, if any. */
  readonly poolCidr?: string;
  readonly poolType: PoolType;
  readonly natOutgoing: boolean;
  /** True when the destination node's IP is in this node's subnet. */
  readonly sameSubnet: boolean;
  /**
   * How the dataplane reaches `dst`: `vxlan` = via `vtepAddr` on `vxlan.calico` (the VTEP is sent first),
   * `ipip` = via `dstNodeIp` on `tunl0`, `none` = directly via `dstNodeIp` (or here, for local routes).
   */
  readonly encap: PoolType;
  /** For `encap: vxlan`: the destination node's VTEP address. */
  readonly vtepAddr?: string;
}

export type DataplaneMessage =
  | {
      readonly kind: 'configUpdate';
      /** Every Felix parameter's effective value (api/v3/felix-config-params.ts). */
      readonly config: FelixConfig;
      /** Which source set each parameter that is not at its built-in default. */
      readonly sources: ResolvedFelixConfig['sources'];
    }
  | { readonly kind: 'inSync' }
  | {
      readonly kind: 'ipSetUpdate';
      readonly id: string;
      readonly type: IpSetType;
      readonly members: readonly string[];
    }
  | {
      readonly kind: 'ipSetDeltaUpdate';
      readonly id: string;
      readonly added: readonly string[];
      readonly removed: readonly string[];
    }
  | { readonly kind: 'ipSetRemove'; readonly id: string }
  /** DNS policy: a domain set's patterns (canonical, sorted); sent before the first rule using it. */
  | { readonly kind: 'domainSetUpdate'; readonly id: string; readonly domains: readonly string[] }
  | { readonly kind: 'domainSetRemove'; readonly id: string }
  | { readonly kind: 'activePolicyUpdate'; readonly id: string; readonly policy: PolicyMsg }
  | { readonly kind: 'activePolicyRemove'; readonly id: string }
  | { readonly kind: 'activeProfileUpdate'; readonly id: string; readonly profile: ProfileMsg }
  | { readonly kind: 'activeProfileRemove'; readonly id: string }
  | { readonly kind: 'workloadEndpointUpdate'; readonly id: string; readonly endpoint: WorkloadEndpointMsg }
  | { readonly kind: 'workloadEndpointRemove'; readonly id: string }
  | { readonly kind: 'hostEndpointUpdate'; readonly id: string; readonly endpoint: HostEndpointMsg }
  | { readonly kind: 'hostEndpointRemove'; readonly id: string }
  | { readonly kind: 'hostMetadataUpdate'; readonly hostname: string; readonly metadata: HostMetadataMsg }
  | { readonly kind: 'hostMetadataRemove'; readonly hostname: string }
  | { readonly kind: 'ipPoolUpdate'; readonly id: string; readonly pool: IpPoolMsg }
  | { readonly kind: 'ipPoolRemove'; readonly id: string }
  | { readonly kind: 'vtepUpdate'; readonly vtep: VtepMsg }
  | { readonly kind: 'vtepRemove'; readonly node: string }
  | { readonly kind: 'routeUpdate'; readonly route: RouteMsg }
  | { readonly kind: 'routeRemove'; readonly dst: string }
  /** The datastore revision whose effects the messages before this one complete. */
  | { readonly kind: 'revision'; readonly revision: number };

export type DataplaneMessageKind = DataplaneMessage['kind'];

/** The cluster-networking messages (routes, VTEPs, pools, hosts), handled by the network managers. */
export type NetworkMessage = Extract<
  DataplaneMessage,
  {
    readonly kind:
      | 'hostMetadataUpdate'
      | 'hostMetadataRemove'
      | 'ipPoolUpdate'
      | 'ipPoolRemove'
      | 'vtepUpdate'
      | 'vtepRemove'
      | 'routeUpdate'
      | 'routeRemove';
  }
>;

const NETWORK_KINDS: ReadonlySet<DataplaneMessageKind> = new Set<NetworkMessage['kind']>([
  'hostMetadataUpdate',
  'hostMetadataRemove',
  'ipPoolUpdate',
  'ipPoolRemove',
  'vtepUpdate',
  'vtepRemove',
  'routeUpdate',
  'routeRemove',
]);

export function isNetworkMessage(m: DataplaneMessage): m is NetworkMessage {
  return NETWORK_KINDS.has(m.kind);
}
