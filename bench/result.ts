/**
 * One benchmark figure. `target` is the figure an issue asks for (checked and shown by the runner, so the
 * table says plainly which targets a run met).
 */
export interface BenchTarget {
  readonly op: '<=' | '>=';
  readonly value: number;
  /** The issue that sets the target. */
  readonly issue: number;
}

export interface BenchResult {
  readonly name: string;
  readonly value: number;
  readonly unit: string;
  readonly target?: BenchTarget;
}

/** Whether a figure meets its target (true when it has none). */
export function meetsTarget(r: BenchResult): boolean {
  if (r.target === undefined) return true;
  return r.target.op === '<=' ? r.value <= r.target.value : r.value >= r.target.value;
}
