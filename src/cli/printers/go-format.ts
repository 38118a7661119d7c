/**
 * Values printed the way calicoctl's Go templates print them: `%v` of a float64 (`1000`, `1e+06`), `<nil>`
 * for an unset pointer field, `false`/`0` for unset plain fields, and the `join`/`joinAndTruncate` template
 * functions (maps as sorted `k=v`, truncated lists ending in `...`).
 */

/** Go's `%v` of a float64 (strconv 'g' with shortest digits and exponent threshold 6). */
export function goFloat(x: number): string {
  if (Number.isNaN(x)) return 'NaN';
  if (!Number.isFinite(x)) return x > 0 ? '+Inf' : '-Inf';
  if (x === 0) return Object.is(x, -0) ? '-0' : '0';
  const [mantissa = '0', e = '0'] = Math.abs(x).toExponential().split('e');
  const exp = Number(e);
  if (exp >= -4 && exp < 6) return String(x);
  const sign = x < 0 ? '-' : '';
  return `${sign}${mantissa}e${exp < 0 ? '-' : '+'}${String(Math.abs(exp)).padStart(2, '0')}`;
}

/** `%v` of a scalar or a small struct (Go prints structs as `{a b}`). */
export function goScalar(v: unknown): string {
  if (v === undefined || v === null) return '<nil>';
  if (typeof v === 'string') return v;
  if (typeof v === 'number') return Number.isInteger(v) ? String(v) : goFloat(v);
  if (typeof v === 'boolean') return String(v);
  if (Array.isArray(v)) return `[${v.map(goScalar).join(' ')}]`;
  if (typeof v === 'object') return `{${Object.values(v).map(goScalar).join(' ')}}`;
  return JSON.stringify(v);
}

/** Template `join` / `joinAndTruncate`: lists joined, maps as sorted `k=v`; cut at maxLen with `...`. */
export function goJoin(items: unknown, sep: string, maxLen = 0): string {
  if (items === undefined || items === null) return '';
  let list: unknown[];
  if (Array.isArray(items)) list = items;
  else if (typeof items === 'object') {
    list = Object.entries(items)
      .map(([k, v]) => `${k}=${goScalar(v)}`)
      .sort();
  } else list = [items];
  let out = '';
  for (let i = 0; i < list.length; i++) {
    if (i > 0) out += sep;
    out += goScalar(list[i]);
    if (maxLen > 0 && out.length > maxLen) return `${out.slice(0, maxLen - 3)}...`;
  }
  return out;
}
