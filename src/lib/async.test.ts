import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Backoff, FakeClock, sleep, TimeoutError, waitFor } from './async.js';

describe('FakeClock', () => {
  it('runs due timers in time order, including ones scheduled while advancing', () => {
    const clock = new FakeClock(1000);
    const fired: string[] = [];
    clock.setTimeout(() => fired.push('b@30'), 30);
    clock.setTimeout(() => {
      fired.push('a@10');
      clock.setTimeout(() => fired.push('c@15'), 5);
    }, 10);
    const cancelled = clock.setTimeout(() => fired.push('never'), 20);
    clock.clearTimeout(cancelled);
    clock.advance(20);
    assert.deepEqual(fired, ['a@10', 'c@15']);
    assert.equal(clock.now(), 1020);
    assert.equal(clock.nextDue(), 1030);
    clock.advance(100);
    assert.deepEqual(fired, ['a@10', 'c@15', 'b@30']);
    assert.equal(clock.pending, 0);
  });

  it('drives sleep', async () => {
    const clock = new FakeClock();
    let done = false;
    const p = sleep(50, { clock }).then(() => {
      done = true;
    });
    clock.advance(49);
    await Promise.resolve();
    assert.equal(done, false);
    clock.advance(1);
    await p;
    assert.equal(done, true);
  });
});

describe('sleep', () => {
  it('returns at once when aborted', async () => {
    const ac = new AbortController();
    const clock = new FakeClock();
    const p = sleep(10_000, { clock, signal: ac.signal });
    ac.abort();
    await p;
    assert.equal(clock.pending, 0);
  });
});

describe('waitFor', () => {
  it('returns the first truthy value', async () => {
    let n = 0;
    const v = await waitFor(() => (++n >= 3 ? `n=${n}` : undefined), { timeoutMs: 5000, intervalMs: 1 });
    assert.equal(v, 'n=3');
  });

  it('throws a TimeoutError naming the condition and its state', async () => {
    await assert.rejects(
      waitFor(() => false, {
        timeoutMs: 30,
        intervalMs: 5,
        what: 'the sky to fall',
        describe: () => 'still up',
      }),
      (e: unknown) =>
        e instanceof TimeoutError && /the sky to fall: still up/.test(e.message) && /30 ms/.test(e.message),
    );
  });

  it('propagates an exception from the condition', async () => {
    await assert.rejects(
      waitFor(
        () => {
          throw new Error('boom');
        },
        { timeoutMs: 1000 },
      ),
      /boom/,
    );
  });
});

describe('Backoff', () => {
  it('doubles up to the cap and resets', () => {
    const b = new Backoff(100, 500);
    assert.deepEqual([b.next(), b.next(), b.next(), b.next()], [100, 200, 400, 500]);
    b.reset();
    assert.equal(b.peek(), 100);
  });
});
