/**
 * The packet-cost method, shared by every dataplane bench (nftables now; the peer and eBPF later), for a
 * noisy machine with two cores shared with other work:
 *
 *  - configurations ("arms", e.g. no policy / 1,000 policies of some shape) are measured in rounds; each round
 *    runs every arm once, in the order of a Williams design (src/lib/stats.ts `balancedOrder`), so no arm
 *    always runs first, last or after the same neighbour;
 *  - warm-up rounds run first and are discarded (neighbour entries, conntrack, page cache, JIT of the load
 *    generators, CPU frequency);
 *  - at least MIN_ROUNDS measured rounds; every figure is reported as the median over rounds with its
 *    interquartile range, and every ratio as the median of the per-round ratios (both arms measured in the same
 *    round, minutes apart at most) with its interquartile range, flagged when that spread exceeds ±5 % or when
 *    the whole range lies above 1;
 *  - the load generator runs on one core and the server on the other (`taskset`), see CORES.
 *
 * `enter(arm)` must bring the system into the arm's configuration and verify it (e.g. a sentinel connection
 * that only the arm's policy denies), so a figure never comes from the wrong configuration.
 */
import os from 'node:os';
import {
  balancedOrder,
  compareRounds,
  relativeSpread,
  summarize,
  type RatioComparison,
} from '../src/lib/stats.js';
import type { BenchResult, BenchTarget } from './result.js';

export const MIN_ROUNDS = 7;
/** A ratio whose interquartile range reaches further than this from its median is flagged. */
export const SPREAD_TOLERANCE = 0.05;

/** Where the load generator (client) and the server run: different fixed cores when there are two. */
export const CORES: { readonly client: number; readonly server: number } =
  os.availableParallelism() >= 2 ? { client: 0, server: 1 } : { client: 0, server: 0 };

/** `cmd args…` pinned to one core with taskset. */
export function pinned(core: number, cmd: string, args: readonly string[]): [string, string[]] {
  return ['taskset', ['-c', String(core), cmd, ...args]];
}

export interface Arm {
  readonly name: string;
}

export interface InterleaveOptions<A extends Arm, M> {
  readonly arms: readonly A[];
  /** Measured rounds (at least MIN_ROUNDS). */
  readonly rounds: number;
  /** Rounds run first and discarded (at least 1). */
  readonly warmupRounds: number;
  /** Brings the system into the arm's configuration and verifies it. */
  enter(arm: A): Promise<void>;
  measure(arm: A, round: number): Promise<M>;
  log?(line: string): void;
}

export interface Interleaved<M> {
  /** Per arm name, one figure per measured round, in round order. */
  readonly byArm: ReadonlyMap<string, readonly M[]>;
  /** The order each measured round ran (arm names). */
  readonly orders: readonly (readonly string[])[];
}

export async function interleave<A extends Arm, M>(opts: InterleaveOptions<A, M>): Promise<Interleaved<M>> {
  if (opts.rounds < MIN_ROUNDS) throw new RangeError(`at least ${MIN_ROUNDS} rounds, not ${opts.rounds}`);
  if (opts.warmupRounds < 1) throw new RangeError('at least one warm-up round');
  const names = new Set(opts.arms.map((a) => a.name));
  if (names.size !== opts.arms.length || opts.arms.length === 0)
    throw new RangeError('arms need unique names');
  const byArm = new Map<string, M[]>(opts.arms.map((a) => [a.name, []]));
  const orders: string[][] = [];
  for (let r = 0; r < opts.warmupRounds + opts.rounds; r++) {
    const warm = r < opts.warmupRounds;
    const order = balancedOrder(opts.arms.length, r).map((i) => opts.arms[i]!);
    opts.log?.(
      `${warm ? 'warm-up' : `round ${r - opts.warmupRounds + 1}/${opts.rounds}`}: ${order.map((a) => a.name).join(', ')}`,
    );
    for (const arm of order) {
      await opts.enter(arm);
      const m = await opts.measure(arm, r);
      if (!warm) byArm.get(arm.name)!.push(m);
    }
    if (!warm) orders.push(order.map((a) => a.name));
  }
  return { byArm, orders };
}

/** One arm's figure: its median over the rounds, with the interquartile range. */
export function figureRow(name: string, xs: readonly number[], unit: string, digits: number): BenchResult {
  const s = summarize(xs);
  const r = (x: number): number => Number(x.toFixed(digits));
  return {
    name,
    value: r(s.median),
    unit,
    spread: { q1: r(s.q1), q3: r(s.q3), rounds: s.n, relative: relativeSpread(s) },
  };
}

/** A ratio row: the median of the per-round ratios, its interquartile range and the method's flags. */
export function ratioRow(
  name: string,
  base: readonly number[],
  other: readonly number[],
  target?: BenchTarget,
): { row: BenchResult; comparison: RatioComparison } {
  const c = compareRounds(base, other, SPREAD_TOLERANCE);
  const r3 = (x: number): number => Math.round(x * 1000) / 1000;
  const flags: string[] = [];
  if (c.noisy)
    flags.push(`spread ±${(c.relativeSpread * 100).toFixed(1)} % exceeds ±${SPREAD_TOLERANCE * 100} %`);
  if (c.aboveOne) flags.push('whole IQR above 1: the method measured noise');
  return {
    row: {
      name,
      value: r3(c.median),
      unit: '',
      spread: { q1: r3(c.q1), q3: r3(c.q3), rounds: c.n, relative: c.relativeSpread },
      ...(flags.length > 0 ? { flags } : {}),
      ...(target === undefined ? {} : { target }),
    },
    comparison: c,
  };
}
