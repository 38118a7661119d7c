/**
 * Names used by Calico IPAM: CIDR resource names (`10.0.0.0/26` -> `10-0-0-0-26`, libcalico-go
 * `names.CIDRToName`), BlockAffinity names (`<host>-<cidr name>`), handle IDs of the CNI plugin and of the
 * tunnel addresses, and the host-hash label that scopes affinity lookups. Pure.
 */
import { createHash } from 'node:crypto';
import { type Cidr, type IpFamily, formatCidr } from '../lib/net/ip.js';

/** The network name of the stock CNI config; CNI handles are `<network>.<containerID>`. */
export const DEFAULT_NETWORK_NAME = 'k8s-pod-network';
/** The handle of the addresses Windows reserves in each block. */
export const WINDOWS_RESERVED_HANDLE = 'windows-reserved-ipam-handle';

export const LABEL_HOSTNAME_HASH = 'projectcalico.org/hostname-hash';
export const LABEL_AFFINITY_TYPE = 'projectcalico.org/affinity-type';
export const LABEL_IP_VERSION = 'projectcalico.org/ip-version';

const MAX_NAME = 253;
const HASH_HEX = 11;

/** `10.0.0.0/26` -> `10-0-0-0-26`; `fd00::/122` -> `fd00--122` (first 3 dots, first 7 colons, the slash). */
export function cidrToName(cidr: Cidr | string): string {
  const text = typeof cidr === 'string' ? cidr : formatCidr(cidr);
  let name = text;
  for (let i = 0; i < 3; i++) name = name.replace('.', '-');
  for (let i = 0; i < 7; i++) name = name.replace(':', '-');
  return name.replace('/', '-');
}

/**
 * The BlockAffinity name for a host and block: `<host>-<cidr name>`. When that reaches 253 characters, libcalico-go
 * (v3.32.1, ipam_affinity_v1.go `parseKey`) keeps `<host cut to 239 - len(cidr name)>-<cidr name>` and appends
 * `-` and the first 11 hex digits of SHA-256 of `<host>+<cidr name>`: 252 characters in all.
 */
export function affinityName(host: string, cidr: Cidr | string): string {
  const cidrName = cidrToName(cidr);
  const name = `${host}-${cidrName}`;
  if (name.length < MAX_NAME) return name;
  const hash = createHash('sha256').update(`${host}+${cidrName}`).digest('hex').slice(0, HASH_HEX);
  return `${host.slice(0, MAX_NAME - 1 - cidrName.length - 13)}-${cidrName}-${hash}`;
}

/** The label value identifying a host on its affinities: SHA3-256, base32 (RFC 4648) without padding. */
export function hostnameHash(host: string): string {
  const digest = createHash('sha3-256').update(host).digest();
  return base32NoPad(digest);
}

function base32NoPad(bytes: Uint8Array): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let out = '';
  let bits = 0;
  let value = 0;
  for (const b of bytes) {
    value = (value << 8) | b;
    bits += 8;
    while (bits >= 5) {
      out += alphabet.charAt((value >>> (bits - 5)) & 31);
      bits -= 5;
    }
    value &= (1 << bits) - 1;
  }
  if (bits > 0) out += alphabet.charAt((value << (5 - bits)) & 31);
  return out;
}

/** The CNI plugin's handle: `<network>.<containerID>`. */
export function workloadHandle(containerId: string, network: string = DEFAULT_NETWORK_NAME): string {
  return `${network}.${containerId}`;
}

export type TunnelKind = 'ipip' | 'vxlan' | 'wireguard';

/** The allocation attribute `type` of a tunnel address. */
export function tunnelAttributeType(kind: TunnelKind, family: IpFamily): string {
  switch (kind) {
    case 'ipip':
      return 'ipipTunnelAddress';
    case 'vxlan':
      return family === 4 ? 'vxlanTunnelAddress' : 'vxlanV6TunnelAddress';
    case 'wireguard':
      return family === 4 ? 'wireguardTunnelAddress' : 'wireguardV6TunnelAddress';
  }
}

/** `ipip-tunnel-addr-<node>`, `vxlan-tunnel-addr-<node>` / `vxlan-v6-tunnel-addr-<node>`, `wireguard-...`. */
export function tunnelHandle(kind: TunnelKind, node: string, family: IpFamily = 4): string {
  const v6 = family === 6 && kind !== 'ipip' ? '-v6' : '';
  return `${kind}${v6}-tunnel-addr-${node}`;
}
