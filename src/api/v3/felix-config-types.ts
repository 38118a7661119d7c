/**
 * The value types of Felix's configuration parameters (felix/config/param_types.go, and the FelixConfiguration
 * field types of api/pkg/apis/projectcalico/v3/felixconfig.go). One `ParamType<T>` reads a parameter from
 * both places it can come from: the resource (a JSON value, decoded with field paths) and the environment
 * (`FELIX_<NAME>`, a string in Felix's syntax), into the same typed value; and writes the value back in the
 * form Calico stores (durations as Go prints them: `90s` is stored `1m30s`). Values are plain JSON data, so
 * the calc graph's `configUpdate` message stays serialisable. Lists and structures: felix-config-lists.ts. Pure.
 */
import { parseIp } from '../../lib/net/ip.js';
import { err, ok, type Result } from '../../lib/result.js';
import { type Decoder, show, str, withSchema } from '../decoder.js';
import type { Schema } from '../json-schema.js';

export interface ParamType<T> {
  /** Decodes the FelixConfiguration field (problems recorded at `path`). */
  readonly decode: Decoder<T>;
  /** The value as the resource stores it. */
  readonly encode: (value: T) => unknown;
  /** Parses an environment variable's value (Felix's syntax for the parameter type). */
  readonly parseEnv: (raw: string) => Result<T, string>;
  readonly equal: (a: T, b: T) => boolean;
}

const same = <T>(a: T, b: T): boolean => a === b;

/** A type whose resource form is its value, checked by one string or number rule. */
function scalar<T extends string | number | boolean>(
  schema: Schema,
  decode: Decoder<T>,
  parseEnv: (raw: string) => Result<T, string>,
): ParamType<T> {
  return { decode: withSchema(schema, decode), encode: (v) => v, parseEnv, equal: same };
}

// ── booleans and numbers ────────────────────────────────────────────────────────────────────────────

const TRUE = ['true', '1', 'yes', 'y', 't'];
const FALSE = ['false', '0', 'no', 'n', 'f'];

export function parseBool(raw: string): Result<boolean, string> {
  const v = raw.trim().toLowerCase();
  if (TRUE.includes(v)) return ok(true);
  if (FALSE.includes(v)) return ok(false);
  return err(`invalid boolean ${show(raw)}`);
}

export const boolean = (): ParamType<boolean> =>
  scalar(
    { type: 'boolean' },
    (v, path, issues) => {
      if (typeof v === 'boolean') return v;
      issues.add(path, `expected a boolean, got ${show(v)}`);
      return undefined;
    },
    parseBool,
  );

function rangeProblem(n: number, min: number, max: number): string | undefined {
  if (n < min || n > max) return `value ${n} out of range (must be ${min} to ${max})`;
  return undefined;
}

/** An integer in [min, max]; the environment also takes `0x` hex (Go's ParseInt with base 0). */
export function integer(min = Number.MIN_SAFE_INTEGER, max = Number.MAX_SAFE_INTEGER): ParamType<number> {
  const bounds = {
    ...(min > Number.MIN_SAFE_INTEGER ? { minimum: min } : {}),
    ...(max < Number.MAX_SAFE_INTEGER ? { maximum: max } : {}),
  };
  return scalar(
    { type: 'integer', ...bounds },
    (v, path, issues) => {
      if (typeof v !== 'number' || !Number.isInteger(v)) {
        issues.add(path, `expected an integer, got ${show(v)}`);
        return undefined;
      }
      const problem = rangeProblem(v, min, max);
      if (problem !== undefined) issues.add(path, problem);
      return problem === undefined ? v : undefined;
    },
    (raw) => {
      const t = raw.trim();
      const n = /^-?[0-9]+$/.test(t) ? Number(t) : /^0x[0-9a-f]+$/i.test(t) ? Number.parseInt(t, 16) : NaN;
      if (!Number.isSafeInteger(n)) return err(`invalid integer ${show(raw)}`);
      const problem = rangeProblem(n, min, max);
      return problem === undefined ? ok(n) : err(problem);
    },
  );
}

export const port = (): ParamType<number> => integer(0, 65535);

// ── durations ───────────────────────────────────────────────────────────────────────────────────────

const UNIT_MS: Readonly<Record<string, number>> = {
  ns: 1e-6,
  us: 1e-3,
  µs: 1e-3,
  μs: 1e-3,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};

/** Go's time.ParseDuration, without signs: `90s`, `1m30s`, `1.5h`, `500ms`, `0`. Milliseconds. */
export function parseGoDuration(text: string): number | undefined {
  if (text === '0') return 0;
  if (text === '') return undefined;
  let rest = text;
  let total = 0;
  while (rest !== '') {
    const m = /^([0-9]+(?:\.[0-9]*)?|\.[0-9]+)(ns|us|µs|μs|ms|s|m|h)/.exec(rest);
    if (m === null) return undefined;
    total += Number(m[1]) * (UNIT_MS[m[2] ?? 's'] ?? 1000);
    rest = rest.slice(m[0].length);
  }
  return total;
}

function trimZeros(s: string): string {
  return s.includes('.') ? s.replace(/0+$/, '').replace(/\.$/, '') : s;
}

/** Go's Duration.String(): `1h0m0s`, `1m30s`, `1.5s`, `500ms`, `0s`. */
export function formatGoDuration(ms: number): string {
  const ns = Math.round(ms * 1e6);
  if (ns === 0) return '0s';
  if (ns < 1e3) return `${ns}ns`;
  if (ns < 1e6) return `${trimZeros((ns / 1e3).toFixed(3))}µs`;
  if (ns < 1e9) return `${trimZeros((ns / 1e6).toFixed(6))}ms`;
  const h = Math.floor(ns / 3.6e12);
  const m = Math.floor((ns % 3.6e12) / 6e10);
  const s = trimZeros(((ns % 6e10) / 1e9).toFixed(9));
  return h > 0 ? `${h}h${m}m${s}s` : m > 0 ? `${m}m${s}s` : `${s}s`;
}

const DURATION_SCHEMA: Schema = { type: 'string', description: 'A Go duration, e.g. 90s or 1m30s.' };

/**
 * A duration in milliseconds. The resource holds a Go duration string; the environment holds a number of
 * seconds (`envUnit` ms: milliseconds), as Felix reads it, or a Go duration string.
 */
export function duration(envUnit: 's' | 'ms' = 's'): ParamType<number> {
  return {
    decode: withSchema(DURATION_SCHEMA, (v, path, issues) => {
      if (typeof v !== 'string') {
        issues.add(path, `expected a duration string (e.g. 90s, 1m30s), got ${show(v)}`);
        return undefined;
      }
      const ms = parseGoDuration(v);
      if (ms === undefined) issues.add(path, `invalid duration ${show(v)} (e.g. 90s, 1m30s, 500ms)`);
      return ms;
    }),
    encode: formatGoDuration,
    parseEnv: (raw) => {
      const t = raw.trim();
      if (/^[0-9]+(\.[0-9]+)?$/.test(t)) return ok(Number(t) * (envUnit === 's' ? 1000 : 1));
      const ms = parseGoDuration(t);
      return ms === undefined ? err(`invalid duration ${show(raw)} (seconds, or e.g. 90s)`) : ok(ms);
    },
    equal: same,
  };
}

// ── strings ─────────────────────────────────────────────────────────────────────────────────────────

/** A string, optionally checked (`check` returns the problem, or undefined when valid). */
export function text(check?: (s: string) => string | undefined): ParamType<string> {
  const problem = (s: string): string | undefined => (s === '' || check === undefined ? undefined : check(s));
  return scalar(
    { type: 'string' },
    (v, path, issues) => {
      const s = str(v, path, issues);
      if (s === undefined) return undefined;
      const p = problem(s);
      if (p !== undefined) issues.add(path, p);
      return p === undefined ? s : undefined;
    },
    (raw) => {
      const p = problem(raw);
      return p === undefined ? ok(raw) : err(p);
    },
  );
}

/** One of `values`, in any letter case; the value keeps the API's spelling. */
export function choice<const V extends string>(values: readonly V[]): ParamType<V> {
  const find = (s: string): V | undefined => values.find((x) => x.toLowerCase() === s.trim().toLowerCase());
  const message = (s: string): string => `invalid value ${show(s)} (must be one of ${values.join(', ')})`;
  return scalar(
    { type: 'string', description: `One of ${values.join(', ')} (any letter case).` },
    (v, path, issues) => {
      const s = str(v, path, issues);
      if (s === undefined) return undefined;
      const hit = find(s);
      if (hit === undefined) issues.add(path, message(s));
      return hit;
    },
    (raw) => {
      const hit = find(raw);
      return hit === undefined ? err(message(raw)) : ok(hit);
    },
  );
}

export const matches =
  (re: RegExp, what: string) =>
  (s: string): string | undefined =>
    re.test(s) ? undefined : `invalid ${what} ${show(s)}`;

export function regexpProblem(s: string): string | undefined {
  try {
    new RegExp(s);
    return undefined;
  } catch (e) {
    return `invalid regular expression ${show(s)}: ${e instanceof Error ? e.message : String(e)}`;
  }
}

export function ipProblem(family?: 4 | 6) {
  return (s: string): string | undefined => {
    const ip = parseIp(s);
    if (ip === undefined) return `invalid IP address ${show(s)}`;
    return family !== undefined && ip.family !== family
      ? `${show(s)} is not an IPv${family} address`
      : undefined;
  };
}

/** A host name or an IP address (healthHost, prometheusMetricsHost, debugHost). */
export function hostProblem(s: string): string | undefined {
  if (parseIp(s) !== undefined) return undefined;
  return /^[a-zA-Z0-9:._+-]{1,253}$/.test(s) ? undefined : `invalid host ${show(s)}`;
}

/** `key=value,key=value` (featureGates, featureDetectOverride). */
export const keyValueListProblem = (s: string): string | undefined =>
  s.split(',').every((item) => item === '' || /^\s*\w+=.*$/.test(item))
    ? undefined
    : `invalid key=value list ${show(s)}`;

/** A Linux interface name (validator `interface`). */
export const interfaceNameProblem = matches(/^[a-zA-Z0-9_.-]{1,15}$/, 'interface name');

/** An interface match with iptables' `+` wildcard (validator `ifaceFilter`). */
export const ifaceFilterProblem = matches(/^[a-zA-Z0-9:._+-]{1,15}$/, 'interface filter');
