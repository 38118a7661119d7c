/**
 * nftables text for DNS policy's domain sets (render only; the DNS path's manager programs them): one set
 * per family with `flags timeout`, whose elements are learned addresses each with its own timeout (the
 * remaining TTL + dnsExtraTTL), so the kernel forgets an address when its mapping expires. Established
 * connections are unaffected (conntrack accepts them before the policy chains). Pure.
 */
import { formatIp, type IpAddr } from '../../lib/net/ip.js';
import { domainSetName, NFT_FAMILY, NFT_TABLE } from './names.js';

const TABLE = `${NFT_FAMILY} ${NFT_TABLE}`;

/** `add set inet calico cali40d-<hash> { type ipv4_addr; flags timeout; }` */
export function renderDomainSetDeclaration(family: 4 | 6, id: string): string {
  const type = family === 4 ? 'ipv4_addr' : 'ipv6_addr';
  return `add set ${TABLE} ${domainSetName(family, id)} { type ${type}; flags timeout; }`;
}

export interface TimedAddress {
  readonly ip: IpAddr;
  /** Remaining lifetime in ms (rounded up to whole seconds; at least 1s). */
  readonly timeoutMs: number;
}

/** `add element inet calico <set> { 192.0.2.1 timeout 31s, ... }` for the addresses of one family. */
export function renderDomainSetElements(family: 4 | 6, id: string, addrs: readonly TimedAddress[]): string[] {
  const own = addrs.filter((a) => a.ip.family === family);
  if (own.length === 0) return [];
  const elements = own.map((a) => {
    const seconds = Math.max(1, Math.ceil(a.timeoutMs / 1000));
    return `${formatIp(a.ip.family, a.ip.value)} timeout ${seconds}s`;
  });
  return [`add element ${TABLE} ${domainSetName(family, id)} { ${elements.join(', ')} }`];
}
