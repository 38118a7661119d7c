import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { sleep } from '../lib/async.js';
import { limiter, mapLimit, waitUntilNoneMissing } from './concurrency.js';

function tracker(): { enter: () => void; leave: () => void; readonly max: number } {
  let active = 0;
  let max = 0;
  return {
    enter: () => {
      active++;
      max = Math.max(max, active);
    },
    leave: () => {
      active--;
    },
    get max() {
      return max;
    },
  };
}

describe('mapLimit', () => {
  test('keeps order and never runs more than the limit at once', async () => {
    const t = tracker();
    const out = await mapLimit([5, 1, 4, 2, 3], 2, async (x) => {
      t.enter();
      await sleep(x); // the task's work: x ms, so that tasks overlap (the subject, not a wait)
      t.leave();
      return x * 10;
    });
    assert.deepEqual(out, [50, 10, 40, 20, 30]);
    assert.equal(t.max, 2);
  });

  test('throws the first failure after the started calls settle, starting no more', async () => {
    const started: number[] = [];
    let settled = 0;
    await assert.rejects(
      mapLimit([1, 2, 3, 4], 2, async (x) => {
        started.push(x);
        await sleep(x); // the task's work (not a wait): 1 fails while 2 is still running
        settled++;
        if (x === 1) throw new Error('one');
        return x;
      }),
      /one/,
    );
    assert.deepEqual(started, [1, 2]);
    assert.equal(settled, 2);
  });
});

describe('limiter', () => {
  test('queues beyond the limit in call order and passes results and errors through', async () => {
    const limit = limiter(3);
    const t = tracker();
    const order: number[] = [];
    const results = await Promise.allSettled(
      Array.from({ length: 10 }, (_, i) =>
        limit(async () => {
          t.enter();
          order.push(i);
          await sleep(2); // the task's work (not a wait), so that tasks overlap
          t.leave();
          if (i === 7) throw new Error('seven');
          return i;
        }),
      ),
    );
    assert.equal(t.max, 3);
    assert.deepEqual(order, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    assert.equal(results[7]?.status, 'rejected');
    assert.deepEqual(results[9], { status: 'fulfilled', value: 9 });
  });
});

describe('waitUntilNoneMissing', () => {
  test('returns nothing once nothing is missing, else what was missing at the deadline', async () => {
    let calls = 0;
    const fewer = (): string[] => ['a', 'b', 'c'].slice(++calls);
    assert.deepEqual(await waitUntilNoneMissing(fewer, { timeoutMs: 5000, intervalMs: 1, what: 'x' }), []);
    assert.equal(calls, 3);
    const stuck = await waitUntilNoneMissing(() => ['node-2'], { timeoutMs: 30, intervalMs: 5, what: 'x' });
    assert.deepEqual(stuck, ['node-2']);
  });

  test('an abort throws instead of returning', async () => {
    const ac = new AbortController();
    ac.abort(new Error('interrupted'));
    await assert.rejects(
      waitUntilNoneMissing(() => ['a'], { timeoutMs: 5000, what: 'x', signal: ac.signal }),
      /interrupted/,
    );
  });
});
