/**
 * Selector <-> label-holder matching, incrementally (Felix's labelindex, with Cilium-style indexing).
 *
 * Holders (endpoints, network sets) have own labels plus parents (profiles) whose labels they inherit for
 * keys they do not set themselves. Selectors are registered by id. The index reports every change of
 * "selector S matches holder H" through `onMatchStarted` / `onMatchStopped`, and only those.
 *
 * To keep work proportional to what a change affects, each selector is filed under a label it requires
 * (from a top-level `k == "v"`, `k in {...}` or `has(k)` term) and each holder under its effective labels:
 * a holder change evaluates only the selectors filed under its labels plus the unfiled ones; a selector
 * change evaluates only the holders carrying its required label.
 */
import type { Labels, Selector, SelectorNode } from '../api/selector/index.js';

export interface MatchCallbacks {
  onMatchStarted(selectorId: string, holderId: string): void;
  onMatchStopped(selectorId: string, holderId: string): void;
}

/** What a selector requires: key=value alternatives, a key's presence, or nothing indexable. */
type Requirement =
  | { kind: 'values'; key: string; values: readonly string[] }
  | { kind: 'key'; key: string }
  | { kind: 'none' };

function requirementOf(node: SelectorNode): Requirement {
  const terms = node.kind === 'and' ? node.operands : [node];
  let keyOnly: Requirement | undefined;
  for (const t of terms) {
    if (t.kind === 'eq') return { kind: 'values', key: t.label, values: [t.value] };
    if (t.kind === 'in' && t.values.length > 0) return { kind: 'values', key: t.label, values: t.values };
    if (t.kind === 'has' || t.kind === 'contains' || t.kind === 'startsWith' || t.kind === 'endsWith') {
      keyOnly ??= { kind: 'key', key: t.label };
    }
  }
  return keyOnly ?? { kind: 'none' };
}

function kv(key: string, value: string): string {
  return `${key}\u0000${value}`;
}

class SetMultimap {
  private readonly m = new Map<string, Set<string>>();
  add(k: string, v: string): void {
    let s = this.m.get(k);
    if (s === undefined) {
      s = new Set();
      this.m.set(k, s);
    }
    s.add(v);
  }
  delete(k: string, v: string): void {
    const s = this.m.get(k);
    if (s === undefined) return;
    s.delete(v);
    if (s.size === 0) this.m.delete(k);
  }
  get(k: string): ReadonlySet<string> | undefined {
    return this.m.get(k);
  }
}

interface HolderState {
  readonly labels: Readonly<Record<string, string>>;
  readonly parents: readonly string[];
  effective: Labels;
}

export class LabelIndex {
  private readonly holders = new Map<string, HolderState>();
  private readonly parentLabels = new Map<string, Readonly<Record<string, string>>>();
  private readonly holdersByParent = new SetMultimap();
  private readonly holdersByKv = new SetMultimap();
  private readonly holdersByKey = new SetMultimap();
  private readonly selectors = new Map<string, { selector: Selector; req: Requirement }>();
  private readonly selectorsByKv = new SetMultimap();
  private readonly selectorsByKey = new SetMultimap();
  private readonly unfiled = new Set<string>();
  private readonly matchesBySelector = new SetMultimap();
  private readonly matchesByHolder = new SetMultimap();
  /** Selector evaluations performed (felix_label_index_selector_evals). */
  evaluations = 0;

  private readonly cb: MatchCallbacks;

  constructor(cb: MatchCallbacks) {
    this.cb = cb;
  }

  get holderCount(): number {
    return this.holders.size;
  }

  get selectorCount(): number {
    return this.selectors.size;
  }

  /** The holders a selector currently matches. */
  matchingHolders(selectorId: string): ReadonlySet<string> {
    return this.matchesBySelector.get(selectorId) ?? new Set();
  }

  /** The selectors currently matching a holder. */
  matchingSelectors(holderId: string): ReadonlySet<string> {
    return this.matchesByHolder.get(holderId) ?? new Set();
  }

  effectiveLabels(holderId: string): Labels | undefined {
    return this.holders.get(holderId)?.effective;
  }

  private computeEffective(labels: Readonly<Record<string, string>>, parents: readonly string[]): Labels {
    const out: Record<string, string> = Object.create(null) as Record<string, string>;
    Object.assign(out, labels);
    for (const p of parents) {
      const pl = this.parentLabels.get(p);
      if (pl === undefined) continue;
      for (const [k, v] of Object.entries(pl)) if (!(k in out)) out[k] = v;
    }
    return out;
  }

  private fileHolder(id: string, effective: Labels, add: boolean): void {
    for (const [k, v] of Object.entries(effective)) {
      if (add) {
        this.holdersByKv.add(kv(k, v), id);
        this.holdersByKey.add(k, id);
      } else {
        this.holdersByKv.delete(kv(k, v), id);
        this.holdersByKey.delete(k, id);
      }
    }
  }

  private setMatch(selId: string, holderId: string, matches: boolean): void {
    const had = this.matchesByHolder.get(holderId)?.has(selId) ?? false;
    if (matches === had) return;
    if (matches) {
      this.matchesBySelector.add(selId, holderId);
      this.matchesByHolder.add(holderId, selId);
      this.cb.onMatchStarted(selId, holderId);
    } else {
      this.matchesBySelector.delete(selId, holderId);
      this.matchesByHolder.delete(holderId, selId);
      this.cb.onMatchStopped(selId, holderId);
    }
  }

  private candidateSelectors(effective: Labels): Set<string> {
    const out = new Set(this.unfiled);
    for (const [k, v] of Object.entries(effective)) {
      for (const s of this.selectorsByKv.get(kv(k, v)) ?? []) out.add(s);
      for (const s of this.selectorsByKey.get(k) ?? []) out.add(s);
    }
    return out;
  }

  private reevaluateHolder(id: string, h: HolderState): void {
    const candidates = this.candidateSelectors(h.effective);
    for (const selId of [...this.matchingSelectors(id)])
      if (!candidates.has(selId)) this.setMatch(selId, id, false);
    for (const selId of candidates) {
      const s = this.selectors.get(selId);
      if (s === undefined) continue;
      this.evaluations++;
      this.setMatch(selId, id, s.selector.matches(h.effective));
    }
  }

  updateHolder(id: string, labels: Readonly<Record<string, string>>, parents: readonly string[]): void {
    const old = this.holders.get(id);
    if (old !== undefined) {
      this.fileHolder(id, old.effective, false);
      for (const p of old.parents) this.holdersByParent.delete(p, id);
    }
    const h: HolderState = { labels, parents, effective: this.computeEffective(labels, parents) };
    this.holders.set(id, h);
    this.fileHolder(id, h.effective, true);
    for (const p of parents) this.holdersByParent.add(p, id);
    this.reevaluateHolder(id, h);
  }

  deleteHolder(id: string): void {
    const old = this.holders.get(id);
    if (old === undefined) return;
    for (const selId of [...this.matchingSelectors(id)]) this.setMatch(selId, id, false);
    this.fileHolder(id, old.effective, false);
    for (const p of old.parents) this.holdersByParent.delete(p, id);
    this.holders.delete(id);
  }

  /** Sets (or, with undefined, deletes) the labels a parent (profile) gives its holders. */
  updateParent(name: string, labels: Readonly<Record<string, string>> | undefined): void {
    if (labels === undefined) this.parentLabels.delete(name);
    else this.parentLabels.set(name, labels);
    for (const id of [...(this.holdersByParent.get(name) ?? [])]) {
      const h = this.holders.get(id);
      if (h === undefined) continue;
      this.fileHolder(id, h.effective, false);
      h.effective = this.computeEffective(h.labels, h.parents);
      this.fileHolder(id, h.effective, true);
      this.reevaluateHolder(id, h);
    }
  }

  private fileSelector(id: string, req: Requirement, add: boolean): void {
    const op = (m: SetMultimap, k: string): void => {
      if (add) m.add(k, id);
      else m.delete(k, id);
    };
    if (req.kind === 'values') for (const v of req.values) op(this.selectorsByKv, kv(req.key, v));
    else if (req.kind === 'key') op(this.selectorsByKey, req.key);
    else if (add) this.unfiled.add(id);
    else this.unfiled.delete(id);
  }

  private candidateHolders(req: Requirement): Iterable<string> {
    if (req.kind === 'none') return this.holders.keys();
    if (req.kind === 'key') return this.holdersByKey.get(req.key) ?? [];
    const out = new Set<string>();
    for (const v of req.values) for (const h of this.holdersByKv.get(kv(req.key, v)) ?? []) out.add(h);
    return out;
  }

  updateSelector(id: string, selector: Selector): void {
    const old = this.selectors.get(id);
    if (old !== undefined) {
      if (old.selector.canonical === selector.canonical) return;
      this.fileSelector(id, old.req, false);
    }
    const req = requirementOf(selector.root);
    this.selectors.set(id, { selector, req });
    this.fileSelector(id, req, true);
    const candidates = new Set(this.candidateHolders(req));
    for (const h of [...this.matchingHolders(id)]) if (!candidates.has(h)) this.setMatch(id, h, false);
    for (const hid of candidates) {
      const h = this.holders.get(hid);
      if (h === undefined) continue;
      this.evaluations++;
      this.setMatch(id, hid, selector.matches(h.effective));
    }
  }

  deleteSelector(id: string): void {
    const old = this.selectors.get(id);
    if (old === undefined) return;
    for (const h of [...this.matchingHolders(id)]) this.setMatch(id, h, false);
    this.fileSelector(id, old.req, false);
    this.selectors.delete(id);
  }
}
