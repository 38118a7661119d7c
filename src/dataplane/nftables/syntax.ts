/**
 * What may go into an nft script: object names, rule text, comments and verdicts, checked before anything is
 * rendered so that no input can break out of its line (`;`, newline, `#`) or collide with nft syntax. Also the
 * rule comment `cali:<hash>` that lets refresh() recognise each rule after a restart, and the cheap reference
 * scan (`@set`, `jump chain`) that orders a transaction. Pure.
 */
import { createHash } from 'node:crypto';
import { err, ok, type Result } from '../../lib/result.js';

/**
 * nft 1.0.6 takes chain/set/map names only unquoted, as its scanner's `string` token. Names made only of
 * lower-case letters and digits can be nft keywords (`counter`, `ip6`, `map`), so a name must also contain an
 * upper-case letter or one of `- _ . /`; Calico's names (`filter-cali-pi-…`, `cali40s-…`) always do.
 */
const NAME = /^[A-Za-z_.][A-Za-z0-9_./-]*$/;
const NOT_KEYWORD = /[A-Z_./-]/;
const MAX_NAME_LENGTH = 255;

/** nft stores at most 128 bytes of comment; we keep one byte spare. */
const MAX_COMMENT_BYTES = 127;
export const RULE_COMMENT_PREFIX = 'cali:';
const HASH_CHARS = 16;
const MAX_RULE_LENGTH = 8192;

/** Why `name` cannot name an nft object, or undefined when it can. */
export function checkObjectName(name: string): string | undefined {
  if (name.length === 0) return 'name is empty';
  if (name.length > MAX_NAME_LENGTH) return `name is longer than ${MAX_NAME_LENGTH} characters`;
  if (!NAME.test(name))
    return `invalid nft name ${JSON.stringify(name)}: use letters, digits and - _ . /, not starting with a digit`;
  if (!NOT_KEYWORD.test(name)) {
    return `invalid nft name ${JSON.stringify(name)}: needs an upper-case letter or one of - _ . / (could be an nft keyword)`;
  }
  return undefined;
}

export function isValidObjectName(name: string): boolean {
  return checkObjectName(name) === undefined;
}

/** Replaces the quoted strings of nft text by `""`, so that scans see only syntax. Undefined when unbalanced. */
function withoutStrings(text: string): string | undefined {
  if ((text.match(/"/g)?.length ?? 0) % 2 !== 0) return undefined;
  return text.replace(/"[^"]*"/g, '""');
}

/** Collapses whitespace outside quoted strings, so the same rule always hashes (and renders) the same. */
export function normaliseRuleText(text: string): string {
  return text
    .trim()
    .split(/("[^"]*")/)
    .map((part, i) => (i % 2 === 1 ? part : part.replace(/\s+/g, ' ')))
    .join('');
}

/** Verdicts and statements: where a rule's matches end (`meta X set` and `ct X set` are found separately). */
const STATEMENT_WORDS: ReadonlySet<string> = new Set([
  'accept',
  'drop',
  'reject',
  'return',
  'continue',
  'jump',
  'goto',
  'queue',
  'log',
  'limit',
  'notrack',
  'masquerade',
  'snat',
  'dnat',
  'redirect',
  'quota',
  'dup',
  'fwd',
  'tproxy',
  'synproxy',
]);

/**
 * The rule with a `counter` between its matches and its statements (Felix puts one on every rule: it is how
 * an operator finds the rule that drops a packet). A verdict-map rule (`iifname vmap @m`) counts every packet
 * that reaches it. A rule that already counts is returned as it is. `text` is normalised (normaliseRuleText).
 */
export function withCounter(text: string): string {
  const tokens: readonly string[] = text.match(/"[^"]*"|\S+/g) ?? [];
  if (tokens.includes('counter')) return text;
  let at = tokens.length;
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i]!;
    if (t === 'vmap') {
      at = 0;
      break;
    }
    if (STATEMENT_WORDS.has(t) || ((t === 'meta' || t === 'ct') && tokens[i + 2] === 'set')) {
      at = i;
      break;
    }
  }
  return [...tokens.slice(0, at), 'counter', ...tokens.slice(at)].join(' ');
}

/** Why `text` is not acceptable as a rule body, or undefined. */
export function checkRuleText(text: string): string | undefined {
  if (text.trim() === '') return 'rule is empty';
  if (text.length > MAX_RULE_LENGTH) return `rule is longer than ${MAX_RULE_LENGTH} characters`;
  if (/[\r\n\0]/.test(text)) return 'rule contains a line break or NUL';
  const bare = withoutStrings(text);
  if (bare === undefined) return 'rule has an unterminated quoted string';
  if (/[;#]/.test(bare)) return 'rule contains ";" or "#" outside a quoted string';
  if (/(^|\s)comment(\s|$)/.test(bare))
    return 'rule has its own comment; pass it as the rule comment instead';
  return undefined;
}

/** The human part of a comment made safe for a quoted nft string (no quotes, backslashes or control characters). */
export function sanitizeComment(text: string): string {
  return text
    .replace(/["\\]/g, "'")
    .replace(/\p{Cc}/gu, ' ')
    .replace(/\s+/g, ' ')
    .trim();
}

function truncateUtf8(text: string, maxBytes: number): string {
  let out = '';
  let bytes = 0;
  for (const ch of text) {
    const n = Buffer.byteLength(ch, 'utf8');
    if (bytes + n > maxBytes) break;
    out += ch;
    bytes += n;
  }
  return out;
}

/** A short hash of (chain, rule text): base64url of SHA-256, 16 characters (96 bits). */
export function ruleHash(chain: string, ruleText: string): string {
  return createHash('sha256')
    .update(chain)
    .update('\0')
    .update(ruleText)
    .digest('base64url')
    .slice(0, HASH_CHARS);
}

/**
 * The comment stored with a rule: `cali:<hash>`, then a space and the human comment (truncated to fit). Rules
 * are compared by this comment, so a changed text, chain or note all count as a different rule.
 */
export function ruleComment(chain: string, ruleText: string, human?: string): string {
  const head = RULE_COMMENT_PREFIX + ruleHash(chain, ruleText);
  const note = human === undefined ? '' : sanitizeComment(human);
  if (note === '') return head;
  return truncateUtf8(`${head} ${note}`, MAX_COMMENT_BYTES).trimEnd();
}

export interface RuleRefs {
  /** Named sets and maps referenced as `@name`. */
  readonly sets: readonly string[];
  /** Chains referenced by `jump`/`goto`. */
  readonly chains: readonly string[];
}

const SET_REF = /@([A-Za-z_.][A-Za-z0-9_./-]*)/g;
const CHAIN_REF = /\b(?:jump|goto)\s+([A-Za-z_.][A-Za-z0-9_./-]*)/g;

/** The named objects a rule (or verdict) refers to. */
export function ruleRefs(text: string): RuleRefs {
  const bare = withoutStrings(text) ?? text;
  return {
    sets: [...new Set([...bare.matchAll(SET_REF)].map((m) => m[1]!))],
    chains: [...new Set([...bare.matchAll(CHAIN_REF)].map((m) => m[1]!))],
  };
}

/** A verdict map value in canonical form (`goto X`, `accept`, …), or an issue. */
export function canonicalVerdict(value: string): Result<string, string> {
  const words = value.trim().split(/\s+/);
  const [verb, target] = words;
  if (
    words.length === 1 &&
    (verb === 'accept' || verb === 'drop' || verb === 'return' || verb === 'continue')
  ) {
    return ok(verb);
  }
  if (words.length === 2 && (verb === 'goto' || verb === 'jump') && target !== undefined) {
    const issue = checkObjectName(target);
    if (issue !== undefined) return err(`verdict ${JSON.stringify(value)}: ${issue}`);
    return ok(`${verb} ${target}`);
  }
  return err(
    `invalid verdict ${JSON.stringify(value)}: expected accept, drop, return, continue, goto <chain> or jump <chain>`,
  );
}
