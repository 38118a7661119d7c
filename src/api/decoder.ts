/**
 * Small typed decoders for untyped documents (YAML/JSON values). A decoder reads one value at a field path,
 * records every problem it finds in an `Issues` collector and returns the decoded value, or `undefined` when
 * the value is unusable. Decoders never mutate their input and always build new objects, so that defaulting
 * can add fields freely. Cross-field checks run afterwards on the typed result and can ask `issues.hasAt()`
 * whether a field already failed, to avoid reporting follow-on errors.
 */
import type { FieldIssue } from '../lib/errors.js';
import { type Schema, OPEN_SCHEMA, STRING_MAP_SCHEMA } from './json-schema.js';
import { MAX_ECHO_CHARS } from './limits.js';

export interface IssuesOptions {
  /**
   * Struct field names match case-insensitively, an exact match first (Go's encoding/json, which Calico's
   * decoder uses for projectcalico.org/v3 kinds: `spec.Order` is `spec.order`). Off for Kubernetes kinds,
   * whose API server decodes case-sensitively.
   */
  readonly foldFieldCase?: boolean;
}

export class Issues {
  readonly list: FieldIssue[] = [];
  readonly foldFieldCase: boolean;

  constructor(opts: IssuesOptions = {}) {
    this.foldFieldCase = opts.foldFieldCase ?? false;
  }

  add(path: string, message: string): void {
    this.list.push({ path, message });
  }

  /** True when an issue was recorded at `path` or at a field below it. */
  hasAt(path: string): boolean {
    return this.list.some(
      (i) => i.path === path || i.path.startsWith(`${path}.`) || i.path.startsWith(`${path}[`),
    );
  }
}

export interface Decoder<T> {
  (value: unknown, path: string, issues: Issues): T | undefined;
  /** The shape the decoder accepts, when known (see json-schema.ts); `schemaOf` reads it. */
  readonly schema?: Schema;
}

/** A decoder that carries `schema` (a new function; the input decoder is unchanged). */
export function withSchema<T>(schema: Schema, decode: Decoder<T>): Decoder<T> {
  const fn = (v: unknown, path: string, issues: Issues): T | undefined => decode(v, path, issues);
  return Object.assign(fn, { schema });
}

/** The decoder with a description added to its schema. */
export function describe<T>(decode: Decoder<T>, description: string): Decoder<T> {
  return withSchema({ ...schemaOf(decode), description }, decode);
}

/** The schema a decoder carries, or the open schema when it carries none. */
export function schemaOf(decode: Decoder<unknown>): Schema {
  return decode.schema ?? OPEN_SCHEMA;
}

export function child(path: string, key: string): string {
  return path === '' ? key : `${path}.${key}`;
}

export function at(path: string, index: number): string {
  return `${path}[${index}]`;
}

/** Path of a map entry: keys with dots or slashes are bracket-quoted (`metadata.labels["a/b"]`). */
export function entry(path: string, key: string): string {
  return /^[A-Za-z0-9_-]+$/.test(key) ? child(path, key) : `${path}[${JSON.stringify(key)}]`;
}

/**
 * Renders a value for a message: strings quoted, numbers plain, the rest as short JSON. Values longer than
 * MAX_ECHO_CHARS are cut, with their full length after the marker (`"aaa..."... (1048576 characters)`).
 */
export function show(value: unknown): string {
  if (typeof value === 'string') {
    if (value.length <= MAX_ECHO_CHARS) return JSON.stringify(value);
    return `${JSON.stringify(value.slice(0, MAX_ECHO_CHARS))}... (${value.length} characters)`;
  }
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (value === null || value === undefined) return 'null';
  let text: string;
  try {
    text = JSON.stringify(value);
  } catch {
    text = Object.prototype.toString.call(value);
  }
  return text.length > MAX_ECHO_CHARS ? `${text.slice(0, MAX_ECHO_CHARS)}...` : text;
}

export function typeName(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'list';
  if (typeof value === 'object') return 'object';
  return typeof value;
}

function wrongType(issues: Issues, path: string, expected: string, value: unknown): void {
  issues.add(path, `expected ${expected}, got ${typeName(value)} ${show(value)}`);
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export const str: Decoder<string> = withSchema({ type: 'string' }, (v, path, issues) => {
  if (typeof v === 'string') return v;
  wrongType(issues, path, 'a string', v);
  return undefined;
});

export const bool: Decoder<boolean> = withSchema({ type: 'boolean' }, (v, path, issues) => {
  if (typeof v === 'boolean') return v;
  wrongType(issues, path, 'a boolean', v);
  return undefined;
});

/** A finite number (Go float64 from JSON). */
export const num: Decoder<number> = withSchema({ type: 'number' }, (v, path, issues) => {
  if (typeof v !== 'number') {
    wrongType(issues, path, 'a number', v);
    return undefined;
  }
  if (!Number.isFinite(v)) {
    issues.add(path, `invalid number ${show(v)} (must be finite)`);
    return undefined;
  }
  return v;
});

/** An integer within [min, max] (inclusive). */
export function int(min: number, max: number): Decoder<number> {
  return withSchema({ type: 'integer', minimum: min, maximum: max }, (v, path, issues) => {
    if (typeof v !== 'number' || !Number.isInteger(v)) {
      wrongType(issues, path, 'an integer', v);
      return undefined;
    }
    if (v < min || v > max) {
      issues.add(path, `value ${v} out of range (must be ${min} to ${max})`);
      return undefined;
    }
    return v;
  });
}

/** One of a fixed set of strings (case-sensitive, as Calico's enums). */
export function oneOf<const T extends string>(values: readonly T[], what: string): Decoder<T> {
  return withSchema({ type: 'string', enum: values }, (v, path, issues) => {
    if (typeof v !== 'string') {
      wrongType(issues, path, 'a string', v);
      return undefined;
    }
    if ((values as readonly string[]).includes(v)) return v as T;
    issues.add(path, `invalid ${what} ${show(v)} (must be one of ${values.join(', ')})`);
    return undefined;
  });
}

/** A string that passes `check` (which returns an error message, or undefined when valid). */
export function checked(check: (s: string) => string | undefined): Decoder<string> {
  return withSchema({ type: 'string' }, (v, path, issues) => {
    const s = str(v, path, issues);
    if (s === undefined) return undefined;
    const problem = check(s);
    if (problem !== undefined) {
      issues.add(path, problem);
      return undefined;
    }
    return s;
  });
}

export interface ListOptions {
  readonly maxItems?: number;
  readonly minItems?: number;
  /** Reject repeated items (Kubernetes `listType=set`). Items are compared by their JSON form. */
  readonly unique?: boolean;
}

/**
 * A list whose items are decoded one by one. Every item is checked (so all problems are reported), but
 * a list with any bad item is unusable as a whole: dropping items would shift the indices that later
 * cross-field checks put in their paths.
 */
export function list<T>(item: Decoder<T>, opts: ListOptions = {}): Decoder<T[]> {
  const schema: Schema = {
    type: 'array',
    items: schemaOf(item),
    ...(opts.minItems !== undefined ? { minItems: opts.minItems } : {}),
    ...(opts.maxItems !== undefined ? { maxItems: opts.maxItems } : {}),
  };
  return withSchema(schema, (v, path, issues) => {
    if (!Array.isArray(v)) {
      wrongType(issues, path, 'a list', v);
      return undefined;
    }
    const items: readonly unknown[] = v;
    if (opts.maxItems !== undefined && items.length > opts.maxItems) {
      issues.add(path, `too many items (${items.length} > ${opts.maxItems})`);
    }
    if (opts.minItems !== undefined && items.length < opts.minItems) {
      issues.add(path, `too few items (${items.length} < ${opts.minItems})`);
    }
    const out: T[] = [];
    const seen = new Set<string>();
    let complete = true;
    for (let i = 0; i < items.length; i++) {
      const raw = items[i];
      const p = at(path, i);
      if (opts.unique === true) {
        const key = JSON.stringify(raw);
        if (seen.has(key)) {
          issues.add(p, `duplicate item ${show(raw)}`);
          complete = false;
        }
        seen.add(key);
      }
      const d = item(raw, p, issues);
      if (d !== undefined) out.push(d);
      else complete = false;
    }
    return complete ? out : undefined;
  });
}

/** A string-to-string map (labels, annotations). */
export const stringMap: Decoder<Record<string, string>> = withSchema(STRING_MAP_SCHEMA, (v, path, issues) => {
  if (!isRecord(v)) {
    wrongType(issues, path, 'a map of strings', v);
    return undefined;
  }
  const out: Record<string, string> = {};
  let complete = true;
  for (const [k, val] of Object.entries(v)) {
    const s = str(val, entry(path, k), issues);
    if (s !== undefined) out[k] = s;
    else complete = false;
  }
  return complete ? out : undefined;
});

/** How one field of a struct is read. */
export interface FieldSpec<T> {
  readonly decode: Decoder<T>;
  readonly required: boolean;
  /**
   * Default for an absent field, computed from the struct's other decoded fields (Calico's defaulting;
   * undefined leaves the field absent). Applied in field order, so the output keeps the spec's key order.
   */
  readonly fallback?: (decoded: Readonly<Record<string, unknown>>) => T | undefined;
}

export function opt<T>(decode: Decoder<T>): FieldSpec<T> {
  return { decode, required: false };
}

export function req<T>(decode: Decoder<T>): FieldSpec<T> {
  return { decode, required: true };
}

/** An optional field with a default: a constant, or computed from the struct's other decoded fields. */
export function withDefault<T>(
  decode: Decoder<T>,
  fallback: T | ((decoded: Readonly<Record<string, unknown>>) => T | undefined),
): FieldSpec<T> {
  const fn =
    typeof fallback === 'function'
      ? (fallback as (d: Readonly<Record<string, unknown>>) => T | undefined)
      : () => fallback;
  return { decode, required: false, fallback: fn };
}

/** One spec per property of T (optional ones included), in output order. */
export type StructSpec<T> = { readonly [K in keyof T]-?: FieldSpec<NonNullable<T[K]>> };

export interface StructOptions {
  /** Unknown fields are errors (Calico decodes strictly); false ignores and drops them. */
  readonly strict?: boolean;
  /** Fields that are accepted but not decoded or kept (e.g. server-managed metadata). */
  readonly ignore?: readonly string[];
}

/**
 * An object with known fields. Output keys follow the spec order; absent optional fields stay absent
 * (`null` counts as absent, as in Go's JSON decoding); invalid optional fields are reported and left out.
 */
export function struct<T>(spec: StructSpec<T>, opts: StructOptions = {}): Decoder<T> {
  const keys = Object.keys(spec) as (keyof T & string)[];
  const exact = new Set<string>(keys);
  const folded = new Map<string, string>(keys.map((k) => [k.toLowerCase(), k]));
  const ignored = new Set(opts.ignore ?? []);
  const ignoredFolded = new Set((opts.ignore ?? []).map((k) => k.toLowerCase()));
  return withSchema(structSchema(spec, opts), (v, path, issues) => {
    if (!isRecord(v)) {
      wrongType(issues, path, 'an object', v);
      return undefined;
    }
    // Each document key to its field; when several keys name one field, the last one wins (as in Go).
    const raws = new Map<string, unknown>();
    for (const k of Object.keys(v)) {
      const field = exact.has(k) ? k : issues.foldFieldCase ? folded.get(k.toLowerCase()) : undefined;
      if (field !== undefined) raws.set(field, v[k]);
      else if (
        opts.strict !== false &&
        !ignored.has(k) &&
        !(issues.foldFieldCase && ignoredFolded.has(k.toLowerCase()))
      ) {
        issues.add(child(path, k), `unknown field ${show(k)}`);
      }
    }
    const decoded: Record<string, unknown> = {};
    let complete = true;
    for (const k of keys) {
      const field: FieldSpec<unknown> = spec[k];
      const raw = raws.get(k);
      if (raw === undefined || raw === null) {
        if (field.required) {
          issues.add(child(path, k), `${k} is required`);
          complete = false;
        }
        continue;
      }
      const d = field.decode(raw, child(path, k), issues);
      if (d !== undefined) decoded[k] = d;
      else if (field.required) complete = false;
    }
    // Every field was read (so all its problems are reported), but a struct missing a required field
    // is unusable as a whole.
    if (!complete) return undefined;
    const out: Record<string, unknown> = {};
    for (const k of keys) {
      const fallback = spec[k].fallback;
      const value = k in decoded || fallback === undefined ? decoded[k] : fallback(decoded);
      if (value !== undefined) out[k] = value;
    }
    return out as T;
  });
}

/** An object schema with one property per field; a non-strict struct keeps unknown fields open. */
function structSchema<T>(spec: StructSpec<T>, opts: StructOptions): Schema {
  const properties: Record<string, Schema> = {};
  const required: string[] = [];
  for (const [k, field] of Object.entries<FieldSpec<unknown>>(spec)) {
    properties[k] = schemaOf(field.decode);
    if (field.required) required.push(k);
  }
  return {
    type: 'object',
    properties,
    ...(required.length > 0 ? { required } : {}),
    ...(opts.strict === false ? { 'x-kubernetes-preserve-unknown-fields': true as const } : {}),
  };
}

/** Applies `check` to a successfully decoded value (cross-field rules of one struct). */
export function refine<T>(
  decode: Decoder<T>,
  check: (value: T, path: string, issues: Issues) => void,
): Decoder<T> {
  return withSchema(schemaOf(decode), (v, path, issues) => {
    const d = decode(v, path, issues);
    if (d !== undefined) check(d, path, issues);
    return d;
  });
}
