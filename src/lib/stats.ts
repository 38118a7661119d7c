/**
 * Small, pure statistics for measurements taken on a shared, noisy machine (the benchmarks' method,
 * docs/benchmarks.md "Method"):
 *
 *  - `quantile`: linear interpolation between closest ranks (Hyndman & Fan type 7, numpy's default), used for
 *    medians and quartiles; `percentileRank`: the nearest-rank percentile (always an observed sample, so a p99
 *    of 40 samples is their maximum), used for latency tails.
 *  - `summarize`: median, quartiles, min and max; `relativeSpread`: the larger distance from the median to a
 *    quartile, as a fraction of the median (the "± x %" of a row).
 *  - `compareRounds`: per-round ratios of two configurations measured in the same rounds, summarized, with a
 *    flag when the spread exceeds the tolerance and a second one when the whole interquartile range lies
 *    above 1 (a configuration doing more work measuring faster: the method is measuring noise).
 *  - `balancedOrder`: the order in which a round runs its configurations (a Williams design: over a cycle of
 *    rounds every configuration takes every position, and follows every other configuration, equally often).
 */

/** Sorted copy; throws on an empty input or a value that is not a finite number. */
function sortedFinite(xs: readonly number[]): number[] {
  if (xs.length === 0) throw new RangeError('statistics of an empty sample');
  for (const x of xs) if (!Number.isFinite(x)) throw new RangeError(`not a finite number: ${x}`);
  return [...xs].sort((a, b) => a - b);
}

/** The q-quantile (0 ≤ q ≤ 1), interpolating linearly between the closest ranks. */
export function quantile(xs: readonly number[], q: number): number {
  if (!(q >= 0 && q <= 1)) throw new RangeError(`quantile ${q} outside [0, 1]`);
  const s = sortedFinite(xs);
  const pos = q * (s.length - 1);
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return s[lo]! + (s[hi]! - s[lo]!) * (pos - lo);
}

export function median(xs: readonly number[]): number {
  return quantile(xs, 0.5);
}

/** The p-th percentile (0 < p ≤ 100) by nearest rank: the smallest sample with at least p % at or below it. */
export function percentileRank(xs: readonly number[], p: number): number {
  if (!(p > 0 && p <= 100)) throw new RangeError(`percentile ${p} outside (0, 100]`);
  const s = sortedFinite(xs);
  return s[Math.max(0, Math.ceil((p / 100) * s.length) - 1)]!;
}

export interface Summary {
  readonly n: number;
  readonly median: number;
  /** First and third quartiles (interpolated). */
  readonly q1: number;
  readonly q3: number;
  readonly min: number;
  readonly max: number;
}

export function summarize(xs: readonly number[]): Summary {
  const s = sortedFinite(xs);
  return {
    n: s.length,
    median: quantile(s, 0.5),
    q1: quantile(s, 0.25),
    q3: quantile(s, 0.75),
    min: s[0]!,
    max: s[s.length - 1]!,
  };
}

/** max(median − q1, q3 − median) / |median|: the half-width of a "median ± x" reading, as a fraction. */
export function relativeSpread(s: Summary): number {
  if (s.median === 0) return s.q3 === s.q1 ? 0 : Infinity;
  return Math.max(s.median - s.q1, s.q3 - s.median) / Math.abs(s.median);
}

export interface RatioComparison extends Summary {
  /** The per-round ratios, in round order. */
  readonly ratios: readonly number[];
  readonly relativeSpread: number;
  /** The spread exceeds the tolerance: the figure is not trustworthy on this run. */
  readonly noisy: boolean;
  /** Even the first quartile is above 1: the extra work measured as faster, i.e. noise (a method smell). */
  readonly aboveOne: boolean;
}

/**
 * Compares `other` with `base` round by round (`other[i] / base[i]`, both measured in round i) and summarizes
 * the ratios. `tolerance` is the largest acceptable relative spread (0.05 = ±5 %).
 */
export function compareRounds(
  base: readonly number[],
  other: readonly number[],
  tolerance: number,
): RatioComparison {
  if (base.length !== other.length)
    throw new RangeError(`rounds differ: ${base.length} base figures, ${other.length} others`);
  const ratios = base.map((b, i) => {
    if (!(b > 0)) throw new RangeError(`round ${i}: base figure ${b} is not positive`);
    return other[i]! / b;
  });
  const s = summarize(ratios);
  const spread = relativeSpread(s);
  return { ...s, ratios, relativeSpread: spread, noisy: spread > tolerance, aboveOne: s.q1 > 1 };
}

/**
 * The order (indices 0..k-1) in which round `round` runs k configurations: row `round` of a Williams design.
 * For even k, k consecutive rounds form a Latin square in which every configuration directly follows every
 * other one exactly once; for odd k that takes 2k rounds (the rows and their mirror images). k = 2 gives
 * AB, BA, AB, … .
 */
export function balancedOrder(k: number, round: number): number[] {
  if (!Number.isInteger(k) || k < 1) throw new RangeError(`configurations: ${k}`);
  if (!Number.isInteger(round) || round < 0) throw new RangeError(`round: ${round}`);
  // First row 0, 1, k-1, 2, k-2, …; row r adds r (mod k).
  const first: number[] = [];
  for (let i = 0, lo = 1, hi = k - 1; i < k; i++) {
    if (i === 0) first.push(0);
    else if (i % 2 === 1) first.push(lo++);
    else first.push(hi--);
  }
  const cycle = k % 2 === 0 ? k : 2 * k;
  const r = round % cycle;
  const row = first.map((c) => (c + r) % k);
  return r >= k ? row.reverse() : row;
}
