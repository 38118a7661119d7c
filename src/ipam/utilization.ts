/**
 * Address usage per pool and per block, as `calicoctl ipam show` reports it (Calico's GetUtilization): capacity,
 * in use (cooling addresses included), reserved (an address allocated before it was reserved counts in both),
 * free and cooling. Blocks outside every pool are grouped under a pseudo-pool without a CIDR. Pure.
 */
import type { IPAMBlockSpec } from '../api/v3/ipam-block.js';
import {
  type Cidr,
  cidrContains,
  cidrCovers,
  cidrsOverlap,
  familyBits,
  formatCidr,
  parseCidr,
} from '../lib/net/ip.js';
import { blockUsage } from './block-report.js';
import type { PoolInfo } from './store.js';

export interface BlockUtilization {
  readonly cidr: string;
  readonly capacity: number;
  readonly inUse: number;
  readonly reserved: number;
  readonly free: number;
  readonly cooling: number;
}

export interface PoolUtilization {
  /** Empty for the group of blocks outside every pool. */
  readonly name: string;
  /** Undefined for the group of blocks outside every pool. */
  readonly cidr: string | undefined;
  readonly capacity: number;
  readonly inUse: number;
  readonly reserved: number;
  readonly free: number;
  readonly cooling: number;
  readonly blocks: BlockUtilization[];
}

function size(c: Cidr): bigint {
  return 1n << BigInt(familyBits(c.family) - c.prefix);
}

/** Number of addresses of `pool` covered by the union of `reservations`. */
export function reservedInPool(pool: Cidr, reservations: readonly Cidr[]): bigint {
  const clipped = reservations
    .filter((r) => cidrsOverlap(r, pool))
    .map((r) => (cidrCovers(r, pool) ? pool : r))
    .sort((a, b) => a.prefix - b.prefix);
  const kept: Cidr[] = [];
  for (const r of clipped) if (!kept.some((k) => cidrCovers(k, r))) kept.push(r);
  return kept.reduce((sum, r) => sum + size(r), 0n);
}

function compareCidr(a: string, b: string): number {
  const x = parseCidr(a);
  const y = parseCidr(b);
  if (x === undefined || y === undefined) return a < b ? -1 : a > b ? 1 : 0;
  if (x.family !== y.family) return x.family - y.family;
  return x.network < y.network ? -1 : x.network > y.network ? 1 : x.prefix - y.prefix;
}

function blockRow(
  spec: IPAMBlockSpec,
  reservations: readonly Cidr[],
): BlockUtilization & { reservedInUse: number } {
  const u = blockUsage(spec, (ip) => reservations.some((r) => cidrContains(r, ip)));
  return {
    cidr: spec.cidr,
    capacity: u.capacity,
    inUse: u.inUse,
    reserved: u.reserved,
    free: u.free,
    cooling: u.cooling,
    reservedInUse: u.reservedInUse,
  };
}

function publicRow(r: BlockUtilization): BlockUtilization {
  return {
    cidr: r.cidr,
    capacity: r.capacity,
    inUse: r.inUse,
    reserved: r.reserved,
    free: r.free,
    cooling: r.cooling,
  };
}

export function utilization(
  pools: readonly PoolInfo[],
  blocks: readonly IPAMBlockSpec[],
  reservations: readonly Cidr[],
): PoolUtilization[] {
  const sorted = [...blocks].sort((a, b) => compareCidr(a.cidr, b.cidr));
  const claimed = new Set<string>();
  const out: PoolUtilization[] = [];
  for (const pool of pools) {
    const rows = sorted
      .filter((b) => {
        const c = parseCidr(b.cidr);
        return c !== undefined && cidrCovers(pool.cidr, c) && !claimed.has(b.cidr);
      })
      .map((b) => {
        claimed.add(b.cidr);
        return blockRow(b, reservations);
      });
    const capacity = Number(size(pool.cidr));
    const inUse = rows.reduce((s, r) => s + r.inUse, 0);
    const reservedInUse = rows.reduce((s, r) => s + r.reservedInUse, 0);
    const reserved = Number(reservedInPool(pool.cidr, reservations));
    out.push({
      name: pool.name,
      cidr: formatCidr(pool.cidr),
      capacity,
      inUse,
      reserved,
      free: capacity - inUse - (reserved - reservedInUse),
      cooling: rows.reduce((s, r) => s + r.cooling, 0),
      blocks: rows.map(publicRow),
    });
  }
  const orphans = sorted.filter((b) => !claimed.has(b.cidr)).map((b) => blockRow(b, reservations));
  if (orphans.length > 0) {
    const sum = (k: 'capacity' | 'inUse' | 'reserved' | 'free' | 'cooling'): number =>
      orphans.reduce((s, r) => s + r[k], 0);
    out.push({
      name: '',
      cidr: undefined,
      capacity: sum('capacity'),
      inUse: sum('inUse'),
      reserved: sum('reserved'),
      free: sum('free'),
      cooling: sum('cooling'),
      blocks: orphans.map(publicRow),
    });
  }
  return out;
}
