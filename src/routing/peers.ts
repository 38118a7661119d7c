/**
 * BGPPeer resources to the peerings of one node (confd's updatePeersV1, restricted to the keys this node
 * reads): global peerings (BGPPeers with neither node nor nodeSelector) first, then node-specific ones
 * (skipped where a global peering to the same address and port exists), then the reverse peerings that make
 * Calico-to-Calico peerings symmetric. peerSelector expands to one peering per selected node and family.
 * The first peering emitted for an address and port wins. Pure; BGPPeers are taken in name order so that
 * the result does not depend on input order.
 */
import { formatCidr, parseCidr } from '../lib/net/ip.js';
import { parseSelector, type Labels } from '../api/selector/index.js';
import { parsePeerIP } from '../api/v3/bgp-peer.js';
import type { BGPPeer, BGPPeerSpec, Node } from '../api/v3/bgp-types.js';
import type { IpFamily } from './types.js';

/** What the peer computation needs to know about a Calico node. */
export interface NodeInfo {
  readonly name: string;
  readonly labels: Labels;
  readonly ipv4: string | undefined;
  readonly ipv4Cidr: string | undefined;
  readonly ipv6: string | undefined;
  readonly ipv6Cidr: string | undefined;
  readonly asNumber: number | undefined;
  /** '' when the node is not a route reflector. */
  readonly rrClusterId: string;
  /** From the node's own `node.<name>` BGPConfiguration. */
  readonly listenPort: number | undefined;
  readonly wireguardV4: string | undefined;
  readonly wireguardV6: string | undefined;
}

export interface Cluster {
  /** Sorted by name. */
  readonly nodes: readonly NodeInfo[];
  readonly globalAs: number;
  readonly globalListenPort: number | undefined;
}

/** One v1 peering of this node (confd's bgpPeer value), with the BGPPeer it came from. */
export interface Peering {
  readonly scope: 'global' | 'node';
  readonly ip: string;
  readonly family: IpFamily;
  /** 0 = not given (BIRD's default 179). */
  readonly port: number;
  readonly asNumber: number;
  /** The remote node's route-reflector cluster id ('' for non-Calico peers). */
  readonly rrClusterId: string;
  /** True when the peer address belongs to a Calico node. */
  readonly calicoNode: boolean;
  /** The BGPPeer this peering comes from. */
  readonly sourceName: string;
  readonly source: BGPPeerSpec;
}

function hostOf(cidr: string | undefined): string | undefined {
  if (cidr === undefined || cidr === '') return undefined;
  const slash = cidr.indexOf('/');
  return slash < 0 ? cidr : cidr.slice(0, slash);
}

export function nodeInfo(node: Node, listenPort: number | undefined): NodeInfo {
  const bgp = node.spec.bgp;
  return {
    name: node.metadata.name,
    labels: node.metadata.labels ?? {},
    ipv4: hostOf(bgp?.ipv4Address),
    ipv4Cidr: bgp?.ipv4Address,
    ipv6: hostOf(bgp?.ipv6Address),
    ipv6Cidr: bgp?.ipv6Address,
    asNumber: bgp?.asNumber,
    rrClusterId: bgp?.routeReflectorClusterID ?? '',
    listenPort,
    wireguardV4: node.spec.wireguard?.interfaceIPv4Address,
    wireguardV6: node.spec.wireguard?.interfaceIPv6Address,
  };
}

export function nodeIp(n: NodeInfo, family: IpFamily): string | undefined {
  return family === 4 ? n.ipv4 : n.ipv6;
}

/** The node's port for incoming BGP: its own listenPort, else the global one, else 0 (default). */
export function nodePort(cluster: Cluster, n: NodeInfo): number {
  return n.listenPort ?? cluster.globalListenPort ?? 0;
}

function nodesMatching(cluster: Cluster, selector: string): NodeInfo[] {
  const parsed = parseSelector(selector);
  return parsed.ok ? cluster.nodes.filter((n) => parsed.value.matches(n.labels)) : [];
}

/** Calico nodes with this address (either family), AS (0 = global) and, when given, listen port. */
function nodesWithIpPortAndAs(cluster: Cluster, ip: string, asNumber: number, port: number): NodeInfo[] {
  const wantAs = asNumber === 0 ? cluster.globalAs : asNumber;
  return cluster.nodes.filter((n) => {
    if (n.ipv4 !== ip && n.ipv6 !== ip) return false;
    if ((n.asNumber ?? cluster.globalAs) !== wantAs) return false;
    if (port !== 0) {
      if (n.listenPort !== undefined && n.listenPort !== port) return false;
      if (
        n.listenPort === undefined &&
        cluster.globalListenPort !== undefined &&
        cluster.globalListenPort !== port
      ) {
        return false;
      }
    }
    return true;
  });
}

function nodeAsPeerings(
  cluster: Cluster,
  n: NodeInfo,
  families: readonly IpFamily[],
  scope: Peering['scope'],
  r: BGPPeer,
): Peering[] {
  return families.flatMap((family) => {
    const ip = nodeIp(n, family);
    if (ip === undefined) return [];
    return [
      {
        scope,
        ip,
        family,
        port: nodePort(cluster, n),
        asNumber: n.asNumber ?? cluster.globalAs,
        rrClusterId: n.rrClusterId,
        calicoNode: true,
        sourceName: r.metadata.name,
        source: r.spec,
      },
    ];
  });
}

function explicitPeering(cluster: Cluster, scope: Peering['scope'], r: BGPPeer): Peering | undefined {
  const spec = r.spec;
  const addr = parsePeerIP(spec.peerIP ?? '');
  if (addr === undefined) return undefined;
  const given = spec.asNumber ?? 0;
  let port = addr.port ?? 0;
  if (port === 0) {
    // A peer that is a Calico node is reached on that node's listen port.
    const first = nodesWithIpPortAndAs(cluster, addr.ip, given, 0)[0];
    if (first !== undefined) port = nodePort(cluster, first);
  }
  const owner = cluster.nodes.find((n) => n.ipv4 === addr.ip || n.ipv6 === addr.ip);
  const calicoNode = owner !== undefined;
  // Without an asNumber the peer is taken to be in the AS Calico matches it against (its own, or the default).
  const asNumber = given !== 0 ? given : (owner?.asNumber ?? cluster.globalAs);
  return {
    scope,
    ip: addr.ip,
    family: addr.family,
    port,
    asNumber,
    rrClusterId: '',
    calicoNode,
    sourceName: r.metadata.name,
    source: spec,
  };
}

function isGlobal(spec: BGPPeerSpec): boolean {
  return (spec.node ?? '') === '' && (spec.nodeSelector ?? '') === '';
}

function appliesTo(cluster: Cluster, spec: BGPPeerSpec, me: NodeInfo): boolean {
  if ((spec.nodeSelector ?? '') !== '') return nodesMatching(cluster, spec.nodeSelector ?? '').includes(me);
  return spec.node === me.name;
}

function forwardPeerings(cluster: Cluster, r: BGPPeer, scope: Peering['scope']): Peering[] {
  const spec = r.spec;
  if ((spec.localWorkloadSelector ?? '') !== '') return []; // local workload peers need endpoints: not modelled
  if ((spec.peerSelector ?? '') !== '') {
    return nodesMatching(cluster, spec.peerSelector ?? '').flatMap((n) =>
      nodeAsPeerings(cluster, n, [4, 6], scope, r),
    );
  }
  const p = explicitPeering(cluster, scope, r);
  return p === undefined ? [] : [p];
}

/** Reverse peerings for `me`: `me` is the remote end of this BGPPeer, so peer back with its local nodes. */
function reversePeerings(cluster: Cluster, r: BGPPeer, me: NodeInfo): Peering[] {
  const spec = r.spec;
  if (spec.reversePeering === 'Manual' || (spec.localWorkloadSelector ?? '') !== '') return [];
  let remote: NodeInfo[];
  let families: IpFamily[];
  if ((spec.peerSelector ?? '') !== '') {
    remote = nodesMatching(cluster, spec.peerSelector ?? '');
    families = [4, 6];
  } else {
    const addr = parsePeerIP(spec.peerIP ?? '');
    if (addr === undefined) return [];
    remote = nodesWithIpPortAndAs(cluster, addr.ip, spec.asNumber ?? 0, addr.port ?? 0);
    families = [addr.family];
  }
  if (!remote.includes(me)) return [];
  let locals: NodeInfo[];
  if ((spec.nodeSelector ?? '') !== '') locals = nodesMatching(cluster, spec.nodeSelector ?? '');
  else if ((spec.node ?? '') !== '') locals = cluster.nodes.filter((n) => n.name === spec.node);
  else locals = [...cluster.nodes];
  return locals.flatMap((n) => nodeAsPeerings(cluster, n, families, 'node', r));
}

/** The global and node-specific peerings of `me`, each list in emission order. */
export function computePeerings(cluster: Cluster, bgpPeers: readonly BGPPeer[], me: NodeInfo): Peering[] {
  const sorted = [...bgpPeers].sort((a, b) =>
    a.metadata.name < b.metadata.name ? -1 : a.metadata.name > b.metadata.name ? 1 : 0,
  );
  const out = new Map<string, Peering>();
  const key = (scope: string, p: Peering): string => `${scope}|${p.ip}|${p.port}`;
  const emit = (p: Peering): void => {
    if (out.has(key(p.scope, p))) return;
    if (p.scope === 'node' && out.has(key('global', p))) return;
    out.set(key(p.scope, p), p);
  };
  for (const r of sorted) {
    if (isGlobal(r.spec)) forwardPeerings(cluster, r, 'global').forEach(emit);
  }
  for (const r of sorted) {
    if (!isGlobal(r.spec) && appliesTo(cluster, r.spec, me))
      forwardPeerings(cluster, r, 'node').forEach(emit);
  }
  for (const r of sorted) reversePeerings(cluster, r, me).forEach(emit);
  return [...out.values()];
}

/** The network form of a node address given with a prefix length (`10.0.0.0/24`), else undefined. */
export function subnetOf(cidr: string | undefined): string | undefined {
  if (cidr === undefined || !cidr.includes('/')) return undefined;
  const c = parseCidr(cidr);
  return c === undefined ? undefined : formatCidr(c);
}
