/**
 * The `allowedEgressDomains` of network sets, per selector (DNS policy, docs/design/dns-policy.md): for each
 * watched selector (the destination selector of an egress Allow rule of an active policy or profile), the
 * union of the domain patterns of the network sets it currently selects. Only network sets that have
 * domains are held, so a cluster without them pays nothing but the watch bookkeeping.
 *
 * Owners (`policy:<id>`, `profile:<name>`) declare the selectors they watch; when a selector's union
 * changes, the index reports the owners watching it once the change is complete, so they re-scan their
 * rules (the rule then names the content-addressed domain set of the new union). Pure and synchronous.
 */
import type { Selector } from '../api/selector/index.js';
import { LabelIndex } from './label-index.js';

export interface NetSetDomainsListener {
  /** The unions of selectors these owners watch changed (called after the change, never during one). */
  onSelectorDomainsChanged(owners: ReadonlySet<string>): void;
}

interface Watched {
  readonly selector: Selector;
  readonly owners: Set<string>;
  /** Canonical, sorted, unique. */
  domains: readonly string[];
}

const NONE: readonly string[] = [];

function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

export class NetworkSetDomainIndex {
  private readonly domainsBySet = new Map<string, readonly string[]>();
  private readonly watched = new Map<string, Watched>();
  private readonly watchesByOwner = new Map<string, ReadonlySet<string>>();
  private readonly labels: LabelIndex;
  private readonly listener: NetSetDomainsListener;
  /** Selectors whose matches or whose matched sets' domains changed in the operation under way. */
  private readonly dirty = new Set<string>();

  constructor(listener: NetSetDomainsListener) {
    this.listener = listener;
    this.labels = new LabelIndex({
      onMatchStarted: (sel) => this.dirty.add(sel),
      onMatchStopped: (sel) => this.dirty.add(sel),
    });
  }

  /** The union of the allowedEgressDomains of the network sets a watched selector selects (else none). */
  domainsOf(selectorId: string): readonly string[] {
    return this.watched.get(selectorId)?.domains ?? NONE;
  }

  /** A network set (its domains canonical and sorted; `undefined` or none: it stops counting). */
  updateNetworkSet(
    id: string,
    labels: Readonly<Record<string, string>>,
    parents: readonly string[],
    domains: readonly string[] | undefined,
  ): void {
    if (domains === undefined || domains.length === 0) {
      this.deleteNetworkSet(id);
      return;
    }
    const old = this.domainsBySet.get(id);
    this.domainsBySet.set(id, domains);
    this.labels.updateHolder(id, labels, parents);
    if (old !== undefined && !sameList(old, domains))
      for (const sel of this.labels.matchingSelectors(id)) this.dirty.add(sel);
    this.settle();
  }

  deleteNetworkSet(id: string): void {
    if (!this.domainsBySet.delete(id)) return;
    this.labels.deleteHolder(id);
    this.settle();
  }

  /** The labels a parent profile gives its network sets (namespace labels of namespaced sets). */
  updateParent(name: string, labels: Readonly<Record<string, string>> | undefined): void {
    this.labels.updateParent(name, labels);
    this.settle();
  }

  /**
   * Replaces the selectors `owner` watches (none: it stops watching). The owner reads `domainsOf` next;
   * this call itself reports nothing.
   */
  setWatches(owner: string, selectors: readonly Selector[]): void {
    const next = new Map(selectors.map((s) => [s.uniqueId, s]));
    const prev = this.watchesByOwner.get(owner) ?? new Set<string>();
    for (const [id, sel] of next) {
      if (prev.has(id)) continue;
      let w = this.watched.get(id);
      if (w === undefined) {
        w = { selector: sel, owners: new Set(), domains: NONE };
        this.watched.set(id, w);
        this.labels.updateSelector(id, sel);
        w.domains = this.union(id);
        this.dirty.delete(id);
      }
      w.owners.add(owner);
    }
    for (const id of prev) {
      if (next.has(id)) continue;
      const w = this.watched.get(id);
      if (w === undefined) continue;
      w.owners.delete(owner);
      if (w.owners.size > 0) continue;
      this.watched.delete(id);
      this.labels.deleteSelector(id);
      this.dirty.delete(id);
    }
    if (next.size > 0) this.watchesByOwner.set(owner, new Set(next.keys()));
    else this.watchesByOwner.delete(owner);
  }

  get watchedCount(): number {
    return this.watched.size;
  }

  private union(selectorId: string): readonly string[] {
    const out = new Set<string>();
    for (const set of this.labels.matchingHolders(selectorId))
      for (const d of this.domainsBySet.get(set) ?? NONE) out.add(d);
    return out.size === 0 ? NONE : [...out].sort();
  }

  private settle(): void {
    if (this.dirty.size === 0) return;
    const owners = new Set<string>();
    for (const id of this.dirty) {
      const w = this.watched.get(id);
      if (w === undefined) continue;
      const domains = this.union(id);
      if (sameList(domains, w.domains)) continue;
      w.domains = domains;
      for (const o of w.owners) owners.add(o);
    }
    this.dirty.clear();
    if (owners.size > 0) this.listener.onSelectorDomainsChanged(owners);
  }
}
