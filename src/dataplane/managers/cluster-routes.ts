/**
 * Cluster routes (Felix's route manager for remote blocks; reference §8.5): records the calc graph's routes
 * and programs them into the main table (rules/cluster-routes.ts says which and how): reads back what carries
 * our protocol number (80) plus anything foreign on `vxlan.calico`, replaces what differs and deletes what is
 * not wanted, in one `ip -force -batch`. Reading the kernel on every apply with work is what makes a
 * restarted agent adopt its routes and sweep stale ones. VXLAN routes wait for the VXLAN manager's device.
 */
import type { RouteMsg } from '../../calc/messages.js';
import type { CommandRunner } from '../exec/command-runner.js';
import { diffRoutes, parseKernelRoutes, routeCommand } from '../iproute/routes.js';
import { queryJson, runBatch } from '../iproute/tools.js';
import { DirtyMap, DueWork, type Manager, type MessageHandlers } from '../manager.js';
import { desiredClusterRoutes, type KernelRoute } from '../rules/cluster-routes.js';
import { CLUSTER_ROUTE_PROTOCOL, IPIP_DEVICE, VXLAN_DEVICE } from '../rules/names.js';

/** Routes on `vxlan.calico` that someone else added (not ours, not the kernel's). */
function foreignOnVxlan(json: unknown): KernelRoute[] {
  if (!Array.isArray(json)) return [];
  const foreign = json.filter((e: unknown) => {
    const p = (e as { protocol?: unknown }).protocol;
    return p !== 'kernel' && p !== String(CLUSTER_ROUTE_PROTOCOL);
  });
  return parseKernelRoutes(foreign, 4).map((r) => ({ ...r, dev: VXLAN_DEVICE }));
}

export interface ClusterRouteOptions {
  readonly runner: CommandRunner;
  /** BIRD runs here (CALICO_NETWORKING_BACKEND=bird) and programs no-encap routes and their blackholes. */
  readonly birdProgramsNoEncap: boolean;
  /** Whether `vxlan.calico` is up (the VXLAN manager's last outcome). */
  readonly vxlanReady: () => boolean;
}

export class ClusterRouteManager implements Manager {
  readonly name = 'cluster-routes';
  readonly #opts: ClusterRouteOptions;
  readonly #work = new DueWork();
  readonly #routes = new DirtyMap<RouteMsg>(() => {
    this.#work.markDue();
  });
  /** The VXLAN readiness the last apply programmed for: a change means VXLAN routes come or go. */
  #vxlanReady = false;
  /** Routes currently programmed, as last read back and changed. */
  programmed = 0;

  constructor(opts: ClusterRouteOptions) {
    this.#opts = opts;
  }

  readonly handlers: MessageHandlers = {
    routeUpdate: (m) => {
      this.#routes.set(m.route.dst, m.route);
    },
    routeRemove: (m) => {
      this.#routes.delete(m.dst);
    },
  };

  queueResync(): void {
    this.#work.markDue();
  }

  reset(): void {
    this.#routes.clear();
    this.#work.markDue();
  }

  /** The number of routes known (from the calc graph). */
  get routeCount(): number {
    return this.#routes.values.size;
  }

  apply(signal: AbortSignal): Promise<void> {
    const vxlanReady = this.#opts.vxlanReady();
    return this.#work.run(vxlanReady !== this.#vxlanReady, async () => {
      this.#routes.take();
      await this.#program(vxlanReady, signal);
      this.#vxlanReady = vxlanReady;
    });
  }

  async #program(vxlanReady: boolean, signal: AbortSignal): Promise<void> {
    const runner = this.#opts.runner;
    const ipipReady =
      [...this.#routes.values.values()].some((r) => r.encap === 'ipip') &&
      (await queryJson(runner, 'ip', ['-j', 'link', 'show', 'dev', IPIP_DEVICE], signal, true)) !== undefined;
    const desired = desiredClusterRoutes(this.#routes.values.values(), {
      birdProgramsNoEncap: this.#opts.birdProgramsNoEncap,
      vxlanReady,
      ipipReady,
    });
    const actual: KernelRoute[] = [];
    for (const family of [4, 6] as const) {
      const json = await queryJson(
        runner,
        'ip',
        [`-${family}`, '-j', 'route', 'show', 'table', 'main', 'proto', String(CLUSTER_ROUTE_PROTOCOL)],
        signal,
      );
      actual.push(...parseKernelRoutes(json, family));
    }
    const diff = diffRoutes(desired, actual);
    const stray = vxlanReady
      ? foreignOnVxlan(
          await queryJson(runner, 'ip', ['-4', '-j', 'route', 'show', 'dev', VXLAN_DEVICE], signal, true),
        ).filter((r) => !desired.has(r.dst))
      : [];
    const lines = [
      ...diff.remove.map((r) => routeCommand(r, 'del')),
      ...stray.map((r) => routeCommand(r, 'del').replace(` proto ${CLUSTER_ROUTE_PROTOCOL}`, '')),
      ...diff.replace.map((r) => routeCommand(r, 'replace')),
    ];
    await runBatch(runner, 'ip', lines, 'cluster routes', signal);
    this.programmed = desired.size;
  }
}
