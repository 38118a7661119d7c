/**
 * Cluster routes the agent programs into the main routing table (Felix's VXLAN and route managers, reference
 * §8.5), as a pure function of the calc graph's route messages:
 *
 *   remote block, encap vxlan       ─► `<dst> via <remote VTEP> dev vxlan.calico onlink`
 *   remote block, VXLAN pool but no encapsulation (CrossSubnet, same subnet)
 *                                   ─► `<dst> via <node IP>`                      (always ours: BIRD skips VXLAN pools)
 *   remote block, no-encap pool     ─► `<dst> via <node IP>`                      (only when BIRD is not running)
 *   remote block, encap ipip        ─► `<dst> via <node IP> dev tunl0 onlink`     (IPv4; only when tunl0 exists)
 *   local block (not /32)           ─► `blackhole <dst>` (VXLAN pools always; others only without BIRD)
 *
 * Everything we program carries CLUSTER_ROUTE_PROTOCOL (80), which is how a restarted agent recognises (and
 * sweeps) its routes; BIRD's are `proto bird`, workload routes are the `cali*` device routes of
 * managers/routes.ts. Reading them back and diffing is iproute/routes.ts.
 *
 * IPIP is rendered only: this kernel has no ipip module, so no test here programs `tunl0`.
 */
import type { RouteMsg } from '../../calc/messages.js';
import { IPIP_DEVICE, VXLAN_DEVICE } from './names.js';

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
      // IPIP is IPv4 only (reference §8.5).
      if (!opts.ipipReady || r.dstNodeIp === undefined || r.dst.includes(':')) return undefined;
      return { dst: r.dst, type: 'unicast', via: r.dstNodeIp, dev: IPIP_DEVICE, onlink: true };
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
