/**
 * Every kernel-visible name calico-ts programs, in one place (Felix's rules.PolicyChainName and the prefixes
 * of rule_defs.go, in their nftables form): the table, its chains, sets and maps, the devices, route
 * protocol, mark bits and NFLOG group. Chains carry their iptables-style layer prefix inside
 * `table inet calico` (`filter-cali-FORWARD`, `filter-cali-ti-<hash>`); IP sets are `cali4`/`cali6` + `0` +
 * set id with `:` replaced by `-`, truncated to 31 characters as Calico's ipset names are. Names longer than
 * nft allows are shortened with a hash, as libcalico-go's GetLengthLimitedID does.
 *
 * How a restarted agent recognises what is its own follows from these names (docs/design/dataplane.md):
 * everything in the table, routes with CLUSTER_ROUTE_PROTOCOL, the VXLAN device, and routes to interfaces
 * with a workload prefix.
 */
import { createHash } from 'node:crypto';

/** The one nftables table: `table inet calico` (family inet carries IPv4 and IPv6). */
export const NFT_FAMILY = 'inet';
export const NFT_TABLE = 'calico';

const MAX_NFT_NAME = 250;

/** prefix + suffix, or prefix + `_` + hash of the suffix when the result would be too long. */
function lengthLimitedId(prefix: string, suffix: string, max: number): string {
  if (suffix === '') return `${prefix}_`;
  if (
    prefix.length + suffix.length > max ||
    (prefix.length + suffix.length === max && suffix.startsWith('_'))
  ) {
    const h = createHash('sha256').update(suffix).digest('base64url');
    return `${prefix}_${h.slice(0, max - 1 - prefix.length)}`;
  }
  return prefix + suffix;
}

function safe(s: string): string {
  // Policy and profile names are DNS subdomains; ids add `/`. Anything else is hashed away.
  return /^[A-Za-z0-9_./-]*$/.test(s) ? s : createHash('sha256').update(s).digest('base64url');
}

export type Layer = 'filter' | 'raw' | 'mangle' | 'nat';

function chainName(layer: Layer, name: string): string {
  return lengthLimitedId(`${layer}-`, name, MAX_NFT_NAME);
}

/** The base chains (attached to netfilter hooks), named after the iptables table and chain they stand for. */
export const BASE_CHAIN = {
  filterForward: chainName('filter', 'FORWARD'),
  filterInput: chainName('filter', 'INPUT'),
  filterOutput: chainName('filter', 'OUTPUT'),
  rawPrerouting: chainName('raw', 'PREROUTING'),
  rawOutput: chainName('raw', 'OUTPUT'),
  manglePrerouting: chainName('mangle', 'PREROUTING'),
  natPostrouting: chainName('nat', 'POSTROUTING'),
  /** DNS policy: workload queries to trusted servers are policed here, before the DNAT to the DNS proxy. */
  dnsPrerouting: chainName('mangle', 'DNS-PREROUTING'),
  natPrerouting: chainName('nat', 'PREROUTING'),
} as const;

/** The static chains (Felix's rules/static.go). */
export const CHAIN = {
  forward: chainName('filter', 'cali-FORWARD'),
  input: chainName('filter', 'cali-INPUT'),
  output: chainName('filter', 'cali-OUTPUT'),
  fromWl: chainName('filter', 'cali-from-wl-dispatch'),
  toWl: chainName('filter', 'cali-to-wl-dispatch'),
  wlToHost: chainName('filter', 'cali-wl-to-host'),
  fromHep: chainName('filter', 'cali-from-host-endpoint'),
  toHep: chainName('filter', 'cali-to-host-endpoint'),
  fromHepFwd: chainName('filter', 'cali-from-hep-forward'),
  toHepFwd: chainName('filter', 'cali-to-hep-forward'),
  failsafeIn: chainName('filter', 'cali-failsafe-in'),
  failsafeOut: chainName('filter', 'cali-failsafe-out'),
  rawPre: chainName('raw', 'cali-PREROUTING'),
  rawOut: chainName('raw', 'cali-OUTPUT'),
  rawFailsafeIn: chainName('raw', 'cali-failsafe-in'),
  rawFailsafeOut: chainName('raw', 'cali-failsafe-out'),
  manglePre: chainName('mangle', 'cali-PREROUTING'),
  mangleFromHep: chainName('mangle', 'cali-from-host-endpoint'),
  mangleFailsafeIn: chainName('mangle', 'cali-failsafe-in'),
  natPostrouting: chainName('nat', 'cali-POSTROUTING'),
  natOutgoing: chainName('nat', 'cali-nat-outgoing'),
  dnsPolicy: chainName('mangle', 'cali-dns-policy'),
  dnsDnat: chainName('nat', 'cali-dns-proxy'),
} as const;

/** A tier chain (shared by endpoints with the same policies in a tier): `filter-cali-ti-<hash>`. */
export function tierChain(layer: Layer, dir: 'ingress' | 'egress', key: string): string {
  const h = createHash('sha256').update(key).digest('base64url').slice(0, 22);
  return `${layer}-cali-t${dir === 'ingress' ? 'i' : 'o'}-${h}`;
}

/**
 * The objects of a large tier chain (rules/dispatch.ts): per protocol a chain, its port verdict map and its
 * leaves; the chain for everything else; and the named sets of long merged address lists.
 */
export const TIER_PART = {
  protocol: (tier: string, proto: number): string => `${tier}-${proto}`,
  portMap: (tier: string, proto: number): string => `${tier}-${proto}-p`,
  leaf: (tier: string, proto: number, leaf: number): string => `${tier}-${proto}-${leaf}`,
  other: (tier: string): string => `${tier}-o`,
  netSet: (tier: string, k: number): string => `${tier}-n${k}`,
} as const;

export function profileChain(profile: string, dir: 'in' | 'out'): string {
  return lengthLimitedId(`filter-cali-pr${dir === 'in' ? 'i' : 'o'}-`, safe(profile), MAX_NFT_NAME);
}

/** Workload endpoint chains: to-workload (ingress policy) and from-workload (egress policy). */
export function workloadChain(iface: string, dir: 'to' | 'from'): string {
  return `filter-cali-${dir === 'to' ? 'tw' : 'fw'}-${safe(iface)}`;
}

/** Host endpoint chains: from-host-endpoint (ingress), to-host-endpoint (egress), and the forward pair. */
export function hostChain(layer: Layer, iface: string, kind: 'fh' | 'th' | 'fhfw' | 'thfw'): string {
  return `${layer}-cali-${kind}-${iface === '*' ? 'any' : safe(iface)}`;
}

export function ipSetName(family: 4 | 6, id: string): string {
  return `cali${family}0${id.replace(/:/g, '-')}`.slice(0, 31);
}

/**
 * A domain set's kernel set per family (DNS policy): the calc graph's id is `d:<hash>`, so the name is
 * `cali40d-<hash>` / `cali60d-<hash>` (31 characters at most, like every IP set name). Its elements are
 * learned addresses with per-element timeouts (`flags timeout`), filled by the DNS path.
 */
export function domainSetName(family: 4 | 6, id: string): string {
  return ipSetName(family, id);
}

/** IP sets the dataplane keeps itself (not from the calc graph's selectors), by id. */
export const SET_ID = {
  /** Every node's VXLAN parent address (Felix's `all-vxlan-net`). */
  allVxlanNet: 'all-vxlan-net',
  /** natOutgoing: pools with natOutgoing, every pool, every node IP. */
  masqPools: 'masq-ipam-pools',
  allPools: 'all-ipam-pools',
  allHosts: 'all-hosts-net',
} as const;

export const MARK_ACCEPT = 0x10000;
export const MARK_PASS = 0x20000;

/**
 * Conntrack mark bit of a workload DNS query whose egress policy allowed it in prerouting and that is
 * DNATed to the node-local DNS proxy (rules/dns-steering.ts). A conntrack mark, not a packet mark: it
 * must survive from the policy check to the DNAT and the INPUT accept of the same connection.
 */
export const CT_MARK_DNS_PROXY = 0x00100000;

export function hex(n: number): string {
  return `0x${n.toString(16).padStart(8, '0')}`;
}

/** The dispatch maps (ifname : verdict). */
export const MAP_FROM_WL = 'cali-from-wl-dispatch';
export const MAP_TO_WL = 'cali-to-wl-dispatch';
export const MAP_FROM_HEP = 'cali-from-hep-dispatch';
export const MAP_TO_HEP = 'cali-to-hep-dispatch';
export const MAP_FROM_HEP_FWD = 'cali-from-hep-fwd-dispatch';
export const MAP_TO_HEP_FWD = 'cali-to-hep-fwd-dispatch';
export const MAP_RAW_FROM_HEP = 'cali-raw-from-hep-dispatch';
export const MAP_RAW_TO_HEP = 'cali-raw-to-hep-dispatch';
export const MAP_MANGLE_FROM_HEP = 'cali-mangle-from-hep-dispatch';

/** The default workload interface prefix (FelixConfiguration interfacePrefix). */
export const WORKLOAD_INTERFACE_PREFIX = 'cali';

/** The VXLAN overlay device (Felix's `vxlan.calico`) and the IPIP tunnel device the kernel creates. */
export const VXLAN_DEVICE = 'vxlan.calico';
export const IPIP_DEVICE = 'tunl0';

/** The routing protocol number of the cluster routes we program ("ours" after a restart). */
export const CLUSTER_ROUTE_PROTOCOL = 80;

/**
 * The NFLOG group that `Log` rules send packets to (besides the kernel log Felix writes to), so that they can
 * be read where the kernel log cannot: `tcpdump -i nflog:20`, ulogd2, from inside the node's network namespace.
 * Felix's flow-log groups 1 and 2 (and 3 for DNS) are left alone.
 */
export const LOG_ACTION_NFLOG_GROUP = 20;
