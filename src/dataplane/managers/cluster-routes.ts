/**
 * Programs cluster routes (rules/cluster-routes.ts) into the main table: reads back what carries our protocol
 * number (80) plus anything foreign on `vxlan.calico`, replaces what differs and deletes what is not wanted,
 * in one `ip -force -batch`. Reading the kernel on every apply is what makes a restarted agent adopt its
 * routes and sweep stale ones.
 */
import type { CommandRunner } from '../exec/command-runner.js';
import { diffRoutes, parseKernelRoutes, routeCommand } from '../iproute/routes.js';
import { queryJson, runBatch } from '../iproute/tools.js';
import type { KernelRoute } from '../rules/cluster-routes.js';
import { CLUSTER_ROUTE_PROTOCOL, VXLAN_DEVICE } from '../rules/names.js';

/** Routes on `vxlan.calico` that someone else added (not ours, not the kernel's). */
function foreignOnVxlan(json: unknown): KernelRoute[] {
  if (!Array.isArray(json)) return [];
  const foreign = json.filter((e: unknown) => {
    const p = (e as { protocol?: unknown }).protocol;
    return p !== 'kernel' && p !== String(CLUSTER_ROUTE_PROTOCOL);
  });
  return parseKernelRoutes(foreign, 4).map((r) => ({ ...r, dev: VXLAN_DEVICE }));
}

export class ClusterRouteManager {
  private readonly runner: CommandRunner;
  /** Routes currently programmed, as last read back and changed. */
  programmed = 0;

  constructor(runner: CommandRunner) {
    this.runner = runner;
  }

  async apply(
    desired: ReadonlyMap<string, KernelRoute>,
    vxlanDevicePresent: boolean,
    signal?: AbortSignal,
  ): Promise<void> {
    const actual: KernelRoute[] = [];
    for (const family of [4, 6] as const) {
      const json = await queryJson(
        this.runner,
        'ip',
        [`-${family}`, '-j', 'route', 'show', 'table', 'main', 'proto', String(CLUSTER_ROUTE_PROTOCOL)],
        signal,
      );
      actual.push(...parseKernelRoutes(json, family));
    }
    const diff = diffRoutes(desired, actual);
    const stray = vxlanDevicePresent
      ? foreignOnVxlan(
          await queryJson(
            this.runner,
            'ip',
            ['-4', '-j', 'route', 'show', 'dev', VXLAN_DEVICE],
            signal,
            true,
          ),
        ).filter((r) => !desired.has(r.dst))
      : [];
    const lines = [
      ...diff.remove.map((r) => routeCommand(r, 'del')),
      ...stray.map((r) => routeCommand(r, 'del').replace(` proto ${CLUSTER_ROUTE_PROTOCOL}`, '')),
      ...diff.replace.map((r) => routeCommand(r, 'replace')),
    ];
    await runBatch(this.runner, 'ip', lines, 'cluster routes', signal);
    this.programmed = desired.size;
  }
}
