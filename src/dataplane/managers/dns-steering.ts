/**
 * DNS policy's steering chains (rules/dns-steering.ts): which trusted servers' queries from workloads go to
 * which node-local DNS proxy listener. The agent's DNS runtime sets the routes when its listeners are up (and
 * kicks the loop); the chains follow the interface prefixes of the configuration. With no routes the chains
 * exist and steer nothing.
 */
import { RulesConfigTracker, type Manager, type MessageHandlers } from '../manager.js';
import type { TableIntent } from '../nftables/intent.js';
import { renderDnsSteering, type DnsSteeringRoute } from '../rules/dns-steering.js';

export class DnsSteeringManager implements Manager {
  readonly name = 'dns-steering';
  readonly #table: TableIntent;
  readonly #config = new RulesConfigTracker();
  #routes: readonly DnsSteeringRoute[] = [];
  #dirty = true;

  constructor(table: TableIntent) {
    this.#table = table;
  }

  readonly handlers: MessageHandlers = {
    configUpdate: (m) => {
      if (this.#config.update(m.config)) this.#dirty = true;
    },
  };

  /** Replaces the routes; programmed by the next apply (the caller kicks the loop). */
  setRoutes(routes: readonly DnsSteeringRoute[]): void {
    renderDnsSteering(this.#config.current.interfacePrefixes, routes); // refuses mixed families now
    this.#routes = [...routes];
    this.#dirty = true;
  }

  get routes(): readonly DnsSteeringRoute[] {
    return this.#routes;
  }

  completeDeferredWork(): void {
    if (!this.#dirty) return;
    for (const c of renderDnsSteering(this.#config.current.interfacePrefixes, this.#routes))
      this.#table.updateChain(c.name, c.rules, c.hook !== undefined ? { hook: c.hook } : {});
    this.#dirty = false;
  }

  reset(): void {
    this.#config.reset();
    this.#dirty = true;
  }
}
