/**
 * JSON patch documents (pure), for `calicoctl patch` and calico-apiserver's PATCH: JSON Merge Patch
 * (RFC 7386, also used for the "strategic" type, which for Calico's kinds has no list-merge keys that would
 * behave differently) and JSON Patch (RFC 6902: add, remove, replace, move, copy, test).
 */
import { err, ok, type Result } from './result.js';

type Obj = Record<string, unknown>;

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function deepCopy<T>(v: T): T {
  return v === undefined ? v : (JSON.parse(JSON.stringify(v)) as T);
}

export type PatchType = 'merge' | 'json';

export function mergePatch(target: unknown, patch: unknown): unknown {
  if (!isObj(patch)) return deepCopy(patch);
  const out: Obj = isObj(target) ? { ...target } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) Reflect.deleteProperty(out, k);
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}

type Container = Obj | unknown[];

function parsePointer(pointer: string): Result<string[], string> {
  if (pointer === '') return ok([]);
  if (!pointer.startsWith('/')) return err(`invalid JSON pointer "${pointer}"`);
  return ok(
    pointer
      .slice(1)
      .split('/')
      .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~')),
  );
}

/** The container holding the last path segment, and that segment. */
function locate(doc: unknown, path: readonly string[], pointer: string): Result<[Container, string], string> {
  let cur: unknown = doc;
  for (const part of path.slice(0, -1)) {
    if (Array.isArray(cur)) cur = cur[Number(part)];
    else if (isObj(cur)) cur = cur[part];
    else cur = undefined;
    if (cur === undefined) return err(`path "${pointer}" does not exist`);
  }
  const last = path.at(-1);
  if (last === undefined || (!Array.isArray(cur) && !isObj(cur)))
    return err(`path "${pointer}" does not exist`);
  return ok([cur, last]);
}

function arrayIndex(arr: unknown[], seg: string, forAdd: boolean, pointer: string): Result<number, string> {
  if (forAdd && seg === '-') return ok(arr.length);
  const i = /^(0|[1-9][0-9]*)$/.test(seg) ? Number(seg) : NaN;
  const max = forAdd ? arr.length : arr.length - 1;
  return Number.isInteger(i) && i <= max ? ok(i) : err(`index "${seg}" out of range in "${pointer}"`);
}

function getAt(doc: unknown, pointer: string): Result<unknown, string> {
  const path = parsePointer(pointer);
  if (!path.ok) return path;
  let cur: unknown = doc;
  for (const part of path.value) {
    if (Array.isArray(cur)) cur = cur[Number(part)];
    else if (isObj(cur)) cur = Object.hasOwn(cur, part) ? cur[part] : undefined;
    else cur = undefined;
    if (cur === undefined) return err(`path "${pointer}" does not exist`);
  }
  return ok(cur);
}

function addAt(doc: unknown, pointer: string, value: unknown): Result<unknown, string> {
  const path = parsePointer(pointer);
  if (!path.ok) return path;
  if (path.value.length === 0) return ok(deepCopy(value));
  const at = locate(doc, path.value, pointer);
  if (!at.ok) return at;
  const [container, seg] = at.value;
  if (Array.isArray(container)) {
    const i = arrayIndex(container, seg, true, pointer);
    if (!i.ok) return i;
    container.splice(i.value, 0, deepCopy(value));
  } else container[seg] = deepCopy(value);
  return ok(doc);
}

function removeAt(doc: unknown, pointer: string): Result<unknown, string> {
  const path = parsePointer(pointer);
  if (!path.ok) return path;
  const at = locate(doc, path.value, pointer);
  if (!at.ok) return at;
  const [container, seg] = at.value;
  if (Array.isArray(container)) {
    const i = arrayIndex(container, seg, false, pointer);
    if (!i.ok) return i;
    container.splice(i.value, 1);
  } else {
    if (!Object.hasOwn(container, seg)) return err(`path "${pointer}" does not exist`);
    Reflect.deleteProperty(container, seg);
  }
  return ok(doc);
}

function applyOp(doc: unknown, op: unknown, n: number): Result<unknown, string> {
  if (!isObj(op) || typeof op['op'] !== 'string' || typeof op['path'] !== 'string') {
    return err(`operation ${n}: expected an object with "op" and "path"`);
  }
  const path = op['path'];
  const from = typeof op['from'] === 'string' ? op['from'] : undefined;
  switch (op['op']) {
    case 'add':
      return addAt(doc, path, op['value']);
    case 'remove':
      return removeAt(doc, path);
    case 'replace': {
      const removed = removeAt(doc, path);
      return removed.ok ? addAt(removed.value, path, op['value']) : removed;
    }
    case 'move':
    case 'copy': {
      if (from === undefined) return err(`operation ${n}: "${op['op']}" needs "from"`);
      const value = getAt(doc, from);
      if (!value.ok) return value;
      const copied = deepCopy(value.value);
      const base = op['op'] === 'move' ? removeAt(doc, from) : ok(doc);
      return base.ok ? addAt(base.value, path, copied) : base;
    }
    case 'test': {
      const value = getAt(doc, path);
      if (!value.ok) return value;
      return JSON.stringify(value.value) === JSON.stringify(op['value'])
        ? ok(doc)
        : err(`test failed at "${path}"`);
    }
    default:
      return err(`operation ${n}: unknown op "${op['op']}"`);
  }
}

export function jsonPatch(target: unknown, ops: unknown): Result<unknown, string> {
  if (!Array.isArray(ops)) return err('a JSON patch must be a list of operations');
  let doc: unknown = deepCopy(target);
  for (const [n, op] of ops.entries()) {
    const next = applyOp(doc, op, n);
    if (!next.ok) return next;
    doc = next.value;
  }
  return ok(doc);
}

export function applyPatch(target: unknown, patch: unknown, type: PatchType): Result<unknown, string> {
  if (type === 'json') return jsonPatch(target, patch);
  if (!isObj(patch)) return err('a merge patch must be an object');
  return ok(mergePatch(target, patch));
}
