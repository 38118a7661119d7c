/**
 * The learned name -> address mappings of DNS policy, as a pure structure with an injected clock:
 * A/AAAA records (name -> address) and CNAME records (name -> name), each expiring after its TTL plus
 * FelixConfiguration `dnsExtraTTL`. A name resolves through CNAME chains of at most `maxChain` links
 * (loops end there too) to the addresses its final names have; a mapping lives as long as every record on
 * its chain. The DNS path (docs/design/dns-policy.md) feeds it with answers from trusted servers; the
 * reference evaluator reads it through `ResolvedNames`. Pure (no timers: expiry is by the clock's value).
 */
import { type IpAddr, ipToString, parseIp } from '../lib/net/ip.js';
import { canonicalDomain } from '../api/domains.js';

/** What the evaluator needs: the names an address is currently mapped from. */
export interface ResolvedNames {
  /** Canonical names (lower case) that currently resolve to `ip`, directly or through CNAMEs. */
  namesFor(ip: IpAddr): readonly string[];
}

export type DnsRecord =
  | { readonly kind: 'address'; readonly name: string; readonly ip: string; readonly expiresAt: number }
  | { readonly kind: 'cname'; readonly name: string; readonly target: string; readonly expiresAt: number };

export interface Resolution {
  readonly ip: string;
  /** When the shortest-lived record on the chain expires (ms, the clock's time base). */
  readonly expiresAt: number;
}

export interface DnsNameCacheOptions {
  /** Milliseconds; tests inject a fake. */
  readonly now: () => number;
  /** FelixConfiguration dnsExtraTTL, in ms. */
  readonly extraTtlMs?: number;
  /** Longest CNAME chain followed (links). */
  readonly maxChain?: number;
}

export const DEFAULT_MAX_CNAME_CHAIN = 16;

/** Static mappings (`calicoctl policy explain --resolve NAME=IP`): never expire. */
export class StaticResolvedNames implements ResolvedNames {
  private readonly byIp = new Map<string, string[]>();

  add(name: string, ip: IpAddr): void {
    const key = ipToString(ip);
    const names = this.byIp.get(key) ?? [];
    const n = canonicalDomain(name);
    if (!names.includes(n)) names.push(n);
    this.byIp.set(key, names);
  }

  namesFor(ip: IpAddr): readonly string[] {
    return this.byIp.get(ipToString(ip)) ?? [];
  }
}

export class DnsNameCache implements ResolvedNames {
  /** name -> (value -> record): value is the address text or the CNAME target. */
  private readonly records = new Map<string, Map<string, DnsRecord>>();
  private readonly now: () => number;
  private extraTtlMs: number;
  private readonly maxChain: number;

  constructor(opts: DnsNameCacheOptions) {
    this.now = opts.now;
    this.extraTtlMs = opts.extraTtlMs ?? 0;
    this.maxChain = opts.maxChain ?? DEFAULT_MAX_CNAME_CHAIN;
  }

  /** Records an A or AAAA answer. Returns false (and records nothing) for an unparsable address. */
  addAddress(name: string, ip: string, ttlSeconds: number): boolean {
    const parsed = parseIp(ip);
    if (parsed === undefined) return false;
    const text = ipToString(parsed);
    this.put({ kind: 'address', name: canonicalDomain(name), ip: text, expiresAt: this.expiry(ttlSeconds) });
    return true;
  }

  addCname(name: string, target: string, ttlSeconds: number): void {
    const t = canonicalDomain(target);
    this.put({ kind: 'cname', name: canonicalDomain(name), target: t, expiresAt: this.expiry(ttlSeconds) });
  }

  /** FelixConfiguration dnsExtraTTL changed: applies to records learned from now on. */
  setExtraTtl(ms: number): void {
    this.extraTtlMs = Number.isFinite(ms) && ms > 0 ? ms : 0;
  }

  /** Puts back records of an earlier snapshot (the cache file), keeping the later expiry of each. */
  restore(records: readonly DnsRecord[]): void {
    const now = this.now();
    for (const r of records) if (r.expiresAt > now) this.put({ ...r, name: canonicalDomain(r.name) });
  }

  /** Drops expired records; returns how many. */
  expire(): number {
    const now = this.now();
    let dropped = 0;
    for (const [name, byValue] of this.records) {
      for (const [value, r] of byValue) {
        if (r.expiresAt <= now) {
          byValue.delete(value);
          dropped += 1;
        }
      }
      if (byValue.size === 0) this.records.delete(name);
    }
    return dropped;
  }

  /** Live addresses of `name` through CNAME chains, each with the expiry of its chain. */
  resolve(name: string): Resolution[] {
    const out = new Map<string, number>();
    const now = this.now();
    const walk = (n: string, expiresAt: number, depth: number, path: ReadonlySet<string>): void => {
      for (const r of this.records.get(n)?.values() ?? []) {
        if (r.expiresAt <= now) continue;
        const e = Math.min(expiresAt, r.expiresAt);
        if (r.kind === 'address') {
          out.set(r.ip, Math.max(out.get(r.ip) ?? 0, e));
        } else if (depth < this.maxChain && !path.has(r.target)) {
          walk(r.target, e, depth + 1, new Set([...path, r.target]));
        }
      }
    };
    const start = canonicalDomain(name);
    walk(start, Number.POSITIVE_INFINITY, 0, new Set([start]));
    return [...out].map(([ip, expiresAt]) => ({ ip, expiresAt }));
  }

  /** Every name with a live record (the names a matcher is tried against). */
  names(): string[] {
    const now = this.now();
    return [...this.records]
      .filter(([, byValue]) => [...byValue.values()].some((r) => r.expiresAt > now))
      .map(([n]) => n);
  }

  namesFor(ip: IpAddr): readonly string[] {
    const key = ipToString(ip);
    return this.names().filter((n) => this.resolve(n).some((r) => r.ip === key));
  }

  /** All live records (the cache file's content). */
  snapshot(): DnsRecord[] {
    const now = this.now();
    return [...this.records.values()].flatMap((m) => [...m.values()]).filter((r) => r.expiresAt > now);
  }

  private expiry(ttlSeconds: number): number {
    const ttl = Number.isFinite(ttlSeconds) && ttlSeconds > 0 ? ttlSeconds : 0;
    return this.now() + ttl * 1000 + this.extraTtlMs;
  }

  private put(r: DnsRecord): void {
    const value = r.kind === 'address' ? r.ip : r.target;
    const byValue = this.records.get(r.name) ?? new Map<string, DnsRecord>();
    const old = byValue.get(value);
    // A repeated answer extends a mapping; it never shortens one still live.
    if (old === undefined || old.expiresAt < r.expiresAt) byValue.set(value, r);
    this.records.set(r.name, byValue);
  }
}
