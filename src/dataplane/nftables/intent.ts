/**
 * TableIntent: the desired state of the table and what has changed since the last apply. Recording intent is
 * synchronous and does no I/O (the manager contract: `onUpdate` only records); every input is validated here,
 * and invalid input throws a ValidationError listing every problem without changing anything. NftTable extends
 * it with the kernel side.
 */
import { ValidationError, type FieldIssue } from '../../lib/errors.js';
import type { Result } from '../../lib/result.js';
import {
  compileChain,
  compileElements,
  compileMap,
  compileMapEntries,
  compileSet,
  compileTable,
  type DesiredMap,
  type DesiredSet,
  type DesiredState,
} from './compile.js';
import {
  EMPTY_TABLE,
  type BaseChainHook,
  type MapSpec,
  type RuleInput,
  type SetSpec,
  type TableSpec,
} from './model.js';
import type { DirtyScope, ObjectRef } from './plan.js';

/** The objects to re-plan, or all of them (after setDesired or a refresh). */
export interface PendingScope extends DirtyScope {
  readonly all: boolean;
}

function unwrap<T>(r: Result<T, FieldIssue[]>, context: string): T {
  if (!r.ok) throw new ValidationError(r.error, context);
  return r.value;
}

export class TableIntent {
  #desired: DesiredState = unwrap(compileTable(EMPTY_TABLE), 'empty table');
  #all = true;
  readonly #dirty = { chains: new Set<string>(), sets: new Set<string>(), maps: new Set<string>() };

  /** Replaces the whole desired state. */
  setDesired(spec: TableSpec): void {
    this.#desired = unwrap(compileTable(spec), 'nftables table');
    this.#all = true;
  }

  /** Creates or replaces a chain with these rules, in order. `hook` makes it a base chain. */
  updateChain(
    name: string,
    rules: readonly RuleInput[],
    options: { readonly hook?: BaseChainHook } = {},
  ): void {
    this.#desired.chains.set(name, unwrap(compileChain(name, rules, options.hook), `chain ${name}`));
    this.#dirty.chains.add(name);
  }

  removeChain(name: string): void {
    this.#desired.chains.delete(name);
    this.#dirty.chains.add(name);
  }

  /** Creates or replaces a set, elements included. */
  updateSet(spec: SetSpec): void {
    this.#checkFree(spec.name, 'map');
    this.#desired.sets.set(spec.name, unwrap(compileSet(spec), `set ${spec.name}`));
    this.#dirty.sets.add(spec.name);
  }

  addSetMembers(name: string, elements: Iterable<string>): void {
    const set = this.#set(name);
    for (const e of this.#elements(set, elements)) set.elements.add(e);
    this.#dirty.sets.add(name);
  }

  removeSetMembers(name: string, elements: Iterable<string>): void {
    const set = this.#set(name);
    for (const e of this.#elements(set, elements)) set.elements.delete(e);
    this.#dirty.sets.add(name);
  }

  removeSet(name: string): void {
    this.#desired.sets.delete(name);
    this.#dirty.sets.add(name);
  }

  /** Creates or replaces a verdict map, elements included. */
  updateMap(spec: MapSpec): void {
    this.#checkFree(spec.name, 'set');
    this.#desired.maps.set(spec.name, unwrap(compileMap(spec), `map ${spec.name}`));
    this.#dirty.maps.add(spec.name);
  }

  /** Adds or overrides map entries (`key → verdict`). */
  updateMapElements(name: string, entries: Iterable<readonly [string, string]>): void {
    const map = this.#map(name);
    const compiled = compileMapEntries(entries, `maps[${name}].elements`, map.keyType);
    for (const [k, v] of unwrap(compiled, `map ${name}`)) {
      map.elements.set(k, v);
    }
    this.#dirty.maps.add(name);
  }

  removeMapElements(name: string, keys: Iterable<string>): void {
    const map = this.#map(name);
    for (const k of keys) map.elements.delete(k.trim());
    this.#dirty.maps.add(name);
  }

  removeMap(name: string): void {
    this.#desired.maps.delete(name);
    this.#dirty.maps.add(name);
  }

  hasChain(name: string): boolean {
    return this.#desired.chains.has(name);
  }

  // ---- for the reconciler ----

  protected get desired(): DesiredState {
    return this.#desired;
  }

  protected get pendingCount(): number {
    return this.#dirty.chains.size + this.#dirty.sets.size + this.#dirty.maps.size;
  }

  protected get allPending(): boolean {
    return this.#all;
  }

  /** Takes (and clears) what changed; an apply that fails hands it back with restorePending. */
  protected takePending(): PendingScope {
    const d = this.#dirty;
    const scope = { chains: new Set(d.chains), sets: new Set(d.sets), maps: new Set(d.maps), all: this.#all };
    d.chains.clear();
    d.sets.clear();
    d.maps.clear();
    this.#all = false;
    return scope;
  }

  protected restorePending(scope: PendingScope): void {
    scope.chains.forEach((n) => this.#dirty.chains.add(n));
    scope.sets.forEach((n) => this.#dirty.sets.add(n));
    scope.maps.forEach((n) => this.#dirty.maps.add(n));
    if (scope.all) this.#all = true;
  }

  /** Marks objects for the next apply; with no objects (a foreign object to sweep), everything. */
  protected markPending(objects: readonly ObjectRef[]): void {
    for (const o of objects) this.#dirty[`${o.kind}s`].add(o.name);
    if (objects.length === 0) this.#all = true;
  }

  protected markAllPending(): void {
    this.#all = true;
  }

  #elements(set: DesiredSet, elements: Iterable<string>): string[] {
    if (set.timeout) {
      const message = 'elements of a timeout set are learned (programLearned), not desired';
      throw new ValidationError([{ path: `sets[${set.name}].elements`, message }]);
    }
    return unwrap(
      compileElements(set.type, set.interval, elements, `sets[${set.name}].elements`),
      `set ${set.name}`,
    );
  }

  #set(name: string): DesiredSet {
    const set = this.#desired.sets.get(name);
    if (set === undefined) throw new ValidationError([{ path: `sets[${name}]`, message: 'no such set' }]);
    return set;
  }

  #map(name: string): DesiredMap {
    const map = this.#desired.maps.get(name);
    if (map === undefined) throw new ValidationError([{ path: `maps[${name}]`, message: 'no such map' }]);
    return map;
  }

  /** Sets and maps share one namespace in nft. */
  #checkFree(name: string, other: 'set' | 'map'): void {
    const taken = other === 'map' ? this.#desired.maps.has(name) : this.#desired.sets.has(name);
    if (taken) {
      throw new ValidationError([
        { path: `${other}s[${name}]`, message: `name is already used by a ${other}` },
      ]);
    }
  }
}
