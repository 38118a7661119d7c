/**
 * Calico's NFLOG prefix codec (felix/rules/nflogprefix.go, v3.32.1). The nftables rules of policies,
 * profiles, ends of tiers and "no profile matched" log the packet with one of these prefixes when flow
 * logs are on; the collector reads them back into a policy trace.
 *
 *   rule               `<A><O><D><ruleIdx>|<id>`   A ∈ A|D|P, O ∈ P (policy) | R (profile), D ∈ I|E;
 *                      id = the policy id (`gnp/name`, `np/ns/name`, ...) or the profile name
 *   end of tier drop   `DP<D>|<tier>`
 *   end of tier pass   `PP<D>|<tier>`   (a tier that holds only staged policies)
 *   no profile matched `DR<D>`
 *
 * A prefix of 63 characters or more is hashed to exactly 63: its first 10 characters, `_`, 41 characters
 * of the URL-safe base64 SHA-256 of the whole prefix, `_`, its last 10 characters. A hashed prefix can
 * only be read back through a lookup built from the prefixes the known policies render
 * ({@link hashedPrefixLookup}).
 */
import { createHash } from 'node:crypto';

/** NFLOG group of packets checked by an endpoint's ingress policy (Felix's "inbound"). */
export const NFLOG_GROUP_INBOUND = 1;
/** NFLOG group of packets checked by an endpoint's egress policy (Felix's "outbound"). */
export const NFLOG_GROUP_OUTBOUND = 2;

/** The kernel's limit on a log prefix, terminator included (felix/rules/rule_defs.go NFLOGPrefixMaxLength). */
export const NFLOG_PREFIX_MAX_LENGTH = 64;
const MAX_WITHOUT_TERMINATOR = NFLOG_PREFIX_MAX_LENGTH - 1;
const HASHED_HEAD = 10;
const HASHED_TAIL = 10;
/** Characters of the hash part, its leading `_` included (GetLengthLimitedID's shortened form). */
const HASH_PART = MAX_WITHOUT_TERMINATOR - HASHED_HEAD - HASHED_TAIL - 1;

export type NflogDirection = 'ingress' | 'egress';
export type NflogRuleAction = 'Allow' | 'Deny' | 'Pass';

export type NflogPrefix =
  | {
      readonly kind: 'rule';
      readonly action: NflogRuleAction;
      readonly owner: 'policy' | 'profile';
      readonly direction: NflogDirection;
      readonly ruleIndex: number;
      /** The policy id (`gnp/name`, `np/ns/name`, `knp/ns/name`, ...) or, for a profile, its name. */
      readonly policyId: string;
    }
  | {
      readonly kind: 'endOfTier';
      readonly action: 'Deny' | 'Pass';
      readonly direction: NflogDirection;
      readonly tier: string;
    }
  | { readonly kind: 'noProfileMatch'; readonly direction: NflogDirection };

/** The NFLOG group a direction logs to. */
export function nflogGroup(direction: NflogDirection): number {
  return direction === 'ingress' ? NFLOG_GROUP_INBOUND : NFLOG_GROUP_OUTBOUND;
}

/** The direction an NFLOG group carries, or undefined for a group Calico's policy rules do not use. */
export function nflogGroupDirection(group: number): NflogDirection | undefined {
  if (group === NFLOG_GROUP_INBOUND) return 'ingress';
  if (group === NFLOG_GROUP_OUTBOUND) return 'egress';
  return undefined;
}

const ACTION_LETTER: Readonly<Record<NflogRuleAction, string>> = { Allow: 'A', Deny: 'D', Pass: 'P' };
const LETTER_ACTION: Readonly<Record<string, NflogRuleAction>> = { A: 'Allow', D: 'Deny', P: 'Pass' };

function dirLetter(d: NflogDirection): string {
  return d === 'ingress' ? 'I' : 'E';
}

function letterDir(l: string): NflogDirection {
  return l === 'I' ? 'ingress' : 'egress';
}

/** The prefix before any hashing. */
function unhashed(p: NflogPrefix): string {
  switch (p.kind) {
    case 'rule':
      return `${ACTION_LETTER[p.action]}${p.owner === 'policy' ? 'P' : 'R'}${dirLetter(p.direction)}${p.ruleIndex}|${p.policyId}`;
    case 'endOfTier':
      return `${ACTION_LETTER[p.action]}P${dirLetter(p.direction)}|${p.tier}`;
    case 'noProfileMatch':
      return `DR${dirLetter(p.direction)}`;
  }
}

function maybeHash(prefix: string): string {
  // Felix hashes at == 63 too, so that an unhashed prefix can never look like a hashed one.
  if (Buffer.byteLength(prefix) < MAX_WITHOUT_TERMINATOR) return prefix;
  const digest = createHash('sha256').update(prefix).digest('base64url');
  const head = prefix.slice(0, HASHED_HEAD);
  const tail = prefix.slice(prefix.length - HASHED_TAIL);
  return `${head}_${digest.slice(0, HASH_PART - 1)}_${tail}`;
}

/** The prefix Felix renders for `p` (hashed when 63 characters or longer). */
export function renderNflogPrefix(p: NflogPrefix): string {
  return maybeHash(unhashed(p));
}

/** True when `text` is a hashed prefix (only those are exactly 63 characters long). */
export function isHashedNflogPrefix(text: string): boolean {
  return Buffer.byteLength(text) === MAX_WITHOUT_TERMINATOR;
}

/** Hashed prefix text → the prefix it stands for. */
export type HashedPrefixLookup = ReadonlyMap<string, NflogPrefix>;

/** Every prefix of `known` that renders hashed, keyed by its hashed text. */
export function hashedPrefixLookup(known: Iterable<NflogPrefix>): HashedPrefixLookup {
  const out = new Map<string, NflogPrefix>();
  for (const p of known) {
    const text = renderNflogPrefix(p);
    if (isHashedNflogPrefix(text)) out.set(text, p);
  }
  return out;
}

const RULE_RE = /^([ADP])([PR])([IE])(0|[1-9][0-9]*)\|(.+)$/;
const END_OF_TIER_RE = /^([DP])P([IE])\|(.+)$/;
const NO_PROFILE_RE = /^DR([IE])$/;

/**
 * Reads a prefix back. Hashed prefixes resolve only through `resolveHashed`; unknown or malformed text
 * gives undefined (the caller counts it as a parse error, Felix's felix_nflog_parse_errors).
 */
export function parseNflogPrefix(text: string, resolveHashed?: HashedPrefixLookup): NflogPrefix | undefined {
  if (isHashedNflogPrefix(text)) return resolveHashed?.get(text);
  const rule = RULE_RE.exec(text);
  if (rule !== null) {
    const [, a, o, d, idx, id] = rule as unknown as [string, string, string, string, string, string];
    const action = LETTER_ACTION[a];
    if (action === undefined) return undefined;
    const ruleIndex = Number(idx);
    if (!Number.isSafeInteger(ruleIndex)) return undefined;
    return {
      kind: 'rule',
      action,
      owner: o === 'P' ? 'policy' : 'profile',
      direction: letterDir(d),
      ruleIndex,
      policyId: id,
    };
  }
  const eot = END_OF_TIER_RE.exec(text);
  if (eot !== null) {
    const [, a, d, tier] = eot as unknown as [string, string, string, string];
    return { kind: 'endOfTier', action: a === 'D' ? 'Deny' : 'Pass', direction: letterDir(d), tier };
  }
  const np = NO_PROFILE_RE.exec(text);
  if (np !== null) return { kind: 'noProfileMatch', direction: letterDir(np[1] as string) };
  return undefined;
}

/** A rule as the prefix helpers need it: its index in its list and its action (lower case, as rules are). */
export interface PrefixRule {
  readonly index: number;
  readonly action: 'allow' | 'deny' | 'pass' | 'log';
}

/**
 * Every prefix the rules of one policy (owner `policy`, id its Felix id) or profile (owner `profile`, id its
 * name) can log, Log rules excepted: what a reader feeds to hashedPrefixLookup.
 */
export function ownerNflogPrefixes(
  owner: 'policy' | 'profile',
  id: string,
  inbound: readonly PrefixRule[],
  outbound: readonly PrefixRule[],
): NflogPrefix[] {
  const out: NflogPrefix[] = [];
  for (const [direction, rules] of [
    ['ingress', inbound],
    ['egress', outbound],
  ] as const) {
    for (const r of rules) {
      if (r.action === 'log') continue;
      const action = r.action === 'allow' ? 'Allow' : r.action === 'pass' ? 'Pass' : 'Deny';
      out.push({ kind: 'rule', action, owner, direction, ruleIndex: r.index, policyId: id });
    }
  }
  return out;
}

/** The four ends a tier can log (Deny and Pass, both directions). */
export function tierNflogPrefixes(tier: string): NflogPrefix[] {
  return (['ingress', 'egress'] as const).flatMap((direction) =>
    (['Deny', 'Pass'] as const).map((action): NflogPrefix => ({
      kind: 'endOfTier',
      action,
      direction,
      tier,
    })),
  );
}
