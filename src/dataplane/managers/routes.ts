/**
 * Workload interface plumbing the agent owns (reference §7.2 steps 6-7, Felix's route table and endpoint
 * managers): a /32 (or /128) route per local workload address to its `cali*` interface, at Felix's normal
 * route priority (metric 1024, `ipv4NormalRoutePriority`; the CNI plugin's metric-0 route is replaced: BIRD
 * advertises a workload route below that metric as elevated, i.e. next to its block), and the interface
 * sysctls (proxy ARP, forwarding, IPv6 proxy NDP). Ours after a restart: routes whose device has one of the
 * workload interface prefixes; those not wanted any more are deleted. Interfaces that do not exist yet (the
 * endpoint arrived first) or are not up yet (the kernel refuses routes through a down device) are left
 * alone and retried on the next apply, like a route whose interface vanished while the batch ran; only a
 * failure on an interface that exists and is up fails the apply.
 */
import type { CommandRunner } from '../exec/command-runner.js';
import { KernelProgrammingError } from '../../lib/errors.js';
import { normaliseDst } from '../iproute/routes.js';

export interface WorkloadRoutes {
  readonly interfaceName: string;
  readonly nets: readonly string[];
}

interface IpRoute {
  readonly dst: string;
  readonly dev?: string;
  readonly protocol?: string;
  readonly metric?: number;
}

/** Felix's normal route priority (IPv4NormalRoutePriority / IPv6NormalRoutePriority). */
export const NORMAL_ROUTE_PRIORITY = 1024;

/** The kernel metric of workload routes, per family. */
export interface RoutePriorities {
  readonly v4: number;
  readonly v6: number;
}

const SYSCTLS_V4 = [
  'net.ipv4.conf.{if}.proxy_arp=1',
  'net.ipv4.neigh.{if}.proxy_delay=0',
  'net.ipv4.conf.{if}.forwarding=1',
  'net.ipv4.conf.{if}.route_localnet=1',
];
const SYSCTLS_V6 = [
  'net.ipv6.conf.{if}.proxy_ndp=1',
  'net.ipv6.conf.{if}.forwarding=1',
  'net.ipv6.conf.{if}.accept_ra=0',
];

interface IpLink {
  readonly ifname: string;
  readonly flags?: readonly string[];
}

/** The 1-based lines `ip -force -batch` reports as failed (`Command failed -:N`). */
export function failedBatchLines(stderr: string): number[] {
  return [...stderr.matchAll(/Command failed -:(\d+)/g)].map((m) => Number(m[1]));
}

/** The device a batch line names (`... dev <name> ...`). */
function deviceOf(line: string): string | undefined {
  return / dev (\S+)/.exec(line)?.[1];
}

export class RouteManager {
  private readonly runner: CommandRunner;
  private readonly prefixes: () => readonly string[];
  private readonly priority: RoutePriorities;
  private desired = new Map<string, WorkloadRoutes>();
  private readonly configured = new Set<string>();
  /** Interfaces whose routes could not be programmed (missing), retried next time. */
  pending = 0;

  constructor(
    runner: CommandRunner,
    prefixes: () => readonly string[],
    priority: RoutePriorities = { v4: NORMAL_ROUTE_PRIORITY, v6: NORMAL_ROUTE_PRIORITY },
  ) {
    this.runner = runner;
    this.prefixes = prefixes;
    this.priority = priority;
  }

  setDesired(workloads: Iterable<WorkloadRoutes>): void {
    this.desired = new Map([...workloads].map((w) => [w.interfaceName, w]));
  }

  private ours(dev: string | undefined): boolean {
    return dev !== undefined && this.prefixes().some((p) => dev.startsWith(p));
  }

  private async json<T>(args: string[], signal?: AbortSignal): Promise<T> {
    const r = await this.runner.run('ip', args, signal !== undefined ? { signal } : {});
    if (r.code !== 0)
      throw new KernelProgrammingError(`ip ${args.join(' ')} failed`, {
        command: `ip ${args.join(' ')}`,
        exitCode: r.code,
        stderr: r.stderr,
      });
    return JSON.parse(r.stdout === '' ? '[]' : r.stdout) as T;
  }

  /** Interfaces that exist -> whether they are administratively up. */
  private async links(signal?: AbortSignal): Promise<Map<string, boolean>> {
    const links = await this.json<IpLink[]>(['-j', 'link', 'show'], signal);
    return new Map(links.map((l) => [l.ifname, l.flags?.includes('UP') ?? false]));
  }

  async apply(signal?: AbortSignal): Promise<void> {
    const links = await this.links(signal);
    const present = new Set([...links].filter(([, up]) => up).map(([name]) => name));
    const waiting = [...this.desired.values()].filter((w) => !present.has(w.interfaceName));
    const batch: string[] = [];
    for (const family of [4, 6] as const) {
      const routes = await this.json<IpRoute[]>(
        [family === 4 ? '-4' : '-6', '-j', 'route', 'show', 'table', 'main'],
        signal,
      );
      const metric = family === 4 ? this.priority.v4 : this.priority.v6;
      const actual: { dst: string; dev: string; metric: number }[] = [];
      for (const r of routes) {
        // Only host routes to workload interfaces are ours; the kernel's own (link-local) routes are not.
        const dst = normaliseDst(r.dst, family);
        if (!this.ours(r.dev) || r.protocol === 'kernel' || !dst.endsWith(family === 4 ? '/32' : '/128'))
          continue;
        actual.push({ dst, dev: r.dev ?? '', metric: r.metric ?? 0 });
      }
      const wanted = new Map<string, string>();
      for (const w of this.desired.values()) {
        if (!present.has(w.interfaceName)) continue;
        for (const n of w.nets) if ((n.includes(':') ? 6 : 4) === family) wanted.set(n, w.interfaceName);
      }
      for (const [dst, dev] of wanted) {
        if (!actual.some((a) => a.dst === dst && a.dev === dev && a.metric === metric))
          // No `-6` in a batch line (it takes no global options); `ip` tells the family from the prefix.
          batch.push(`route replace ${dst} dev ${dev} scope link metric ${metric}`);
      }
      // Unwanted routes, and wanted ones at another metric (the CNI plugin's): `replace` keeps those.
      for (const a of actual) {
        if (!wanted.has(a.dst) || a.metric !== metric)
          batch.push(`route del ${a.dst} dev ${a.dev} metric ${a.metric}`);
      }
    }
    for (const w of this.desired.values()) {
      if (!present.has(w.interfaceName) || this.configured.has(w.interfaceName)) continue;
      const v6 = w.nets.some((n) => n.includes(':'));
      const settings = [...SYSCTLS_V4, ...(v6 ? SYSCTLS_V6 : [])].map((s) =>
        s.replace('{if}', w.interfaceName),
      );
      const r = await this.runner.run(
        'sysctl',
        ['-q', '-w', ...settings],
        signal !== undefined ? { signal } : {},
      );
      if (r.code === 0) this.configured.add(w.interfaceName);
    }
    for (const ifname of [...this.configured]) if (!links.has(ifname)) this.configured.delete(ifname);
    this.pending = waiting.length;
    if (batch.length === 0) return;
    const r = await this.runner.run('ip', ['-force', '-batch', '-'], {
      stdin: `${batch.join('\n')}\n`,
      ...(signal !== undefined ? { signal } : {}),
    });
    if (r.code === 0) return;
    // A line fails when its interface went away or down meanwhile: that one waits for the next apply.
    const failed = failedBatchLines(r.stderr);
    const now = await this.links(signal);
    const hard = failed.filter((n) => {
      const dev = deviceOf(batch[n - 1] ?? '');
      return dev === undefined || now.get(dev) === true;
    });
    if (failed.length > 0 && hard.length === 0) {
      this.pending += failed.length;
      return;
    }
    throw new KernelProgrammingError('programming workload routes failed', {
      command: 'ip -force -batch -',
      exitCode: r.code,
      stderr: r.stderr,
    });
  }
}
