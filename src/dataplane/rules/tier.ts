/**
 * Tier chains: the rules of every policy of one tier that applies to an endpoint, in policy order and rule
 * order, then the tier's end. Inlining the policies (instead of one chain per policy, as Felix does) lets
 * consecutive rules with the same action be merged into one set lookup, so a new connection's cost grows
 * with the number of distinct match shapes rather than the number of rules. Pure.
 *
 * Actions inside a tier chain: Allow sets the accept mark and returns; Pass returns (the endpoint chain then
 * goes on to the next tier); Deny drops; Log logs and continues. Falling off the end is the tier's default:
 * a drop (Deny, when tierEndDrops) or a return (Pass).
 *
 * Flow logs on (filter layer: normal and forwarded-traffic policy): no merging; every rule is its own nft rule
 * that counts and logs its verdict to NFLOG with Calico's prefix (`<A>P<D><rule index>|<policy id>`, group 1
 * ingress, 2 egress), and the tier's end logs too (`DP<D>|<tier>` before its drop, `PP<D>|<tier>` before
 * falling through for a default-Pass tier). Untracked (raw) and preDNAT (mangle) tiers are not flow-logged.
 */
import type { PolicyMsg, PortRangeMsg, RuleMsg } from '../../calc/messages.js';
import { nflogGroup, renderNflogPrefix } from '../../model/nflog-prefix.js';
import type { ChainSpec, MapSpec, NftRule, SetSpec } from '../nftables/model.js';
import { classify } from './dispatch.js';
import type { TierChainRef } from './endpoints.js';
import { TIER_PART } from './names.js';
import { expandLogPrefix, nflogStatement, renderRule } from './rule.js';
import type { NetSetNamer, NflogTarget, RuleRenderOptions } from './rule.js';

interface Item {
  readonly rule: RuleMsg;
  readonly policyId: string;
  readonly origin: string;
  merged: number;
}

type MergeField = 'srcNets' | 'dstNets' | 'dstPorts';
const MERGE_FIELDS: readonly MergeField[] = ['srcNets', 'dstNets', 'dstPorts'];

/**
 * What decides whether two rules merge, in parts: the rule without its index and its three mergeable lists
 * (`rest`), and each list. Two rules merge on a field when every part but that field's is equal.
 */
interface MergeKey {
  readonly rest: string;
  readonly srcNets: string;
  readonly dstNets: string;
  readonly dstPorts: string;
}

function mergeKey(r: RuleMsg): MergeKey {
  return {
    rest: JSON.stringify({ ...r, index: 0, srcNets: 0, dstNets: 0, dstPorts: 0 }),
    srcNets: JSON.stringify(r.srcNets),
    dstNets: JSON.stringify(r.dstNets),
    dstPorts: JSON.stringify(r.dstPorts),
  };
}

/**
 * The keys of the calc graph's rules, computed once per rule object: a tier is re-rendered whenever one of
 * its policies changes, and the rules of the others are the same objects as last time. Rules built by
 * merging grow in place (NetRun), so their keys are never cached.
 */
const KEYS = new WeakMap<RuleMsg, MergeKey>();

function cachedKey(r: RuleMsg): MergeKey {
  let k = KEYS.get(r);
  if (k === undefined) {
    k = mergeKey(r);
    KEYS.set(r, k);
  }
  return k;
}

function sameExcept(a: MergeKey, b: MergeKey, field: MergeField): boolean {
  return a.rest === b.rest && MERGE_FIELDS.every((f) => f === field || a[f] === b[f]);
}

function mergePorts(a: readonly PortRangeMsg[], b: readonly PortRangeMsg[]): PortRangeMsg[] {
  const all = [...a, ...b].sort((x, y) => x.first - y.first);
  const out: { first: number; last: number }[] = [];
  for (const p of all) {
    const last = out[out.length - 1];
    if (last !== undefined && p.first <= last.last + 1) last.last = Math.max(last.last, p.last);
    else out.push({ first: p.first, last: p.last });
  }
  return out;
}

/** Keeps a merged rule's anonymous set well inside nft's (and our) rule-length limits. */
const MAX_MERGED_TEXT = 4000;

/**
 * Address lists at least this long (one family, after merging) become named interval sets of the tier chain
 * (`<chain>-n<k>`): one lookup however many rules were merged, and no rule-length limit on merging.
 */
const NAMED_NET_SET_MIN = 16;

/** Allocates a tier chain's named address sets; equal lists share one set. */
class TierNetSets {
  readonly specs: SetSpec[] = [];
  private readonly byKey = new Map<string, string>();
  private readonly prefix: string;

  constructor(prefix: string) {
    this.prefix = prefix;
  }

  readonly namer: NetSetNamer = (family, nets) => {
    if (nets.length < NAMED_NET_SET_MIN) return undefined;
    const key = `${family}|${nets.join(',')}`;
    let name = this.byKey.get(key);
    if (name === undefined) {
      name = TIER_PART.netSet(this.prefix, this.specs.length);
      this.byKey.set(key, name);
      this.specs.push({
        name,
        type: family === 4 ? 'ipv4_addr' : 'ipv6_addr',
        interval: true,
        elements: nets,
      });
    }
    return name;
  };
}

function listText(r: RuleMsg, field: MergeField): number {
  return field === 'dstPorts' ? r.dstPorts.length * 12 : r[field].reduce((n, x) => n + x.length + 2, 0);
}

/**
 * Merges `next` into `cur` when they differ only in one list-valued field (same action, not Log). With
 * named sets (`unboundedNets`) address lists grow without limit; inline they stay under MAX_MERGED_TEXT.
 * Returns a new rule (its merged list a fresh array) and the field merged.
 */
function tryMerge(
  cur: Item,
  next: Item,
  unboundedNets: boolean,
): { rule: RuleMsg; field: MergeField; key: MergeKey } | undefined {
  const a = cur.rule;
  const b = next.rule;
  if (a.action !== b.action || a.action === 'log') return undefined;
  let curKey: MergeKey | undefined;
  for (const field of MERGE_FIELDS) {
    if (a[field].length === 0 || b[field].length === 0) continue;
    const bounded = field === 'dstPorts' || !unboundedNets;
    if (bounded && listText(a, field) + listText(b, field) > MAX_MERGED_TEXT) continue;
    curKey ??= keyOf(cur);
    if (!sameExcept(curKey, keyOf(next), field)) continue;
    // The merged rule differs from `cur` only in `field`: its key is cur's for every other part.
    if (field === 'dstPorts')
      return { rule: { ...a, dstPorts: mergePorts(a.dstPorts, b.dstPorts) }, field, key: curKey };
    return { rule: { ...a, [field]: [...new Set([...a[field], ...b[field]])] }, field, key: curKey };
  }
  return undefined;
}

/** An item's merge key: cached for the calc graph's rules, computed for rules merged here. */
function keyOf(it: Item): MergeKey {
  return it.merged > 0 ? mergeKey(it.rule) : cachedKey(it.rule);
}

/**
 * An address-list merge in progress: the merged rule (ours, so its list grows in place), the field, the
 * rule's key without that field, and what the list holds. A long run then costs linear time.
 */
interface NetRun {
  readonly rule: RuleMsg;
  readonly field: 'srcNets' | 'dstNets';
  readonly key: MergeKey;
  readonly seen: Set<string>;
  text: number;
}

/** Appends `next` to the run when it differs from the run's rule only in the run's field. */
function extendRun(run: NetRun, next: Item, unboundedNets: boolean): boolean {
  const r = next.rule;
  if (r.action !== run.rule.action || r[run.field].length === 0) return false;
  const text = listText(r, run.field);
  if (!unboundedNets && run.text + text > MAX_MERGED_TEXT) return false;
  if (!sameExcept(run.key, keyOf(next), run.field)) return false;
  const list = run.rule[run.field] as string[];
  for (const n of r[run.field]) {
    if (run.seen.has(n)) continue;
    run.seen.add(n);
    list.push(n);
  }
  run.text += text;
  return true;
}

function collectItems(ref: TierChainRef, policies: ReadonlyMap<string, PolicyMsg>): Item[] {
  const items: Item[] = [];
  for (const id of ref.policyIds) {
    const p = policies.get(id);
    if (p === undefined) continue;
    for (const r of ref.dir === 'ingress' ? p.inboundRules : p.outboundRules) {
      items.push({ rule: r, policyId: id, origin: `${id} rule ${r.index}`, merged: 0 });
    }
  }
  return items;
}

/** Merges runs of consecutive mergeable rules; the sequence given must be the order packets see. */
function mergeItems(items: readonly Item[], unboundedNets = false): Item[] {
  const out: Item[] = [];
  let run: NetRun | undefined;
  for (const it of items) {
    const last = out[out.length - 1];
    if (last !== undefined && run !== undefined && last.rule === run.rule) {
      if (extendRun(run, it, unboundedNets)) {
        last.merged += it.merged + 1;
        continue;
      }
    }
    const m = last !== undefined ? tryMerge(last, it, unboundedNets) : undefined;
    if (last !== undefined && m !== undefined) {
      out[out.length - 1] = { ...last, rule: m.rule, merged: last.merged + it.merged + 1 };
      run =
        m.field === 'dstPorts'
          ? undefined
          : {
              rule: m.rule,
              field: m.field,
              key: m.key,
              seen: new Set(m.rule[m.field]),
              text: listText(m.rule, m.field),
            };
    } else {
      out.push(it);
      run = undefined;
    }
  }
  return out;
}

/** Whether a tier chain logs for flow logs: flow logs on and a filter-layer (normal or forward) chain. */
export function tierFlowLogs(ref: TierChainRef, opts: RuleRenderOptions): boolean {
  return opts.flowLogs === true && ref.layer === 'filter';
}

/** The NFLOG target of a rule of a tier chain's policy, or of the tier's end. */
function tierNflog(ref: TierChainRef, what: { policyId: string; rule: RuleMsg } | 'end'): NflogTarget {
  const direction = ref.dir;
  const prefix =
    what === 'end'
      ? renderNflogPrefix({
          kind: 'endOfTier',
          action: ref.tierEndDrops && ref.defaultAction === 'deny' ? 'Deny' : 'Pass',
          direction,
          tier: ref.tier,
        })
      : renderNflogPrefix({
          kind: 'rule',
          action: what.rule.action === 'allow' ? 'Allow' : what.rule.action === 'pass' ? 'Pass' : 'Deny',
          owner: 'policy',
          direction,
          ruleIndex: what.rule.index,
          policyId: what.policyId,
        });
  return { prefix, group: nflogGroup(direction) };
}

function tierEnd(ref: TierChainRef, logged: boolean): NftRule[] {
  const drops = ref.tierEndDrops && ref.defaultAction === 'deny';
  if (!logged) return drops ? [{ rule: 'drop', comment: `end of tier ${ref.tier}` }] : [];
  const log = nflogStatement(tierNflog(ref, 'end'));
  return [{ rule: drops ? `${log} drop` : log, comment: `end of tier ${ref.tier}` }];
}

function renderItems(
  items: readonly Item[],
  ref: TierChainRef,
  opts: RuleRenderOptions,
  namer?: NetSetNamer,
): NftRule[] {
  const out: NftRule[] = [];
  const logged = tierFlowLogs(ref, opts);
  for (const it of items) {
    const comment =
      it.merged > 0
        ? `${it.origin} +${it.merged} merged ${it.rule.action}`
        : `${it.origin} ${it.rule.action}`;
    const ruleOpts =
      it.rule.action === 'log'
        ? {
            ...opts,
            logPrefix: expandLogPrefix(opts.logPrefix, { kind: 'policy', id: it.policyId, tier: ref.tier }),
          }
        : opts;
    const nflog = logged && it.rule.action !== 'log' ? tierNflog(ref, it) : undefined;
    for (const body of renderRule(it.rule, ruleOpts, 'tier', namer, nflog)) out.push({ rule: body, comment });
  }
  out.push(...tierEnd(ref, logged));
  return out;
}

/** Merging, unless flow logs need each rule on its own (its counter and NFLOG prefix name one rule). */
function mergeFor(
  ref: TierChainRef,
  opts: RuleRenderOptions,
  unboundedNets: boolean,
): (items: readonly Item[]) => Item[] {
  return tierFlowLogs(ref, opts) ? (items) => [...items] : (items) => mergeItems(items, unboundedNets);
}

/** Tier chains with fewer (merged) rules than this are one linear chain; larger ones are classified. */
export const DEFAULT_DISPATCH_MIN_RULES = 24;

/** A tier chain as programmed: its chains (the first is `ref.name`) and the named sets and maps they use. */
export interface RenderedTier {
  readonly chains: readonly ChainSpec[];
  readonly sets: readonly SetSpec[];
  readonly maps: readonly MapSpec[];
}

/**
 * Renders a tier chain: the chain `ref.name` (what endpoint chains jump to) and, for a large tier, its
 * protocol and port sub-chains (`<name>-<proto>`, `<name>-<proto>-<n>`, `<name>-o`; see dispatch.ts) and
 * port verdict maps (`<name>-<proto>-p`), with the named address sets of its long merged lists.
 */
export function renderTierChains(
  ref: TierChainRef,
  policies: ReadonlyMap<string, PolicyMsg>,
  opts: RuleRenderOptions,
  dispatchMinRules = DEFAULT_DISPATCH_MIN_RULES,
): RenderedTier {
  const sets = new TierNetSets(ref.name);
  const merge = mergeFor(ref, opts, true);
  const render = (items: readonly Item[]): NftRule[] => renderItems(merge(items), ref, opts, sets.namer);
  const raw = collectItems(ref, policies);
  if (merge(raw).length < dispatchMinRules)
    return { chains: [{ name: ref.name, rules: render(raw) }], sets: sets.specs, maps: [] };
  // Classify the unmerged rules, then merge within each bucket: rules that were apart in the whole tier
  // may be adjacent in a bucket (their neighbours cannot match its packets), and then they merge.
  const c = classify(raw, (it) => it.rule);
  const chains: ChainSpec[] = [];
  const maps: MapSpec[] = [];
  const vmap: string[] = [];
  for (const [proto, bucket] of c.byProtocol) {
    const pname = TIER_PART.protocol(ref.name, proto);
    vmap.push(`${proto} : goto ${pname}`);
    if (bucket.ports.length === 0) {
      chains.push({ name: pname, rules: render(bucket.leaves[0] ?? []) });
      continue;
    }
    // One interval verdict map: a single lookup whatever the number of ports; a miss falls through.
    const map: MapSpec = {
      name: TIER_PART.portMap(ref.name, proto),
      keyType: 'inet_service',
      elements: new Map(
        bucket.ports.map((p) => [
          p.first === p.last ? `${p.first}` : `${p.first}-${p.last}`,
          `goto ${TIER_PART.leaf(ref.name, proto, p.leaf)}`,
        ]),
      ),
    };
    maps.push(map);
    chains.push({
      name: pname,
      rules: [{ rule: `th dport vmap @${map.name}` }, { rule: `goto ${TIER_PART.leaf(ref.name, proto, 0)}` }],
    });
    bucket.leaves.forEach((leaf, i) =>
      chains.push({ name: TIER_PART.leaf(ref.name, proto, i), rules: render(leaf) }),
    );
  }
  const other = TIER_PART.other(ref.name);
  chains.push({ name: other, rules: render(c.other) });
  const root: NftRule[] = [
    ...(vmap.length > 0
      ? [{ rule: `meta l4proto vmap { ${vmap.join(', ')} }`, comment: `tier ${ref.tier}: by protocol` }]
      : []),
    { rule: `goto ${other}` },
  ];
  return { chains: [{ name: ref.name, rules: root }, ...chains], sets: sets.specs, maps };
}

/** The linear form (one chain), for callers and tests that want the rules in order. */
export function renderTierChain(
  ref: TierChainRef,
  policies: ReadonlyMap<string, PolicyMsg>,
  opts: RuleRenderOptions,
): NftRule[] {
  return renderItems(mergeFor(ref, opts, false)(collectItems(ref, policies)), ref, opts);
}
