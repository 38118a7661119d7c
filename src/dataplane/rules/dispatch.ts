/**
 * Classification of a large tier chain by protocol and destination port, so that a new connection walks only
 * the rules that can match it instead of every rule of every policy.
 *
 *   tier chain:   meta l4proto vmap { 6 : goto <tier>-6, 17 : goto <tier>-17, ... }   goto <tier>-other
 *   <tier>-6:     th dport vmap { 23 : goto <tier>-6-1, 10000-10009 : goto <tier>-6-2, ... }   goto <tier>-6-0
 *   leaves:       the rules (in their original order) that can match packets of that bucket, then the tier end
 *
 * The one invariant that makes this exact: a rule is left out of a bucket only when it provably cannot match
 * any packet of the bucket (its protocol differs; or it requires destination ports that do not intersect the
 * bucket's). Leaving extra rules in is always safe, since every rule keeps its own full match. Order within a
 * bucket is the original order, so first-match semantics are unchanged. Pure.
 */
import type { RuleMsg } from '../../calc/messages.js';

export interface Classified<T> {
  /** Leaves by protocol; `undefined` key = protocols not dispatched. */
  readonly byProtocol: ReadonlyMap<number, ProtocolBucket<T>>;
  readonly other: readonly T[];
}

export interface ProtocolBucket<T> {
  /** Port intervals (disjoint, sorted) and the leaf index of each. */
  readonly ports: readonly { readonly first: number; readonly last: number; readonly leaf: number }[];
  /** Leaf rule lists; leaf 0 is the default (ports in no interval, or no port dispatch). */
  readonly leaves: readonly (readonly T[])[];
}

const PORT_PROTOCOLS = new Set([6, 17, 132]);

function canMatchProtocol(r: RuleMsg, p: number): boolean {
  if (r.protocol !== undefined) return r.protocol === p;
  return r.notProtocol !== p;
}

/** The destination ports a rule requires, or undefined when it may match any port. */
function requiredPorts(r: RuleMsg): readonly { first: number; last: number }[] | undefined {
  if (r.dstPorts.length === 0 || r.dstNamedPortIpSetIds.length > 0) return undefined;
  return r.dstPorts;
}

/**
 * Splitting by port copies every port-less rule into every port leaf; when that would multiply the rules by
 * more than a small factor (many port-less rules among many distinct ports), the ports some rule names are
 * cut into a bounded number of groups of neighbouring port intervals instead, each group one leaf with the
 * port-less rules and only the rules whose ports meet the group. Ports no rule names keep the default leaf.
 */
const MAX_COPY_FACTOR = 4;
/** The grouped fallback may copy this many times the protocol's rules (its leaves are fewer but longer). */
const MAX_GROUP_COPY_FACTOR = 16;

interface PortInterval {
  readonly first: number;
  readonly last: number;
}

/** The fallback split: named port intervals in groups -> leaves 1..n, other ports -> leaf 0. */
function coarseSplit<T>(
  items: readonly T[],
  defaultLeaf: readonly T[],
  elementary: readonly PortInterval[],
  ruleOf: (t: T) => RuleMsg,
  maxLeaves: number,
): ProtocolBucket<T> {
  if (defaultLeaf.length === items.length || elementary.length === 0) return { ports: [], leaves: [items] };
  const budget = MAX_GROUP_COPY_FACTOR * items.length + 256;
  const groups = Math.max(
    1,
    Math.min(maxLeaves - 1, elementary.length, Math.floor(budget / Math.max(1, defaultLeaf.length)) - 1),
  );
  const per = Math.ceil(elementary.length / groups);
  const leaves: (readonly T[])[] = [defaultLeaf];
  const ports: { first: number; last: number; leaf: number }[] = [];
  for (let g = 0; g * per < elementary.length; g++) {
    const chunk = elementary.slice(g * per, (g + 1) * per);
    const meets = (req: readonly PortInterval[]): boolean =>
      req.some((p) => chunk.some((c) => p.first <= c.last && p.last >= c.first));
    const leaf = leaves.length;
    leaves.push(
      items.filter((it) => {
        const req = requiredPorts(ruleOf(it));
        return req === undefined || meets(req);
      }),
    );
    for (const c of chunk) {
      const prev = ports[ports.length - 1];
      if (prev !== undefined && prev.leaf === leaf && prev.last + 1 === c.first) prev.last = c.last;
      else ports.push({ first: c.first, last: c.last, leaf });
    }
  }
  return { ports, leaves };
}

/** The elementary intervals between consecutive port bounds that at least one rule's ports cover. */
function namedIntervals<T>(
  points: readonly number[],
  items: readonly T[],
  ruleOf: (t: T) => RuleMsg,
): PortInterval[] {
  const ranges = items.flatMap((it) => requiredPorts(ruleOf(it)) ?? []);
  const out: PortInterval[] = [];
  for (let i = 0; i + 1 < points.length; i++) {
    const first = points[i] ?? 0;
    if (first > 65535) break;
    const last = Math.min((points[i + 1] ?? 0) - 1, 65535);
    if (ranges.some((p) => p.first <= first && p.last >= last)) out.push({ first, last });
  }
  return out;
}

function bucketPorts<T>(
  items: readonly T[],
  ruleOf: (t: T) => RuleMsg,
  maxLeaves: number,
): ProtocolBucket<T> {
  const indexOf = new Map(items.map((it, i) => [it, i]));
  const budget = MAX_COPY_FACTOR * items.length + 256;
  const bounds = new Set<number>();
  for (const it of items) {
    for (const p of requiredPorts(ruleOf(it)) ?? []) {
      bounds.add(p.first);
      bounds.add(p.last + 1);
    }
  }
  const points = [...bounds].sort((a, b) => a - b);
  if (points.length === 0) return { ports: [], leaves: [items] };
  const defaultLeaf = items.filter((it) => requiredPorts(ruleOf(it)) === undefined);
  const leaves: T[][] = [defaultLeaf];
  let total = defaultLeaf.length;
  const keyToLeaf = new Map<string, number>();
  const ports: { first: number; last: number; leaf: number }[] = [];
  for (let i = 0; i + 1 < points.length; i++) {
    const first = points[i] ?? 0;
    const last = (points[i + 1] ?? 0) - 1;
    if (first > 65535) break;
    const leafItems = items.filter((it) => {
      const req = requiredPorts(ruleOf(it));
      return req === undefined || req.some((p) => p.first <= first && p.last >= Math.min(last, 65535));
    });
    if (leafItems.length === defaultLeaf.length) continue; // same rules as the default leaf
    const key = leafItems.map((it) => indexOf.get(it)).join(',');
    let leaf = keyToLeaf.get(key);
    if (leaf === undefined) {
      total += leafItems.length;
      if (leaves.length >= maxLeaves || total > budget)
        return coarseSplit(items, defaultLeaf, namedIntervals(points, items, ruleOf), ruleOf, maxLeaves);
      leaf = leaves.length;
      leaves.push(leafItems);
      keyToLeaf.set(key, leaf);
    }
    const prev = ports[ports.length - 1];
    if (prev !== undefined && prev.leaf === leaf && prev.last + 1 === first)
      prev.last = Math.min(last, 65535);
    else ports.push({ first, last: Math.min(last, 65535), leaf });
  }
  return { ports, leaves };
}

/** Splits items by protocol (and, for TCP/UDP/SCTP, by destination port), keeping order in every bucket. */
export function classify<T>(items: readonly T[], ruleOf: (t: T) => RuleMsg, maxLeaves = 4096): Classified<T> {
  const protocols = new Set<number>();
  for (const it of items) {
    const p = ruleOf(it).protocol;
    if (p !== undefined) protocols.add(p);
  }
  const byProtocol = new Map<number, ProtocolBucket<T>>();
  for (const p of [...protocols].sort((a, b) => a - b)) {
    const forP = items.filter((it) => canMatchProtocol(ruleOf(it), p));
    byProtocol.set(
      p,
      PORT_PROTOCOLS.has(p) ? bucketPorts(forP, ruleOf, maxLeaves) : { ports: [], leaves: [forP] },
    );
  }
  // Packets of any other protocol can only match rules without a protocol.
  const other = items.filter((it) => ruleOf(it).protocol === undefined);
  return { byProtocol, other };
}
