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
