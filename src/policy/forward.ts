/**
 * Which host endpoints a connection is forwarded through (Felix's FORWARD-chain dispatch, reference §3.8):
 * on each node that routes the packet, the endpoint of the interface it arrives through and of the one it
 * leaves through. A workload interface never has an endpoint of its own (Felix ignores workload
 * interfaces), so there it is the node's `*` endpoint if there is one (rules/dispatch.go hostDispatchChains:
 * the forward dispatch's default has no workload exception); a host interface has the endpoint in force on
 * it (host-endpoints.ts). Pure.
 *
 * Derived from the connection's ends: a workload's node forwards its traffic (in through the workload's
 * interface) and the destination workload's node forwards traffic to it (out through its interface); a
 * host's own traffic and traffic to a host are not forwarded there (OUTPUT and INPUT). Which host
 * interface carries the rest depends on the node's routes, which the evaluator does not know: the `*`
 * endpoint is certain only when the node has no interface-specific endpoint. Otherwise the caller names the
 * endpoint (`via`), or the side is left out with a caveat.
 */
import type { ModelEndpoint } from '../model/types.js';
import { notInForceCaveat, type HostEndpointIndex } from './host-endpoints.js';

/** Host endpoints the caller knows the packet arrives (`in`) or leaves (`out`) through, on their nodes. */
export interface ForwardVia {
  readonly in?: ModelEndpoint;
  readonly out?: ModelEndpoint;
}

/** One node that routes the packet, and the host endpoints of its arriving and leaving interfaces. */
export interface ForwardHop {
  readonly node: string;
  readonly in?: ModelEndpoint;
  readonly out?: ModelEndpoint;
}

type Side = 'in' | 'out';

/** How one side of a hop is found: a workload's interface, the node's unknown host interface, or given. */
type SideSpec =
  | { readonly kind: 'workload' }
  | { readonly kind: 'host' }
  | { readonly kind: 'given'; readonly ep: ModelEndpoint };

export function forwardHops(
  heps: HostEndpointIndex,
  src: ModelEndpoint | undefined,
  dst: ModelEndpoint | undefined,
  via: ForwardVia = {},
): { hops: ForwardHop[]; caveats: string[] } {
  if (heps.size === 0 && via.in === undefined && via.out === undefined) return { hops: [], caveats: [] };
  const nodeOf = (e: ModelEndpoint | undefined, kind: 'wep' | 'hep'): string | undefined =>
    e?.key.kind === kind && e.node !== '' ? e.node : undefined;
  const srcNode = nodeOf(src, 'wep');
  const dstNode = nodeOf(dst, 'wep');
  const srcHost = nodeOf(src, 'hep');
  const dstHost = nodeOf(dst, 'hep');
  const specs = new Map<string, Record<Side, SideSpec>>();
  if (src !== undefined && srcNode !== undefined && srcNode !== dstHost) {
    const out: SideSpec = dst !== undefined && dstNode === srcNode ? { kind: 'workload' } : { kind: 'host' };
    specs.set(srcNode, { in: { kind: 'workload' }, out });
  }
  if (dst !== undefined && dstNode !== undefined && dstNode !== srcNode && dstNode !== srcHost)
    specs.set(dstNode, { in: { kind: 'host' }, out: { kind: 'workload' } });
  const caveats: string[] = [];
  for (const side of ['in', 'out'] as const) {
    const ep = via[side];
    if (ep === undefined) continue;
    if (ep.node === srcHost || ep.node === dstHost) {
      caveats.push(
        `host endpoint ${ep.display} is on ${ep.node}, where the connection starts or ends: not forwarded there`,
      );
      continue;
    }
    const spec = specs.get(ep.node) ?? { in: { kind: 'host' }, out: { kind: 'host' } };
    specs.set(ep.node, { ...spec, [side]: { kind: 'given', ep } });
  }
  const resolve = (node: string, side: Side, spec: SideSpec): ModelEndpoint | undefined => {
    if (spec.kind === 'given') {
      const ep = heps.inForce(spec.ep);
      if (ep !== spec.ep) caveats.push(notInForceCaveat(spec.ep, ep));
      return ep;
    }
    const any = heps.allInterfaces(node);
    if (spec.kind === 'workload') return any;
    const specific = heps.specific(node);
    if (specific.length === 0) return any;
    caveats.push(
      `node ${node} has host endpoints for specific interfaces (${specific.map((h) => h.display).join(', ')}): ` +
        `which one the packet ${side === 'in' ? 'arrives through' : 'leaves through'} there depends on its routes, ` +
        'so no forward policy was evaluated for that side; name the host endpoint to include it',
    );
    return undefined;
  };
  const hops = [...specs].map(([node, s]): ForwardHop => {
    const i = resolve(node, 'in', s.in);
    const o = resolve(node, 'out', s.out);
    return { node, ...(i !== undefined ? { in: i } : {}), ...(o !== undefined ? { out: o } : {}) };
  });
  return { hops, caveats };
}
