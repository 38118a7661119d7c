/**
 * Field ownership (`metadata.managedFields`) and server-side apply, as Kubernetes' field manager keeps them
 * (k8s.io/apiserver `pkg/endpoints/handlers/fieldmanager`, structured-merge-diff), for types whose lists are
 * all atomic. Pure; the caller validates and stores the result.
 * - **Update** (create, update, patch): the manager's `Update` entry gains the fields the write added or
 *   changed; every other manager loses them, and everyone loses the fields the write removed.
 * - **Apply**: the applied configuration's fields become the manager's `Apply` entry. A field another
 *   manager owns whose value the apply changes is a conflict (409, causes `FieldManagerConflict`) unless
 *   forced, when the other manager loses it. Maps merge key by key; lists and scalars are replaced. A field
 *   the manager applied before, omits now and nobody else owns is removed from the object. An object that
 *   has no managed fields yet is first owned by `before-first-apply` (as Kubernetes does).
 */
import type { ManagedFieldsEntry } from '../api/meta.js';
import { CALICO_API_VERSION } from '../api/meta.js';
import {
  FieldSet,
  fieldsOf,
  fromFieldsV1,
  isObj,
  pathText,
  removeAt,
  sameValue,
  toFieldsV1,
  valueAt,
  type Path,
} from './fields.js';

type Obj = Record<string, unknown>;

interface Owned {
  readonly entry: ManagedFieldsEntry;
  readonly set: FieldSet;
}

export interface FieldManagerOptions {
  readonly manager: string;
  /** The resource has a status subresource (status is then no field of the main resource). */
  readonly statusSubresource: boolean;
  readonly subresource?: string;
  readonly now: Date;
}

export interface Conflict {
  readonly entry: ManagedFieldsEntry;
  readonly path: Path;
}

export type ApplyOutcome =
  | { readonly ok: true; readonly object: Obj; readonly managedFields: ManagedFieldsEntry[] }
  | { readonly ok: false; readonly conflicts: readonly Conflict[] };

export const BEFORE_FIRST_APPLY = 'before-first-apply';

/** RFC 3339 in seconds, as metav1.Time marshals. */
export function timestamp(d: Date): string {
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function owned(entries: readonly ManagedFieldsEntry[] | undefined): Owned[] {
  return (entries ?? []).map((entry) => ({ entry, set: fromFieldsV1(entry.fieldsV1) }));
}

function isEntry(e: ManagedFieldsEntry, manager: string, op: 'Apply' | 'Update', sub?: string): boolean {
  return e.manager === manager && e.operation === op && (e.subresource ?? '') === (sub ?? '');
}

function entryOf(set: FieldSet, op: 'Apply' | 'Update', o: FieldManagerOptions): ManagedFieldsEntry {
  return {
    manager: o.manager,
    operation: op,
    apiVersion: CALICO_API_VERSION,
    time: timestamp(o.now),
    fieldsType: 'FieldsV1',
    fieldsV1: toFieldsV1(set),
    ...(o.subresource === undefined ? {} : { subresource: o.subresource }),
  };
}

/** The entries back in wire form; a changed set gets a new time; empty sets are dropped. */
function written(list: readonly Owned[], changed: ReadonlySet<Owned>, now: Date): ManagedFieldsEntry[] {
  return list
    .filter((o) => o.set.size > 0)
    .map((o) =>
      changed.has(o) ? { ...o.entry, time: timestamp(now), fieldsV1: toFieldsV1(o.set) } : o.entry,
    );
}

function dropOverlapping(o: Owned, paths: readonly Path[]): boolean {
  let dropped = false;
  for (const p of paths)
    for (const q of o.set.overlapping(p)) {
      o.set.delete(q);
      dropped = true;
    }
  return dropped;
}

/** managedFields after an Update-type write of `next` over `old` (undefined: a create). */
export function recordUpdate(old: Obj | undefined, next: Obj, o: FieldManagerOptions): ManagedFieldsEntry[] {
  const meta = isObj(old?.['metadata']) ? (old['metadata'] as { managedFields?: ManagedFieldsEntry[] }) : {};
  const list = owned(meta.managedFields);
  const before = old === undefined ? new FieldSet() : fieldsOf(old, o.statusSubresource);
  const after = fieldsOf(next, o.statusSubresource);
  const changed = after
    .paths()
    .filter((p) => !before.has(p) || !sameValue(valueAt(old, p), valueAt(next, p)));
  const removed = before.paths().filter((p) => !after.has(p));
  const touched = new Set<Owned>();
  let mine = list.find((x) => isEntry(x.entry, o.manager, 'Update', o.subresource));
  for (const x of list) if (x !== mine && dropOverlapping(x, [...changed, ...removed])) touched.add(x);
  if (mine !== undefined && dropOverlapping(mine, removed)) touched.add(mine);
  if (changed.length > 0) {
    if (mine === undefined) {
      mine = { entry: entryOf(new FieldSet(), 'Update', o), set: new FieldSet() };
      list.push(mine);
    }
    for (const p of changed) mine.set.add(p);
    touched.add(mine);
  }
  return written(list, touched, o.now);
}

/** Merges an applied configuration over an object: maps key by key, anything else replaced; null removes. */
function merge(live: unknown, config: unknown): unknown {
  if (!isObj(live) || !isObj(config)) return structuredClone(config);
  const out: Obj = structuredClone(live);
  for (const [k, v] of Object.entries(config)) {
    if (v === null) Reflect.deleteProperty(out, k);
    else
      Object.defineProperty(out, k, {
        value: merge(out[k], v),
        enumerable: true,
        writable: true,
        configurable: true,
      });
  }
  return out;
}

/** Server-side apply of `config` by `o.manager` over `live` (undefined: the object does not exist). */
export function applyConfig(
  live: Obj | undefined,
  config: Obj,
  force: boolean,
  o: FieldManagerOptions,
): ApplyOutcome {
  const liveMeta = isObj(live?.['metadata'])
    ? (live['metadata'] as { managedFields?: ManagedFieldsEntry[] })
    : {};
  const list = owned(liveMeta.managedFields);
  if (live !== undefined && list.length === 0) {
    const seeded = { ...o, manager: BEFORE_FIRST_APPLY };
    list.push({
      entry: entryOf(fieldsOf(live, o.statusSubresource), 'Update', seeded),
      set: fieldsOf(live, o.statusSubresource),
    });
  }
  const applied = fieldsOf(config, o.statusSubresource);
  const mine = list.find((x) => isEntry(x.entry, o.manager, 'Apply', o.subresource));
  const others = list.filter((x) => x !== mine);
  const conflicts: Conflict[] = [];
  const seen = new Set<string>();
  for (const p of applied.paths()) {
    if (sameValue(valueAt(live, p), valueAt(config, p))) continue;
    for (const x of others)
      for (const q of x.set.overlapping(p)) {
        const key = JSON.stringify([x.entry.manager, x.entry.operation, q]);
        if (!seen.has(key)) conflicts.push({ entry: x.entry, path: q });
        seen.add(key);
      }
  }
  if (conflicts.length > 0 && !force) return { ok: false, conflicts };
  const touched = new Set<Owned>();
  for (const c of conflicts) {
    const x = others.find((y) => y.entry === c.entry);
    if (x !== undefined) {
      x.set.delete(c.path);
      touched.add(x);
    }
  }
  const object = merge(live ?? {}, config) as Obj;
  for (const p of mine?.set.paths() ?? []) {
    if (applied.overlapping(p).length > 0) continue;
    if (others.some((x) => x.set.overlapping(p).length > 0)) continue;
    removeAt(object, p);
  }
  const entry: Owned = { entry: entryOf(applied, 'Apply', o), set: applied };
  const next = mine === undefined ? [...list, entry] : list.map((x) => (x === mine ? entry : x));
  touched.add(entry);
  return { ok: true, object, managedFields: written(next, touched, o.now) };
}

/** Kubernetes' printManager: `"name"`, or for an Update `"name" using <apiVersion> at <time>`. */
function printManager(e: ManagedFieldsEntry): string {
  let s = JSON.stringify(e.manager);
  if (e.subresource !== undefined && e.subresource !== '')
    s = `${s} with subresource ${JSON.stringify(e.subresource)}`;
  if (e.operation === 'Update')
    return e.time === undefined ? `${s} using ${e.apiVersion}` : `${s} using ${e.apiVersion} at ${e.time}`;
  return s;
}

/** The message and causes of Kubernetes' apply conflict (fieldmanager `NewConflictError`). */
export function conflictReport(conflicts: readonly Conflict[]): {
  readonly message: string;
  readonly causes: { reason: string; message: string; field: string }[];
} {
  const causes = conflicts.map((c) => ({
    reason: 'FieldManagerConflict',
    message: `conflict with ${printManager(c.entry)}`,
    field: pathText(c.path),
  }));
  const first = conflicts[0];
  if (conflicts.length === 1 && first !== undefined) {
    return {
      message: `Apply failed with 1 conflict: conflict with ${printManager(first.entry)}: ${pathText(first.path)}`,
      causes,
    };
  }
  const byManager = new Map<string, Path[]>();
  for (const c of conflicts) {
    const k = printManager(c.entry);
    byManager.set(k, [...(byManager.get(k) ?? []), c.path]);
  }
  const lines: string[] = [];
  for (const k of [...byManager.keys()].sort()) {
    lines.push(`conflict with ${k}:`);
    for (const p of byManager.get(k) ?? []) lines.push(`- ${pathText(p)}`);
  }
  return { message: `Apply failed with ${conflicts.length} conflicts: ${lines.join('\n')}`, causes };
}

/** Whether two managedFields lists name the same ownership (times ignored). */
export function sameOwnership(
  a: readonly ManagedFieldsEntry[] | undefined,
  b: readonly ManagedFieldsEntry[] | undefined,
): boolean {
  const strip = (l: readonly ManagedFieldsEntry[] | undefined): unknown =>
    (l ?? []).map((e) => ({ ...e, time: undefined }));
  return sameValue(strip(a), strip(b));
}
