/**
 * Domain-name matching for DNS policy (Calico Enterprise's semantics): a pattern without a wildcard
 * matches exactly that name, case-insensitively; a pattern with one `*` label matches names with one or
 * more labels in that position (`*.example.com` matches `a.example.com` and `a.b.example.com`, not
 * `example.com`). Patterns are validated by src/api/domains.ts before they get here. Pure.
 */
import { canonicalDomain } from '../api/domains.js';

export interface DomainPattern {
  /** Canonical text (lower case, no trailing dot): the pattern's identity in sets and ids. */
  readonly text: string;
  /** Labels before the `*` (all labels when there is none). */
  readonly prefix: readonly string[];
  /** Labels after the `*`; undefined when the pattern has no wildcard. */
  readonly suffix: readonly string[] | undefined;
}

export function compileDomainPattern(pattern: string): DomainPattern {
  const text = canonicalDomain(pattern);
  const labels = text.split('.');
  const star = labels.indexOf('*');
  if (star < 0) return { text, prefix: labels, suffix: undefined };
  return { text, prefix: labels.slice(0, star), suffix: labels.slice(star + 1) };
}

function labelsEqual(a: readonly string[], b: readonly string[], offset: number): boolean {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[offset + i]) return false;
  return true;
}

/** Whether `name` (any case, optional trailing dot) matches the compiled pattern. */
export function domainMatches(p: DomainPattern, name: string): boolean {
  const n = canonicalDomain(name);
  if (n === '') return false;
  if (p.suffix === undefined) return n === p.text;
  const labels = n.split('.');
  if (labels.length < p.prefix.length + p.suffix.length + 1) return false;
  return labelsEqual(p.prefix, labels, 0) && labelsEqual(p.suffix, labels, labels.length - p.suffix.length);
}

/** A set of patterns: exact names by lookup, wildcards by scan. Reports the pattern that matched. */
export class DomainMatcher {
  private readonly exact = new Set<string>();
  private readonly wildcards: DomainPattern[] = [];

  constructor(patterns: Iterable<string>) {
    const seen = new Set<string>();
    for (const raw of patterns) {
      const p = compileDomainPattern(raw);
      if (seen.has(p.text)) continue;
      seen.add(p.text);
      if (p.suffix === undefined) this.exact.add(p.text);
      else this.wildcards.push(p);
    }
    this.wildcards.sort((a, b) => (a.text < b.text ? -1 : a.text > b.text ? 1 : 0));
  }

  get size(): number {
    return this.exact.size + this.wildcards.length;
  }

  /** The canonical pattern that matches `name` (an exact one first), or undefined. */
  match(name: string): string | undefined {
    const n = canonicalDomain(name);
    if (this.exact.has(n)) return n;
    return this.wildcards.find((p) => domainMatches(p, n))?.text;
  }
}
