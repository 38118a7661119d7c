/**
 * Test helper for kernel tests: reads a timeout set's elements with their timeouts straight from nft (the
 * table's own parser leaves learned elements out on purpose).
 */
import assert from 'node:assert/strict';
import type { CommandRunner } from '../../exec/command-runner.js';

/** The set's elements as the kernel lists them: address -> timeout in seconds. */
export async function learnedElements(runner: CommandRunner, set: string): Promise<Map<string, number>> {
  const r = await runner.run('nft', ['-j', 'list', 'set', 'inet', 'calico', set], { timeoutMs: 30_000 });
  assert.equal(r.code, 0, r.stderr);
  const doc = JSON.parse(r.stdout) as { nftables: { set?: { elem?: unknown[] } }[] };
  const out = new Map<string, number>();
  for (const e of doc.nftables.flatMap((i) => i.set?.elem ?? [])) {
    const inner = (e as { elem?: { val: string; timeout?: number } }).elem;
    out.set(inner?.val ?? String(e), inner?.timeout ?? 0);
  }
  return out;
}
