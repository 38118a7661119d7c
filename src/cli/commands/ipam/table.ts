/**
 * Tables as calicoctl's `ipam` commands print them (go-pretty's default style): `+---+` borders, one space of
 * padding, a separator under the header; cells left-aligned unless a column asks for right alignment.
 */
export type Align = 'left' | 'right';

export function renderTable(
  header: readonly string[],
  rows: readonly (readonly string[])[],
  align: readonly Align[] = [],
): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = `+${widths.map((w) => '-'.repeat(w + 2)).join('+')}+`;
  const row = (cells: readonly string[], aligned: boolean): string =>
    `|${widths
      .map((w, i) => {
        const c = cells[i] ?? '';
        return ` ${aligned && align[i] === 'right' ? c.padStart(w) : c.padEnd(w)} `;
      })
      .join('|')}|`;
  return [line, row(header, false), line, ...rows.map((r) => row(r, true)), line].join('\n') + '\n';
}

/** Go's `%.5g` for a count: up to 5 significant digits, exponent form (`1.0486e+06`) from 10^5 up. */
export function formatG5(n: number): string {
  if (n === 0) return '0';
  const p = n.toPrecision(5);
  const m = /^(-?[\d.]+)e([+-])(\d+)$/.exec(p);
  const strip = (s: string): string => (s.includes('.') ? s.replace(/0+$/, '').replace(/\.$/, '') : s);
  if (m === null) return strip(p);
  return `${strip(m[1] ?? '')}e${m[2] ?? '+'}${(m[3] ?? '').padStart(2, '0')}`;
}

/** Go's `%.f` of a percentage: rounded to an integer, halves to even. */
export function formatPercent(part: number, total: number): string {
  if (total === 0) return 'NaN';
  const v = (100 * part) / total;
  const floor = Math.floor(v);
  const diff = v - floor;
  const rounded = diff > 0.5 || (diff === 0.5 && floor % 2 !== 0) ? floor + 1 : floor;
  return String(rounded);
}

/** `%.5g (%.f%%)`: a count with its share of the capacity. */
export function countWithPercent(n: number, capacity: number): string {
  return `${formatG5(n)} (${formatPercent(n, capacity)}%)`;
}
