/**
 * Tier chains: the rules of every policy of one tier that applies to an endpoint, in policy order and rule
 * order, then the tier's end. Inlining the policies (instead of one chain per policy, as Felix does) lets
 * consecutive rules with the same action be merged into one set lookup, so a new connection's cost grows
 * with the number of distinct match shapes rather than the number of rules. Pure.
 *
 * Actions inside a tier chain: Allow sets the accept mark and returns; Pass returns (the endpoint chain then
 * goes on to the next tier); Deny drops; Log logs and continues. Falling off the end is the tier's default:
 * a drop (Deny, when tierEndDrops) or a return (Pass).
 */
import type { PolicyMsg, PortRangeMsg, RuleMsg } from '../../calc/messages.js';
import type { NftRule } from '../nftables/model.js';
import type { TierChainRef } from './endpoints.js';
import { renderRule } from './rule.js';
import type { RuleRenderOptions } from './rule.js';

interface Item {
  readonly rule: RuleMsg;
  readonly origin: string;
  merged: number;
}

type MergeField = 'srcNets' | 'dstNets' | 'dstPorts';

function keyWithout(r: RuleMsg, field: MergeField): string {
  return JSON.stringify({ ...r, index: 0, [field]: [] });
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

function listText(r: RuleMsg, field: MergeField): number {
  return field === 'dstPorts' ? r.dstPorts.length * 12 : r[field].reduce((n, x) => n + x.length + 2, 0);
}

/** Merges `next` into `cur` when they differ only in one list-valued field (same action, not Log). */
function tryMerge(cur: RuleMsg, next: RuleMsg): RuleMsg | undefined {
  if (cur.action !== next.action || cur.action === 'log') return undefined;
  for (const field of ['srcNets', 'dstNets', 'dstPorts'] as const) {
    if (cur[field].length === 0 || next[field].length === 0) continue;
    if (listText(cur, field) + listText(next, field) > MAX_MERGED_TEXT) continue;
    if (keyWithout(cur, field) !== keyWithout(next, field)) continue;
    if (field === 'dstPorts') return { ...cur, dstPorts: mergePorts(cur.dstPorts, next.dstPorts) };
    return { ...cur, [field]: [...new Set([...cur[field], ...next[field]])] };
  }
  return undefined;
}

/** Renders one tier chain. `policies` gives each policy id's current message (absent = not yet sent). */
export function renderTierChain(
  ref: TierChainRef,
  policies: ReadonlyMap<string, PolicyMsg>,
  opts: RuleRenderOptions,
): NftRule[] {
  const items: Item[] = [];
  for (const id of ref.policyIds) {
    const p = policies.get(id);
    if (p === undefined) continue;
    for (const r of ref.dir === 'ingress' ? p.inboundRules : p.outboundRules) {
      const last = items[items.length - 1];
      const merged = last !== undefined ? tryMerge(last.rule, r) : undefined;
      if (last !== undefined && merged !== undefined) {
        items[items.length - 1] = { rule: merged, origin: last.origin, merged: last.merged + 1 };
      } else {
        items.push({ rule: r, origin: `${id} rule ${r.index}`, merged: 0 });
      }
    }
  }
  const out: NftRule[] = [];
  for (const it of items) {
    const comment =
      it.merged > 0
        ? `${it.origin} +${it.merged} merged ${it.rule.action}`
        : `${it.origin} ${it.rule.action}`;
    for (const body of renderRule(it.rule, opts, 'tier')) out.push({ rule: body, comment });
  }
  if (ref.tierEndDrops && ref.defaultAction === 'deny')
    out.push({ rule: 'drop', comment: `end of tier ${ref.tier}` });
  return out;
}
