/**
 * Workload routes (Felix's endpoint manager, routes and interface settings): from the local workload
 * endpoints, a host route per address to the endpoint's interface and the interface's sysctls, programmed by
 * the route driver (routes.ts) after the table, so a workload is reachable only once its policy is in place.
 * The kernel is read and reconciled only when an endpoint's interface or addresses change (a policy change
 * also updates the endpoint, but not its routes), on the periodic refresh, or while routes wait for their
 * interface: not on every apply.
 */
import type { CommandRunner } from '../exec/command-runner.js';
import { DirtyMap, DueWork, RulesConfigTracker, type Manager, type MessageHandlers } from '../manager.js';
import { RouteManager, type WorkloadRoutes } from './routes.js';

export class WorkloadRouteManager implements Manager {
  readonly name = 'workload-routes';
  readonly #config = new RulesConfigTracker();
  readonly #routes: RouteManager;
  readonly #work = new DueWork();
  readonly #workloads = new DirtyMap<WorkloadRoutes>(() => {
    this.#work.markDue();
  });

  constructor(runner: CommandRunner) {
    this.#routes = new RouteManager(runner, () => this.#config.current.interfacePrefixes);
  }

  /** Interfaces whose routes wait for the interface to exist and be up. */
  get pending(): number {
    return this.#routes.pending;
  }

  readonly handlers: MessageHandlers = {
    configUpdate: (m) => {
      if (this.#config.update(m.config)) this.#work.markDue();
    },
    workloadEndpointUpdate: (m) => {
      const e = m.endpoint;
      const next = { interfaceName: e.interfaceName, nets: [...e.ipv4Nets, ...e.ipv6Nets] };
      const prev = this.#workloads.values.get(m.id);
      if (prev !== undefined && sameRoutes(prev, next)) return;
      this.#workloads.set(m.id, next);
    },
    workloadEndpointRemove: (m) => {
      this.#workloads.delete(m.id);
    },
  };

  queueResync(): void {
    this.#work.markDue();
  }

  reset(): void {
    this.#workloads.clear();
    this.#config.reset();
    this.#work.markDue();
  }

  apply(signal: AbortSignal): Promise<void> {
    return this.#work.run(this.#routes.pending > 0, async () => {
      this.#workloads.take();
      this.#routes.setDesired(this.#workloads.values.values());
      await this.#routes.apply(signal);
    });
  }
}

function sameRoutes(a: WorkloadRoutes, b: WorkloadRoutes): boolean {
  return (
    a.interfaceName === b.interfaceName &&
    a.nets.length === b.nets.length &&
    a.nets.every((n, i) => n === b.nets[i])
  );
}
