/**
 * Domain sets (DNS policy, docs/design/dns-policy.md): the patterns of a rule's `destination.domains`, as one
 * set shared by every rule naming the same patterns. Ids are content-addressed like Felix's named-port IP
 * set ids: `d:` + base64url(SHA-224("d:" + canonical patterns sorted, comma-joined)). The calc graph
 * reference-counts them and emits `domainSetUpdate` (id -> patterns) before the first policy using one and
 * `domainSetRemove` after the last is gone; the DNS path fills the addresses. Pure.
 */
import { createHash } from 'node:crypto';

export interface DomainSetSpec {
  readonly id: string;
  /** Canonical patterns, sorted and unique (the model's form). */
  readonly domains: readonly string[];
}

export function domainSetId(domains: readonly string[]): string {
  const h = createHash('sha224')
    .update(`d:${domains.join(',')}`)
    .digest('base64url');
  return `d:${h}`;
}

export interface DomainSetListener {
  onDomainSet(id: string, domains: readonly string[] | null): void;
}

/** Reference counts of the domain sets active rules use. */
export class DomainSetIndex {
  private readonly sets = new Map<string, { spec: DomainSetSpec; refs: number }>();

  private readonly listener: DomainSetListener;

  constructor(listener: DomainSetListener) {
    this.listener = listener;
  }

  acquire(spec: DomainSetSpec): void {
    const s = this.sets.get(spec.id);
    if (s !== undefined) {
      s.refs += 1;
      return;
    }
    this.sets.set(spec.id, { spec, refs: 1 });
    this.listener.onDomainSet(spec.id, spec.domains);
  }

  release(id: string): void {
    const s = this.sets.get(id);
    if (s === undefined) return;
    s.refs -= 1;
    if (s.refs > 0) return;
    this.sets.delete(id);
    this.listener.onDomainSet(id, null);
  }

  /** Announces every active set, as if each had just been created (the graph's replay). */
  replay(listener: DomainSetListener): void {
    for (const [id, s] of this.sets) listener.onDomainSet(id, s.spec.domains);
  }

  get size(): number {
    return this.sets.size;
  }
}
