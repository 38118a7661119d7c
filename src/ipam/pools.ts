/**
 * Which pools a request may use (reference §7.3 AutoAssign step 1 filters) and how a host walks a pool's
 * blocks when it claims a new one: a deterministic pseudo-random start derived from the host name, then
 * sequentially with wrap-around, so retries revisit the same blocks in the same order and different hosts
 * spread out instead of fighting over the first block.
 */
import { createHash } from 'node:crypto';
import type { IPPoolAllowedUse } from '../api/v3/ip-pool.js';
import { type Labels, parseSelector } from '../api/selector/index.js';
import {
  type Cidr,
  type IpAddr,
  type IpFamily,
  cidrContains,
  familyBits,
  formatCidr,
  maskOf,
  parseCidr,
} from '../lib/net/ip.js';
import { err, ok, type Result } from '../lib/result.js';
import type { PoolInfo } from './store.js';

export interface PoolRequest {
  readonly family: IpFamily;
  readonly intendedUse: IPPoolAllowedUse;
  /** The node's labels, matched against each pool's nodeSelector. */
  readonly nodeLabels: Labels;
  /** The namespace's labels, when the request is for a namespaced workload. */
  readonly namespaceLabels?: Labels | undefined;
  /** Pool names or CIDRs the caller asked for; when absent, every eligible automatic pool. */
  readonly requested?: readonly string[] | undefined;
}

function selectorMatches(selector: string | undefined, labels: Labels | undefined): boolean {
  if (selector === undefined || selector.trim() === '') return true;
  if (labels === undefined) return false;
  const parsed = parseSelector(selector);
  return parsed.ok && parsed.value.matches(labels);
}

/** True when the pool may serve the request (ignoring whether it was explicitly requested). */
function qualifies(pool: PoolInfo, req: PoolRequest): boolean {
  const uses = pool.spec.allowedUses ?? [];
  return (
    pool.cidr.family === req.family &&
    pool.spec.disabled !== true &&
    pool.allocatable &&
    uses.includes(req.intendedUse) &&
    selectorMatches(pool.spec.nodeSelector, req.nodeLabels) &&
    (pool.spec.namespaceSelector === undefined ||
      selectorMatches(pool.spec.namespaceSelector, req.namespaceLabels))
  );
}

function sameCidr(text: string, pool: PoolInfo): boolean {
  const c = parseCidr(text);
  return (
    c !== undefined &&
    c.family === pool.cidr.family &&
    c.prefix === pool.cidr.prefix &&
    c.network === pool.cidr.network
  );
}

/**
 * The pools a request may allocate from, in name order. An explicitly requested pool must exist and be enabled
 * (an error otherwise); `Manual` pools are used only when requested.
 */
export function selectPools(all: readonly PoolInfo[], req: PoolRequest): Result<PoolInfo[], string> {
  if (req.requested !== undefined && req.requested.length > 0) {
    const chosen: PoolInfo[] = [];
    for (const want of req.requested) {
      const pool = all.find((p) => p.name === want || sameCidr(want, p));
      if (pool === undefined) return err(`the requested pool ${JSON.stringify(want)} does not exist`);
      if (pool.spec.disabled === true) return err(`the requested pool ${JSON.stringify(want)} is disabled`);
      if (pool.cidr.family !== req.family) continue;
      if (qualifies(pool, req) && !chosen.includes(pool)) chosen.push(pool);
    }
    return ok(chosen);
  }
  return ok(all.filter((p) => p.spec.assignmentMode !== 'Manual' && qualifies(p, req)));
}

/** The pool containing `ip`, if any. */
export function poolFor(pools: readonly PoolInfo[], ip: IpAddr): PoolInfo | undefined {
  return pools.find((p) => cidrContains(p.cidr, ip));
}

/** The block of `pool` that contains `ip`. */
export function blockCidrFor(pool: PoolInfo, ip: IpAddr): Cidr {
  const prefix = pool.spec.blockSize ?? pool.cidr.prefix;
  return { family: ip.family, network: ip.value & maskOf(ip.family, prefix), prefix };
}

function hostSeed(host: string): bigint {
  return createHash('sha256').update(host).digest().readBigUInt64BE(0);
}

/**
 * The pool's block CIDRs in the host's walk order, lazily (an IPv6 pool can hold 2^58 blocks): start at a
 * host-derived index, then ascend with wrap-around. At most `limit` candidates are produced.
 */
export function* blockWalk(pool: PoolInfo, host: string, limit: number): Generator<string> {
  const bits = familyBits(pool.cidr.family);
  const blockSize = pool.spec.blockSize ?? pool.cidr.prefix;
  if (blockSize < pool.cidr.prefix) return;
  const count = 1n << BigInt(blockSize - pool.cidr.prefix);
  const step = 1n << BigInt(bits - blockSize);
  const start = hostSeed(host) % count;
  const n = BigInt(limit) < count ? BigInt(limit) : count;
  for (let i = 0n; i < n; i++) {
    const index = (start + i) % count;
    yield formatCidr({
      family: pool.cidr.family,
      network: pool.cidr.network + index * step,
      prefix: blockSize,
    });
  }
}

/** A deterministic shuffle (seeded by host), used to spread borrowing over blocks. */
export function seededShuffle<T>(items: readonly T[], host: string): T[] {
  const out = [...items];
  let state = hostSeed(host) | 1n;
  for (let i = out.length - 1; i > 0; i--) {
    state = (state * 6364136223846793005n + 1442695040888963407n) & ((1n << 64n) - 1n);
    const j = Number((state >> 33n) % BigInt(i + 1));
    const tmp = out[i] as T;
    out[i] = out[j] as T;
    out[j] = tmp;
  }
  return out;
}
