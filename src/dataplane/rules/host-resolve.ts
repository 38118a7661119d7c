/**
 * Which host endpoint applies to which interface (Felix's endpoint manager, resolveHostEndpoints): an
 * endpoint with an `interfaceName` owns that interface; `*` covers every interface without its own (handled
 * by the dispatch chains); an endpoint with no `interfaceName` owns each interface that carries one of its
 * expected IPs and has no named endpoint. When several of those match one interface, the first by id wins.
 * Workload interfaces and loopback are never host endpoints. Pure.
 */
import type { HostEndpointMsg } from '../../calc/messages.js';

/** One host endpoint on one interface: `key` names its chains' owner (`<id>` or `<id>@<iface>`). */
export interface HostEndpointInstance {
  readonly key: string;
  readonly id: string;
  readonly endpoint: HostEndpointMsg;
}

/** Whether any endpoint is matched by address (and so the interfaces' addresses are needed). */
export function needsInterfaceAddresses(heps: ReadonlyMap<string, HostEndpointMsg>): boolean {
  for (const ep of heps.values()) if (ep.interfaceName === '') return true;
  return false;
}

export function resolveHostEndpoints(
  heps: ReadonlyMap<string, HostEndpointMsg>,
  addresses: ReadonlyMap<string, readonly string[]>,
  workloadPrefixes: readonly string[],
): HostEndpointInstance[] {
  const out: HostEndpointInstance[] = [];
  const named = new Set<string>();
  for (const [id, ep] of heps) {
    if (ep.interfaceName === '') continue;
    out.push({ key: id, id, endpoint: ep });
    if (ep.interfaceName !== '*') named.add(ep.interfaceName);
  }
  const byIp = [...heps].filter(([, ep]) => ep.interfaceName === '').sort(([a], [b]) => (a < b ? -1 : 1));
  if (byIp.length === 0) return out;
  for (const iface of [...addresses.keys()].sort()) {
    if (iface === 'lo' || named.has(iface) || workloadPrefixes.some((p) => iface.startsWith(p))) continue;
    const have = new Set(addresses.get(iface));
    const hit = byIp.find(([, ep]) =>
      [...ep.expectedIpv4Addrs, ...ep.expectedIpv6Addrs].some((ip) => have.has(ip)),
    );
    if (hit !== undefined)
      out.push({ key: `${hit[0]}@${iface}`, id: hit[0], endpoint: { ...hit[1], interfaceName: iface } });
  }
  return out;
}
