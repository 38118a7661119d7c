/**
 * The demo's reachability matrix (pure): sources down, targets (a pod or `outside`, with the port probed)
 * across; each cell allowed, denied or not probed (a pod to itself). Rendering marks cells that changed since
 * the previous matrix, and expectations are written as one short row string per source.
 */

export interface MatrixTarget {
  /** A pod key or `outside`. */
  readonly key: string;
  readonly protocol: 'tcp' | 'udp';
  readonly port: number;
}

export type CellVerdict = 'allowed' | 'denied' | 'self';

/** verdicts[source][target]. */
export type Matrix = Readonly<Record<string, Readonly<Record<string, CellVerdict>>>>;

export function targetLabel(t: MatrixTarget): string {
  return `${t.protocol}/${t.port}`;
}

/** Row strings over the targets' order: `Y` allowed, `n` denied, `-` self. */
export function expectedMatrix(
  sources: readonly string[],
  targets: readonly MatrixTarget[],
  rows: Readonly<Record<string, string>>,
): Matrix {
  const m: Record<string, Record<string, CellVerdict>> = {};
  for (const s of sources) {
    const row = rows[s] ?? '';
    if (row.length !== targets.length) throw new Error(`expectation for ${s} has ${row.length} cells`);
    m[s] = {};
    targets.forEach((t, i) => {
      const c = row[i];
      m[s]![t.key] = c === 'Y' ? 'allowed' : c === '-' ? 'self' : 'denied';
    });
  }
  return m;
}

export interface CellChange {
  readonly from: string;
  readonly to: string;
  readonly before: CellVerdict;
  readonly after: CellVerdict;
}

export function matrixChanges(before: Matrix | undefined, after: Matrix): CellChange[] {
  if (before === undefined) return [];
  const out: CellChange[] = [];
  for (const [from, row] of Object.entries(after)) {
    for (const [to, v] of Object.entries(row)) {
      const b = before[from]?.[to];
      if (b !== undefined && b !== v) out.push({ from, to, before: b, after: v });
    }
  }
  return out;
}

/** Cells whose verdict is not the expected one (`before` = expected, `after` = observed). */
export function mismatches(got: Matrix, want: Matrix): CellChange[] {
  return matrixChanges(want, got);
}

function pad(s: string, n: number): string {
  return s.length >= n ? s : s + ' '.repeat(n - s.length);
}

function cellText(v: CellVerdict | undefined, changed: boolean): string {
  const base = v === 'allowed' ? 'allow' : v === 'denied' ? 'DENY' : v === 'self' ? '.' : '?';
  return changed ? `${base}*` : base;
}

/** The matrix as a text table; `*` marks a cell that changed since `previous`. */
export function renderMatrix(
  sources: readonly string[],
  targets: readonly MatrixTarget[],
  m: Matrix,
  previous?: Matrix,
): string {
  const head = ['from \\ to', ...targets.map((t) => t.key)];
  const sub = ['', ...targets.map(targetLabel)];
  const rows = sources.map((s) => [
    s,
    ...targets.map((t) => {
      const v = m[s]?.[t.key];
      const changed = previous?.[s]?.[t.key] !== undefined && previous[s][t.key] !== v;
      return cellText(v, changed);
    }),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, sub[i]!.length, ...rows.map((r) => r[i]!.length)) + 2);
  const line = (cells: readonly string[]): string =>
    cells
      .map((c, i) => pad(c, widths[i]!))
      .join('')
      .trimEnd();
  return [line(head), line(sub), ...rows.map(line)].join('\n');
}
