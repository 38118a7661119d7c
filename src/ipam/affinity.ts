/**
 * Block affinity state machine (reference §7.3, Calico's `ipam_block_reader_writer.go`):
 *
 *   claim:    BlockAffinity pending  ->  IPAMBlock written with `affinity: host:<node>`  ->  affinity confirmed
 *   release:  affinity pendingDeletion  ->  block deleted (only when empty)  ->  affinity deleted
 *
 * Every step is a compare-and-swap write, and every step is idempotent: a claim that finds its own pending
 * affinity (a concurrent claim by the same host, or one that crashed half-way) simply completes it, and a
 * release that finds `pendingDeletion` finishes it. The only destructive step of a claim is deleting the
 * claimant's own pending affinity once the block is known to belong to someone else. Pending affinities are
 * never treated as ownership.
 */
import type { BlockAffinitySpec } from '../api/v3/block-affinity.js';
import type { IPAMBlockSpec } from '../api/v3/ipam-block.js';
import { AlreadyExistsError } from '../lib/errors.js';
import { parseCidr } from '../lib/net/ip.js';
import { isBlockEmpty, newBlock } from './block.js';
import { IpamError } from './errors.js';
import type { KeyedMutex } from './mutex.js';
import { WINDOWS_RESERVED_HANDLE } from './names.js';
import { type IpamStore, type RetryOptions, type Stored, isCasConflict, withCasRetries } from './store.js';

export interface AffinityDeps {
  readonly store: IpamStore;
  readonly now: () => number;
  readonly retry: RetryOptions;
  /** Serialises this client's own writes per block (optional; CAS alone is also correct). */
  readonly blockLocks?: KeyedMutex;
}

/** Runs `fn` holding the client's lock for `cidr`, if it has block locks. */
export function withBlockLock<T>(deps: AffinityDeps, cidr: string, fn: () => Promise<T>): Promise<T> {
  return deps.blockLocks === undefined ? fn() : deps.blockLocks.run(cidr, fn);
}

/** `claimed`: the block is the host's; `lost`: it belongs to someone else; `unavailable`: being released. */
export type ClaimOutcome = 'claimed' | 'lost' | 'unavailable';

export function hostAffinity(host: string): string {
  return `host:${host}`;
}

function rfc3339(ms: number): string {
  return new Date(ms).toISOString();
}

function pendingSpec(host: string, cidr: string): BlockAffinitySpec {
  return { state: 'pending', node: host, type: 'host', cidr, deleted: false };
}

/** The host's affinity for `cidr`, created `pending` when there is none. */
async function ensureAffinity(
  deps: AffinityDeps,
  host: string,
  cidr: string,
): Promise<Stored<BlockAffinitySpec>> {
  for (;;) {
    const existing = await deps.store.getAffinity(host, cidr);
    if (existing !== undefined) return existing;
    try {
      return await deps.store.createAffinity(pendingSpec(host, cidr));
    } catch (e) {
      if (!(e instanceof AlreadyExistsError)) throw e;
    }
  }
}

/** The block, created with the host's affinity when missing and `create` is set. */
async function ensureBlock(
  deps: AffinityDeps,
  host: string,
  cidr: string,
  create: boolean,
): Promise<Stored<IPAMBlockSpec> | undefined> {
  for (;;) {
    const block = await deps.store.getBlock(cidr);
    if (block !== undefined || !create) return block;
    const parsed = parseCidr(cidr);
    if (parsed === undefined) throw new IpamError('notInPool', `invalid block CIDR ${cidr}`);
    const now = deps.now();
    const spec = newBlock(parsed, {
      affinity: hostAffinity(host),
      affinityClaimTime: rfc3339(now),
      sequenceNumber: now * 1000,
    });
    try {
      return await deps.store.createBlock(spec);
    } catch (e) {
      if (!(e instanceof AlreadyExistsError)) throw e;
    }
  }
}

/** One attempt of a claim; CAS conflicts propagate to the retry loop. */
async function claimOnce(
  deps: AffinityDeps,
  host: string,
  cidr: string,
  createBlock: boolean,
): Promise<ClaimOutcome> {
  const affinity = await ensureAffinity(deps, host, cidr);
  if (affinity.spec.state === 'pendingDeletion') return 'unavailable';
  const block = await ensureBlock(deps, host, cidr, createBlock);
  if (block?.spec.affinity === hostAffinity(host)) {
    if (affinity.spec.state !== 'confirmed') {
      await deps.store.updateAffinity(affinity, { ...affinity.spec, state: 'confirmed' });
    }
    return 'claimed';
  }
  // The block is missing (resolve mode) or is not ours: our affinity can never be confirmed.
  await deps.store.deleteAffinity(affinity);
  return 'lost';
}

/**
 * Claims `cidr` for `host`, or completes a claim left pending. With `createBlock` false (used to resolve a
 * stale pending affinity) a missing block is not created and the affinity is removed instead.
 */
export function claimBlock(
  deps: AffinityDeps,
  host: string,
  cidr: string,
  createBlock = true,
): Promise<ClaimOutcome> {
  return withCasRetries(
    `claim block ${cidr} for ${host}`,
    () => claimOnce(deps, host, cidr, createBlock),
    deps.retry,
  );
}

export type ReleaseOutcome = 'released' | 'notFound';

async function releaseOnce(
  deps: AffinityDeps,
  host: string,
  cidr: string,
  mustBeEmpty: boolean,
): Promise<ReleaseOutcome> {
  let affinity = await deps.store.getAffinity(host, cidr);
  if (affinity === undefined) return 'notFound';
  if (affinity.spec.state !== 'pendingDeletion') {
    affinity = await deps.store.updateAffinity(affinity, { ...affinity.spec, state: 'pendingDeletion' });
  }
  const block = await deps.store.getBlock(cidr);
  if (block !== undefined && block.spec.affinity === hostAffinity(host)) {
    if (isBlockEmpty(block.spec, WINDOWS_RESERVED_HANDLE)) {
      await deps.store.deleteBlock(block);
    } else if (mustBeEmpty) {
      await revertToConfirmed(deps, host, cidr);
      throw new IpamError('blockNotEmpty', `block ${cidr} of ${host} still holds addresses`);
    } else {
      const rest: IPAMBlockSpec = { ...block.spec, sequenceNumber: block.spec.sequenceNumber + 1 };
      delete rest.affinity;
      delete rest.affinityClaimTime;
      await deps.store.updateBlock(block, rest);
    }
  }
  await deps.store.deleteAffinity(affinity);
  return 'released';
}

async function revertToConfirmed(deps: AffinityDeps, host: string, cidr: string): Promise<void> {
  await withCasRetries(
    `restore affinity of ${cidr}`,
    async () => {
      const a = await deps.store.getAffinity(host, cidr);
      if (a !== undefined && a.spec.state === 'pendingDeletion') {
        await deps.store.updateAffinity(a, { ...a.spec, state: 'confirmed' });
      }
    },
    deps.retry,
  );
}

/**
 * Releases the host's affinity for `cidr`. An empty block is deleted with it; a non-empty block fails the
 * release when `mustBeEmpty` (the affinity returns to confirmed), otherwise it stays, without affinity.
 */
export function releaseAffinity(
  deps: AffinityDeps,
  host: string,
  cidr: string,
  mustBeEmpty: boolean,
): Promise<ReleaseOutcome> {
  return withCasRetries(
    `release affinity of ${cidr} for ${host}`,
    () => releaseOnce(deps, host, cidr, mustBeEmpty),
    deps.retry,
  );
}

/** The host's affinities (any state) for blocks of the given family. */
export async function hostAffinities(
  store: IpamStore,
  host: string,
  family?: 4 | 6,
): Promise<Stored<BlockAffinitySpec>[]> {
  const { items } = await store.listAffinities();
  return items.filter(
    (a) =>
      a.spec.node === host &&
      (a.spec.type ?? 'host') === 'host' &&
      (family === undefined || parseCidr(a.spec.cidr)?.family === family),
  );
}

/** True when a conflict-type error is the reason, for callers that treat a lost race as "try elsewhere". */
export function isLostRace(e: unknown): boolean {
  return isCasConflict(e) || e instanceof AlreadyExistsError;
}
