/**
 * Values in calicoctl's go-templates: JSON values, plus GoFloat for numbers Go holds as float64, printed
 * and formatted as Go's fmt prints them (`%v`, Sprintf's verbs, Sprint's spacing).
 */
import { goFloat } from './go-format.js';

export type Value = unknown;

/**
 * A number Go holds as a float64 (a policy or tier `order`, a float literal), so that it prints as Go
 * prints floats (`1e+06`). JSON alone cannot tell; other numbers of Calico resources are integers.
 */
export class GoFloat {
  readonly value: number;
  constructor(value: number) {
    this.value = value;
  }
}

export const FLOAT_FIELDS = new Set(['order']);

/** The plain JSON value (a GoFloat's number). */
export const plain = (v: Value): Value => (v instanceof GoFloat ? v.value : v);

export const isObject = (v: Value): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof GoFloat);

export function typeOf(v: Value): string {
  if (v instanceof GoFloat) return 'float64';
  if (v === undefined || v === null) return 'nil';
  if (Array.isArray(v)) return 'slice';
  if (isObject(v)) return 'map';
  return typeof v === 'number' ? (Number.isInteger(v) ? 'int' : 'float64') : typeof v;
}

export function truthy(value: Value): boolean {
  const v = plain(value);
  if (v === undefined || v === null || v === false || v === 0 || v === '') return false;
  if (Array.isArray(v)) return v.length > 0;
  if (isObject(v)) return Object.keys(v).length > 0;
  return true;
}

/** Go's `%v`: strings bare, numbers as Go prints them, lists `[a b]`, maps `map[k:v]` (keys sorted). */
export function goValue(v: Value): string {
  if (v instanceof GoFloat) return goFloat(v.value);
  if (v === undefined) return '';
  if (v === null) return '<nil>';
  if (typeof v === 'string') return v;
  if (typeof v === 'number') return Number.isInteger(v) ? String(v) : goFloat(v);
  if (typeof v === 'boolean') return String(v);
  if (Array.isArray(v)) return `[${v.map(goValue).join(' ')}]`;
  if (isObject(v)) {
    const keys = Object.keys(v).sort();
    return `map[${keys.map((k) => `${k}:${goValue(v[k])}`).join(' ')}]`;
  }
  // JSON values hold nothing else (bigint and symbol cannot come from a document).
  return typeof v === 'bigint' ? v.toString() : '';
}

function pad(s: string, width: number | undefined, left: boolean, zero: boolean): string {
  if (width === undefined || s.length >= width) return s;
  if (left) return s.padEnd(width);
  if (zero && /^[-+]?\d/.test(s)) {
    const sign = /^[-+]/.test(s) ? s.slice(0, 1) : '';
    return sign + s.slice(sign.length).padStart(width - sign.length, '0');
  }
  return s.padStart(width);
}

/** Go's fmt.Sprintf for the verbs templates use: v s q d t f e g x X c %, width, precision, - 0 + flags. */
export function sprintf(format: string, args: readonly Value[]): string {
  let next = 0;
  const VERB = /%([-+ 0#]*)(\d+)?(?:\.(\d+))?([a-zA-Z%])/g;
  const out = format.replace(VERB, (_m, flags: string, w?: string, p?: string, verb?: string) => {
    if (verb === '%') return '%';
    if (next >= args.length) return `%!${verb ?? ''}(MISSING)`;
    const given = args[next++];
    const arg = given instanceof GoFloat ? given.value : given;
    const width = w === undefined ? undefined : Number(w);
    const prec = p === undefined ? undefined : Number(p);
    const num = typeof arg === 'number' ? arg : undefined;
    let s: string;
    switch (verb ?? 'v') {
      case 'v':
      case 's':
        s = goValue(given);
        if (prec !== undefined) s = s.slice(0, prec);
        break;
      case 'q':
        s = JSON.stringify(goValue(arg));
        break;
      case 'd':
        if (num === undefined || !Number.isInteger(num)) return `%!d(${typeOf(arg)}=${goValue(arg)})`;
        s = (flags.includes('+') && num >= 0 ? '+' : '') + String(num);
        break;
      case 't':
        if (typeof arg !== 'boolean') return `%!t(${typeOf(arg)}=${goValue(arg)})`;
        s = String(arg);
        break;
      case 'f':
      case 'F':
      case 'e':
      case 'g':
        if (num === undefined) return `%!${verb}(${typeOf(arg)}=${goValue(arg)})`;
        s =
          verb === 'e'
            ? num.toExponential(prec ?? 6).replace(/e([-+])(\d)$/, 'e$10$2')
            : verb === 'g'
              ? prec === undefined
                ? goFloat(num)
                : String(Number(num.toPrecision(prec)))
              : num.toFixed(prec ?? 6);
        break;
      case 'x':
      case 'X': {
        const hex =
          num !== undefined
            ? Math.trunc(num).toString(16)
            : Buffer.from(goValue(arg), 'utf8').toString('hex');
        s = verb === 'X' ? hex.toUpperCase() : hex;
        break;
      }
      case 'c':
        s = num === undefined ? `%!c(${typeOf(arg)}=${goValue(arg)})` : String.fromCodePoint(num);
        break;
      default:
        return `%!${verb ?? ''}(${typeOf(arg)}=${goValue(arg)})`;
    }
    return pad(s, width, flags.includes('-'), flags.includes('0'));
  });
  if (next >= args.length) return out;
  return `${out}%!(EXTRA ${args
    .slice(next)
    .map((a) => `${typeOf(a)}=${goValue(a)}`)
    .join(', ')})`;
}

/** fmt.Sprint: a space between operands when neither is a string. */
export function sprint(args: readonly Value[]): string {
  let out = '';
  args.forEach((a, i) => {
    if (i > 0 && typeof a !== 'string' && typeof args[i - 1] !== 'string') out += ' ';
    out += goValue(a);
  });
  return out;
}
