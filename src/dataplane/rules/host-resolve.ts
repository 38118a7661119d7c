/**
 * Which host endpoint applies to which interface (Felix's endpoint manager, resolveHostEndpoints): one
 * endpoint per interface, and one `*` endpoint. The candidates for an interface are the endpoints whose
 * `interfaceName` is that interface and the endpoints without an `interfaceName` that expect one of its
 * addresses (an endpoint naming another interface never matches by address); the lowest id (name) wins,
 * whether it matched by name or by address. Among `*` endpoints the lowest id wins too. Workload interfaces
 * are never host endpoints (Felix does not track them), and loopback is never matched by address. Every
 * endpoint that lost and is in force nowhere is reported (`ignored`), so that the agent can log it. Pure.
 */
import type { HostEndpointMsg } from '../../calc/messages.js';

/** One host endpoint on one interface: `key` names its chains' owner (`<id>` or `<id>@<iface>`). */
export interface HostEndpointInstance {
  readonly key: string;
  readonly id: string;
  readonly endpoint: HostEndpointMsg;
}

/** A host endpoint that applies nowhere, and why (another one won its interface). */
export interface IgnoredHostEndpoint {
  readonly id: string;
  readonly name: string;
  readonly reason: string;
}

export interface HostEndpointResolution {
  readonly instances: readonly HostEndpointInstance[];
  readonly ignored: readonly IgnoredHostEndpoint[];
}

/** Whether any endpoint is matched by address (and so the interfaces' addresses are needed). */
export function needsInterfaceAddresses(heps: ReadonlyMap<string, HostEndpointMsg>): boolean {
  for (const ep of heps.values()) if (ep.interfaceName === '') return true;
  return false;
}

const byId = ([a]: readonly [string, unknown], [b]: readonly [string, unknown]): number =>
  a < b ? -1 : a > b ? 1 : 0;

export function resolveHostEndpoints(
  heps: ReadonlyMap<string, HostEndpointMsg>,
  addresses: ReadonlyMap<string, readonly string[]>,
  workloadPrefixes: readonly string[],
): HostEndpointResolution {
  const sorted = [...heps].sort(byId);
  const isWorkload = (iface: string): boolean => workloadPrefixes.some((p) => iface.startsWith(p));
  const instances: HostEndpointInstance[] = [];
  const inForce = new Set<string>();
  const lost = new Map<string, IgnoredHostEndpoint>();
  const lose = (id: string, ep: HostEndpointMsg, reason: string): void => {
    if (!lost.has(id)) lost.set(id, { id, name: ep.name, reason });
  };

  const stars = sorted.filter(([, ep]) => ep.interfaceName === '*');
  const [star, ...otherStars] = stars;
  if (star !== undefined) {
    instances.push({ key: star[0], id: star[0], endpoint: star[1] });
    inForce.add(star[0]);
    for (const [id, ep] of otherStars)
      lose(id, ep, `host endpoint ${star[1].name} is the one for all interfaces (lowest name)`);
  }

  const byIp = sorted.filter(([, ep]) => ep.interfaceName === '');
  const ifaces = new Set<string>();
  for (const [id, ep] of sorted) {
    const iface = ep.interfaceName;
    if (iface === '' || iface === '*') continue;
    if (isWorkload(iface)) lose(id, ep, `${iface} is a workload interface`);
    else ifaces.add(iface);
  }
  if (byIp.length > 0)
    for (const iface of addresses.keys()) if (iface !== 'lo' && !isWorkload(iface)) ifaces.add(iface);

  for (const iface of [...ifaces].sort()) {
    const have = new Set(addresses.get(iface) ?? []);
    const candidates = sorted.filter(
      ([, ep]) =>
        ep.interfaceName === iface ||
        (ep.interfaceName === '' &&
          iface !== 'lo' &&
          [...ep.expectedIpv4Addrs, ...ep.expectedIpv6Addrs].some((ip) => have.has(ip))),
    );
    const [winner, ...losers] = candidates;
    if (winner === undefined) continue;
    const [id, ep] = winner;
    instances.push({
      key: ep.interfaceName === '' ? `${id}@${iface}` : id,
      id,
      endpoint: ep.interfaceName === '' ? { ...ep, interfaceName: iface } : ep,
    });
    inForce.add(id);
    for (const [lid, lep] of losers)
      lose(lid, lep, `host endpoint ${ep.name} is in force on ${iface} (lowest name)`);
  }
  return { instances, ignored: [...lost.values()].filter((i) => !inForce.has(i.id)) };
}
