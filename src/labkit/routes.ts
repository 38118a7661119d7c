/**
 * Whether the cluster routes of an agent-routed lab are in place: on every node, each pod address and each
 * IPAM block of another node must be routed towards that node (BIRD's `via <node> proto bird`, or Felix's
 * `via <node>` / `via <VTEP> dev vxlan.calico` with proto 80), not left to the default route into the fabric,
 * where it would die. Also BIRD's view of its BGP sessions. Parsing is pure; the checks read the kernel with
 * `ip -j route` and `birdc` (whose table routing/status.ts parses).
 */
import { join } from 'node:path';
import { netnsRunner, type CommandRunner } from '../dataplane/exec/command-runner.js';
import { cidrContains, parseCidr, parseIp } from '../lib/net/ip.js';
import { parseBirdProtocols, type BirdProtocol } from '../routing/status.js';
import { runChecked } from './netns.js';
import type { NodeRecord } from './state.js';
import { VXLAN_DEVICE, nodeAddresses } from './topology.js';

export interface RouteEntry {
  readonly dst: string;
  readonly gateway?: string;
  readonly dev?: string;
  readonly type?: string;
  readonly protocol?: string;
}

function prefixOf(dst: string, family: 4 | 6): { cidr: ReturnType<typeof parseCidr>; len: number } {
  const host = family === 4 ? 32 : 128;
  const all = family === 4 ? '0.0.0.0/0' : '::/0';
  const cidr = parseCidr(dst === 'default' ? all : dst.includes('/') ? dst : `${dst}/${host}`);
  return { cidr, len: cidr?.prefix ?? -1 };
}

/**
 * The most specific route covering `ip` (what the kernel would use from the main table). `routes` are of
 * one family (`ip -4` or `ip -6`), so `default` is that family's.
 */
export function bestRoute(routes: readonly RouteEntry[], ip: string): RouteEntry | undefined {
  const addr = parseIp(ip);
  if (addr === undefined) return undefined;
  let best: RouteEntry | undefined;
  let bestLen = -1;
  for (const r of routes) {
    const { cidr, len } = prefixOf(r.dst, addr.family);
    if (cidr === undefined || cidr.family !== addr.family || !cidrContains(cidr, addr)) continue;
    if (len > bestLen) {
      best = r;
      bestLen = len;
    }
  }
  return best;
}

/** True when `route` leads to the node with fabric address `homeV4` (directly or through VXLAN). */
export function leadsTo(route: RouteEntry | undefined, homeV4: string): boolean {
  if (route === undefined || route.dst === 'default') return false;
  if (route.type !== undefined && route.type !== 'unicast') return false;
  return route.dev === VXLAN_DEVICE || route.gateway === homeV4;
}

export function parseRoutes(json: string): RouteEntry[] {
  const text = json.trim();
  if (text === '') return [];
  const parsed: unknown = JSON.parse(text);
  if (!Array.isArray(parsed)) return [];
  return parsed.flatMap((x: unknown) => {
    if (typeof x !== 'object' || x === null) return [];
    const o = x as Record<string, unknown>;
    if (typeof o.dst !== 'string') return [];
    const str = (k: string): Record<string, string> => (typeof o[k] === 'string' ? { [k]: o[k] } : {});
    return [{ dst: o.dst, ...str('gateway'), ...str('dev'), ...str('type'), ...str('protocol') }];
  });
}

/** The main routing table of namespace `ns`, one family (default IPv4). */
export async function nodeRoutes(
  runner: CommandRunner,
  ns: string,
  options: { readonly signal?: AbortSignal; readonly family?: 4 | 6 } = {},
): Promise<RouteEntry[]> {
  const family = `-${options.family ?? 4}`;
  return parseRoutes(await runChecked(runner, 'ip', [family, '-j', '-n', ns, 'route', 'show'], options));
}

export function homeAddress(n: Pick<NodeRecord, 'index' | 'rack'>): string {
  return nodeAddresses(n.index, n.rack ?? 1).v4;
}

/**
 * The (destination, node) pairs not yet routed: each target (an address or CIDR living on `home`) checked
 * on every node but its home. One route listing per node.
 */
export async function unroutedTargets(
  runner: CommandRunner,
  nodes: readonly Pick<NodeRecord, 'name' | 'netns' | 'index' | 'rack'>[],
  targets: readonly { readonly dst: string; readonly home: string }[],
  options: { readonly signal?: AbortSignal } = {},
): Promise<string[]> {
  const missing: string[] = [];
  for (const n of nodes) {
    const mine = targets.filter((t) => t.home !== n.name);
    if (mine.length === 0) continue;
    const routes = await nodeRoutes(runner, n.netns, options);
    for (const t of mine) {
      const home = nodes.find((x) => x.name === t.home);
      if (home === undefined) continue;
      const ip = t.dst.split('/')[0] ?? t.dst;
      const exact = t.dst.includes('/') ? routes.find((r) => r.dst === t.dst) : bestRoute(routes, ip);
      if (!leadsTo(exact, homeAddress(home))) missing.push(`${t.dst} (${t.home}) on ${n.name}`);
    }
  }
  return missing;
}

/** `birdc <command...>` against the node's BIRD (its control socket is in the agent's run dir). */
export function birdc(
  runner: CommandRunner,
  node: Pick<NodeRecord, 'netns' | 'runDir'>,
  command: readonly string[],
  options: { readonly signal?: AbortSignal } = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  return netnsRunner(runner, node.netns).run('birdc', ['-s', join(node.runDir, 'bird.ctl'), ...command], {
    timeoutMs: 10_000,
    ...options,
  });
}

/** The node's BIRD sessions. */
export async function birdSessions(
  runner: CommandRunner,
  node: Pick<NodeRecord, 'netns' | 'runDir'>,
  options: { readonly signal?: AbortSignal } = {},
): Promise<BirdProtocol[]> {
  const r = await birdc(runner, node, ['show', 'protocols'], options);
  const rows = r.code === 0 ? parseBirdProtocols(r.stdout) : undefined;
  return rows?.ok === true ? rows.value.filter((p) => p.proto === 'BGP') : [];
}
