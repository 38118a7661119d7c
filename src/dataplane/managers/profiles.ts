/**
 * Active profiles (Felix's profile chains `cali-pri-`/`cali-pro-`): one chain per profile and direction, for
 * the profiles of local endpoints, which the endpoint chains jump to after their tiers.
 */
import type { ProfileMsg } from '../../calc/messages.js';
import { DirtyMap, RulesConfigTracker, type Manager, type MessageHandlers } from '../manager.js';
import type { TableIntent } from '../nftables/intent.js';
import { profileChain } from '../rules/names.js';
import { renderProfileChains } from '../rules/profile.js';

export class ProfileManager implements Manager {
  readonly name = 'profiles';
  readonly #table: TableIntent;
  readonly #profiles = new DirtyMap<ProfileMsg>();
  readonly #config = new RulesConfigTracker();

  constructor(table: TableIntent) {
    this.#table = table;
  }

  readonly handlers: MessageHandlers = {
    configUpdate: (m) => {
      if (this.#config.update(m.config)) this.#profiles.markAll();
    },
    activeProfileUpdate: (m) => {
      this.#profiles.set(m.id, m.profile);
    },
    activeProfileRemove: (m) => {
      this.#profiles.delete(m.id);
    },
  };

  completeDeferredWork(): void {
    for (const id of this.#profiles.take()) {
      const p = this.#profiles.values.get(id);
      if (p === undefined) {
        this.#table.removeChain(profileChain(id, 'in'));
        this.#table.removeChain(profileChain(id, 'out'));
        continue;
      }
      for (const c of renderProfileChains(id, p, this.#config.current))
        this.#table.updateChain(c.name, c.rules);
    }
  }

  reset(): void {
    this.#profiles.clear();
    this.#config.reset();
  }
}
