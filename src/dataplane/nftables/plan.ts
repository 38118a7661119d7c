/**
 * The planner: compares the desired state with what NftTable believes the kernel holds and produces the
 * operations that turn one into the other, grouped in units (one object, or a few that must change together)
 * and ordered in phases. Pure.
 *
 * Phases of one transaction (every unit contributes to each phase; the kernel applies the whole script or none):
 *   0 declare   new sets, maps and chains (and base-chain policy changes), so everything later can refer to them
 *   1 teardown  delete surplus set/map elements; flush chains that will be refilled or removed
 *   2 recreate  delete and re-add objects whose type or hook changed (they are unreferenced after phase 1)
 *   3 fill      add elements and rules
 *   4 sweep     delete surplus sets, maps and foreign objects (no rule refers to them any more)
 *   5 remove    delete surplus chains (their rules were flushed in 1, map elements pointing at them in 1 or 4)
 * A set or map that must be recreated is referenced by rules; the chains holding those rules are rewritten
 * in the same unit so that, applied alone, the unit is still valid.
 * Timeout sets (learned addresses, model.ts) are declared, recreated and swept like other sets, but their
 * elements are never diffed: they belong to NftTable.programLearned and expire in the kernel.
 */
import type { DesiredChain, DesiredMap, DesiredSet, DesiredState } from './compile.js';
import { normaliseElements } from './elements.js';
import {
  emptyKernelState,
  type ForeignObject,
  type KernelChain,
  type KernelMap,
  type KernelSet,
  type KernelState,
} from './kernel-state.js';
import type { BaseChainHook } from './model.js';
import type { NftOp } from './ops.js';

const PHASES = 6;
const DECLARE = 0;
const TEARDOWN = 1;
const RECREATE = 2;
const FILL = 3;
const SWEEP = 4;
const REMOVE = 5;

export type BeliefUpdate =
  | { readonly kind: 'chain'; readonly name: string; readonly value: KernelChain | undefined }
  | { readonly kind: 'set'; readonly name: string; readonly value: KernelSet | undefined }
  | { readonly kind: 'map'; readonly name: string; readonly value: KernelMap | undefined }
  | { readonly kind: 'foreign'; readonly object: ForeignObject };

export type ObjectKind = 'chain' | 'set' | 'map';

export interface ObjectRef {
  readonly kind: ObjectKind;
  readonly name: string;
}

export interface Unit {
  /** For error reports: `chain filter-cali-x`, or several joined by `+`. */
  readonly label: string;
  /** The desired-state objects this unit programs (they stay dirty if it fails). */
  readonly objects: readonly ObjectRef[];
  /** Operations by phase. */
  readonly ops: readonly (readonly NftOp[])[];
  /** The kernel state after the unit succeeds. */
  readonly updates: readonly BeliefUpdate[];
}

export interface Plan {
  /** In dependency order: usable one by one when a transaction must be split to isolate a failure. */
  readonly units: readonly Unit[];
  /** The kernel table holds objects nft's text syntax cannot name: delete and rebuild the table atomically. */
  readonly rebuild: boolean;
}

export interface DirtyScope {
  readonly chains: ReadonlySet<string>;
  readonly sets: ReadonlySet<string>;
  readonly maps: ReadonlySet<string>;
}

class UnitBuilder {
  readonly ops: NftOp[][] = Array.from({ length: PHASES }, () => []);
  readonly updates: BeliefUpdate[] = [];
  readonly objects: ObjectRef[] = [];
  readonly labels: string[] = [];

  constructor(kind: ObjectKind | 'foreign', name: string) {
    this.labels.push(`${kind} ${name}`);
    if (kind !== 'foreign') this.objects.push({ kind, name });
  }

  add(phase: number, ...ops: NftOp[]): this {
    this.ops[phase]!.push(...ops);
    return this;
  }

  absorb(other: UnitBuilder): void {
    other.ops.forEach((ops, phase) => this.ops[phase]!.push(...ops));
    this.updates.push(...other.updates);
    this.objects.push(...other.objects);
    this.labels.push(...other.labels);
  }

  build(): Unit {
    return { label: this.labels.join(' + '), objects: this.objects, ops: this.ops, updates: this.updates };
  }
}

function believedChain(d: DesiredChain): KernelChain {
  const hook =
    d.hook === undefined
      ? undefined
      : {
          type: d.hook.type,
          hook: d.hook.hook,
          priority: d.hook.priority,
          policy: d.hook.policy ?? 'accept',
        };
  return { hook, rules: d.rules.map((r) => ({ comment: r.comment, fingerprint: undefined })) };
}

type HookChange = 'same' | 'policy' | 'recreate';

function compareHook(d: BaseChainHook | undefined, k: KernelChain['hook']): HookChange {
  if (d === undefined || k === undefined) return d === k ? 'same' : 'recreate';
  if (d.type !== k.type || d.hook !== k.hook || d.priority !== k.priority) return 'recreate';
  return (d.policy ?? 'accept') === k.policy ? 'same' : 'policy';
}

function sameRules(d: DesiredChain, k: KernelChain): boolean {
  return d.rules.length === k.rules.length && d.rules.every((r, i) => k.rules[i]?.comment === r.comment);
}

function addRules(u: UnitBuilder, d: DesiredChain): void {
  u.add(
    FILL,
    ...d.rules.map((r): NftOp => ({ kind: 'addRule', chain: d.name, text: r.text, comment: r.comment })),
  );
}

function planChain(name: string, d: DesiredChain | undefined, k: KernelChain | undefined, forced: boolean) {
  const u = new UnitBuilder('chain', name);
  if (d === undefined) {
    if (k === undefined) return undefined;
    u.add(TEARDOWN, { kind: 'flushChain', name }).add(REMOVE, { kind: 'deleteChain', name });
    u.updates.push({ kind: 'chain', name, value: undefined });
    return u;
  }
  if (k === undefined) {
    u.add(DECLARE, { kind: 'addChain', name, hook: d.hook });
  } else {
    const hook = compareHook(d.hook, k.hook);
    const rewrite = forced || hook === 'recreate' || !sameRules(d, k);
    if (hook === 'same' && !rewrite) return undefined;
    if (hook === 'policy') u.add(DECLARE, { kind: 'addChain', name, hook: d.hook });
    if (!rewrite) {
      u.updates.push({ kind: 'chain', name, value: believedChain(d) });
      return u;
    }
    u.add(TEARDOWN, { kind: 'flushChain', name });
    if (hook === 'recreate')
      u.add(RECREATE, { kind: 'deleteChain', name }, { kind: 'addChain', name, hook: d.hook });
  }
  addRules(u, d);
  u.updates.push({ kind: 'chain', name, value: believedChain(d) });
  return u;
}

interface Planned {
  readonly unit: UnitBuilder;
  /** The object was deleted and re-added: rules referring to it must be rewritten with it. */
  readonly recreated: boolean;
}

function planSet(
  name: string,
  d: DesiredSet,
  k: KernelSet | undefined,
  km: KernelMap | undefined,
): Planned | undefined {
  const u = new UnitBuilder('set', name);
  const cover = normaliseElements(d.type, d.interval, d.elements);
  const { type, interval, timeout } = d;
  const value: KernelSet = { type, interval, timeout, compatible: true, elements: new Set(cover) };
  const declare: NftOp = { kind: 'addSet', name, type, interval, timeout };
  let recreated = false;
  if (km !== undefined) {
    u.add(RECREATE, { kind: 'deleteMap', name }, declare);
    u.updates.push({ kind: 'map', name, value: undefined });
    recreated = true;
  } else if (k === undefined) {
    u.add(DECLARE, declare);
  } else if (!k.compatible || k.type !== type || k.interval !== interval || k.timeout !== timeout) {
    u.add(RECREATE, { kind: 'deleteSet', name }, declare);
    recreated = true;
  } else {
    // A timeout set has no desired elements and its learned ones are not in k.elements (kernel-state.ts):
    // only elements that would never expire are surplus, and nothing is missing.
    const surplus = [...k.elements].filter((e) => !value.elements.has(e));
    const missing = cover.filter((e) => !k.elements.has(e));
    if (surplus.length === 0 && missing.length === 0) return undefined;
    if (surplus.length > 0)
      u.add(TEARDOWN, { kind: 'deleteElements', set: name, type: d.type, elements: surplus });
    if (missing.length > 0) u.add(FILL, { kind: 'addElements', set: name, type: d.type, elements: missing });
    u.updates.push({ kind: 'set', name, value });
    return { unit: u, recreated };
  }
  if (cover.length > 0) u.add(FILL, { kind: 'addElements', set: name, type: d.type, elements: cover });
  u.updates.push({ kind: 'set', name, value });
  return { unit: u, recreated };
}

function planMap(
  name: string,
  d: DesiredMap,
  k: KernelMap | undefined,
  ks: KernelSet | undefined,
): Planned | undefined {
  const u = new UnitBuilder('map', name);
  const keyType = d.keyType;
  const value: KernelMap = { keyType, compatible: true, elements: new Map(d.elements) };
  const add: NftOp = { kind: 'addMap', name, keyType };
  let recreated = false;
  if (ks !== undefined) {
    u.add(RECREATE, { kind: 'deleteSet', name }, add);
    u.updates.push({ kind: 'set', name, value: undefined });
    recreated = true;
  } else if (k === undefined) {
    u.add(DECLARE, add);
  } else if (!k.compatible || k.keyType !== keyType) {
    u.add(RECREATE, { kind: 'deleteMap', name }, add);
    recreated = true;
  } else {
    const stale = [...k.elements].filter(([key, v]) => d.elements.get(key) !== v).map(([key]) => key);
    const missing = [...d.elements].filter(([key, v]) => k.elements.get(key) !== v);
    if (stale.length === 0 && missing.length === 0) return undefined;
    if (stale.length > 0) u.add(TEARDOWN, { kind: 'deleteMapElements', map: name, keyType, keys: stale });
    if (missing.length > 0) u.add(FILL, { kind: 'addMapElements', map: name, keyType, entries: missing });
    u.updates.push({ kind: 'map', name, value });
    return { unit: u, recreated };
  }
  if (d.elements.size > 0)
    u.add(FILL, { kind: 'addMapElements', map: name, keyType, entries: [...d.elements] });
  u.updates.push({ kind: 'map', name, value });
  return { unit: u, recreated };
}

function removal(kind: 'set' | 'map', name: string): UnitBuilder {
  const u = new UnitBuilder(kind, name).add(SWEEP, {
    kind: kind === 'set' ? 'deleteSet' : 'deleteMap',
    name,
  });
  u.updates.push({ kind, name, value: undefined });
  return u;
}

function namesInScope(scope: DirtyScope | 'all', desired: DesiredState, kernel: KernelState) {
  if (scope !== 'all') {
    // Sets and maps share a namespace: a name that changes kind is planned from both sides.
    const setLike = new Set([...scope.sets, ...scope.maps]);
    return { chains: new Set(scope.chains), setLike };
  }
  return {
    chains: new Set([...desired.chains.keys(), ...kernel.chains.keys()]),
    setLike: new Set([
      ...desired.sets.keys(),
      ...desired.maps.keys(),
      ...kernel.sets.keys(),
      ...kernel.maps.keys(),
    ]),
  };
}

/** Chains before the chains that jump to them, so that, applied one by one, targets exist first. */
function dependencyOrder(names: Iterable<string>, desired: DesiredState): string[] {
  const wanted = new Set(names);
  const out: string[] = [];
  const seen = new Set<string>();
  const visit = (name: string): void => {
    if (seen.has(name)) return;
    seen.add(name);
    for (const ref of desired.chains.get(name)?.chainRefs ?? []) if (wanted.has(ref)) visit(ref);
    out.push(name);
  };
  [...wanted].sort().forEach(visit);
  return out;
}

/** Plans the changes for the objects in `scope` (or all of them), plus any foreign objects still believed present. */
export function planTransaction(desired: DesiredState, kernel: KernelState, scope: DirtyScope | 'all'): Plan {
  if (kernel.unaddressable.length > 0) {
    return { units: planTransaction(desired, emptyKernelState(), 'all').units, rebuild: true };
  }
  const names = namesInScope(scope, desired, kernel);
  const setUnits: UnitBuilder[] = [];
  const mapUnits: UnitBuilder[] = [];
  const sweeps: UnitBuilder[] = [];
  const recreated = new Map<string, UnitBuilder>();
  for (const name of [...names.setLike].sort()) {
    const ds = desired.sets.get(name);
    const dm = desired.maps.get(name);
    let planned: Planned | undefined;
    if (ds !== undefined) planned = planSet(name, ds, kernel.sets.get(name), kernel.maps.get(name));
    else if (dm !== undefined) planned = planMap(name, dm, kernel.maps.get(name), kernel.sets.get(name));
    else {
      if (kernel.sets.has(name)) sweeps.push(removal('set', name));
      if (kernel.maps.has(name)) sweeps.push(removal('map', name));
    }
    if (planned === undefined) continue;
    (ds !== undefined ? setUnits : mapUnits).push(planned.unit);
    if (planned.recreated) recreated.set(name, planned.unit);
  }
  // Chains whose rules refer to a recreated set are rewritten in that set's unit.
  const owner = new Map<string, UnitBuilder>();
  for (const chain of desired.chains.values()) {
    for (const ref of chain.setRefs) {
      const unit = recreated.get(ref);
      if (unit !== undefined && !owner.has(chain.name)) owner.set(chain.name, unit);
    }
  }
  const chainUnits: UnitBuilder[] = [];
  const removals: UnitBuilder[] = [];
  for (const name of dependencyOrder([...names.chains, ...owner.keys()], desired)) {
    const unit = planChain(name, desired.chains.get(name), kernel.chains.get(name), owner.has(name));
    if (unit === undefined) continue;
    const into = owner.get(name);
    if (into !== undefined) into.absorb(unit);
    else if (desired.chains.has(name)) chainUnits.push(unit);
    else removals.push(unit);
  }
  for (const object of kernel.foreign) {
    const u = new UnitBuilder('foreign', `${object.kind} ${object.name}`);
    u.add(SWEEP, { kind: 'deleteObject', objectKind: object.kind, name: object.name });
    u.updates.push({ kind: 'foreign', object });
    sweeps.push(u);
  }
  const units = [...setUnits, ...chainUnits, ...mapUnits, ...removals, ...sweeps].map((u) => u.build());
  return { units, rebuild: kernel.unaddressable.length > 0 };
}

/** The operations of `units` as one transaction, phase by phase (see the module comment). */
export function transactionOps(plan: {
  readonly units: readonly Unit[];
  readonly rebuild: boolean;
}): NftOp[] {
  const ops: NftOp[] = [{ kind: 'addTable' }];
  if (plan.rebuild) ops.push({ kind: 'deleteTable' }, { kind: 'addTable' });
  for (let phase = 0; phase < PHASES; phase++) {
    for (const unit of plan.units) ops.push(...unit.ops[phase]!);
  }
  return ops;
}
