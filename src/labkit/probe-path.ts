/**
 * Why a probe that got no answer is not a policy verdict (pure). Calico drops silently, so a probe that times
 * out reads as `denied`, but only when the packets had somewhere to go: a probe whose path lacks a route
 * (a remote pod's block not routed to its node yet, a pod's host route missing, the way back missing) times
 * out the same way. The lab checks the hops of the path on the nodes' routing tables (`ip -j route`) and
 * calls such a probe `no-route` instead, naming the hop.
 *
 *   pod S on node A  ->  pod D on node B:   A routes D towards B, B routes D to D's interface,
 *                                          B routes S towards A, A routes S to S's interface
 *   same node (A = B):                      A routes D and S to their interfaces
 *   pod S  ->  outside or an address:       A and the fabric have a usable route to it (a default route
 *                                          counts) and, unless natOutgoing hides S behind A's address,
 *                                          the fabric routes S towards A (it never does: pods are not
 *                                          routed beyond the nodes)
 *   outside ->  pod D on node B:           the fabric routes D towards B (it never does), B to D's interface
 *   to or from a hostNetwork pod H on B:   H's address is B's own: another node needs any route to it (its
 *                                          default towards the fabric counts) and the fabric routes it
 *                                          towards B; on B itself it is local
 */
import { bestRoute, leadsTo, type RouteEntry } from './routes.js';

/** Where a hop's route must lead. */
export type HopTarget =
  /** Any usable route (towards the fabric). */
  | { readonly kind: 'any' }
  /** The pod's host-side interface on this node. */
  | { readonly kind: 'local'; readonly dev: string; readonly owner: string }
  /** Another node: through VXLAN, or with the node's fabric address as gateway. */
  | { readonly kind: 'node'; readonly node: string; readonly address: string; readonly owner: string };

/** One routing decision on the path: on `node`, the route to `ip`. */
export interface Hop {
  readonly node: string;
  readonly ip: string;
  readonly want: HopTarget;
}

const UNUSABLE = new Set(['unreachable', 'blackhole', 'prohibit', 'throw']);

function describeRoute(r: RouteEntry): string {
  const how = [
    r.gateway !== undefined ? `via ${r.gateway}` : '',
    r.dev !== undefined ? `dev ${r.dev}` : '',
    r.protocol !== undefined ? `proto ${r.protocol}` : '',
  ]
    .filter((s) => s !== '')
    .join(' ');
  const route = r.dst === 'default' ? 'the default route' : `route ${r.dst}`;
  return how === '' ? route : `${route} (${how})`;
}

/** What is wrong with the route `node` would use for the hop, or undefined when it leads where it must. */
export function hopProblem(hop: Hop, routes: readonly RouteEntry[]): string | undefined {
  const r = bestRoute(routes, hop.ip);
  if (r === undefined) return `${hop.node} has no route to ${hop.ip}`;
  if (r.type !== undefined && UNUSABLE.has(r.type))
    return `${hop.node} has a ${r.type} route for ${hop.ip} (${r.dst})`;
  const w = hop.want;
  switch (w.kind) {
    case 'any':
      return undefined;
    case 'local':
      return r.dev === w.dev && r.gateway === undefined
        ? undefined
        : `${hop.node} routes ${hop.ip} (${w.owner}) by ${describeRoute(r)}, not to its interface ${w.dev}`;
    case 'node':
      return leadsTo(r, w.address)
        ? undefined
        : `${hop.node} routes ${hop.ip} (${w.owner}) by ${describeRoute(r)}, not to ${w.node} (${w.address})`;
  }
}

/**
 * A probe's end inside the lab: a pod (its node and host interface), or a hostNetwork pod (`host`: its
 * address is one of its node's own, which the fabric routes to the node), or anything else (`undefined`).
 */
export interface PodEnd {
  readonly key: string;
  readonly ip: string;
  readonly node: string;
  /** Empty for a hostNetwork pod. */
  readonly hostIfname: string;
  /** The fabric address of the pod's node in the pod's family. */
  readonly nodeAddress: string;
  readonly host?: boolean;
}

/** The hop name of the fabric namespace, which routes between racks and to the outside, never to pods. */
export const FABRIC = 'fabric';

function towards(p: PodEnd): HopTarget {
  return { kind: 'node', node: p.node, address: p.nodeAddress, owner: p.key };
}

const ANY: HopTarget = { kind: 'any' };

/**
 * The routing decisions that take a packet at `at` (a node, or the fabric) to `end`. A pod: routed towards
 * its node (unless there already), then to its interface. A node's own address (a hostNetwork pod): any
 * usable route out of another node (the default towards the fabric counts), then the fabric routes it
 * towards the node; at the node itself it is local.
 */
function reach(at: string, end: PodEnd): Hop[] {
  if (end.host === true) {
    if (at === end.node) return [];
    const fabric: Hop = { node: FABRIC, ip: end.ip, want: towards(end) };
    return at === FABRIC ? [fabric] : [{ node: at, ip: end.ip, want: ANY }, fabric];
  }
  const local: Hop = {
    node: end.node,
    ip: end.ip,
    want: { kind: 'local', dev: end.hostIfname, owner: end.key },
  };
  return at === end.node ? [local] : [{ node: at, ip: end.ip, want: towards(end) }, local];
}

/**
 * The hops of a probe from `src` (a lab pod, or undefined for the outside namespace) to `dstIp`, which is the
 * lab pod `dst` or else an address beyond the nodes (the outside, or anything the fabric may route). Return
 * hops are included: a reply that cannot get back looks like a drop too. `masquerade`: the pod's traffic to
 * `dstIp` leaves its node source-NATed to the node's address (natOutgoing), so replies need no pod route.
 */
export function probeHops(
  src: PodEnd | undefined,
  dstIp: string,
  dst: PodEnd | undefined,
  options: { readonly masquerade: boolean },
): Hop[] {
  if (dst === undefined) {
    if (src === undefined) return [{ node: FABRIC, ip: dstIp, want: ANY }];
    const out: Hop[] = [
      { node: src.node, ip: dstIp, want: ANY },
      { node: FABRIC, ip: dstIp, want: ANY },
    ];
    if (!options.masquerade) out.push({ node: FABRIC, ip: src.ip, want: towards(src) });
    return out;
  }
  if (src === undefined) return reach(FABRIC, dst);
  if (src.key === dst.key) return reach(dst.node, dst);
  return [...reach(src.node, dst), ...reach(dst.node, src)];
}
