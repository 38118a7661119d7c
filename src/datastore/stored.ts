/**
 * Reading stored values without trusting them. A datastore holds whatever was written under a key: our own
 * JSON, but possibly a value another tool wrote, an older format, or a corrupted row. `parseStored` never
 * throws: it answers with the resource, or with a one-line problem that names what is wrong (invalid JSON,
 * not an object, another kind or name than the key says). Backends put such values in `ListResult.invalid`
 * and in `invalid` watch updates; `get` turns them into a StoredValueError naming the key.
 *
 * Only the envelope is checked here; whether the spec is valid is the validation filter's question
 * (validation.ts), because the backends store specs without judging them.
 */
import { internalKind } from '../api/kinds.js';
import { CalicoError } from '../lib/errors.js';
import type { InvalidStoredValue, Resource, ResourceKey } from './api.js';
import { formatKey } from './resource.js';

/** Longest problem text kept (log lines and status files stay bounded whatever was stored). */
const MAX_PROBLEM = 300;

export type ParsedValue =
  { readonly ok: true; readonly value: Resource } | { readonly ok: false; readonly problem: string };

/** How a bad stored value is named to users (calicoctl, logs): the key, its revision and the problem. */
export function invalidValueMessage(invalid: InvalidStoredValue): string {
  return `stored value of ${formatKey(invalid.key)} (revision ${invalid.revision}) is not a valid resource: ${invalid.problem}`;
}

/** `get` of a key whose stored value is not a resource (or, from calicoctl's view, not a valid one). */
export class StoredValueError extends CalicoError {
  readonly key: ResourceKey;
  readonly revision: number;
  readonly problem: string;
  constructor(invalid: InvalidStoredValue) {
    super('CALICO_ERR_PARSE', invalidValueMessage(invalid));
    this.key = invalid.key;
    this.revision = invalid.revision;
    this.problem = invalid.problem;
  }
}

function bounded(text: string): string {
  const oneLine = text.replace(/\s+/g, ' ').trim();
  return oneLine.length > MAX_PROBLEM ? `${oneLine.slice(0, MAX_PROBLEM)}...` : oneLine;
}

function typeOf(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  return `a ${typeof v}`;
}

function shown(v: unknown): string {
  return v === undefined ? 'missing' : JSON.stringify(v);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** What is wrong with a parsed value's envelope for `key`, or undefined when it is a resource for it. */
function envelopeProblem(key: ResourceKey, doc: unknown): string | undefined {
  if (!isObject(doc)) return `not a JSON object (${typeOf(doc)})`;
  const { apiVersion, kind, metadata } = doc;
  if (typeof apiVersion !== 'string' || typeof kind !== 'string') {
    return 'apiVersion and kind must be strings';
  }
  if (!isObject(metadata)) return 'metadata is missing or not an object';
  const stored = internalKind(apiVersion, kind);
  if (stored !== key.kind) {
    return `kind mismatch: stored under ${key.kind}, the value is a ${kind} (${apiVersion})`;
  }
  if (metadata['name'] !== key.name) {
    return `name mismatch: stored under "${key.name}", the value's metadata.name is ${shown(metadata['name'])}`;
  }
  if (metadata['namespace'] !== key.namespace) {
    return `namespace mismatch: stored under namespace ${shown(key.namespace)}, the value's metadata.namespace is ${shown(metadata['namespace'])}`;
  }
  return undefined;
}

/**
 * Parses the JSON stored under `key` at `revision` and sets its resourceVersion. Never throws: a value that
 * is not a resource for this key comes back as a problem.
 */
export function parseStored(key: ResourceKey, text: string, revision: number): ParsedValue {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    const why = e instanceof Error ? e.message : String(e);
    return { ok: false, problem: bounded(`invalid JSON (${text.length} bytes): ${why}`) };
  }
  const problem = envelopeProblem(key, doc);
  if (problem !== undefined) return { ok: false, problem: bounded(problem) };
  const obj = doc as Resource & { metadata: Resource['metadata'] };
  obj.metadata.resourceVersion = String(revision);
  return { ok: true, value: obj };
}

/** The resource stored under `key`, or StoredValueError naming the key and the problem. */
export function decodeStoredOrThrow(key: ResourceKey, text: string, revision: number): Resource {
  const parsed = parseStored(key, text, revision);
  if (!parsed.ok) throw new StoredValueError({ key, revision, problem: parsed.problem });
  return parsed.value;
}
