/**
 * Peerings to BIRD sessions (confd's processMeshPeers and buildPeerFromData): protocol name, remote AS and
 * port, source address, TTL security, passive mode, graceful restart and keepalive times, password, next-hop
 * mode, `allow local as`, route-reflector clients and the BGPFilters to apply. A password that cannot be had
 * refuses the session (confd would run it without TCP-MD5): see PasswordProblem. Pure, apart from the
 * lookups in the given SecretSource.
 */
import { durationSeconds } from '../api/v3/bgp-common.js';
import type { BGPConfigurationSpec, SecretKeyRef } from '../api/v3/bgp-types.js';
import { peerProtocolName } from './names.js';
import { type Cluster, nodeIp, nodePort, type Peering } from './peers.js';
import type { SecretSource } from './secrets.js';
import type { BirdPeer, IpFamily, PasswordProblem, PeerType } from './types.js';

export interface PeerContext {
  readonly family: IpFamily;
  readonly myIp: string;
  readonly myAs: number;
  readonly myRrClusterId: string;
  readonly filterNames: ReadonlySet<string>;
  readonly secrets: SecretSource | undefined;
}

/** The kernel's limit on a TCP-MD5 key (TCP_MD5SIG_MAXKEYLEN). */
export const MAX_MD5_KEY_BYTES = 80;

/** A peering as BIRD gets it, or the reason it does not (or gets it without its password). */
export type BuiltPeer =
  | { readonly kind: 'peer'; readonly peer: BirdPeer; readonly problem?: PasswordProblem }
  | { readonly kind: 'refused'; readonly problem: PasswordProblem };

type PasswordLookup =
  | { readonly kind: 'none' }
  | { readonly kind: 'value'; readonly value: string }
  | {
      readonly kind: 'missing';
      readonly secret: string;
      readonly reason: string;
      readonly optional: boolean;
    };

/** Why BIRD and the kernel cannot use `value` as a TCP-MD5 password, or undefined when they can. */
export function checkPassword(value: string): string | undefined {
  if (value === '') return 'the password is empty';
  // BIRD strings have no escapes: a '"' or a line break cannot be written into its configuration.
  if (/["\r\n]/.test(value)) return `the password contains a '"' or a line break, which BIRD cannot accept`;
  if (Buffer.byteLength(value, 'utf8') > MAX_MD5_KEY_BYTES)
    return `the password is longer than ${MAX_MD5_KEY_BYTES} bytes, the kernel's limit for TCP-MD5 keys`;
  return undefined;
}

function lookupPassword(ref: SecretKeyRef | undefined, secrets: SecretSource | undefined): PasswordLookup {
  if (ref === undefined) return { kind: 'none' };
  const name = ref.name ?? '';
  const secret = `${name}/${ref.key}`;
  const missing = (reason: string): PasswordLookup => ({
    kind: 'missing',
    secret,
    reason,
    optional: ref.optional === true,
  });
  if (secrets === undefined) return missing('no secret source is configured');
  const r = secrets.get(name, ref.key);
  if (!r.ok) return missing(r.error);
  const bad = checkPassword(r.value);
  return bad === undefined ? { kind: 'value', value: r.value } : missing(`secret ${secret}: ${bad}`);
}

function withPassword(peer: BirdPeer, lookup: PasswordLookup, origin: string): BuiltPeer {
  switch (lookup.kind) {
    case 'none':
      return { kind: 'peer', peer };
    case 'value':
      return { kind: 'peer', peer: { ...peer, password: lookup.value } };
    case 'missing': {
      const problem: PasswordProblem = {
        outcome: lookup.optional ? 'unprotected' : 'refused',
        peer: peer.name,
        type: peer.type,
        ip: peer.ip,
        origin,
        secret: lookup.secret,
        reason: lookup.reason,
      };
      return lookup.optional ? { kind: 'peer', peer, problem } : { kind: 'refused', problem };
    }
  }
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
export function buildMeshPeers(
  cluster: Cluster,
  ctx: PeerContext,
  global: BGPConfigurationSpec,
): BuiltPeer[] {
  const password = lookupPassword(global.nodeMeshPassword?.secretKeyRef, ctx.secrets);
  const restart = seconds(global.nodeMeshMaxRestartTime);
  return cluster.nodes.flatMap((n): BuiltPeer[] => {
    const ip = nodeIp(n, ctx.family);
    if (ip === undefined || ip === ctx.myIp || n.rrClusterId !== '') return [];
    const asNumber = n.asNumber ?? cluster.globalAs;
    const peer: BirdPeer = {
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
      password: undefined,
      nextHop: undefined,
      allowLocalAs: undefined,
      rrClusterId: undefined,
      filters: [],
      sameAs: asNumber === ctx.myAs,
    };
    return [withPassword(peer, password, 'BGPConfiguration default nodeMeshPassword')];
  });
}

/** A global or node-specific peering as a session; undefined for a peering to this node itself. */
export function buildPeer(p: Peering, type: PeerType, ctx: PeerContext): BuiltPeer | undefined {
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
  const peer: BirdPeer = {
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
    password: undefined,
    nextHop,
    allowLocalAs: positive(spec.numAllowedLocalASNumbers),
    rrClusterId: rrClient ? ctx.myRrClusterId : undefined,
    filters: (spec.filters ?? []).filter((f) => ctx.filterNames.has(f)),
    sameAs,
  };
  return withPassword(
    peer,
    lookupPassword(spec.password?.secretKeyRef, ctx.secrets),
    `BGPPeer ${p.sourceName}`,
  );
}
