/**
 * Cluster routes the agent programs into the main routing table (Felix's VXLAN and route managers, reference
 * §8.5), as a pure function of the calc graph's route messages:
 *
 *   remote block, encap vxlan       ─► `<dst> via <remote VTEP> dev vxlan.calico onlink`
 *   remote block, VXLAN pool but no encapsulation (CrossSubnet, same subnet)
 *                                   ─► `<dst> via <node IP>`                      (always ours: BIRD skips VXLAN pools)
 *   remote block, no-encap pool     ─► `<dst> via <node IP>`                      (only when BIRD is not running)
 *   remote block, encap ipip        ─► `<dst> via <node IP> dev tunl0 onlink`     (ipip.ts; only when tunl0 exists)
 *   local block (not /32)           ─► `blackhole <dst>` (VXLAN pools always; others only without BIRD)
 *
 * Everything we program carries protocol 80, which is how a restarted agent recognises (and sweeps) its
 * routes; BIRD's are `proto bird`, workload routes are the `cali*` device routes of managers/routes.ts.
 */
import type { RouteMsg } from '../../calc/messages.js';
import { ipipRoute } from './ipip.js';
import { VXLAN_DEVICE } from './vxlan.js';

/** The routing protocol number of the routes we program ("ours" after a restart). */
export const CLUSTER_ROUTE_PROTOCOL = 80;

export interface KernelRoute {
  readonly dst: string;
  readonly type: 'unicast' | 'blackhole';
  readonly via?: string;
  /** When absent the kernel picks the device (and any device is accepted when comparing). */
  readonly dev?: string;
  readonly onlink?: boolean;
}

export interface ClusterRouteOptions {
  /** BIRD runs (CALICO_NETWORKING_BACKEND=bird): it programs no-encap routes and their blackholes. */
  readonly birdProgramsNoEncap: boolean;
  /** `vxlan.calico` is up: VXLAN routes can be programmed. */
  readonly vxlanReady: boolean;
  /** `tunl0` exists: IPIP routes can be programmed. */
  readonly ipipReady: boolean;
}

function isHostRoute(dst: string): boolean {
  return dst.endsWith(dst.includes(':') ? '/128' : '/32');
}

/** The kernel route for one route message, or undefined when it is not ours to program (or not yet). */
export function kernelRouteFor(r: RouteMsg, opts: ClusterRouteOptions): KernelRoute | undefined {
  if (r.type === 'localWorkload') {
    // Borrowed addresses and /32 blocks are routed to their workload interface (managers/routes.ts).
    if (r.borrowed || isHostRoute(r.dst)) return undefined;
    if (r.poolType !== 'vxlan' && opts.birdProgramsNoEncap) return undefined;
    return { dst: r.dst, type: 'blackhole' };
  }
  switch (r.encap) {
    case 'vxlan':
      if (!opts.vxlanReady || r.vtepAddr === undefined) return undefined;
      return { dst: r.dst, type: 'unicast', via: r.vtepAddr, dev: VXLAN_DEVICE, onlink: true };
    case 'ipip':
      return opts.ipipReady ? ipipRoute(r) : undefined;
    case 'none':
      if (r.dstNodeIp === undefined) return undefined;
      if (r.poolType !== 'vxlan' && opts.birdProgramsNoEncap) return undefined;
      return { dst: r.dst, type: 'unicast', via: r.dstNodeIp };
  }
}

export function desiredClusterRoutes(
  routes: Iterable<RouteMsg>,
  opts: ClusterRouteOptions,
): Map<string, KernelRoute> {
  const out = new Map<string, KernelRoute>();
  for (const r of routes) {
    const k = kernelRouteFor(r, opts);
    if (k !== undefined) out.set(k.dst, k);
  }
  return out;
}

function normaliseDst(dst: string, family: 4 | 6): string {
  if (dst === 'default') return family === 4 ? '0.0.0.0/0' : '::/0';
  return dst.includes('/') ? dst : `${dst}/${family === 4 ? 32 : 128}`;
}

/** Routes from `ip -j route show table main proto 80` (one family). */
export function parseKernelRoutes(json: unknown, family: 4 | 6): KernelRoute[] {
  if (!Array.isArray(json)) return [];
  return json.flatMap((e: unknown): KernelRoute[] => {
    if (typeof e !== 'object' || e === null) return [];
    const o = e as { dst?: unknown; type?: unknown; gateway?: unknown; dev?: unknown; flags?: unknown };
    if (typeof o.dst !== 'string') return [];
    const flags = Array.isArray(o.flags) ? o.flags : [];
    return [
      {
        dst: normaliseDst(o.dst, family),
        type: o.type === 'blackhole' ? 'blackhole' : 'unicast',
        ...(typeof o.gateway === 'string' ? { via: o.gateway } : {}),
        ...(typeof o.dev === 'string' ? { dev: o.dev } : {}),
        ...(flags.includes('onlink') ? { onlink: true } : {}),
      },
    ];
  });
}

/** True when the kernel route is what we want (a desired route without a device accepts any device). */
export function routeMatches(want: KernelRoute, have: KernelRoute): boolean {
  return (
    want.dst === have.dst &&
    want.type === have.type &&
    want.via === have.via &&
    (want.dev === undefined || want.dev === have.dev) &&
    (want.onlink ?? false) === (have.onlink ?? false)
  );
}

export interface RouteDiff {
  readonly replace: readonly KernelRoute[];
  readonly remove: readonly KernelRoute[];
}

export function diffRoutes(
  desired: ReadonlyMap<string, KernelRoute>,
  actual: readonly KernelRoute[],
): RouteDiff {
  const have = new Map(actual.map((r) => [r.dst, r]));
  const replace = [...desired.values()].filter((w) => {
    const h = have.get(w.dst);
    return h === undefined || !routeMatches(w, h);
  });
  const remove = actual.filter((h) => !desired.has(h.dst));
  return { replace, remove };
}

/**
 * One `ip -batch` line. No `-6`: batch lines take no global options, and `ip` tells the family from the
 * prefix (a blackhole route included).
 */
export function routeCommand(r: KernelRoute, op: 'replace' | 'del'): string {
  const parts = [`route ${op}`, r.type === 'blackhole' ? `blackhole ${r.dst}` : r.dst];
  if (r.via !== undefined) parts.push(`via ${r.via}`);
  if (r.dev !== undefined) parts.push(`dev ${r.dev}`);
  if (r.onlink === true) parts.push('onlink');
  parts.push(`proto ${CLUSTER_ROUTE_PROTOCOL}`);
  return parts.join(' ');
}
