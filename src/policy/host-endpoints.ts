/**
 * Which host endpoint applies where, as far as the model shows it (Felix's endpoint manager,
 * resolveHostEndpoints; the kernel side is dataplane/rules/host-resolve.ts): on each node one endpoint per
 * interface and one `*` endpoint, the lowest name winning. The model does not know a node's interfaces or
 * their addresses, so an endpoint stands for the interface it names, and endpoints compete for one
 * interface when they name the same one, or when one has no `interfaceName` and they share an expected IP
 * (expected IPs are taken to be the interface's addresses). Pure.
 */
import { ipToString } from '../lib/net/ip.js';
import type { ModelEndpoint } from '../model/types.js';

const byName = (a: ModelEndpoint, b: ModelEndpoint): number =>
  a.key.name < b.key.name ? -1 : a.key.name > b.key.name ? 1 : 0;

function sameInterface(a: ModelEndpoint, b: ModelEndpoint): boolean {
  if (a === b) return true;
  if (a.interfaceName === '*' || b.interfaceName === '*') return false;
  if (a.interfaceName !== '' && b.interfaceName !== '') return a.interfaceName === b.interfaceName;
  const ips = new Set(a.ips.map(ipToString));
  return b.ips.some((ip) => ips.has(ipToString(ip)));
}

/** Each node's host endpoints and the ones in force. Build once per snapshot. */
export class HostEndpointIndex {
  /** Each node's host endpoints, lowest name first. */
  readonly byNode: ReadonlyMap<string, readonly ModelEndpoint[]>;

  constructor(endpoints: readonly ModelEndpoint[]) {
    const byNode = new Map<string, ModelEndpoint[]>();
    for (const h of endpoints.filter((e) => e.key.kind === 'hep').sort(byName))
      byNode.set(h.node, [...(byNode.get(h.node) ?? []), h]);
    this.byNode = byNode;
  }

  get size(): number {
    return this.byNode.size;
  }

  /** The node's endpoint for all interfaces (`*`): the lowest-named one; Felix ignores the others. */
  allInterfaces(node: string): ModelEndpoint | undefined {
    return this.byNode.get(node)?.find((h) => h.interfaceName === '*');
  }

  /** The node's endpoints for specific interfaces. */
  specific(node: string): readonly ModelEndpoint[] {
    return (this.byNode.get(node) ?? []).filter((h) => h.interfaceName !== '*');
  }

  /** The endpoint in force on the interface `ep` stands for: `ep`, unless a lower name competes for it. */
  inForce(ep: ModelEndpoint): ModelEndpoint {
    if (ep.key.kind !== 'hep') return ep;
    if (ep.interfaceName === '*') return this.allInterfaces(ep.node) ?? ep;
    return this.specific(ep.node).find((h) => sameInterface(h, ep)) ?? ep;
  }
}

/** Why `given` was replaced by the endpoint in force on its interface. */
export function notInForceCaveat(given: ModelEndpoint, inForce: ModelEndpoint): string {
  return (
    `host endpoint ${given.display} does not apply: ${inForce.display} has the lower name and applies to ` +
    `${given.interfaceName === '*' ? 'all interfaces' : 'the same interface'}, so its policy was evaluated`
  );
}
