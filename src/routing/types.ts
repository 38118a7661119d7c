/**
 * The routing model's input (resources as decoded by src/api, plus this node's block affinities) and its
 * output, the BGP view of one node: what confd's processor hands its templates, one FamilyView per address
 * family the node has an address for. render.ts turns a view into BIRD 2 configuration text.
 */
import type { BGPConfiguration, BGPFilter, BGPPeer, Node } from '../api/v3/bgp-types.js';
import type { SecretSource } from './secrets.js';

export type IpFamily = 4 | 6;

/** Structured logging (the agent's Logger has this shape). */
export interface RoutingLogger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
}

/** BlockAffinity states (reference §1.17); '' means implicitly confirmed (old datastores). */
export type BlockState = '' | 'pending' | 'confirmed' | 'pendingDeletion';

/** A block affine to this node. */
export interface AffineBlock {
  readonly cidr: string;
  readonly state?: BlockState;
}

/** What routing needs of an IP pool; the decoded IPPool resource fits this shape. */
export interface RoutingPool {
  readonly metadata?: { readonly name: string };
  readonly spec: {
    readonly cidr: string;
    readonly ipipMode?: string;
    readonly vxlanMode?: string;
    readonly disableBGPExport?: boolean;
  };
}

export interface RoutingInput {
  /** The node whose BIRD configuration is computed. */
  readonly nodeName: string;
  /** Every Calico node (for the mesh, selectors and reverse peerings), this one included. */
  readonly nodes: readonly Node[];
  readonly bgpConfigurations?: readonly BGPConfiguration[];
  readonly bgpPeers?: readonly BGPPeer[];
  readonly bgpFilters?: readonly BGPFilter[];
  readonly ipPools?: readonly RoutingPool[];
  /** Blocks affine to this node (from its BlockAffinities). */
  readonly blocks?: readonly AffineBlock[];
  /** The `CALICO_ROUTER_ID` setting: an IPv4 address, or `hash`. */
  readonly routerId?: string;
  /** Where `secretKeyRef` passwords are read; without one, every referenced password is unavailable. */
  readonly secrets?: SecretSource;
}

export type PeerType = 'mesh' | 'global' | 'node';

/** One BGP session, as BIRD will be told about it. */
export interface BirdPeer {
  /** The BIRD protocol name; its prefix gives the peer type in `node status`. */
  readonly name: string;
  readonly type: PeerType;
  readonly ip: string;
  /** The remote port (omitted = 179). */
  readonly port: number | undefined;
  readonly asNumber: number;
  /** Overrides the node's AS for this session. */
  readonly localAsNumber: number | undefined;
  /** Our address for the session (the node IP), or undefined to let the kernel choose. */
  readonly sourceAddress: string | undefined;
  /** GTSM hop count, or undefined for `ttl security off` + plain `multihop`. */
  readonly ttlSecurity: number | undefined;
  /** Wait for the peer to connect (the higher-IP side of Calico-node pairs). */
  readonly passive: boolean;
  /** Graceful restart time in seconds. */
  readonly gracefulRestartTime: number | undefined;
  readonly keepaliveTime: number | undefined;
  readonly password: string | undefined;
  readonly nextHop: 'self' | 'keep' | undefined;
  readonly allowLocalAs: number | undefined;
  /** Set when this node is a route reflector and the peer is one of its clients: the cluster id. */
  readonly rrClusterId: string | undefined;
  /** The BGPFilters applied, in order (names of existing filters only). */
  readonly filters: readonly string[];
  /** True for iBGP (the peer's AS equals our effective AS). */
  readonly sameAs: boolean;
}

/**
 * A peering whose password (`secretKeyRef`) cannot be had. Fail closed: the peering is `refused` (left out
 * of BIRD's configuration: no session, rather than a session without TCP-MD5), unless the reference is
 * marked `optional`, when it is `unprotected` (a session without TCP-MD5, as the reference asks).
 */
export interface PasswordProblem {
  readonly outcome: 'refused' | 'unprotected';
  /** The BIRD protocol name the session has, or would have. */
  readonly peer: string;
  readonly type: PeerType;
  readonly ip: string;
  /** What references the password: `BGPPeer <name>` or `BGPConfiguration default nodeMeshPassword`. */
  readonly origin: string;
  /** `<secret name>/<key>` (never the value). */
  readonly secret: string;
  readonly reason: string;
}

export interface LocalBlock {
  readonly cidr: string;
  /** `implicit` = no state recorded (treated as confirmed). */
  readonly state: 'confirmed' | 'implicit' | 'pendingDeletion';
}

export type PoolEncap = 'vxlan' | 'ipip' | 'none';

export interface PoolRoute {
  readonly cidr: string;
  readonly encap: PoolEncap;
  readonly ipipMode: 'Always' | 'CrossSubnet' | undefined;
  readonly disableBGPExport: boolean;
  /** True when BIRD programs this pool's cluster routes (else Felix does, or nobody for VXLAN). */
  readonly programmedByBird: boolean;
}

/** Communities added to routes within `cidr` (prefixAdvertisements). */
export interface CommunityRule {
  readonly cidr: string;
  /** Values `aa:nn` or `aa:nn:mm`, sorted, without duplicates. */
  readonly values: readonly string[];
}

export interface StaticPeerRoute {
  readonly ip: string;
  readonly via: string;
}

export interface FamilyView {
  readonly family: IpFamily;
  /** This node's address (no prefix length). */
  readonly nodeIp: string;
  /** This node's subnet (network form), when its address was given with a prefix length. */
  readonly nodeSubnet: string | undefined;
  /** `bindMode: NodeIP`: listen on the node address only. */
  readonly listenAddress: string | undefined;
  readonly normalRoutePriority: number;
  /** Sorted by name. */
  readonly peers: readonly BirdPeer[];
  /** Peerings refused or left unprotected because their password cannot be had, sorted by peer name. */
  readonly passwordProblems: readonly PasswordProblem[];
  readonly blocks: readonly LocalBlock[];
  /** Service CIDRs advertised from this node (blackhole statics). */
  readonly staticRoutes: readonly string[];
  /** Service CIDRs never programmed into the kernel. */
  readonly rejectCidrs: readonly string[];
  /** Host routes to peers via their `reachableBy` gateway. */
  readonly peerRoutes: readonly StaticPeerRoute[];
  readonly communities: readonly CommunityRule[];
  readonly pools: readonly PoolRoute[];
  /** Interface patterns of Felix-programmed tunnel routes, never exported to iBGP peers. */
  readonly felixTunnelInterfaces: readonly string[];
  /** Route reflector only: LoadBalancer and external service ranges reflected to clients. */
  readonly reflectedServiceRanges: readonly string[];
  /** Next hops of WireGuard peers, whose routes Felix programs (only when this node runs WireGuard). */
  readonly wireguardNextHops: readonly string[];
}

export type BirdLogLevel = 'debug' | 'info' | 'none';

export interface BgpView {
  readonly nodeName: string;
  readonly routerId: string;
  readonly asNumber: number;
  readonly listenPort: number | undefined;
  readonly logLevel: BirdLogLevel;
  /** Interface patterns of the direct protocol, e.g. `-"cali*"`, `"*"`. */
  readonly directInterfaces: readonly string[];
  /** Every BGPFilter, sorted by name (confd renders functions for all of them). */
  readonly filters: readonly BGPFilter[];
  readonly v4: FamilyView | undefined;
  readonly v6: FamilyView | undefined;
}
