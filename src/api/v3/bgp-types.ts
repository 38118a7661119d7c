/**
 * Spec shapes of the BGP control-plane kinds (reference §1.10-§1.12, §1.16, §1.16b): BGPConfiguration,
 * BGPPeer, BGPFilter, Node and CalicoNodeStatus. AS numbers are normalised to plain numbers; durations keep
 * the Go duration text they were written in (`120s`, `1m30s`).
 */
import type { ResourceEnvelope } from '../meta.js';

/** A key of a Kubernetes Secret (in calico-node's namespace) holding a BGP password. */
export interface SecretKeyRef {
  name?: string;
  key: string;
  optional?: boolean;
}

export interface BGPPassword {
  secretKeyRef?: SecretKeyRef;
}

export type LogSeverity = 'Trace' | 'Debug' | 'Info' | 'Warning' | 'Error' | 'Fatal';
export type ProgramClusterRoutes = 'Enabled' | 'Disabled' | 'EnabledIPIPOnly' | 'EnabledNoEncapOnly';

export interface ServiceIPBlock {
  cidr?: string;
}

export interface Community {
  name: string;
  value: string;
}

export interface PrefixAdvertisement {
  cidr: string;
  communities: string[];
}

export interface BGPConfigurationSpec {
  logSeverityScreen?: LogSeverity;
  nodeToNodeMeshEnabled?: boolean;
  asNumber?: number;
  serviceLoadBalancerIPs?: ServiceIPBlock[];
  serviceExternalIPs?: ServiceIPBlock[];
  serviceClusterIPs?: ServiceIPBlock[];
  serviceLoadBalancerAggregation?: 'Enabled' | 'Disabled';
  communities?: Community[];
  prefixAdvertisements?: PrefixAdvertisement[];
  listenPort?: number;
  nodeMeshPassword?: BGPPassword;
  nodeMeshMaxRestartTime?: string;
  bindMode?: 'None' | 'NodeIP';
  ignoredInterfaces?: string[];
  localWorkloadPeeringIPV4?: string;
  localWorkloadPeeringIPV6?: string;
  programClusterRoutes?: ProgramClusterRoutes;
  ipv4NormalRoutePriority?: number;
  ipv6NormalRoutePriority?: number;
}
export type BGPConfiguration = ResourceEnvelope<'BGPConfiguration', BGPConfigurationSpec>;

export type NextHopMode = 'Auto' | 'Self' | 'Keep';

export interface BGPPeerSpec {
  node?: string;
  nodeSelector?: string;
  peerIP?: string;
  peerSelector?: string;
  asNumber?: number;
  localASNumber?: number;
  keepOriginalNextHop?: boolean;
  nextHopMode?: NextHopMode;
  password?: BGPPassword;
  sourceAddress?: 'UseNodeIP' | 'None';
  maxRestartTime?: string;
  keepaliveTime?: string;
  numAllowedLocalASNumbers?: number;
  ttlSecurity?: number;
  reachableBy?: string;
  filters?: string[];
  localWorkloadSelector?: string;
  reversePeering?: 'Auto' | 'Manual';
}
export type BGPPeer = ResourceEnvelope<'BGPPeer', BGPPeerSpec>;

export type BGPFilterMatchOperator = 'Equal' | 'NotEqual' | 'In' | 'NotIn';

export interface BGPFilterPrefixLength {
  min?: number;
  max?: number;
}

/** Exactly one field is set. */
export interface BGPFilterOperation {
  addCommunity?: { value: string };
  prependASPath?: { prefix: number[] };
  setPriority?: { value: number };
}

export interface BGPFilterRule {
  cidr?: string;
  prefixLength?: BGPFilterPrefixLength;
  source?: 'RemotePeers';
  interface?: string;
  matchOperator?: BGPFilterMatchOperator;
  peerType?: 'eBGP' | 'iBGP';
  communities?: { values: string[] };
  asPathPrefix?: number[];
  priority?: number;
  action: 'Accept' | 'Reject';
  operations?: BGPFilterOperation[];
}

export interface BGPFilterSpec {
  exportV4?: BGPFilterRule[];
  importV4?: BGPFilterRule[];
  exportV6?: BGPFilterRule[];
  importV6?: BGPFilterRule[];
}
export type BGPFilter = ResourceEnvelope<'BGPFilter', BGPFilterSpec>;

export interface NodeBGPSpec {
  asNumber?: number;
  /** The node's IPv4 address with its subnet (`10.0.0.1/24`); a bare address is accepted. */
  ipv4Address?: string;
  ipv6Address?: string;
  ipv4IPIPTunnelAddr?: string;
  /** Makes the node a route reflector (an IPv4-formatted cluster id). */
  routeReflectorClusterID?: string;
}

export interface NodeAddress {
  address: string;
  type?: 'CalicoNodeIP' | 'InternalIP' | 'ExternalIP';
}

export interface NodeInterface {
  name: string;
  addresses?: string[];
}

export interface OrchRef {
  nodeName?: string;
  orchestrator: string;
}

export interface NodeWireguardSpec {
  interfaceIPv4Address?: string;
  interfaceIPv6Address?: string;
}

export interface NodeSpec {
  bgp?: NodeBGPSpec;
  ipv4VXLANTunnelAddr?: string;
  vxlanTunnelMACAddr?: string;
  ipv6VXLANTunnelAddr?: string;
  vxlanTunnelMACAddrV6?: string;
  orchRefs?: OrchRef[];
  wireguard?: NodeWireguardSpec;
  addresses?: NodeAddress[];
  interfaces?: NodeInterface[];
}

export interface NodeStatus {
  wireguardPublicKey?: string;
  wireguardPublicKeyV6?: string;
  podCIDRs?: string[];
}

export interface Node extends ResourceEnvelope<'Node', NodeSpec> {
  status?: NodeStatus;
}

export type NodeStatusClass = 'Agent' | 'BGP' | 'Routes';

export interface CalicoNodeStatusSpec {
  node: string;
  classes: NodeStatusClass[];
  updatePeriodSeconds?: number;
}

export interface BGPDaemonStatus {
  state?: 'Ready' | 'NotReady';
  version?: string;
  routerID?: string;
  lastBootTime?: string;
  lastReconfigurationTime?: string;
}

export interface CalicoNodePeer {
  peerIP?: string;
  type?: 'NodeMesh' | 'NodePeer' | 'GlobalPeer';
  state?: string;
  since?: string;
}

export interface CalicoNodeRoute {
  type?: 'FIB' | 'RIB';
  destination?: string;
  gateway?: string;
  interface?: string;
  learnedFrom?: { sourceType?: string; peerIP?: string };
}

/** Written by calico-node, never by users; kept as decoded so that `get -o yaml` round-trips. */
export interface CalicoNodeStatusStatus {
  lastUpdated?: string;
  agent?: { birdV4?: BGPDaemonStatus; birdV6?: BGPDaemonStatus };
  bgp?: {
    numberEstablishedV4?: number;
    numberNotEstablishedV4?: number;
    numberEstablishedV6?: number;
    numberNotEstablishedV6?: number;
    peersV4?: CalicoNodePeer[];
    peersV6?: CalicoNodePeer[];
  };
  routes?: { routesV4?: CalicoNodeRoute[]; routesV6?: CalicoNodeRoute[] };
}

export interface CalicoNodeStatus extends ResourceEnvelope<'CalicoNodeStatus', CalicoNodeStatusSpec> {
  status?: CalicoNodeStatusStatus;
}
