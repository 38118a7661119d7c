/**
 * The ps-style table of `calicoctl get`: Go's text/tabwriter as calicoctl configures it (minwidth 5,
 * padding 3, space-padded, every cell tab-terminated, so each cell including the last is padded), one
 * table per kind followed by an empty line.
 */
import type { Resource } from '../../datastore/index.js';
import type { Obj } from '../objects.js';
import { tableSpec, validHeadings, type PrintContext } from './columns.js';

const MIN_WIDTH = 5;
const PADDING = 3;

/** Width in runes, as Go's tabwriter counts (UTF-8 code points). */
function width(s: string): number {
  return Array.from(s).length;
}

/** Rows of cells -> text, aligned as Go's tabwriter aligns tab-terminated cells. */
export function tabwrite(rows: readonly (readonly string[])[]): string {
  const widths: number[] = [];
  for (const row of rows) {
    row.forEach((cell, i) => {
      widths[i] = Math.max(widths[i] ?? MIN_WIDTH, width(cell) + PADDING);
    });
  }
  return rows
    .map((row) => `${row.map((cell, i) => cell + ' '.repeat((widths[i] ?? 0) - width(cell))).join('')}\n`)
    .join('');
}

export type TableColumns =
  | { readonly type: 'default'; readonly wide: boolean; readonly namespace: boolean }
  | { readonly type: 'custom'; readonly headings: readonly string[] };

/** Headings for a kind; undefined plus the valid names when a custom heading is unknown. */
export function headingsFor(
  kind: string,
  columns: TableColumns,
): { ok: true; headings: string[] } | { ok: false; message: string } {
  const spec = tableSpec(kind);
  if (columns.type === 'custom') {
    const bad = columns.headings.find((h) => spec.cells[h] === undefined);
    if (bad !== undefined) {
      return {
        ok: false,
        message: `Unknown heading ${bad}, valid values are: ${validHeadings(spec).join(', ')}`,
      };
    }
    return { ok: true, headings: [...columns.headings] };
  }
  const base = columns.wide ? spec.wide : spec.ps;
  const ns = columns.namespace && spec.cells['NAMESPACE'] !== undefined;
  return { ok: true, headings: ns ? ['NAMESPACE', ...base] : [...base] };
}

/** One table: the header line, one line per object, then an empty line. */
export function renderTable(
  kind: string,
  headings: readonly string[],
  items: readonly Resource[],
  ctx: PrintContext,
): string {
  const cells = tableSpec(kind).cells;
  const rows: string[][] = [[...headings]];
  for (const item of items) rows.push(headings.map((h) => cells[h]?.(item as unknown as Obj, ctx) ?? ''));
  return `${tabwrite(rows)}\n`;
}
