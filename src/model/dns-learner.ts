/**
 * DNS policy's learning step, pure: answers from trusted servers go into the DnsNameCache; the learner says
 * which addresses each domain set (calc graph id -> patterns) must hold, with their expiry, and remembers what
 * has been programmed so a repeated answer costs nothing unless it extends a mapping by more than `slackMs`.
 * A name matching a set's patterns brings the addresses it resolves to through CNAME chains (so an allowed
 * name that is a CNAME allows what it finally resolves to). The kernel expires elements by their timeouts;
 * `expire()` forgets what the kernel has dropped.
 */
import { canonicalDomain } from '../api/domains.js';
import { DEFAULT_MAX_CNAME_CHAIN, type DnsNameCache, type DnsRecord } from './dns-cache.js';
import { DomainMatcher } from './domain-match.js';

export type DnsAnswerType = 'A' | 'AAAA' | 'CNAME';

/** One A, AAAA or CNAME record of an answer (`data`: the address, or the CNAME target). */
export interface DnsAnswerRecord {
  readonly name: string;
  readonly type: DnsAnswerType;
  readonly ttl: number;
  readonly data: string;
}

/** An address a domain set must hold until `expiresAt` (ms, the cache clock's time base). */
export interface LearnedElement {
  readonly setId: string;
  readonly family: 4 | 6;
  readonly ip: string;
  readonly expiresAt: number;
}

/** A programmed element is refreshed only when an answer extends it by more than this (TTLs are in seconds). */
export const DEFAULT_REFRESH_SLACK_MS = 1000;

export class DnsLearner {
  readonly #cache: DnsNameCache;
  readonly #now: () => number;
  readonly #slackMs: number;
  readonly #sets = new Map<string, DomainMatcher>();
  /** CNAME target -> names pointing at it (canonical), to find what an answer's names are reached from. */
  readonly #parents = new Map<string, Set<string>>();
  /** set id -> ip -> programmed expiry. */
  readonly #programmed = new Map<string, Map<string, number>>();

  constructor(cache: DnsNameCache, opts: { now: () => number; slackMs?: number }) {
    this.#cache = cache;
    this.#now = opts.now;
    this.#slackMs = opts.slackMs ?? DEFAULT_REFRESH_SLACK_MS;
  }

  get cache(): DnsNameCache {
    return this.#cache;
  }

  /** Adds or replaces a domain set; returns what it must hold from the names already learned. */
  setDomainSet(id: string, patterns: readonly string[]): LearnedElement[] {
    this.#sets.set(id, new DomainMatcher(patterns));
    this.#programmed.delete(id);
    return this.#pending(id, this.#cache.names());
  }

  removeDomainSet(id: string): void {
    this.#sets.delete(id);
    this.#programmed.delete(id);
  }

  get domainSetIds(): readonly string[] {
    return [...this.#sets.keys()];
  }

  /** Records an answer's A, AAAA and CNAME records; returns the elements to program (new or extended). */
  learn(records: readonly DnsAnswerRecord[]): LearnedElement[] {
    const names = new Set<string>();
    for (const r of records) {
      if (r.type === 'CNAME') {
        this.#cache.addCname(r.name, r.data, r.ttl);
        this.#addParent(canonicalDomain(r.data), canonicalDomain(r.name));
      } else if (!this.#cache.addAddress(r.name, r.data, r.ttl)) continue;
      names.add(canonicalDomain(r.name));
    }
    if (names.size === 0) return [];
    // A name earlier in a chain (possibly learned in an earlier answer) may now resolve further.
    const affected = this.#ancestors(names);
    return [...this.#sets.keys()].flatMap((id) => this.#pending(id, affected));
  }

  /** Restores a cache file's records (before any set is programmed). */
  restore(records: readonly DnsRecord[]): void {
    this.#cache.restore(records);
    for (const r of records)
      if (r.kind === 'cname') this.#addParent(canonicalDomain(r.target), canonicalDomain(r.name));
  }

  /** Everything the given sets must hold now (after a set was recreated in the kernel), forgetting what was programmed. */
  reprogram(ids: Iterable<string>): LearnedElement[] {
    const out: LearnedElement[] = [];
    for (const id of ids) {
      if (!this.#sets.has(id)) continue;
      this.#programmed.delete(id);
      out.push(...this.#pending(id, this.#cache.names()));
    }
    return out;
  }

  /** The kernel holds these now. */
  markProgrammed(elements: readonly LearnedElement[]): void {
    for (const e of elements) {
      if (!this.#sets.has(e.setId)) continue;
      const m = this.#programmed.get(e.setId) ?? new Map<string, number>();
      m.set(e.ip, Math.max(m.get(e.ip) ?? 0, e.expiresAt));
      this.#programmed.set(e.setId, m);
    }
  }

  /** Forgets expired records and programmed elements; returns how many cache records were dropped. */
  expire(): number {
    const now = this.#now();
    for (const m of this.#programmed.values()) for (const [ip, t] of m) if (t <= now) m.delete(ip);
    const dropped = this.#cache.expire();
    if (dropped > 0) {
      this.#parents.clear();
      for (const r of this.#cache.snapshot()) if (r.kind === 'cname') this.#addParent(r.target, r.name);
    }
    return dropped;
  }

  /** How many addresses are programmed, over all sets (felix_dns_* gauges). */
  get programmedCount(): number {
    let n = 0;
    for (const m of this.#programmed.values()) n += m.size;
    return n;
  }

  #addParent(target: string, name: string): void {
    const s = this.#parents.get(target) ?? new Set<string>();
    s.add(name);
    this.#parents.set(target, s);
  }

  /** `names` and every name whose CNAME chain reaches one of them (at most the cache's chain length). */
  #ancestors(names: ReadonlySet<string>): string[] {
    const seen = new Set(names);
    let frontier = [...names];
    for (let depth = 0; depth < DEFAULT_MAX_CNAME_CHAIN && frontier.length > 0; depth += 1) {
      const next: string[] = [];
      for (const n of frontier)
        for (const p of this.#parents.get(n) ?? [])
          if (!seen.has(p)) {
            seen.add(p);
            next.push(p);
          }
      frontier = next;
    }
    return [...seen];
  }

  #pending(id: string, names: readonly string[]): LearnedElement[] {
    const matcher = this.#sets.get(id);
    if (matcher === undefined) return [];
    const programmed = this.#programmed.get(id);
    const best = new Map<string, number>();
    for (const n of names) {
      if (matcher.match(n) === undefined) continue;
      for (const r of this.#cache.resolve(n)) best.set(r.ip, Math.max(best.get(r.ip) ?? 0, r.expiresAt));
    }
    const out: LearnedElement[] = [];
    for (const [ip, expiresAt] of best) {
      const have = programmed?.get(ip);
      if (have !== undefined && expiresAt <= have + this.#slackMs) continue;
      out.push({ setId: id, family: ip.includes(':') ? 6 : 4, ip, expiresAt });
    }
    return out;
  }
}
