/**
 * Names confd derives: BIRD protocol names for peers (`Mesh_10_0_0_2`, `Global_fd00__1_port_1790`),
 * BGPFilter function names (truncated and hashed to fit BIRD's 64-character symbol limit), and the
 * `CALICO_ROUTER_ID=hash` router id. Pure.
 */
import { createHash } from 'node:crypto';

/** BIRD's limit on symbol (protocol, function) names. */
export const MAX_BIRD_SYMBOL = 64;
const HASH_CHARS = 16;

/** `<prefix>_<ip with '.' or ':' replaced by '_'>[_port_<n>]` (confd's peer naming). */
export function peerProtocolName(prefix: string, ip: string, port: number | undefined): string {
  const base = `${prefix}_${ip.replaceAll(/[.:]/g, '_')}`;
  return port !== undefined && port > 0 ? `${base}_port_${port}` : base;
}

/**
 * `name` if it fits in `maxLen`, else its first `maxLen - 17` characters, `_` and the first 16 hex digits
 * (upper case) of its SHA-256 (confd's TruncateAndHashName).
 */
export function truncateAndHashName(name: string, maxLen: number): string {
  if (name.length <= maxLen) return name;
  const keep = maxLen - HASH_CHARS - 1;
  const hash = createHash('sha256').update(name).digest('hex').toUpperCase().slice(0, HASH_CHARS);
  return `${name.slice(0, Math.max(keep, 0))}_${hash}`;
}

export type FilterDirection = 'import' | 'export';

/** The BIRD function of one BGPFilter, direction and family: `'bgp_<name>_importFilterV4'` (quoted). */
export function bgpFilterFunctionName(filterName: string, direction: FilterDirection, family: 4 | 6): string {
  const fixed = `bgp__${direction}FilterV${family}`;
  return `'bgp_${truncateAndHashName(filterName, MAX_BIRD_SYMBOL - fixed.length)}_${direction}FilterV${family}'`;
}

/**
 * The router id for `CALICO_ROUTER_ID=hash`: the first four bytes of SHA-256(nodeName) as a dotted quad,
 * with 32 taken off a first octet above 223 (BGP forbids multicast and reserved router ids).
 */
export function hashToIPv4(nodeName: string): string {
  const bytes = createHash('sha256').update(nodeName).digest();
  const first = bytes[0] ?? 0;
  return [first > 223 ? first - 32 : first, bytes[1] ?? 0, bytes[2] ?? 0, bytes[3] ?? 0].join('.');
}
