/**
 * Field sets for server-side apply, as Kubernetes' structured-merge-diff builds them for types with no list
 * keys (every projectcalico.org/v3 list is atomic, every object a granular map or struct). Pure.
 * - A field set is a set of paths (field names and map keys from the root); a path ends at a scalar, a list
 *   (atomic: owned whole) or an empty object.
 * - `fieldsV1` is Kubernetes' wire form: nested objects keyed `f:<name>`, leaves `{}`; a `.` entry (the
 *   node itself) is read as owning that node.
 * - Server-owned metadata is never in a set (Kubernetes' strip-meta manager): apiVersion, kind,
 *   metadata.name/namespace/uid/resourceVersion/generation/creationTimestamp/selfLink/managedFields; nor is
 *   `status` when the resource has a status subresource.
 */
export type Path = readonly string[];

type Obj = Record<string, unknown>;

export function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

const IGNORED_TOP = new Set(['apiVersion', 'kind']);
const IGNORED_META = new Set([
  'name',
  'namespace',
  'uid',
  'resourceVersion',
  'generation',
  'creationTimestamp',
  'selfLink',
  'managedFields',
  'deletionTimestamp',
  'deletionGracePeriodSeconds',
]);

/** A set of paths keyed by their JSON text. */
export class FieldSet {
  readonly #paths = new Map<string, Path>();

  static of(paths: Iterable<Path>): FieldSet {
    const s = new FieldSet();
    for (const p of paths) s.add(p);
    return s;
  }

  add(p: Path): void {
    this.#paths.set(JSON.stringify(p), p);
  }

  has(p: Path): boolean {
    return this.#paths.has(JSON.stringify(p));
  }

  delete(p: Path): void {
    this.#paths.delete(JSON.stringify(p));
  }

  get size(): number {
    return this.#paths.size;
  }

  paths(): Path[] {
    return [...this.#paths.values()];
  }

  /** Paths of this set equal to, inside or containing `p`. */
  overlapping(p: Path): Path[] {
    return this.paths().filter((q) => isPrefix(q, p) || isPrefix(p, q));
  }
}

export function isPrefix(a: Path, b: Path): boolean {
  return a.length <= b.length && a.every((x, i) => b[i] === x);
}

/** The leaf paths of a document, without server-owned fields. */
export function fieldsOf(doc: unknown, statusSubresource: boolean): FieldSet {
  const out = new FieldSet();
  const walk = (v: unknown, path: string[]): void => {
    if (isObj(v) && Object.keys(v).length > 0) {
      for (const [k, x] of Object.entries(v)) {
        if (path.length === 0 && (IGNORED_TOP.has(k) || (statusSubresource && k === 'status'))) continue;
        if (path.length === 1 && path[0] === 'metadata' && IGNORED_META.has(k)) continue;
        if (x === undefined) continue;
        walk(x, [...path, k]);
      }
      return;
    }
    if (path.length > 0) out.add(path);
  };
  walk(doc, []);
  return out;
}

/** The value at `p`, or undefined. */
export function valueAt(doc: unknown, p: Path): unknown {
  let v = doc;
  for (const k of p) {
    if (!isObj(v) || !Object.hasOwn(v, k)) return undefined;
    v = v[k];
  }
  return v;
}

/** Removes `p` from `doc` (in place), and the objects left empty on the way up. */
export function removeAt(doc: Obj, p: Path): void {
  const chain: Obj[] = [doc];
  for (const k of p.slice(0, -1)) {
    const next = chain[chain.length - 1]![k];
    if (!isObj(next)) return;
    chain.push(next);
  }
  Reflect.deleteProperty(chain[chain.length - 1]!, p[p.length - 1]!);
  for (let i = chain.length - 1; i > 0; i--) {
    if (Object.keys(chain[i]!).length > 0) break;
    Reflect.deleteProperty(chain[i - 1]!, p[i - 1]!);
  }
}

export function sameValue(a: unknown, b: unknown): boolean {
  return JSON.stringify(canonical(a)) === JSON.stringify(canonical(b));
}

export function canonical(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(canonical);
  if (!isObj(v)) return v;
  return Object.fromEntries(
    Object.keys(v)
      .sort()
      .map((k) => [k, canonical(v[k])]),
  );
}

/** Kubernetes' `fieldsV1` of a set. */
export function toFieldsV1(set: FieldSet): Obj {
  const root: Obj = {};
  for (const p of set.paths()) {
    let node = root;
    for (const k of p) {
      const key = `f:${k}`;
      const next = node[key];
      if (isObj(next)) node = next;
      else {
        const created: Obj = {};
        Object.defineProperty(node, key, {
          value: created,
          enumerable: true,
          writable: true,
          configurable: true,
        });
        node = created;
      }
    }
  }
  return canonical(root) as Obj;
}

/** The set a `fieldsV1` names (entries other than `f:` and `.` are ignored: no keyed lists here). */
export function fromFieldsV1(v: unknown): FieldSet {
  const out = new FieldSet();
  const walk = (node: unknown, path: string[]): void => {
    const keys = isObj(node) ? Object.keys(node) : [];
    const fields = keys.filter((k) => k.startsWith('f:'));
    if (keys.includes('.') || (fields.length === 0 && path.length > 0)) out.add(path);
    for (const k of fields) walk((node as Obj)[k], [...path, k.slice(2)]);
  };
  walk(v, []);
  return out;
}

/** Kubernetes' path text: `.spec.selector`, `.metadata.labels.team`. */
export function pathText(p: Path): string {
  return p.map((k) => `.${k}`).join('');
}
