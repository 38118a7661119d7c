/**
 * The per-rule policy counters in a listing of our table (`nft -j -p list table inet calico`): every rule
 * whose `log` statement sends to NFLOG group 1 (inbound) or 2 (outbound) — the rules rendered for flow logs,
 * one per policy or profile rule, end of tier and "no profile matched" — with its prefix and the values of
 * its `counter`. Rules are told apart by chain and handle (nft gives a re-created rule a new handle), so the
 * caller can take differences per rule across listings. Pure.
 */
import { ok, type Result } from '../../lib/result.js';
import { parseItems } from '../nftables/kernel-state.js';
import { nflogGroupDirection, type NflogDirection } from '../../model/nflog-prefix.js';

export interface NflogRuleCounter {
  readonly chain: string;
  readonly handle: number;
  /** From the NFLOG group: 1 inbound (an endpoint's ingress policy), 2 outbound (egress). */
  readonly direction: NflogDirection;
  /** The `log prefix` exactly as listed (a Calico NFLOG prefix when the rule is ours). */
  readonly prefix: string;
  readonly packets: number;
  readonly bytes: number;
}

type JsonObject = Record<string, unknown>;

function isRecord(x: unknown): x is JsonObject {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

function count(x: unknown): number | undefined {
  return typeof x === 'number' && Number.isSafeInteger(x) && x >= 0 ? x : undefined;
}

/** The rule's verdict log and counter, when it has both (first of each; a rule has one of each). */
function ruleCounter(rule: JsonObject): NflogRuleCounter | undefined {
  const { chain, handle, expr } = rule;
  if (typeof chain !== 'string' || typeof handle !== 'number' || !Array.isArray(expr)) return undefined;
  let log: { direction: NflogDirection; prefix: string } | undefined;
  let counter: { packets: number; bytes: number } | undefined;
  for (const stmt of expr) {
    if (!isRecord(stmt)) continue;
    const l = stmt.log;
    if (log === undefined && isRecord(l) && typeof l.group === 'number' && typeof l.prefix === 'string') {
      const direction = nflogGroupDirection(l.group);
      if (direction !== undefined) log = { direction, prefix: l.prefix };
    }
    const c = stmt.counter;
    if (counter === undefined && isRecord(c)) {
      const packets = count(c.packets);
      const bytes = count(c.bytes);
      if (packets !== undefined && bytes !== undefined) counter = { packets, bytes };
    }
  }
  if (log === undefined || counter === undefined) return undefined;
  return { chain, handle, ...log, ...counter };
}

/** The counted NFLOG rules of a JSON listing, in listed order. */
export function parseNflogRuleCounters(text: string): Result<NflogRuleCounter[], string> {
  const items = parseItems(text);
  if (!items.ok) return items;
  const out: NflogRuleCounter[] = [];
  for (const item of items.value) {
    if (!isRecord(item) || !isRecord(item.rule)) continue;
    const c = ruleCounter(item.rule);
    if (c !== undefined) out.push(c);
  }
  return ok(out);
}
