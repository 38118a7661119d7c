/**
 * Counters that never go backwards over kernel counters that do: a rule's nft `counter` starts again at zero
 * whenever the rule is re-created (its chain re-rendered after a policy change, a resync, a restart), and a
 * series (a policy's denies, a rule's hits) may be fed by several rules (one per endpoint chain that inlines
 * the policy, one per IP version). Each reading is taken apart per kernel rule: what a rule counted since the
 * previous reading (all of it when the rule is new) is added to every series it feeds. A series that no
 * rule of a reading feeds any more is dropped (its policy is gone). Pure.
 */

export interface CountPair {
  readonly packets: number;
  readonly bytes: number;
}

export interface CounterSample extends CountPair {
  /** The kernel rule's identity in this table (its chain and handle: a re-created rule is a new one). */
  readonly rule: string;
  /** The series this rule's counts add to. */
  readonly series: readonly string[];
}

export interface TotalsUpdate {
  readonly totals: ReadonlyMap<string, CountPair>;
  /** Series of the previous reading that this one no longer has. */
  readonly removed: readonly string[];
}

export class MonotonicTotals {
  #lastPerRule = new Map<string, CountPair>();
  #totals = new Map<string, CountPair>();

  /** Takes one complete reading of the kernel's counters. */
  update(samples: Iterable<CounterSample>): TotalsUpdate {
    const lastPerRule = new Map<string, CountPair>();
    const totals = new Map<string, CountPair>();
    for (const s of samples) {
      if (lastPerRule.has(s.rule)) continue; // listed twice in one reading: counted once
      lastPerRule.set(s.rule, { packets: s.packets, bytes: s.bytes });
      const last = this.#lastPerRule.get(s.rule);
      // A counter below its last value was reset in place (`nft reset counters`): all it holds is new.
      const base =
        last === undefined || s.packets < last.packets || s.bytes < last.bytes
          ? { packets: 0, bytes: 0 }
          : last;
      const packets = s.packets - base.packets;
      const bytes = s.bytes - base.bytes;
      for (const key of new Set(s.series)) {
        const t = totals.get(key) ?? this.#totals.get(key) ?? { packets: 0, bytes: 0 };
        totals.set(key, { packets: t.packets + packets, bytes: t.bytes + bytes });
      }
    }
    const removed = [...this.#totals.keys()].filter((k) => !totals.has(k));
    this.#lastPerRule = lastPerRule;
    this.#totals = totals;
    return { totals, removed };
  }
}
