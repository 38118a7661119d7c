/**
 * One benchmark figure. `target` is the figure an issue asks for (checked and shown by the runner, so the
 * table says plainly which targets a run met). Figures measured over interleaved rounds (bench/method.ts)
 * carry their `spread`: the interquartile range over the rounds and its larger half-width relative to the
 * median; `flags` say why a figure should not be trusted on this run.
 */
export interface BenchTarget {
  readonly op: '<=' | '>=';
  readonly value: number;
  /** The issue that sets the target. */
  readonly issue: number;
}

export interface BenchSpread {
  readonly q1: number;
  readonly q3: number;
  readonly rounds: number;
  /** max(median − q1, q3 − median) / median. */
  readonly relative: number;
}

export interface BenchResult {
  readonly name: string;
  readonly value: number;
  readonly unit: string;
  readonly target?: BenchTarget;
  readonly spread?: BenchSpread;
  readonly flags?: readonly string[];
}

/** A table a suite adds below its figures (e.g. where programming latency goes, stage by stage). */
export interface BenchTable {
  readonly title: string;
  /** Said under the title: how to read the table. */
  readonly note: string;
  readonly header: readonly string[];
  readonly rows: readonly (readonly string[])[];
}

/** What a suite returns: its figures, and optionally tables. */
export type SuiteOutput =
  | readonly BenchResult[]
  | { readonly results: readonly BenchResult[]; readonly tables: readonly BenchTable[] };

/** Whether a figure meets its target (true when it has none). */
export function meetsTarget(r: BenchResult): boolean {
  if (r.target === undefined) return true;
  return r.target.op === '<=' ? r.value <= r.target.value : r.value >= r.target.value;
}
