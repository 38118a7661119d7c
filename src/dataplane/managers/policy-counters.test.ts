import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { FakeClock } from '../../lib/async.js';
import { KernelProgrammingError } from '../../lib/errors.js';
import { PolicyCounterReader, type PolicyCounterSource } from './policy-counters.js';

function listing(packets: number): string {
  return JSON.stringify({
    nftables: [
      {
        rule: {
          chain: 'c',
          handle: 4,
          expr: [{ counter: { packets, bytes: packets * 60 } }, { log: { prefix: 'DPE|default', group: 2 } }],
        },
      },
    ],
  });
}

/** A table whose listings are answered by hand, to see when the reader lists. */
class ManualSource implements PolicyCounterSource {
  readonly pending: { resolve: (t: string | undefined) => void; reject: (e: Error) => void }[] = [];
  listJson(): Promise<string | undefined> {
    return new Promise((resolve, reject) => this.pending.push({ resolve, reject }));
  }
}

describe('PolicyCounterReader', () => {
  test('lists at most once per interval; callers meanwhile share the listing', async () => {
    const clock = new FakeClock(1000);
    const source = new ManualSource();
    const reader = new PolicyCounterReader({ source, clock, minIntervalMs: 1000 });
    const a = reader.read();
    const b = reader.read();
    assert.equal(source.pending.length, 1, 'one listing in flight for both');
    source.pending[0]!.resolve(listing(3));
    const [ra, rb] = await Promise.all([a, b]);
    assert.equal(ra, rb);
    assert.deepEqual(
      ra.rules.map((r) => [r.prefix, r.direction, r.packets]),
      [['DPE|default', 'egress', 3]],
    );
    clock.advance(999);
    assert.equal(await reader.read(), ra, 'cached within the interval');
    assert.equal(source.pending.length, 1);
    clock.advance(1);
    const c = reader.read();
    assert.equal(source.pending.length, 2, 'listed again after the interval');
    source.pending[1]!.resolve(listing(5));
    assert.equal((await c).rules[0]!.packets, 5);
    assert.equal(reader.listings, 2);
  });

  test('no table is an empty reading; unreadable listings and nft failures reject, then are retried', async () => {
    const clock = new FakeClock();
    const source = new ManualSource();
    const reader = new PolicyCounterReader({ source, clock });
    const empty = reader.read();
    source.pending[0]!.resolve(undefined);
    assert.deepEqual((await empty).rules, []);
    clock.advance(1000);
    const bad = reader.read();
    source.pending[1]!.resolve('not json');
    await assert.rejects(
      bad,
      (e: unknown) => e instanceof KernelProgrammingError && /invalid JSON/.test(e.message),
    );
    assert.equal(source.pending.length, 2, 'the failure is cached for the interval too');
    await assert.rejects(reader.read());
    clock.advance(1000);
    const failed = reader.read();
    source.pending[2]!.reject(new Error('nft: cannot run'));
    await assert.rejects(failed, /cannot run/);
    clock.advance(1000);
    const ok = reader.read();
    source.pending[3]!.resolve(listing(1));
    assert.equal((await ok).rules.length, 1);
  });
});
