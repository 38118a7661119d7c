/**
 * Read-only views of a block for reporting: usage counts (`ipam show`) and structural checks (`ipam check`).
 * Pure.
 */
import type { IPAMBlockSpec } from '../api/v3/ipam-block.js';
import { parseCidr } from '../lib/net/ip.js';
import { type IsReserved, blockCidr, numAddresses, ordinalToIp } from './block.js';

const NOTHING_RESERVED: IsReserved = () => false;

export interface BlockUsage {
  readonly capacity: number;
  /** Allocated ordinals, including those cooling down. */
  readonly inUse: number;
  /** Addresses covered by reservations (an allocated one counts here and in `inUse`). */
  readonly reserved: number;
  /** Reserved addresses that are nevertheless allocated (allocated before the reservation). */
  readonly reservedInUse: number;
  readonly free: number;
  readonly cooling: number;
}

export function blockUsage(spec: IPAMBlockSpec, isReserved: IsReserved = NOTHING_RESERVED): BlockUsage {
  const cidr = blockCidr(spec);
  const capacity = numAddresses(cidr);
  let inUse = 0;
  let reserved = 0;
  let reservedInUse = 0;
  let cooling = 0;
  let free = 0;
  for (let o = 0; o < capacity; o++) {
    const idx = spec.allocations[o] ?? null;
    const r = isReserved(ordinalToIp(cidr, o));
    if (r) reserved++;
    if (idx !== null) {
      inUse++;
      if (r) reservedInUse++;
      if (spec.attributes[idx]?.releasedAt !== undefined) cooling++;
    } else if (!r) {
      free++;
    }
  }
  return { capacity, inUse, reserved, reservedInUse, free, cooling };
}

/** Structural problems that make a block unusable or unsafe; empty when the block is consistent. */
export function blockProblems(spec: IPAMBlockSpec): string[] {
  const c = parseCidr(spec.cidr);
  if (c === undefined) return [`CIDR ${JSON.stringify(spec.cidr)} does not parse`];
  const problems: string[] = [];
  const n = numAddresses(c);
  if (c.hostBitsSet) problems.push(`CIDR ${spec.cidr} has host bits set`);
  if (spec.allocations.length !== n) {
    problems.push(`has ${spec.allocations.length} allocation slots, expected ${n}`);
  }
  spec.allocations.forEach((idx, o) => {
    if (idx !== null && (idx < 0 || idx >= spec.attributes.length)) {
      problems.push(`ordinal ${o} refers to missing attribute ${idx}`);
    }
  });
  const seen = new Set<number>();
  for (const o of spec.unallocated) {
    if (o < 0 || o >= n) problems.push(`free list holds out-of-range ordinal ${o}`);
    else if (seen.has(o)) problems.push(`free list holds ordinal ${o} twice`);
    else if (spec.allocations[o] !== null) problems.push(`ordinal ${o} is both allocated and free`);
    seen.add(o);
  }
  for (let o = 0; o < Math.min(n, spec.allocations.length); o++) {
    if (spec.allocations[o] === null && !seen.has(o))
      problems.push(`ordinal ${o} is neither allocated nor free`);
  }
  if (spec.affinity !== undefined && !/^(host|virtual):[a-zA-Z0-9._-]+$/.test(spec.affinity)) {
    problems.push(`invalid affinity ${JSON.stringify(spec.affinity)}`);
  }
  return problems;
}
