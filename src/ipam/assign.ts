/**
 * AutoAssign for one address family (reference §7.3), in Calico's order:
 *
 *   1. free addresses in the host's own blocks (resuming any claim of the host left pending);
 *   2. claim new blocks (host-seeded walk over the pools; an empty block of another host whose claim is older
 *      than a minute may be taken over) while `autoAllocateBlocks` and the host is below its block limit;
 *   3. unless `strictAffinity`, borrow free addresses from any other block of the pools.
 *
 * Each block write is compare-and-swap with bounded retries; the handle is incremented before the block is
 * written and decremented again when that write loses. Addresses are appended to the caller's `got` list as
 * they are committed, so a failing caller can roll back exactly what was assigned.
 */
import type { IPAMBlockSpec } from '../api/v3/ipam-block.js';
import { type IpAddr, type IpFamily, cidrContains, formatIp, parseCidr } from '../lib/net/ip.js';
import {
  type AffinityDeps,
  claimBlock,
  hostAffinities,
  hostAffinity,
  releaseAffinity,
  withBlockLock,
} from './affinity.js';
import {
  type IsReserved,
  autoAssign,
  bumpSequence,
  freeCount,
  garbageCollect,
  isBlockEmpty,
  ordinalToIp,
  blockCidr,
} from './block.js';
import { IpamError, isIpamError } from './errors.js';
import { decrementHandle, incrementHandle } from './handles.js';
import { WINDOWS_RESERVED_HANDLE } from './names.js';
import { blockWalk, seededShuffle } from './pools.js';
import { type PoolInfo, type Stored, withCasRetries } from './store.js';

/** An assigned address: the address and the block-masked CIDR Calico returns (`10.0.0.5/26`). */
export interface AssignedAddress {
  readonly ip: string;
  readonly cidr: string;
  readonly block: string;
}

export interface ResolvedConfig {
  readonly strictAffinity: boolean;
  readonly autoAllocateBlocks: boolean;
  /** 0 = default limit. */
  readonly maxBlocksPerHost: number;
  readonly ipCooldownSeconds: number;
}

export interface AssignContext extends AffinityDeps {
  readonly config: ResolvedConfig;
  readonly isReserved: IsReserved;
}

export interface FamilyRequest {
  readonly family: IpFamily;
  readonly num: number;
  readonly host: string;
  readonly handleId: string | undefined;
  readonly attrs: Readonly<Record<string, string>>;
  readonly pools: readonly PoolInfo[];
  /** Request-level block limit (0 = none). */
  readonly maxBlocksPerHost: number;
}

/** Calico's default block limit when neither the config nor the request sets one. */
export const DEFAULT_MAX_BLOCKS_PER_HOST = 20;
/** An empty block of another host may be taken over once its claim is this old. */
export const EMPTY_BLOCK_RECLAIM_AGE_MS = 60_000;

export function blockLimit(configured: number, requested: number): number {
  const set = [configured, requested].filter((n) => n > 0);
  return set.length === 0 ? DEFAULT_MAX_BLOCKS_PER_HOST : Math.min(...set);
}

function inPools(pools: readonly PoolInfo[], cidr: string): boolean {
  const c = parseCidr(cidr);
  return c !== undefined && pools.some((p) => cidrContains(p.cidr, { family: c.family, value: c.network }));
}

function assigned(spec: IPAMBlockSpec, ordinal: number): AssignedAddress {
  const cidr = blockCidr(spec);
  const ip: IpAddr = ordinalToIp(cidr, ordinal);
  const text = formatIp(ip.family, ip.value);
  return { ip: text, cidr: `${text}/${cidr.prefix}`, block: spec.cidr };
}

/**
 * Assigns up to `want` addresses from one block. With `affinityCheck`, only while the block is still the
 * host's. Returns the addresses committed (possibly none).
 *
 * The handle is incremented before the first block write and only adjusted when a retry assigns a different
 * number of addresses, so a contended block costs one handle write, not one per attempt; if nothing is
 * assigned in the end the increment is given back.
 */
export async function assignFromBlock(
  ctx: AssignContext,
  req: FamilyRequest,
  cidr: string,
  want: number,
  affinityCheck: boolean,
): Promise<AssignedAddress[]> {
  return withBlockLock(ctx, cidr, () => assignFromBlockLocked(ctx, req, cidr, want, affinityCheck));
}

async function assignFromBlockLocked(
  ctx: AssignContext,
  req: FamilyRequest,
  cidr: string,
  want: number,
  affinityCheck: boolean,
): Promise<AssignedAddress[]> {
  const handle = new HandleCounter(ctx, req.handleId, cidr);
  try {
    const out = await withCasRetries(
      `assign from block ${cidr}`,
      async () => {
        const block = await ctx.store.getBlock(cidr);
        if (block === undefined || block.spec.deleted === true) return [];
        if (affinityCheck && block.spec.affinity !== hostAffinity(req.host)) return [];
        const collected = garbageCollect(block.spec, ctx.now(), ctx.config.ipCooldownSeconds).spec;
        const r = autoAssign(collected, {
          num: want,
          handleId: req.handleId,
          attrs: req.attrs,
          isReserved: ctx.isReserved,
        });
        if (r.ordinals.length === 0) return [];
        await handle.set(r.ordinals.length);
        await ctx.store.updateBlock(block, bumpSequence(r.spec));
        return r.ordinals.map((o) => assigned(r.spec, o));
      },
      ctx.retry,
    );
    await handle.set(out.length);
    return out;
  } catch (e) {
    await handle.set(0);
    throw e;
  }
}

/** The handle count this request has added for one block, kept equal to what is (about to be) written. */
class HandleCounter {
  readonly #ctx: AffinityDeps;
  readonly #handleId: string | undefined;
  readonly #cidr: string;
  #count = 0;

  constructor(ctx: AffinityDeps, handleId: string | undefined, cidr: string) {
    this.#ctx = ctx;
    this.#handleId = handleId;
    this.#cidr = cidr;
  }

  async set(count: number): Promise<void> {
    if (this.#handleId === undefined || count === this.#count) return;
    const { store, retry } = this.#ctx;
    if (count > this.#count)
      await incrementHandle(store, retry, this.#handleId, this.#cidr, count - this.#count);
    else await decrementHandle(store, retry, this.#handleId, this.#cidr, this.#count - count);
    this.#count = count;
  }
}

/** Increments the handle, then writes the block; a lost write gives the handle's count back. */
export async function writeWithHandle(
  ctx: AffinityDeps,
  prev: Stored<IPAMBlockSpec>,
  next: IPAMBlockSpec,
  handleId: string | undefined,
  count: number,
): Promise<void> {
  if (handleId !== undefined) await incrementHandle(ctx.store, ctx.retry, handleId, prev.spec.cidr, count);
  try {
    await ctx.store.updateBlock(prev, next);
  } catch (e) {
    if (handleId !== undefined) await decrementHandle(ctx.store, ctx.retry, handleId, prev.spec.cidr, count);
    throw e;
  }
}

async function fromOwnBlocks(ctx: AssignContext, req: FamilyRequest, got: AssignedAddress[]): Promise<void> {
  const mine = (await hostAffinities(ctx.store, req.host, req.family)).filter((a) =>
    inPools(req.pools, a.spec.cidr),
  );
  const cidrs = mine.map((a) => a.spec.cidr).sort();
  for (const cidr of cidrs) {
    if (got.length >= req.num) return;
    const a = mine.find((m) => m.spec.cidr === cidr);
    if (a?.spec.state === 'pendingDeletion') continue;
    // A pending affinity of this host is a claim that was interrupted (or is running right now): complete it.
    if (a?.spec.state !== 'confirmed' && (await claimBlock(ctx, req.host, cidr)) !== 'claimed') continue;
    got.push(...(await assignFromBlock(ctx, req, cidr, req.num - got.length, true)));
  }
}

/** The first block in the host's walk order that no block and no other host's affinity occupies. */
async function findUnclaimedBlock(ctx: AssignContext, req: FamilyRequest): Promise<string | undefined> {
  const { items: blocks } = await ctx.store.listBlocks();
  const { items: affinities } = await ctx.store.listAffinities();
  const taken = new Set([...blocks.map((b) => b.spec.cidr), ...affinities.map((a) => a.spec.cidr)]);
  for (const pool of req.pools) {
    for (const cidr of blockWalk(pool, req.host, taken.size + 1)) {
      if (!taken.has(cidr)) return cidr;
    }
  }
  return undefined;
}

/** An empty block of another host, claimed more than a minute ago, that can be taken over. */
async function findReclaimableBlock(
  ctx: AssignContext,
  req: FamilyRequest,
): Promise<Stored<IPAMBlockSpec> | undefined> {
  const { items } = await ctx.store.listBlocks();
  const now = ctx.now();
  return items.find((b) => {
    const owner = b.spec.affinity;
    const claimed = Date.parse(b.spec.affinityClaimTime ?? '');
    return (
      owner !== undefined &&
      owner.startsWith('host:') &&
      owner !== hostAffinity(req.host) &&
      inPools(req.pools, b.spec.cidr) &&
      parseCidr(b.spec.cidr)?.family === req.family &&
      isBlockEmpty(b.spec, WINDOWS_RESERVED_HANDLE) &&
      !Number.isNaN(claimed) &&
      now - claimed >= EMPTY_BLOCK_RECLAIM_AGE_MS
    );
  });
}

async function nextBlockToClaim(ctx: AssignContext, req: FamilyRequest): Promise<string | undefined> {
  const free = await findUnclaimedBlock(ctx, req);
  if (free !== undefined) return free;
  const reclaim = await findReclaimableBlock(ctx, req);
  if (reclaim === undefined) return undefined;
  const owner = (reclaim.spec.affinity ?? '').slice('host:'.length);
  try {
    await releaseAffinity(ctx, owner, reclaim.spec.cidr, true);
  } catch (e) {
    if (!isIpamError(e, 'blockNotEmpty')) throw e;
    return undefined;
  }
  return reclaim.spec.cidr;
}

/**
 * Fills from the host's blocks, claiming a new one whenever they are full. Own blocks are re-read every round:
 * a concurrent request of the same host may have just claimed a block with room in it.
 */
async function fromOwnOrNewBlocks(
  ctx: AssignContext,
  req: FamilyRequest,
  got: AssignedAddress[],
): Promise<void> {
  const limit = blockLimit(ctx.config.maxBlocksPerHost, req.maxBlocksPerHost);
  // Each round fills from own blocks or claims one; the bound only guards against livelock.
  for (let round = 0; round < limit * 4 + 8; round++) {
    await fromOwnBlocks(ctx, req, got);
    if (got.length >= req.num || !ctx.config.autoAllocateBlocks) return;
    const owned = await hostAffinities(ctx.store, req.host, req.family);
    if (owned.filter((a) => a.spec.state !== 'pendingDeletion').length >= limit) return;
    const cidr = await nextBlockToClaim(ctx, req);
    if (cidr === undefined) return;
    if ((await claimBlock(ctx, req.host, cidr)) !== 'claimed') continue;
    got.push(...(await assignFromBlock(ctx, req, cidr, req.num - got.length, true)));
    if (got.length >= req.num) return;
  }
}

async function fromBorrowedBlocks(
  ctx: AssignContext,
  req: FamilyRequest,
  got: AssignedAddress[],
): Promise<void> {
  const { items } = await ctx.store.listBlocks();
  const candidates = items.filter(
    (b) =>
      b.spec.affinity !== hostAffinity(req.host) &&
      inPools(req.pools, b.spec.cidr) &&
      freeCount(b.spec, ctx.isReserved) > 0,
  );
  for (const b of seededShuffle(candidates, req.host)) {
    if (got.length >= req.num) return;
    got.push(...(await assignFromBlock(ctx, req, b.spec.cidr, req.num - got.length, false)));
  }
}

/** Assigns `req.num` addresses of one family, appending to `got`; throws `exhausted` when it cannot. */
export async function assignFamily(
  ctx: AssignContext,
  req: FamilyRequest,
  got: AssignedAddress[],
): Promise<void> {
  const start = got.length;
  const mine: AssignedAddress[] = [];
  try {
    await fromOwnOrNewBlocks(ctx, req, mine);
    if (mine.length < req.num && !ctx.config.strictAffinity) await fromBorrowedBlocks(ctx, req, mine);
  } finally {
    got.splice(start, 0, ...mine);
  }
  if (mine.length < req.num) {
    throw new IpamError(
      'exhausted',
      `cannot assign ${req.num} IPv${req.family} address(es) for host ${JSON.stringify(req.host)}: ` +
        `only ${mine.length} available (pools likely exhausted${ctx.config.strictAffinity ? ', or block limit reached with strict affinity' : ''})`,
    );
  }
}
