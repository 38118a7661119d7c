/**
 * Active policies (Felix's policy manager): records the policies the calc graph says apply to local endpoints
 * and keeps the shared tier chains (tier-chains.ts) that inline their rules up to date. Policies have no chains
 * of their own; a tier chain exists while some endpoint jumps to it, and is re-rendered when one of its
 * policies or the rendering configuration changes. The endpoint managers use `tiers` to say which tier chains
 * their endpoints need, so they run after this manager.
 */
import type { PolicyMsg } from '../../calc/messages.js';
import { DirtyMap, RulesConfigTracker, type Manager, type MessageHandlers } from '../manager.js';
import type { TableIntent } from '../nftables/intent.js';
import { TierChains, type TierChainUsers } from './tier-chains.js';

export class PolicyManager implements Manager {
  readonly name = 'policies';
  readonly #policies = new DirtyMap<PolicyMsg>();
  readonly #config = new RulesConfigTracker();
  readonly #tiers: TierChains;
  #allDirty = false;

  constructor(table: TableIntent) {
    this.#tiers = new TierChains(table, this.#policies.values, () => this.#config.current);
  }

  /** The shared tier chains, for the endpoint managers. */
  get tiers(): TierChainUsers {
    return this.#tiers;
  }

  /** Tier chains in use (for tests and status). */
  get tierChainCount(): number {
    return this.#tiers.size;
  }

  readonly handlers: MessageHandlers = {
    configUpdate: (m) => {
      if (this.#config.update(m.config)) this.#allDirty = true;
    },
    activePolicyUpdate: (m) => {
      this.#policies.set(m.id, m.policy);
    },
    activePolicyRemove: (m) => {
      this.#policies.delete(m.id);
    },
  };

  completeDeferredWork(): void {
    const changed = this.#policies.take();
    if (this.#allDirty) this.#tiers.rerenderAll();
    else for (const id of changed) this.#tiers.policyChanged(id);
    this.#allDirty = false;
    this.#tiers.renderDirty();
  }

  reset(): void {
    this.#policies.clear();
    this.#tiers.clear();
    this.#config.reset();
    this.#allDirty = false;
  }
}
