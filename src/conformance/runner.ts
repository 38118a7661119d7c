/**
 * Runs truth-table cases through a dataplane driver and compares every judged cell with the truth table.
 * A case passes when every state applies cleanly and every judged cell matches. In a probe with two tables
 * (admin network policy cases), the `expected` cells are judged and reported first (the suite's own
 * verdicts), then the `derivedExpected` ones; a mismatch names its table.
 */
import { errorMessage } from '../lib/errors.js';
import { probeCells } from './cases.js';
import type { NetpolCase, ProbeTable } from './cases.js';
import type { DataplaneDriver, ProbeCell } from './driver.js';

export interface Mismatch {
  readonly step: number;
  readonly stepDescription: string;
  readonly from: string;
  readonly to: string;
  readonly protocol: string;
  readonly port: number;
  readonly expected: boolean;
  readonly got: boolean;
  /** The table the cell comes from, when the probe has two. */
  readonly table?: ProbeTable;
  readonly detail?: string;
}

export interface CaseResult {
  readonly id: string;
  readonly name: string;
  readonly passed: boolean;
  readonly cellsJudged: number;
  readonly cellsSkipped: number;
  readonly skipReasons: readonly string[];
  readonly mismatches: readonly Mismatch[];
  /** A state could not be applied (invalid policy, driver failure). */
  readonly error?: string;
}

export async function runCase(
  c: NetpolCase,
  driver: DataplaneDriver,
  signal: AbortSignal,
): Promise<CaseResult> {
  let judged = 0;
  let skipped = 0;
  const reasons = new Set<string>();
  const mismatches: Mismatch[] = [];
  const result = (error?: string): CaseResult => ({
    id: c.id,
    name: c.name,
    passed: error === undefined && mismatches.length === 0,
    cellsJudged: judged,
    cellsSkipped: skipped,
    skipReasons: [...reasons],
    // The suite's own verdicts first: the first mismatch reported is one of theirs when there is one.
    mismatches: [
      ...mismatches.filter((m) => m.table !== 'derivedExpected'),
      ...mismatches.filter((m) => m.table === 'derivedExpected'),
    ],
    ...(error !== undefined ? { error } : {}),
  });
  try {
    await driver.startCase(c, { signal });
    for (const [stepIndex, state] of c.states.entries()) {
      const problems = await driver.applyState(state, { signal });
      if (problems.length > 0)
        return result(`step ${stepIndex} (${state.description}): ${problems.join('; ')}`);
      for (const probe of state.probes) {
        const cells: ProbeCell[] = [];
        const expected: boolean[] = [];
        const tables: ProbeTable[] = [];
        for (const [from, to, exp, table] of probeCells(probe)) {
          cells.push({ from, to, protocol: probe.protocol, port: probe.port });
          expected.push(exp);
          tables.push(table);
        }
        const twoTables = probe.derivedExpected !== undefined;
        const outcomes = await driver.probe(cells, { signal });
        outcomes.forEach((o, i) => {
          const cell = cells[i];
          const exp = expected[i];
          const table = tables[i];
          if (cell === undefined || exp === undefined || table === undefined) return;
          if (o.kind === 'skipped') {
            skipped++;
            reasons.add(o.reason);
            return;
          }
          judged++;
          if (o.allowed !== exp) {
            mismatches.push({
              step: stepIndex,
              stepDescription: state.description,
              ...cell,
              expected: exp,
              got: o.allowed,
              ...(twoTables ? { table } : {}),
              ...(o.detail !== undefined ? { detail: o.detail } : {}),
            });
          }
        });
      }
    }
    return result();
  } catch (e) {
    if (signal.aborted) throw e;
    return result(`driver failed: ${errorMessage(e)}`);
  } finally {
    await driver.endCase({ signal });
  }
}

export function describeMismatch(m: Mismatch): string {
  const verdict = (b: boolean): string => (b ? 'allow' : 'deny');
  return (
    `step ${m.step} (${m.stepDescription})${m.table !== undefined ? `, table ${m.table}` : ''}: ` +
    `${m.from} -> ${m.to} ${m.protocol}/${m.port}: ` +
    `expected ${verdict(m.expected)}, got ${verdict(m.got)}${m.detail !== undefined ? `; ${m.detail}` : ''}`
  );
}
