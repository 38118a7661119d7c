/**
 * The lab's network design (pure): racks, addresses, the outside world, and how each networking mode
 * configures the agents.
 *
 *   fabric ns:   one bridge per rack, `rack<r>` = 172.31.<r>.254/24 and fd5c:a1c0:<r>::fffe/64, forwarding
 *                between racks (a routed fabric that knows nothing about pods), and `out0` = 203.0.113.254/24
 *                towards the outside namespace
 *   node ns:     eth0 = 172.31.<rack>.<index>/24 (fd5c:a1c0:<rack>::<index>/64), default via the rack gateway
 *   outside ns:  eth0 = 203.0.113.10/24 (TEST-NET-3), default via 203.0.113.254; it stands for the Internet: the
 *                fabric routes to it, but it has no route to pods, so only masqueraded (natOutgoing) pod
 *                traffic gets answers; with the cluster DNS it also holds one /32 per DNS name (dns-zone.ts)
 *
 * Networking modes: `static` (the lab writes a /32 route per pod on every other node; the agents run no
 * networking backend and create no pools: for exact conformance addresses in both families), `bgp` (BIRD
 * full mesh, no encapsulation: nodes must share one L2 segment, since the fabric does not learn pod routes),
 * `vxlan` (VXLAN Always) and `vxlan-crosssubnet` (VXLAN only between racks, plain routes inside a rack). The
 * agent-routed modes share one IPv4 pool, 10.244.0.0/16 with /26 blocks and natOutgoing.
 */
import { CalicoError } from '../lib/errors.js';

export const LAB_NETWORKS = ['static', 'bgp', 'vxlan', 'vxlan-crosssubnet'] as const;
export type LabNetwork = (typeof LAB_NETWORKS)[number];

export const LAB_POOL_CIDR = '10.244.0.0/16';
export const LAB_BLOCK_SIZE = 26;
export const MAX_NODES = 250;
export const MAX_RACKS = 9;
export const VXLAN_DEVICE = 'vxlan.calico';
/** 1500 minus the 50 bytes of VXLAN's outer headers. */
export const VXLAN_POD_MTU = 1450;
export const DEFAULT_POD_MTU = 1500;

export const OUTSIDE = {
  /** The fabric's interface towards the outside namespace. */
  fabricIfname: 'out0',
  gateway: '203.0.113.254',
  address: '203.0.113.10',
  prefix: 24,
} as const;

export function parseLabNetwork(text: string): LabNetwork | undefined {
  return (LAB_NETWORKS as readonly string[]).includes(text) ? (text as LabNetwork) : undefined;
}

/** Whether the agents route pods between nodes (BIRD or VXLAN) rather than the lab. */
export function agentRouted(network: LabNetwork): boolean {
  return network !== 'static';
}

/** Racks when none are asked for: VXLAN modes put nodes on two racks (so CrossSubnet means something). */
export function defaultRacks(network: LabNetwork, nodes: number): number {
  return network === 'vxlan' || network === 'vxlan-crosssubnet' ? Math.max(1, Math.min(2, nodes)) : 1;
}

/** Why this topology cannot work, or undefined. */
export function topologyProblem(network: LabNetwork, racks: number): string | undefined {
  if (!Number.isInteger(racks) || racks < 1 || racks > MAX_RACKS) return `racks must be 1..${MAX_RACKS}`;
  if (racks > 1 && (network === 'bgp' || network === 'static'))
    return `--network ${network} needs all nodes on one rack (the fabric routers do not learn pod routes); use vxlan or vxlan-crosssubnet across racks`;
  return undefined;
}

/** The rack of node number `index` (1-based): round-robin, so neighbours by number are on different racks. */
export function rackOf(index: number, racks: number): number {
  return ((index - 1) % racks) + 1;
}

export interface RackAddresses {
  readonly bridge: string;
  readonly v4Gateway: string;
  readonly v6Gateway: string;
}

export function rackAddresses(rack: number): RackAddresses {
  if (!Number.isInteger(rack) || rack < 1 || rack > MAX_RACKS)
    throw new CalicoError('CALICO_ERR_USAGE', `rack ${rack} out of range 1..${MAX_RACKS}`);
  return { bridge: `rack${rack}`, v4Gateway: `172.31.${rack}.254`, v6Gateway: `fd5c:a1c0:${rack}::fffe` };
}

export interface NodeAddresses {
  readonly v4: string;
  readonly v6: string;
}

/** The fabric addresses of node number `index` (1-based) on `rack` (each /24, /64). */
export function nodeAddresses(index: number, rack = 1): NodeAddresses {
  if (!Number.isInteger(index) || index < 1 || index > MAX_NODES)
    throw new CalicoError('CALICO_ERR_USAGE', `node index ${index} out of range 1..${MAX_NODES}`);
  rackAddresses(rack);
  return { v4: `172.31.${rack}.${index}`, v6: `fd5c:a1c0:${rack}::${index.toString(16)}` };
}

/** The agent environment of a networking mode (merged under the lab's own agent settings). */
export function networkAgentEnv(network: LabNetwork): Record<string, string> {
  if (network === 'static') return { CALICO_NETWORKING_BACKEND: 'none', NO_DEFAULT_POOLS: 'true' };
  const common = {
    IP: 'autodetect',
    IP_AUTODETECTION_METHOD: 'interface=eth0',
    CALICO_IPV4POOL_CIDR: LAB_POOL_CIDR,
    CALICO_IPV4POOL_BLOCK_SIZE: String(LAB_BLOCK_SIZE),
    CALICO_IPV4POOL_IPIP: 'Never',
    CALICO_IPV4POOL_NAT_OUTGOING: 'true',
  };
  switch (network) {
    case 'bgp':
      return { ...common, CALICO_NETWORKING_BACKEND: 'bird', CALICO_IPV4POOL_VXLAN: 'Never' };
    case 'vxlan':
      return { ...common, CALICO_NETWORKING_BACKEND: 'vxlan', CALICO_IPV4POOL_VXLAN: 'Always' };
    case 'vxlan-crosssubnet':
      return { ...common, CALICO_NETWORKING_BACKEND: 'vxlan', CALICO_IPV4POOL_VXLAN: 'CrossSubnet' };
  }
}

/** The pod interface MTU: room for the VXLAN headers where pod traffic may be encapsulated. */
export function podMtu(network: LabNetwork): number {
  return network === 'vxlan' || network === 'vxlan-crosssubnet' ? VXLAN_POD_MTU : DEFAULT_POD_MTU;
}

/**
 * The node (0-based) a pod with a fixed address goes to when the agents route: by the address's /24, so that
 * every address of a /26 block lands on the same node and the block's route (BGP or VXLAN) leads to it; the
 * conformance layout (10.244.1.10, 10.244.2.10, ...) alternates between nodes. Undefined outside 10.244/16.
 */
export function nodeIndexForAddress(ip: string, nodes: number): number | undefined {
  const m = /^10\.244\.(\d{1,3})\.\d{1,3}$/.exec(ip);
  if (m === null || nodes < 1) return undefined;
  return (Number(m[1]) + nodes - 1) % nodes;
}
