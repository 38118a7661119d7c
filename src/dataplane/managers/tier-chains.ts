/**
 * Shared tier chains: endpoints that have the same policies in a tier (same layer and direction) jump to the
 * same chain. This registry reference-counts chains by user (endpoint), renders a chain when it is first
 * needed or when one of its policies changes, and removes it when its last user goes.
 */
import type { PolicyMsg } from '../../calc/messages.js';
import type { NftTable } from '../nftables/table.js';
import type { TierChainRef } from '../rules/endpoints.js';
import type { RuleRenderOptions } from '../rules/rule.js';
import { renderTierChains } from '../rules/tier.js';

interface Entry {
  readonly ref: TierChainRef;
  readonly users: Set<string>;
  /** Every nft chain rendered for the tier chain (itself and its dispatch sub-chains). */
  rendered: readonly string[];
  /** The named address sets and port maps its rules use. */
  sets: readonly string[];
  maps: readonly string[];
}

export class TierChains {
  private readonly table: NftTable;
  private readonly chains = new Map<string, Entry>();
  private readonly byPolicy = new Map<string, Set<string>>();
  private readonly byUser = new Map<string, Set<string>>();

  private readonly dispatchMinRules: () => number;

  constructor(table: NftTable, dispatchMinRules: () => number) {
    this.table = table;
    this.dispatchMinRules = dispatchMinRules;
  }

  /** (Re)renders a tier chain, its sub-chains and sets, removing those no longer needed. */
  private render(e: Entry, policies: ReadonlyMap<string, PolicyMsg>, opts: RuleRenderOptions): void {
    const { chains, sets, maps } = renderTierChains(e.ref, policies, opts, this.dispatchMinRules());
    for (const s of sets) this.table.updateSet(s);
    for (const m of maps) this.table.updateMap(m);
    // Sub-chains first, so the chain that jumps to them is never programmed before them.
    for (const c of [...chains].reverse()) this.table.updateChain(c.name, c.rules);
    const names = new Set(chains.map((c) => c.name));
    for (const old of e.rendered) if (!names.has(old)) this.table.removeChain(old);
    e.rendered = [...names];
    const setNames = new Set(sets.map((s) => s.name));
    for (const old of e.sets) if (!setNames.has(old)) this.table.removeSet(old);
    e.sets = [...setNames];
    const mapNames = new Set(maps.map((m) => m.name));
    for (const old of e.maps) if (!mapNames.has(old)) this.table.removeMap(old);
    e.maps = [...mapNames];
  }

  get size(): number {
    return this.chains.size;
  }

  /** Makes `user` reference exactly `refs`; renders new chains, removes chains nobody uses any more. */
  setUser(
    user: string,
    refs: readonly TierChainRef[],
    policies: ReadonlyMap<string, PolicyMsg>,
    opts: RuleRenderOptions,
  ): void {
    const wanted = new Set(refs.map((r) => r.name));
    for (const ref of refs) {
      let e = this.chains.get(ref.name);
      if (e === undefined) {
        e = { ref, users: new Set(), rendered: [], sets: [], maps: [] };
        this.chains.set(ref.name, e);
        for (const p of ref.policyIds) {
          let s = this.byPolicy.get(p);
          if (s === undefined) {
            s = new Set();
            this.byPolicy.set(p, s);
          }
          s.add(ref.name);
        }
        this.render(e, policies, opts);
      }
      e.users.add(user);
    }
    for (const name of this.byUser.get(user) ?? []) if (!wanted.has(name)) this.release(user, name);
    if (wanted.size === 0) this.byUser.delete(user);
    else this.byUser.set(user, wanted);
  }

  private release(user: string, name: string): void {
    const e = this.chains.get(name);
    if (e === undefined) return;
    e.users.delete(user);
    if (e.users.size > 0) return;
    this.chains.delete(name);
    for (const p of e.ref.policyIds) {
      const s = this.byPolicy.get(p);
      s?.delete(name);
      if (s !== undefined && s.size === 0) this.byPolicy.delete(p);
    }
    for (const c of e.rendered) this.table.removeChain(c);
    for (const n of e.sets) this.table.removeSet(n);
    for (const n of e.maps) this.table.removeMap(n);
  }

  /** Re-renders every chain that contains this policy (its rules changed or it went away). */
  policyChanged(id: string, policies: ReadonlyMap<string, PolicyMsg>, opts: RuleRenderOptions): void {
    for (const name of this.byPolicy.get(id) ?? []) {
      const e = this.chains.get(name);
      if (e !== undefined) this.render(e, policies, opts);
    }
  }

  /** Re-renders everything (rendering options changed). */
  rerenderAll(policies: ReadonlyMap<string, PolicyMsg>, opts: RuleRenderOptions): void {
    for (const e of this.chains.values()) this.render(e, policies, opts);
  }
}
