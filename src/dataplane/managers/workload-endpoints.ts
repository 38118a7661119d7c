/**
 * Local workload endpoints (Felix's endpoint manager, workload half): per endpoint the to- and from-workload
 * chains (rules/workload.ts), their entries in the workload dispatch maps (which the static manager declares),
 * and the tier chains they jump to. An endpoint whose interface changes loses its old chains and entries in
 * the same apply. `endpoints` is what the agent reports (status files, the CNI server's policy wait).
 */
import type { WorkloadEndpointMsg } from '../../calc/messages.js';
import { DirtyMap, RulesConfigTracker, type Manager, type MessageHandlers } from '../manager.js';
import type { TableIntent } from '../nftables/intent.js';
import { MAP_FROM_WL, MAP_TO_WL } from '../rules/names.js';
import { renderWorkloadEndpoint } from '../rules/workload.js';
import type { TierChainUsers } from './tier-chains.js';

interface Programmed {
  readonly interfaceName: string;
  readonly chains: readonly string[];
}

export class WorkloadEndpointManager implements Manager {
  readonly name = 'workload-endpoints';
  readonly #table: TableIntent;
  readonly #tiers: TierChainUsers;
  readonly #endpoints = new DirtyMap<WorkloadEndpointMsg>();
  readonly #programmed = new Map<string, Programmed>();
  readonly #config = new RulesConfigTracker();

  constructor(table: TableIntent, tiers: TierChainUsers) {
    this.#table = table;
    this.#tiers = tiers;
  }

  get endpoints(): ReadonlyMap<string, WorkloadEndpointMsg> {
    return this.#endpoints.values;
  }

  readonly handlers: MessageHandlers = {
    configUpdate: (m) => {
      if (this.#config.update(m.config)) this.#endpoints.markAll();
    },
    workloadEndpointUpdate: (m) => {
      this.#endpoints.set(m.id, m.endpoint);
    },
    workloadEndpointRemove: (m) => {
      this.#endpoints.delete(m.id);
    },
  };

  completeDeferredWork(): void {
    for (const id of this.#endpoints.take()) this.#render(id);
  }

  #render(id: string): void {
    const ep = this.#endpoints.values.get(id);
    const old = this.#programmed.get(id);
    if (old !== undefined && (ep === undefined || old.interfaceName !== ep.interfaceName)) {
      this.#table.removeMapElements(MAP_FROM_WL, [old.interfaceName]);
      this.#table.removeMapElements(MAP_TO_WL, [old.interfaceName]);
      for (const c of old.chains) this.#table.removeChain(c);
      this.#programmed.delete(id);
    }
    if (ep === undefined) {
      this.#tiers.setUser(`wep:${id}`, []);
      return;
    }
    const r = renderWorkloadEndpoint(ep, this.#config.current);
    this.#tiers.setUser(`wep:${id}`, r.tierChains);
    for (const c of r.chains) this.#table.updateChain(c.name, c.rules);
    this.#table.updateMapElements(MAP_FROM_WL, [r.fromEntry]);
    this.#table.updateMapElements(MAP_TO_WL, [r.toEntry]);
    this.#programmed.set(id, { interfaceName: ep.interfaceName, chains: r.chains.map((c) => c.name) });
  }

  reset(): void {
    this.#endpoints.clear();
    this.#programmed.clear();
    this.#config.reset();
  }
}
