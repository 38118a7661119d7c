/**
 * Releasing addresses: by address (with optional handle and sequence-number preconditions, as Calico's
 * `ReleaseOptions`) or by handle. The block write comes first and the handle is decremented after it, so a
 * crash in between leaves a handle without addresses (reported by `ipam check`, deleted by `ipam release`).
 * Released addresses go into cooldown; the garbage collection folded into the same write frees those whose
 * cooldown has passed (all of them when `ipCooldownSeconds` is 0).
 */
import type { IPAMBlockSpec } from '../api/v3/ipam-block.js';
import { type IpAddr, formatIp, parseIp } from '../lib/net/ip.js';
import { type AffinityDeps, withBlockLock } from './affinity.js';
import {
  type ReleaseRequest,
  blockCidr,
  bumpSequence,
  garbageCollect,
  ipToOrdinal,
  ordinalToIp,
  ordinalsByHandle,
  releaseByHandle as releaseHandleInBlock,
  releaseOrdinals,
} from './block.js';
import { errorMessage } from '../lib/errors.js';
import { IpamError } from './errors.js';
import { decrementHandle } from './handles.js';
import { blockCidrFor, poolFor } from './pools.js';
import { type Stored, withCasRetries } from './store.js';

export interface ReleaseContext extends AffinityDeps {
  readonly cooldownSeconds: number;
}

/** Calico's ReleaseOptions: the address, and optionally the handle and sequence number it must still have. */
export interface ReleaseOptions {
  readonly address: string;
  readonly handle?: string | undefined;
  readonly sequenceNumber?: number | undefined;
}

export interface ReleaseIpsResult {
  readonly released: string[];
  /** Addresses that were not allocated (or already released): nothing was done for them. */
  readonly unallocated: string[];
}

function text(ip: IpAddr): string {
  return formatIp(ip.family, ip.value);
}

/** Finds the stored block holding `ip`: through its pool's block size, else by scanning the blocks. */
export async function findBlockFor(
  ctx: AffinityDeps,
  ip: IpAddr,
): Promise<Stored<IPAMBlockSpec> | undefined> {
  const pool = poolFor(await ctx.store.listPools(), ip);
  if (pool !== undefined) {
    const cidr = blockCidrFor(pool, ip);
    const block = await ctx.store.getBlock(
      `${text({ family: cidr.family, value: cidr.network })}/${cidr.prefix}`,
    );
    if (block !== undefined) return block;
  }
  const { items } = await ctx.store.listBlocks();
  return items.find((b) => ipToOrdinal(blockCidr(b.spec), ip) !== undefined);
}

interface BlockBatch {
  readonly cidr: string;
  readonly requests: { readonly ip: string; readonly req: ReleaseRequest }[];
}

function releaseInBlock(ctx: ReleaseContext, batch: BlockBatch): Promise<ReleaseIpsResult> {
  return withBlockLock(ctx, batch.cidr, () => releaseInBlockLocked(ctx, batch));
}

async function releaseInBlockLocked(ctx: ReleaseContext, batch: BlockBatch): Promise<ReleaseIpsResult> {
  const counts = await withCasRetries(
    `release from block ${batch.cidr}`,
    async () => {
      const block = await ctx.store.getBlock(batch.cidr);
      if (block === undefined) return { released: [], countByHandle: {} };
      const now = ctx.now();
      const before = garbageCollect(block.spec, now, ctx.cooldownSeconds).spec;
      const r = releaseOrdinals(
        before,
        batch.requests.map((x) => x.req),
        new Date(now).toISOString(),
      );
      if (!r.ok) {
        const f = r.error;
        const ip = text(ordinalToIp(blockCidr(block.spec), f.ordinal));
        throw new IpamError(
          'staleRelease',
          f.kind === 'badSequenceNumber'
            ? `refusing to release ${ip}: sequence number ${f.requested} does not match the allocation's ${f.expected}`
            : `refusing to release ${ip}: handle ${JSON.stringify(f.requested)} does not match ${JSON.stringify(f.expected)}`,
        );
      }
      if (r.value.released.length === 0) return { released: [], countByHandle: {} };
      const after = garbageCollect(r.value.spec, now, ctx.cooldownSeconds).spec;
      await ctx.store.updateBlock(block, bumpSequence(after));
      return { released: r.value.released, countByHandle: r.value.countByHandle };
    },
    ctx.retry,
  );
  for (const [handle, n] of Object.entries(counts.countByHandle)) {
    await decrementHandle(ctx.store, ctx.retry, handle, batch.cidr, n);
  }
  const releasedSet = new Set(counts.released);
  const released: string[] = [];
  const unallocated: string[] = [];
  for (const x of batch.requests) {
    (releasedSet.has(x.req.ordinal) ? released : unallocated).push(x.ip);
  }
  return { released, unallocated };
}

/**
 * Releases addresses, block by block. Every block is attempted; if some failed (stale sequence number or
 * handle, or too many conflicts) the first error is thrown after the others were processed.
 */
export async function releaseIps(
  ctx: ReleaseContext,
  options: readonly ReleaseOptions[],
): Promise<ReleaseIpsResult> {
  const batches = new Map<string, { cidr: string; requests: BlockBatch['requests'][number][] }>();
  const unallocated: string[] = [];
  for (const opt of options) {
    const ip = parseIp(opt.address);
    if (ip === undefined)
      throw new IpamError('notInPool', `invalid IP address ${JSON.stringify(opt.address)}`);
    const block = await findBlockFor(ctx, ip);
    const ordinal = block === undefined ? undefined : ipToOrdinal(blockCidr(block.spec), ip);
    if (block === undefined || ordinal === undefined) {
      unallocated.push(text(ip));
      continue;
    }
    const batch = batches.get(block.spec.cidr) ?? { cidr: block.spec.cidr, requests: [] };
    batch.requests.push({
      ip: text(ip),
      req: { ordinal, handle: opt.handle, sequenceNumber: opt.sequenceNumber },
    });
    batches.set(block.spec.cidr, batch);
  }
  const results = await Promise.allSettled([...batches.values()].map((b) => releaseInBlock(ctx, b)));
  const released: string[] = [];
  const failures: unknown[] = [];
  for (const r of results) {
    if (r.status === 'fulfilled') {
      released.push(...r.value.released);
      unallocated.push(...r.value.unallocated);
    } else {
      failures.push(r.reason);
    }
  }
  const [first] = failures;
  if (first !== undefined) throw first instanceof Error ? first : new Error(errorMessage(first));
  return { released, unallocated };
}

/** The blocks that may hold the handle's addresses: from its IPAMHandle, else by scanning every block. */
async function blocksOfHandle(
  ctx: AffinityDeps,
  handleId: string,
): Promise<{ cidrs: string[]; indexed: boolean }> {
  const handle = await ctx.store.getHandle(handleId);
  if (handle !== undefined) return { cidrs: Object.keys(handle.spec.block), indexed: true };
  const { items } = await ctx.store.listBlocks();
  return {
    cidrs: items.filter((b) => ordinalsByHandle(b.spec, handleId).length > 0).map((b) => b.spec.cidr),
    indexed: false,
  };
}

/** Releases every address of a handle; returns them. A handle without addresses releases nothing. */
export async function releaseByHandle(ctx: ReleaseContext, handleId: string): Promise<string[]> {
  const { cidrs } = await blocksOfHandle(ctx, handleId);
  const released: string[] = [];
  for (const cidr of cidrs) {
    const ords = await withBlockLock(ctx, cidr, () =>
      withCasRetries(
        `release handle ${handleId} in ${cidr}`,
        async () => {
          const block = await ctx.store.getBlock(cidr);
          if (block === undefined) return [];
          const now = ctx.now();
          const before = garbageCollect(block.spec, now, ctx.cooldownSeconds).spec;
          const r = releaseHandleInBlock(before, handleId, new Date(now).toISOString());
          if (r.released.length === 0) return [];
          await ctx.store.updateBlock(
            block,
            bumpSequence(garbageCollect(r.spec, now, ctx.cooldownSeconds).spec),
          );
          return r.released.map((o) => text(ordinalToIp(blockCidr(block.spec), o)));
        },
        ctx.retry,
      ),
    );
    released.push(...ords);
    // Every address of the handle in this block is gone: drop the block from the handle entirely, which also
    // repairs a count inflated by an interrupted assignment.
    await decrementHandle(ctx.store, ctx.retry, handleId, cidr, Number.MAX_SAFE_INTEGER);
  }
  return released;
}
