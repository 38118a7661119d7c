/** Felix's failsafe ports as the evaluator sees them: protocol number and port. */

export interface FailsafePort {
  readonly protocol: number;
  readonly port: number;
}

/** Felix's default failsafe ports (reference §1.13). */
export const DEFAULT_FAILSAFE_INBOUND: readonly FailsafePort[] = [
  { protocol: 6, port: 22 },
  { protocol: 17, port: 68 },
  { protocol: 6, port: 179 },
  { protocol: 6, port: 2379 },
  { protocol: 6, port: 2380 },
  { protocol: 6, port: 5473 },
  { protocol: 6, port: 6443 },
  { protocol: 6, port: 6666 },
  { protocol: 6, port: 6667 },
];
export const DEFAULT_FAILSAFE_OUTBOUND: readonly FailsafePort[] = [
  { protocol: 17, port: 53 },
  { protocol: 17, port: 67 },
  { protocol: 6, port: 179 },
  { protocol: 6, port: 2379 },
  { protocol: 6, port: 2380 },
  { protocol: 6, port: 5473 },
  { protocol: 6, port: 6443 },
  { protocol: 6, port: 6666 },
  { protocol: 6, port: 6667 },
];

/**
 * The failsafe port a packet matches in Felix's failsafe chain for `dir` (cali-failsafe-in / -out): its
 * destination port among that direction's ports. The raw table's chains also let through the replies of
 * the other direction's failsafe connections (source port among the other direction's ports), since they
 * run before conntrack.
 */
export function failsafeHit(
  ports: { readonly inbound: readonly FailsafePort[]; readonly outbound: readonly FailsafePort[] },
  dir: 'ingress' | 'egress',
  packet: { readonly protocol: number; readonly src: { port?: number }; readonly dst: { port?: number } },
  raw: boolean,
): FailsafePort | undefined {
  const [own, other] = dir === 'ingress' ? [ports.inbound, ports.outbound] : [ports.outbound, ports.inbound];
  const hit = own.find((f) => f.protocol === packet.protocol && f.port === packet.dst.port);
  if (hit !== undefined || !raw) return hit;
  return other.find((f) => f.protocol === packet.protocol && f.port === packet.src.port);
}
