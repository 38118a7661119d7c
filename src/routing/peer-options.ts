/**
 * Peerings to BIRD sessions (confd's processMeshPeers and buildPeerFromData): protocol name, remote AS and
 * port, source address, TTL security, passive mode, graceful restart and keepalive times, password, next-hop
 * mode, `allow local as`, route-reflector clients and the BGPFilters to apply. Pure.
 */
import { durationSeconds } from '../api/v3/bgp-common.js';
import type { BGPConfigurationSpec } from '../api/v3/bgp-types.js';
import { peerProtocolName } from './names.js';
import { type Cluster, nodeIp, nodePort, type Peering } from './peers.js';
import type { BirdPeer, IpFamily, PasswordResolver, PeerType } from './types.js';

export interface PeerContext {
  readonly family: IpFamily;
  readonly myIp: string;
  readonly myAs: number;
  readonly myRrClusterId: string;
  readonly filterNames: ReadonlySet<string>;
  readonly resolvePassword: PasswordResolver;
}

const PREFIX: Readonly<Record<PeerType, string>> = { mesh: 'Mesh', global: 'Global', node: 'Node' };

function seconds(duration: string | undefined): number | undefined {
  return duration === undefined ? undefined : durationSeconds(duration);
}

function positive(n: number | undefined): number | undefined {
  return n !== undefined && n > 0 ? n : undefined;
}

/**
 * One session per other node with an address of this family, skipping route reflectors (they peer through
 * explicit BGPPeers). The side with the higher address (string order, as confd compares) is passive so that
 * only one TCP connection is attempted.
 */
export function buildMeshPeers(cluster: Cluster, ctx: PeerContext, global: BGPConfigurationSpec): BirdPeer[] {
  const ref = global.nodeMeshPassword?.secretKeyRef;
  const password = ref === undefined ? undefined : ctx.resolvePassword(ref);
  const restart = seconds(global.nodeMeshMaxRestartTime);
  return cluster.nodes.flatMap((n): BirdPeer[] => {
    const ip = nodeIp(n, ctx.family);
    if (ip === undefined || ip === ctx.myIp || n.rrClusterId !== '') return [];
    const asNumber = n.asNumber ?? cluster.globalAs;
    return [
      {
        name: peerProtocolName('Mesh', ip, undefined),
        type: 'mesh',
        ip,
        port: positive(nodePort(cluster, n)),
        asNumber,
        localAsNumber: undefined,
        sourceAddress: ctx.myIp,
        ttlSecurity: undefined,
        passive: ip > ctx.myIp,
        gracefulRestartTime: restart,
        keepaliveTime: undefined,
        password,
        nextHop: undefined,
        allowLocalAs: undefined,
        rrClusterId: undefined,
        filters: [],
        sameAs: asNumber === ctx.myAs,
      },
    ];
  });
}

/** A global or node-specific peering as a session; undefined for a peering to this node itself. */
export function buildPeer(p: Peering, type: PeerType, ctx: PeerContext): BirdPeer | undefined {
  if (p.ip === ctx.myIp) return undefined;
  const spec = p.source;
  const localAsNumber = positive(spec.localASNumber);
  const effectiveAs = localAsNumber ?? ctx.myAs;
  const sameAs = p.asNumber === effectiveAs;
  let nextHop: BirdPeer['nextHop'];
  if (spec.nextHopMode === 'Self') nextHop = 'self';
  else if (spec.nextHopMode === 'Keep') nextHop = 'keep';
  // The deprecated keepOriginalNextHop only changes eBGP sessions (iBGP keeps the next hop anyway).
  if (spec.keepOriginalNextHop === true && !sameAs) nextHop = 'keep';
  const rrClient = sameAs && ctx.myRrClusterId !== '' && p.rrClusterId !== ctx.myRrClusterId;
  const ref = spec.password?.secretKeyRef;
  return {
    name: peerProtocolName(PREFIX[type], p.ip, positive(p.port)),
    type,
    ip: p.ip,
    port: positive(p.port),
    asNumber: p.asNumber,
    localAsNumber,
    sourceAddress: (spec.sourceAddress ?? 'UseNodeIP') === 'UseNodeIP' ? ctx.myIp : undefined,
    ttlSecurity: positive(spec.ttlSecurity),
    // Calico-node peers reached through global BGPPeers get the same one-sided connect as the mesh.
    passive: type === 'global' && p.calicoNode && p.ip > ctx.myIp,
    gracefulRestartTime: seconds(spec.maxRestartTime),
    keepaliveTime: seconds(spec.keepaliveTime),
    password: ref === undefined ? undefined : ctx.resolvePassword(ref),
    nextHop,
    allowLocalAs: positive(spec.numAllowedLocalASNumbers),
    rrClusterId: rrClient ? ctx.myRrClusterId : undefined,
    filters: (spec.filters ?? []).filter((f) => ctx.filterNames.has(f)),
    sameAs,
  };
}
