/**
 * What the kernel holds in `table inet calico`, as read back with `nft -j -p list table inet calico`, and the
 * belief NftTable keeps between reads. Parsing keeps only what reconciliation needs: chain hooks, each rule's
 * comment (our `cali:<hash>` marker) and a fingerprint of its expression, set/map types and canonical elements.
 * Anything we could not have created ourselves is marked incompatible so the planner replaces it. Pure.
 */
import { err, ok, type Result } from '../../lib/result.js';
import { kernelElement, kernelVerdict, timeoutAllowed } from './elements.js';
import { SET_ELEMENT_TYPES, type MapKeyType, type SetElementType } from './model.js';
import { isValidObjectName } from './syntax.js';

export interface KernelHook {
  readonly type: string;
  readonly hook: string;
  readonly priority: number;
  readonly policy: string;
}

export interface KernelRule {
  readonly comment: string | undefined;
  /** The rule's JSON expression without counter values; undefined for rules we wrote and have not read back. */
  readonly fingerprint: string | undefined;
}

export interface KernelChain {
  readonly hook: KernelHook | undefined;
  readonly rules: readonly KernelRule[];
}

export interface KernelSet {
  readonly type: string;
  readonly interval: boolean;
  /** `flags timeout`: a learned-address set (model.ts SetSpec.timeout). */
  readonly timeout: boolean;
  /** False when the set has flags, timeouts or elements we would never create: it must be recreated. */
  readonly compatible: boolean;
  /**
   * Canonical elements. For a timeout set only the elements WITHOUT a timeout (which would never expire:
   * not ours, surplus); its learned elements (listed with `timeout`/`expires`) are left out.
   */
  readonly elements: ReadonlySet<string>;
}

export interface KernelMap {
  /** The key type when it is one we make (`ifname`, or `inet_service` with the interval flag). */
  readonly keyType: MapKeyType | undefined;
  readonly compatible: boolean;
  readonly elements: ReadonlyMap<string, string>;
}

/** Object kinds other than chains, sets and maps; we never create them, so any found in our table is swept. */
const FOREIGN_KINDS = [
  'counter',
  'quota',
  'limit',
  'flowtable',
  'secmark',
  'synproxy',
  'ct helper',
  'ct timeout',
  'ct expectation',
] as const;
export type ForeignKind = (typeof FOREIGN_KINDS)[number];

export interface ForeignObject {
  readonly kind: ForeignKind;
  readonly name: string;
}

export interface KernelState {
  tableExists: boolean;
  readonly chains: Map<string, KernelChain>;
  readonly sets: Map<string, KernelSet>;
  readonly maps: Map<string, KernelMap>;
  readonly foreign: ForeignObject[];
  /** Objects whose names nft's text syntax cannot express (made through the JSON API): forces a table rebuild. */
  readonly unaddressable: string[];
}

export function emptyKernelState(): KernelState {
  return {
    tableExists: false,
    chains: new Map(),
    sets: new Map(),
    maps: new Map(),
    foreign: [],
    unaddressable: [],
  };
}

type Json = unknown;
type JsonObject = Record<string, Json>;

function isRecord(x: Json): x is JsonObject {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

/** Drops the values stateful statements accumulate (counters, quota usage, last-seen) from a rule expression. */
function stripState(x: Json): Json {
  if (Array.isArray(x)) return x.map(stripState);
  if (!isRecord(x)) return x;
  const out: JsonObject = {};
  for (const [k, v] of Object.entries(x)) {
    if ((k === 'counter' || k === 'last') && isRecord(v)) out[k] = {};
    else if (k === 'quota' && isRecord(v)) out[k] = { ...v, used: 0, used_unit: 'bytes' };
    else out[k] = stripState(v);
  }
  return out;
}

function typeString(t: Json): string | undefined {
  if (typeof t === 'string') return t;
  if (Array.isArray(t) && t.every((p) => typeof p === 'string')) return t.join(' . ');
  return undefined;
}

/** A listed element that carries a timeout: `{"elem": {"val": ..., "timeout": 30, "expires": 29}}`. */
function hasTimeout(e: Json): boolean {
  return isRecord(e) && isRecord(e.elem) && e.elem.timeout !== undefined;
}

function parseSet(o: JsonObject): KernelSet {
  const type = typeString(o.type) ?? '?';
  const flags = Array.isArray(o.flags) ? o.flags : [];
  const interval = flags.includes('interval');
  const timeout = flags.includes('timeout');
  const known = (SET_ELEMENT_TYPES as readonly string[]).includes(type);
  // The flag sets we create: none, `interval`, or (address sets only) `timeout` alone.
  const ourFlags = timeout
    ? flags.length === 1 && timeoutAllowed(type as SetElementType)
    : flags.every((f) => f === 'interval');
  let compatible = known && ourFlags && o.timeout === undefined && o['auto-merge'] !== true;
  const elements = new Set<string>();
  if (known) {
    for (const e of Array.isArray(o.elem) ? o.elem : []) {
      const c = kernelElement(type as SetElementType, e);
      if (c === undefined) compatible = false;
      else if (!(timeout && hasTimeout(e))) elements.add(c);
    }
  }
  return { type, interval, timeout, compatible, elements };
}

function parseMap(o: JsonObject): KernelMap {
  const flags = Array.isArray(o.flags) ? o.flags : [];
  const keyType: MapKeyType | undefined =
    o.type === 'ifname' && flags.length === 0
      ? 'ifname'
      : o.type === 'inet_service' && flags.length === 1 && flags[0] === 'interval'
        ? 'inet_service'
        : undefined;
  let compatible = keyType !== undefined && o.map === 'verdict' && o.timeout === undefined;
  const elements = new Map<string, string>();
  for (const e of Array.isArray(o.elem) ? o.elem : []) {
    const [k, v] = Array.isArray(e) ? (e as Json[]) : [];
    const key = keyType === undefined ? undefined : kernelElement(keyType, k ?? null);
    const verdict = kernelVerdict(v);
    if (key === undefined || verdict === undefined) compatible = false;
    else elements.set(key, verdict);
  }
  return { keyType, compatible, elements };
}

function parseHook(o: JsonObject): KernelHook | undefined {
  if (typeof o.hook !== 'string') return undefined;
  return {
    type: typeof o.type === 'string' ? o.type : '?',
    hook: o.hook,
    priority: typeof o.prio === 'number' ? o.prio : NaN,
    policy: typeof o.policy === 'string' ? o.policy : 'accept',
  };
}

function parseRule(o: JsonObject): KernelRule {
  return {
    comment: typeof o.comment === 'string' ? o.comment : undefined,
    fingerprint: JSON.stringify(stripState(o.expr ?? null)),
  };
}

function addObject(state: KernelState, kind: string, o: JsonObject): void {
  const name = typeof o.name === 'string' ? o.name : undefined;
  if (name === undefined) return;
  if (!isValidObjectName(name)) state.unaddressable.push(`${kind} ${JSON.stringify(name)}`);
  switch (kind) {
    case 'chain':
      state.chains.set(name, { hook: parseHook(o), rules: [] });
      return;
    case 'set':
      state.sets.set(name, parseSet(o));
      return;
    case 'map':
      state.maps.set(name, parseMap(o));
      return;
    default:
      if ((FOREIGN_KINDS as readonly string[]).includes(kind))
        state.foreign.push({ kind: kind as ForeignKind, name });
  }
}

/** The items of an `nft -j` listing (its "nftables" array). */
export function parseItems(text: string): Result<Json[], string> {
  let doc: Json;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    return err(`nft printed invalid JSON: ${e instanceof Error ? e.message : String(e)}`);
  }
  if (!isRecord(doc) || !Array.isArray(doc.nftables)) return err('nft JSON has no "nftables" array');
  return ok(doc.nftables);
}

/** Parses the output of `nft -j -p list table inet calico`. Rules keep their listed (chain) order. */
export function parseNftJson(text: string): Result<KernelState, string> {
  const items = parseItems(text);
  if (!items.ok) return items;
  const state = emptyKernelState();
  const rules = new Map<string, KernelRule[]>();
  for (const item of items.value) {
    if (!isRecord(item)) continue;
    for (const [kind, body] of Object.entries(item)) {
      if (!isRecord(body)) continue;
      if (kind === 'table') state.tableExists = true;
      else if (kind === 'rule' && typeof body.chain === 'string') {
        const list = rules.get(body.chain) ?? [];
        list.push(parseRule(body));
        rules.set(body.chain, list);
      } else if (kind !== 'metainfo') addObject(state, kind, body);
    }
  }
  for (const [name, chain] of state.chains)
    state.chains.set(name, { hook: chain.hook, rules: rules.get(name) ?? [] });
  return ok(state);
}

/** Whether the output of `nft -j list tables` names `table <family> <name>`. */
export function listsTable(text: string, family: string, name: string): Result<boolean, string> {
  const items = parseItems(text);
  if (!items.ok) return items;
  return ok(
    items.value.some(
      (i) => isRecord(i) && isRecord(i.table) && i.table.family === family && i.table.name === name,
    ),
  );
}
