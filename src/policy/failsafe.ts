/** Felix's failsafe ports as the evaluator sees them: protocol number and port. */

export interface FailsafePort {
  readonly protocol: number;
  readonly port: number;
}

/** The TCP ports of BGP, etcd, Typha and the Kubernetes API that Felix's defaults keep open both ways. */
const CONTROL_PLANE_TCP: readonly FailsafePort[] = [179, 2379, 2380, 5473, 6443, 6666, 6667].map((port) => ({
  protocol: 6,
  port,
}));

/** Felix's default failsafe ports (reference §1.13), in Felix's order. */
export const DEFAULT_FAILSAFE_INBOUND: readonly FailsafePort[] = [
  { protocol: 6, port: 22 },
  { protocol: 17, port: 68 },
  ...CONTROL_PLANE_TCP,
];
export const DEFAULT_FAILSAFE_OUTBOUND: readonly FailsafePort[] = [
  { protocol: 17, port: 53 },
  { protocol: 17, port: 67 },
  ...CONTROL_PLANE_TCP,
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
