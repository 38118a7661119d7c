/**
 * Shared tier chains: endpoints that have the same policies in a tier (same layer and direction) jump to the
 * same chain. This registry reference-counts chains by user (an endpoint), renders a chain when it is first
 * needed, and removes it when its last user goes. A policy change only marks the chains that contain it
 * dirty; `renderDirty` (the policy manager's completeDeferredWork) renders each dirty chain once, so a batch
 * that changes every policy of a tier renders the tier once, not once per policy. The policy manager owns it
 * (it holds the policies the chains are rendered from); the endpoint managers are its users.
 */
import type { PolicyMsg } from '../../calc/messages.js';
import type { TableIntent } from '../nftables/intent.js';
import type { TierChainRef } from '../rules/endpoints.js';
import type { RuleRenderOptions } from '../rules/rule.js';
import { renderTierChains } from '../rules/tier.js';

/** What the tier chains are rendered with: the rule options and the dispatch threshold (rules/config.ts). */
export interface TierRenderOptions extends RuleRenderOptions {
  readonly tierDispatchMinRules: number;
}

/** What an endpoint manager needs: to say which tier chains one of its endpoints jumps to. */
export interface TierChainUsers {
  /** Makes `user` reference exactly `refs` (none: the user is gone). */
  setUser(user: string, refs: readonly TierChainRef[]): void;
}

interface Entry {
  readonly ref: TierChainRef;
  readonly users: Set<string>;
  /** Every nft chain rendered for the tier chain (itself and its dispatch sub-chains). */
  rendered: readonly string[];
  /** The named address sets and port maps its rules use. */
  sets: readonly string[];
  maps: readonly string[];
}

export class TierChains implements TierChainUsers {
  readonly #table: TableIntent;
  readonly #policies: ReadonlyMap<string, PolicyMsg>;
  readonly #options: () => TierRenderOptions;
  readonly #chains = new Map<string, Entry>();
  readonly #byPolicy = new Map<string, Set<string>>();
  readonly #byUser = new Map<string, Set<string>>();
  /** Chains to re-render at the next renderDirty. */
  readonly #dirty = new Set<string>();

  constructor(
    table: TableIntent,
    policies: ReadonlyMap<string, PolicyMsg>,
    options: () => TierRenderOptions,
  ) {
    this.#table = table;
    this.#policies = policies;
    this.#options = options;
  }

  get size(): number {
    return this.#chains.size;
  }

  /** (Re)renders a tier chain, its sub-chains and sets, removing those no longer needed. */
  #render(e: Entry): void {
    const opts = this.#options();
    const { chains, sets, maps } = renderTierChains(e.ref, this.#policies, opts, opts.tierDispatchMinRules);
    for (const s of sets) this.#table.updateSet(s);
    for (const m of maps) this.#table.updateMap(m);
    // Sub-chains first, so the chain that jumps to them is never programmed before them.
    for (const c of [...chains].reverse()) this.#table.updateChain(c.name, c.rules);
    const names = new Set(chains.map((c) => c.name));
    for (const old of e.rendered) if (!names.has(old)) this.#table.removeChain(old);
    e.rendered = [...names];
    const setNames = new Set(sets.map((s) => s.name));
    for (const old of e.sets) if (!setNames.has(old)) this.#table.removeSet(old);
    e.sets = [...setNames];
    const mapNames = new Set(maps.map((m) => m.name));
    for (const old of e.maps) if (!mapNames.has(old)) this.#table.removeMap(old);
    e.maps = [...mapNames];
  }

  setUser(user: string, refs: readonly TierChainRef[]): void {
    const wanted = new Set(refs.map((r) => r.name));
    for (const ref of refs) {
      let e = this.#chains.get(ref.name);
      if (e === undefined) {
        e = { ref, users: new Set(), rendered: [], sets: [], maps: [] };
        this.#chains.set(ref.name, e);
        for (const p of ref.policyIds) {
          let s = this.#byPolicy.get(p);
          if (s === undefined) {
            s = new Set();
            this.#byPolicy.set(p, s);
          }
          s.add(ref.name);
        }
        this.#render(e);
        this.#dirty.delete(ref.name);
      }
      e.users.add(user);
    }
    for (const name of this.#byUser.get(user) ?? []) if (!wanted.has(name)) this.#release(user, name);
    if (wanted.size === 0) this.#byUser.delete(user);
    else this.#byUser.set(user, wanted);
  }

  #release(user: string, name: string): void {
    const e = this.#chains.get(name);
    if (e === undefined) return;
    e.users.delete(user);
    if (e.users.size > 0) return;
    this.#chains.delete(name);
    this.#dirty.delete(name);
    for (const p of e.ref.policyIds) {
      const s = this.#byPolicy.get(p);
      s?.delete(name);
      if (s !== undefined && s.size === 0) this.#byPolicy.delete(p);
    }
    for (const c of e.rendered) this.#table.removeChain(c);
    for (const n of e.sets) this.#table.removeSet(n);
    for (const n of e.maps) this.#table.removeMap(n);
  }

  /** Marks every chain that contains this policy dirty (its rules changed or it went away). */
  policyChanged(id: string): void {
    for (const name of this.#byPolicy.get(id) ?? []) this.#dirty.add(name);
  }

  /** Marks every chain dirty (the rendering options changed). */
  rerenderAll(): void {
    for (const name of this.#chains.keys()) this.#dirty.add(name);
  }

  /** Renders each dirty chain once. */
  renderDirty(): void {
    for (const name of this.#dirty) {
      const e = this.#chains.get(name);
      if (e !== undefined) this.#render(e);
    }
    this.#dirty.clear();
  }

  /** Forgets every chain without touching the table (its intent is being cleared too). */
  clear(): void {
    this.#chains.clear();
    this.#dirty.clear();
    this.#byPolicy.clear();
    this.#byUser.clear();
  }
}
