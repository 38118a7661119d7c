/**
 * Pure block maths on the stored IPAMBlock spec (reference §7.3): ordinals <-> addresses, the FIFO of free
 * ordinals, allocation attributes shared per request, per-ordinal sequence numbers, release into cooldown and
 * the garbage collection that returns cooled-down ordinals to the tail of the FIFO, reservation skipping,
 * usage counts and structural checks. Every function returns a new spec; inputs are never mutated.
 *
 * Release and reuse are two steps: a release clears the handle and stamps `releasedAt` (the ordinal stays
 * allocated, "in cooldown"); `garbageCollect` frees it once `ipCooldownSeconds` have passed. The allocator runs
 * the collection on every write, so with a cooldown of 0 a released address is free again in the same write.
 */
import type { AllocationAttribute, IPAMBlockSpec } from '../api/v3/ipam-block.js';
import { err, ok, type Result } from '../lib/result.js';
import { type Cidr, type IpAddr, familyBits, formatCidr, maskOf, parseCidr } from '../lib/net/ip.js';

export type IsReserved = (ip: IpAddr) => boolean;
const NOTHING_RESERVED: IsReserved = () => false;

export function numAddresses(cidr: Cidr): number {
  return 2 ** (familyBits(cidr.family) - cidr.prefix);
}

export function ordinalToIp(cidr: Cidr, ordinal: number): IpAddr {
  return { family: cidr.family, value: cidr.network + BigInt(ordinal) };
}

/** The ordinal of `ip` in the block, or undefined when the address is outside it. */
export function ipToOrdinal(cidr: Cidr, ip: IpAddr): number | undefined {
  if (ip.family !== cidr.family || (ip.value & maskOf(cidr.family, cidr.prefix)) !== cidr.network) {
    return undefined;
  }
  return Number(ip.value - cidr.network);
}

/** The block's CIDR; throws on a spec whose CIDR does not parse (the codec guarantees it does). */
export function blockCidr(spec: IPAMBlockSpec): Cidr {
  const c = parseCidr(spec.cidr);
  if (c === undefined) throw new Error(`invalid block CIDR ${JSON.stringify(spec.cidr)}`);
  return { family: c.family, network: c.network, prefix: c.prefix };
}

export interface NewBlockOptions {
  readonly affinity?: string;
  readonly affinityClaimTime?: string;
  /** Initial sequence number; time-based so a re-created block never reuses a number. */
  readonly sequenceNumber: number;
}

/** A new block: every ordinal free, in order (so the network address is a valid workload address). */
export function newBlock(cidr: Cidr, opts: NewBlockOptions): IPAMBlockSpec {
  const n = numAddresses(cidr);
  const spec: IPAMBlockSpec = {
    cidr: formatCidr(cidr),
    allocations: new Array<number | null>(n).fill(null),
    unallocated: Array.from({ length: n }, (_, i) => i),
    attributes: [],
    sequenceNumber: opts.sequenceNumber,
    sequenceNumberForAllocation: {},
    deleted: false,
  };
  if (opts.affinity !== undefined) spec.affinity = opts.affinity;
  if (opts.affinityClaimTime !== undefined) spec.affinityClaimTime = opts.affinityClaimTime;
  return spec;
}

function clone(spec: IPAMBlockSpec): IPAMBlockSpec {
  return JSON.parse(JSON.stringify(spec)) as IPAMBlockSpec;
}

/** Sorted-key JSON, so attributes compare by content. */
function canonical(a: AllocationAttribute): string {
  const sortObj = (m: Record<string, string> | undefined): [string, string][] | null =>
    m === undefined ? null : Object.entries(m).sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0));
  return JSON.stringify([
    a.handle_id ?? null,
    sortObj(a.secondary),
    sortObj(a.alternate),
    a.releasedAt ?? null,
  ]);
}

/** Index of an equal attribute, appending it when there is none (mutates `spec`, a private copy). */
function findOrAddAttribute(spec: IPAMBlockSpec, attr: AllocationAttribute): number {
  const key = canonical(attr);
  const found = spec.attributes.findIndex((a) => canonical(a) === key);
  if (found >= 0) return found;
  spec.attributes.push(attr);
  return spec.attributes.length - 1;
}

/** Drops attributes no allocation refers to and renumbers the rest (mutates a private copy). */
function pruneAttributes(spec: IPAMBlockSpec): void {
  const used = new Set(spec.allocations.filter((a): a is number => a !== null));
  const renumber = new Map<number, number>();
  const kept: AllocationAttribute[] = [];
  spec.attributes.forEach((a, i) => {
    if (used.has(i)) {
      renumber.set(i, kept.length);
      kept.push(a);
    }
  });
  spec.attributes = kept;
  spec.allocations = spec.allocations.map((a) => (a === null ? null : (renumber.get(a) ?? null)));
}

function setSequence(spec: IPAMBlockSpec, ordinal: number): void {
  spec.sequenceNumberForAllocation = {
    ...spec.sequenceNumberForAllocation,
    [String(ordinal)]: spec.sequenceNumber,
  };
}

function clearSequence(spec: IPAMBlockSpec, ordinal: number): void {
  const key = String(ordinal);
  spec.sequenceNumberForAllocation = Object.fromEntries(
    Object.entries(spec.sequenceNumberForAllocation ?? {}).filter(([k]) => k !== key),
  );
}

/** The block's sequence number when `ordinal` was allocated (0 for blocks written before numbers existed). */
export function sequenceOf(spec: IPAMBlockSpec, ordinal: number): number {
  return spec.sequenceNumberForAllocation?.[String(ordinal)] ?? 0;
}

/** What every write does first: bump the block's sequence number. */
export function bumpSequence(spec: IPAMBlockSpec): IPAMBlockSpec {
  return { ...clone(spec), sequenceNumber: spec.sequenceNumber + 1 };
}

function makeAttribute(
  handleId: string | undefined,
  attrs: Readonly<Record<string, string>>,
): AllocationAttribute {
  const a: AllocationAttribute = {};
  if (handleId !== undefined) a.handle_id = handleId;
  a.secondary = { ...attrs };
  return a;
}

export interface AutoAssignRequest {
  readonly num: number;
  readonly handleId?: string | undefined;
  readonly attrs: Readonly<Record<string, string>>;
  readonly isReserved?: IsReserved;
}

/**
 * Takes up to `num` ordinals from the head of the FIFO, skipping reserved addresses (which keep their place).
 * All ordinals of one request share one attribute entry.
 */
export function autoAssign(
  spec: IPAMBlockSpec,
  req: AutoAssignRequest,
): { spec: IPAMBlockSpec; ordinals: number[] } {
  const out = clone(spec);
  const cidr = blockCidr(out);
  const isReserved = req.isReserved ?? NOTHING_RESERVED;
  const taken: number[] = [];
  const remaining: number[] = [];
  let attrIndex: number | undefined;
  for (const ord of out.unallocated) {
    if (taken.length >= req.num || out.allocations[ord] !== null || isReserved(ordinalToIp(cidr, ord))) {
      remaining.push(ord);
      continue;
    }
    attrIndex ??= findOrAddAttribute(out, makeAttribute(req.handleId, req.attrs));
    out.allocations[ord] = attrIndex;
    setSequence(out, ord);
    taken.push(ord);
  }
  out.unallocated = remaining;
  return { spec: out, ordinals: taken };
}

/** Number of ordinals `autoAssign` could hand out now. */
export function freeCount(spec: IPAMBlockSpec, isReserved: IsReserved = NOTHING_RESERVED): number {
  const cidr = blockCidr(spec);
  return spec.unallocated.filter((o) => spec.allocations[o] === null && !isReserved(ordinalToIp(cidr, o)))
    .length;
}

/** Allocates one specific ordinal (AssignIP). Fails when it is already allocated (in use or cooling down). */
export function assignOrdinal(
  spec: IPAMBlockSpec,
  ordinal: number,
  handleId: string | undefined,
  attrs: Readonly<Record<string, string>>,
): Result<IPAMBlockSpec, 'alreadyAllocated' | 'outOfRange'> {
  if (ordinal < 0 || ordinal >= spec.allocations.length) return err('outOfRange');
  if (spec.allocations[ordinal] !== null) return err('alreadyAllocated');
  const out = clone(spec);
  out.allocations[ordinal] = findOrAddAttribute(out, makeAttribute(handleId, attrs));
  out.unallocated = out.unallocated.filter((o) => o !== ordinal);
  setSequence(out, ordinal);
  return ok(out);
}

export interface ReleaseRequest {
  readonly ordinal: number;
  /** When set, the stored handle must match. */
  readonly handle?: string | undefined;
  /** When set, the stored per-ordinal sequence number must match (protects against releasing a reuse). */
  readonly sequenceNumber?: number | undefined;
}

export type ReleaseFailure =
  | {
      readonly kind: 'badSequenceNumber';
      readonly ordinal: number;
      readonly requested: number;
      readonly expected: number;
    }
  | {
      readonly kind: 'badHandle';
      readonly ordinal: number;
      readonly requested: string;
      readonly expected: string;
    };

export interface ReleaseResult {
  readonly spec: IPAMBlockSpec;
  readonly released: number[];
  /** Ordinals that were free or already released (in cooldown): nothing to do. */
  readonly notAllocated: number[];
  /** Handle -> number of its addresses released. */
  readonly countByHandle: Record<string, number>;
}

function isCooling(spec: IPAMBlockSpec, ordinal: number): boolean {
  const idx = spec.allocations[ordinal];
  return idx !== null && idx !== undefined && spec.attributes[idx]?.releasedAt !== undefined;
}

/** Marks the ordinal released: same owner attributes, no handle, `releasedAt` stamped (mutates a copy). */
function markReleased(spec: IPAMBlockSpec, ordinal: number, releasedAt: string): void {
  const idx = spec.allocations[ordinal];
  if (idx === null || idx === undefined) return;
  const old = spec.attributes[idx] ?? {};
  const released: AllocationAttribute = { releasedAt };
  if (old.secondary !== undefined) released.secondary = old.secondary;
  if (old.alternate !== undefined) released.alternate = old.alternate;
  spec.allocations[ordinal] = findOrAddAttribute(spec, released);
}

/**
 * Releases the requested ordinals. A sequence number or handle that does not match fails the whole request
 * (the caller acted on stale information), as Calico's ErrorBadSequenceNumber does.
 */
export function releaseOrdinals(
  spec: IPAMBlockSpec,
  requests: readonly ReleaseRequest[],
  releasedAt: string,
): Result<ReleaseResult, ReleaseFailure> {
  const out = clone(spec);
  const unique = new Map(requests.map((r) => [r.ordinal, r]));
  const released: number[] = [];
  const notAllocated: number[] = [];
  const countByHandle: Record<string, number> = {};
  for (const [ordinal, r] of unique) {
    const expectedSeq = sequenceOf(out, ordinal);
    if (r.sequenceNumber !== undefined && r.sequenceNumber !== expectedSeq) {
      return err({ kind: 'badSequenceNumber', ordinal, requested: r.sequenceNumber, expected: expectedSeq });
    }
    const idx = out.allocations[ordinal];
    if (idx === null || idx === undefined || isCooling(out, ordinal)) {
      notAllocated.push(ordinal);
      continue;
    }
    const handle = out.attributes[idx]?.handle_id ?? '';
    if (r.handle !== undefined && r.handle !== '' && r.handle !== handle) {
      return err({ kind: 'badHandle', ordinal, requested: r.handle, expected: handle });
    }
    if (handle !== '') countByHandle[handle] = (countByHandle[handle] ?? 0) + 1;
    released.push(ordinal);
  }
  for (const o of released) markReleased(out, o, releasedAt);
  pruneAttributes(out);
  return ok({ spec: out, released, notAllocated, countByHandle });
}

/** Ordinals currently held by `handleId` (not those in cooldown, whose handle is cleared). */
export function ordinalsByHandle(spec: IPAMBlockSpec, handleId: string): number[] {
  const out: number[] = [];
  spec.allocations.forEach((idx, o) => {
    if (idx !== null && spec.attributes[idx]?.handle_id === handleId) out.push(o);
  });
  return out;
}

/** Releases every ordinal of a handle (skipping those whose sequence number does not match, if one is given). */
export function releaseByHandle(
  spec: IPAMBlockSpec,
  handleId: string,
  releasedAt: string,
  sequenceNumber?: number,
): { spec: IPAMBlockSpec; released: number[] } {
  const out = clone(spec);
  const released = ordinalsByHandle(out, handleId).filter(
    (o) => sequenceNumber === undefined || sequenceOf(out, o) === sequenceNumber,
  );
  for (const o of released) markReleased(out, o, releasedAt);
  pruneAttributes(out);
  return { spec: out, released };
}

/**
 * Frees ordinals whose cooldown has passed: they go to the tail of the FIFO, lose their sequence number and
 * their attribute (when no longer referenced). A `releasedAt` that does not parse counts as long ago.
 */
export function garbageCollect(
  spec: IPAMBlockSpec,
  nowMs: number,
  cooldownSeconds: number,
): { spec: IPAMBlockSpec; freed: number[] } {
  const due = (releasedAt: string): boolean => {
    const t = Date.parse(releasedAt);
    return Number.isNaN(t) || nowMs - t >= cooldownSeconds * 1000;
  };
  const freed: number[] = [];
  spec.allocations.forEach((idx, o) => {
    const at = idx === null ? undefined : spec.attributes[idx]?.releasedAt;
    if (at !== undefined && due(at)) freed.push(o);
  });
  if (freed.length === 0) return { spec, freed };
  const out = clone(spec);
  for (const o of freed) {
    out.allocations[o] = null;
    out.unallocated.push(o);
    clearSequence(out, o);
  }
  pruneAttributes(out);
  return { spec: out, freed };
}

export type AllocationState = 'free' | 'inUse' | 'cooling';

export interface Allocation {
  readonly ordinal: number;
  readonly state: AllocationState;
  readonly attribute?: AllocationAttribute;
  readonly sequenceNumber: number;
}

export function allocationAt(spec: IPAMBlockSpec, ordinal: number): Allocation {
  const idx = spec.allocations[ordinal];
  if (idx === null || idx === undefined) return { ordinal, state: 'free', sequenceNumber: 0 };
  const attribute = spec.attributes[idx];
  const state: AllocationState = attribute?.releasedAt !== undefined ? 'cooling' : 'inUse';
  return attribute === undefined
    ? { ordinal, state, sequenceNumber: sequenceOf(spec, ordinal) }
    : { ordinal, state, attribute, sequenceNumber: sequenceOf(spec, ordinal) };
}

/** Every allocated ordinal (in use or cooling), in ordinal order. */
export function allocations(spec: IPAMBlockSpec): Allocation[] {
  const out: Allocation[] = [];
  spec.allocations.forEach((idx, o) => {
    if (idx !== null) out.push(allocationAt(spec, o));
  });
  return out;
}

/** True when nothing is allocated except the Windows-reserved addresses. */
export function isBlockEmpty(spec: IPAMBlockSpec, windowsHandle: string): boolean {
  return spec.allocations.every((idx) => idx === null || spec.attributes[idx]?.handle_id === windowsHandle);
}
