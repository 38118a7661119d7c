/**
 * The IPAMHandle index: per handle ID, how many of its addresses each block holds. The allocator increments a
 * handle before it writes the block (so a crash in between leaves a handle without addresses, which `ipam
 * check` reports and `ipam release` deletes) and decrements it after a release; a handle that reaches zero
 * addresses is deleted. Every write is compare-and-swap.
 */
import type { IPAMHandleSpec } from '../api/v3/ipam-handle.js';
import { AlreadyExistsError, ConflictError } from '../lib/errors.js';
import { type IpamStore, type RetryOptions, withCasRetries } from './store.js';

export async function incrementHandle(
  store: IpamStore,
  retry: RetryOptions,
  handleId: string,
  blockCidr: string,
  count: number,
): Promise<void> {
  await withCasRetries(
    `update handle ${handleId}`,
    async () => {
      const existing = await store.getHandle(handleId);
      if (existing === undefined) {
        const spec: IPAMHandleSpec = { handleID: handleId, block: { [blockCidr]: count }, deleted: false };
        try {
          await store.createHandle(spec);
          return;
        } catch (e) {
          // Created meanwhile by someone else: another attempt reads it and updates it.
          if (e instanceof AlreadyExistsError)
            throw new ConflictError(`handle ${handleId} was created concurrently`);
          throw e;
        }
      }
      const block = { ...existing.spec.block, [blockCidr]: (existing.spec.block[blockCidr] ?? 0) + count };
      await store.updateHandle(existing, { ...existing.spec, block });
    },
    retry,
  );
}

/** Removes `count` addresses of `blockCidr` from the handle; deletes the handle when nothing is left. */
export async function decrementHandle(
  store: IpamStore,
  retry: RetryOptions,
  handleId: string,
  blockCidr: string,
  count: number,
): Promise<void> {
  await withCasRetries(
    `update handle ${handleId}`,
    async () => {
      const existing = await store.getHandle(handleId);
      if (existing === undefined) return;
      const left = (existing.spec.block[blockCidr] ?? 0) - count;
      const block = Object.fromEntries(Object.entries(existing.spec.block).filter(([k]) => k !== blockCidr));
      if (left > 0) block[blockCidr] = left;
      if (Object.keys(block).length === 0) await store.deleteHandle(existing);
      else await store.updateHandle(existing, { ...existing.spec, block });
    },
    retry,
  );
}
