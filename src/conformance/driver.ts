/**
 * The contract between the conformance runner and a dataplane under test. `sim` decides with the pure
 * evaluator; later drivers run the same cases on real kernels. A driver judges cells of probes; the runner
 * compares with the truth table and reports.
 */
import type { CaseState, NetpolCase } from './cases.js';

export interface ProbeCell {
  readonly from: string;
  readonly to: string;
  readonly protocol: string;
  readonly port: number;
}

export type CellOutcome =
  | { readonly kind: 'judged'; readonly allowed: boolean; readonly detail?: string }
  | { readonly kind: 'skipped'; readonly reason: string };

export interface DataplaneDriver extends AsyncDisposable {
  readonly name: string;
  /** Called once per case before its first state. */
  startCase(c: NetpolCase, opts: { signal: AbortSignal }): Promise<void>;
  /** Brings the dataplane to a state; returns problems that make the state unusable (e.g. invalid policy). */
  applyState(state: CaseState, opts: { signal: AbortSignal }): Promise<readonly string[]>;
  probe(cells: readonly ProbeCell[], opts: { signal: AbortSignal }): Promise<readonly CellOutcome[]>;
  endCase(opts: { signal: AbortSignal }): Promise<void>;
}
