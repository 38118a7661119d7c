import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { MonotonicTotals, type CounterSample } from './policy-counters-totals.js';

const s = (rule: string, series: string[], packets: number, bytes = packets * 100): CounterSample => ({
  rule,
  series,
  packets,
  bytes,
});

describe('MonotonicTotals', () => {
  test('adds what each rule counted since the last reading to every series it feeds', () => {
    const t = new MonotonicTotals();
    let u = t.update([s('a#1', ['x', 'deny'], 2), s('b#1', ['x', 'deny'], 3)]);
    assert.deepEqual(Object.fromEntries(u.totals), {
      x: { packets: 5, bytes: 500 },
      deny: { packets: 5, bytes: 500 },
    });
    u = t.update([s('a#1', ['x', 'deny'], 4), s('b#1', ['x', 'deny'], 3)]);
    assert.deepEqual(u.totals.get('x'), { packets: 7, bytes: 700 });
    assert.deepEqual(u.removed, []);
  });

  test('a re-created rule (new handle) starts from zero and the series goes on from where it was', () => {
    const t = new MonotonicTotals();
    t.update([s('a#1', ['x'], 10)]);
    // The chain was re-rendered: the old rule is gone, the new one has counted 1 so far.
    const u = t.update([s('a#9', ['x'], 1)]);
    assert.deepEqual(u.totals.get('x'), { packets: 11, bytes: 1100 });
  });

  test('a counter reset in place (nft reset counters) counts as new', () => {
    const t = new MonotonicTotals();
    t.update([s('a#1', ['x'], 10)]);
    assert.deepEqual(t.update([s('a#1', ['x'], 2)]).totals.get('x'), { packets: 12, bytes: 1200 });
  });

  test('a series no rule feeds any more is removed, and starts again from zero if it comes back', () => {
    const t = new MonotonicTotals();
    t.update([s('a#1', ['x'], 10), s('b#1', ['y'], 1)]);
    const u = t.update([s('b#1', ['y'], 1)]);
    assert.deepEqual(u.removed, ['x']);
    assert.deepEqual([...u.totals.keys()], ['y']);
    assert.deepEqual(t.update([s('a#2', ['x'], 4), s('b#1', ['y'], 1)]).totals.get('x'), {
      packets: 4,
      bytes: 400,
    });
  });

  test('a rule listed twice in one reading counts once; a rule feeding one series twice counts once', () => {
    const t = new MonotonicTotals();
    const u = t.update([s('a#1', ['x', 'x'], 2), s('a#1', ['x'], 2)]);
    assert.deepEqual(u.totals.get('x'), { packets: 2, bytes: 200 });
  });

  test('property: a series present in consecutive readings never goes down', () => {
    const reading = fc.array(
      fc.record({
        rule: fc.constantFrom('a#1', 'a#2', 'b#1', 'b#2'),
        series: fc.subarray(['x', 'y', 'z'], { minLength: 1 }),
        packets: fc.nat(1000),
        bytes: fc.nat(100_000),
      }),
      { maxLength: 6 },
    );
    fc.assert(
      fc.property(fc.array(reading, { maxLength: 8 }), (readings) => {
        const t = new MonotonicTotals();
        let prev = new Map<string, { packets: number; bytes: number }>();
        for (const r of readings) {
          const u = t.update(r);
          for (const [k, v] of u.totals) {
            const p = prev.get(k);
            if (p !== undefined) assert.ok(v.packets >= p.packets && v.bytes >= p.bytes, k);
          }
          for (const k of prev.keys()) assert.equal(u.totals.has(k), !u.removed.includes(k));
          prev = new Map(u.totals);
        }
      }),
    );
  });
});
