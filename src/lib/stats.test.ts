import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  balancedOrder,
  compareRounds,
  median,
  percentileRank,
  quantile,
  relativeSpread,
  summarize,
} from './stats.js';

describe('quantile and median', () => {
  it('interpolates between the closest ranks, whatever the input order', () => {
    const xs = [7, 1, 3, 5];
    assert.equal(median(xs), 4);
    assert.equal(quantile(xs, 0), 1);
    assert.equal(quantile(xs, 1), 7);
    assert.equal(quantile(xs, 0.25), 2.5);
    assert.equal(quantile(xs, 0.75), 5.5);
    assert.deepEqual(xs, [7, 1, 3, 5], 'input left unsorted');
  });

  it('takes the middle sample of an odd count', () => {
    assert.equal(median([0.9, 1.1, 0.95, 1.0, 0.97, 0.99, 0.96]), 0.97);
    assert.equal(median([42]), 42);
  });

  it('rejects empty samples, non-finite values and quantiles outside [0, 1]', () => {
    assert.throws(() => median([]), /empty sample/);
    assert.throws(() => median([1, NaN]), /not a finite number: NaN/);
    assert.throws(() => quantile([1, 2], 1.5), /outside \[0, 1\]/);
  });
});

describe('percentileRank', () => {
  it('returns an observed sample: p99 of 40 samples is the largest, p50 the 20th', () => {
    const xs = Array.from({ length: 40 }, (_, i) => 40 - i);
    assert.equal(percentileRank(xs, 99), 40);
    assert.equal(percentileRank(xs, 50), 20);
    assert.equal(percentileRank(xs, 100), 40);
    assert.equal(percentileRank([3, 1, 2], 1), 1);
  });

  it('rejects percentiles outside (0, 100]', () => {
    assert.throws(() => percentileRank([1], 0), /outside/);
    assert.throws(() => percentileRank([1], 101), /outside/);
  });
});

describe('summarize and relativeSpread', () => {
  it('gives quartiles, extremes and the larger half-width as a fraction of the median', () => {
    const s = summarize([10, 9, 11, 10, 12, 8, 10]);
    assert.deepEqual(s, { n: 7, median: 10, q1: 9.5, q3: 10.5, min: 8, max: 12 });
    assert.equal(relativeSpread(s), 0.05);
    const skewed = summarize([100, 100, 100, 100, 140]);
    assert.equal(skewed.q3, 100);
    assert.equal(relativeSpread(summarize([90, 100, 100, 100, 100, 130])), 0);
    assert.equal(relativeSpread(summarize([80, 80, 100, 120, 120])), 0.2);
  });

  it('treats a spread around a zero median as unbounded', () => {
    assert.equal(relativeSpread(summarize([0, 0, 0])), 0);
    assert.equal(relativeSpread(summarize([-1, 0, 1])), Infinity);
  });
});

describe('compareRounds', () => {
  it('summarizes per-round ratios and leaves a tight row unflagged', () => {
    const base = [100, 200, 100, 150, 100, 120, 100];
    const other = base.map((b, i) => b * [0.97, 0.96, 0.98, 0.97, 0.97, 0.99, 0.96][i]!);
    const c = compareRounds(base, other, 0.05);
    assert.equal(c.n, 7);
    assert.ok(Math.abs(c.median - 0.97) < 1e-9);
    assert.ok(c.relativeSpread < 0.05);
    assert.equal(c.noisy, false);
    assert.equal(c.aboveOne, false);
    assert.equal(c.ratios.length, 7);
  });

  it('pairs figures by round, so a slow round on both sides does not move the ratio', () => {
    // Round 3 ran while the machine was busy and both sides halved: that round's ratio is still 0.98.
    const base = [100, 100, 100, 50, 100, 100, 100];
    const other = base.map((b) => b * 0.98);
    const c = compareRounds(base, other, 0.05);
    assert.ok(Math.abs(c.median - 0.98) < 1e-9);
    assert.ok(Math.abs(c.relativeSpread) < 1e-9);
  });

  it('flags a spread beyond the tolerance, and a whole interquartile range above 1', () => {
    const base = [100, 100, 100, 100, 100, 100, 100];
    const noisy = compareRounds(base, [79, 125, 96, 110, 90, 104, 85], 0.05);
    assert.equal(noisy.noisy, true);
    assert.equal(noisy.aboveOne, false);
    const smell = compareRounds(base, [104, 106, 108, 103, 109, 105, 107], 0.05);
    assert.equal(smell.noisy, false);
    assert.equal(smell.aboveOne, true);
  });

  it('rejects unpaired rounds and a non-positive base figure', () => {
    assert.throws(() => compareRounds([1, 2], [1], 0.05), /rounds differ/);
    assert.throws(() => compareRounds([1, 0], [1, 1], 0.05), /round 1: base figure 0/);
  });
});

/** For each ordered pair (a, b), how often b runs directly after a within a round. */
function successions(rows: number[][], k: number): number[][] {
  const m = Array.from({ length: k }, () => Array<number>(k).fill(0));
  for (const row of rows) for (let i = 1; i < row.length; i++) m[row[i - 1]!]![row[i]!]!++;
  return m;
}

function positions(rows: number[][], k: number): number[][] {
  const m = Array.from({ length: k }, () => Array<number>(k).fill(0));
  for (const row of rows) row.forEach((c, pos) => m[c]![pos]!++);
  return m;
}

describe('balancedOrder', () => {
  it('alternates two configurations (AB, BA, AB, …)', () => {
    assert.deepEqual(
      [0, 1, 2, 3].map((r) => balancedOrder(2, r)),
      [
        [0, 1],
        [1, 0],
        [0, 1],
        [1, 0],
      ],
    );
  });

  for (const k of [1, 2, 3, 4, 5, 6]) {
    it(`balances positions and successions for ${k} configurations`, () => {
      const cycle = k % 2 === 0 ? k : 2 * k;
      const rows = Array.from({ length: cycle }, (_, r) => balancedOrder(k, r));
      for (const row of rows) assert.deepEqual([...row].sort(), [...Array(k).keys()], 'each once a round');
      const perPosition = cycle / k;
      for (const counts of positions(rows, k)) assert.deepEqual(counts, Array(k).fill(perPosition));
      const succ = successions(rows, k);
      for (let a = 0; a < k; a++)
        for (let b = 0; b < k; b++) assert.equal(succ[a]![b], a === b ? 0 : cycle / k, `${a} -> ${b}`);
      assert.deepEqual(balancedOrder(k, cycle), rows[0], 'the cycle repeats');
    });
  }

  it('rejects bad arguments', () => {
    assert.throws(() => balancedOrder(0, 0), /configurations/);
    assert.throws(() => balancedOrder(2, -1), /round/);
  });
});
