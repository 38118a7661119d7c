/**
 * Decoders for address-valued fields, matching Calico's validators: `net` (a strictly masked CIDR or a
 * bare IP), `cidr` (any CIDR or bare IP, host bits allowed), `ip`, `ipv4`, `ipv6`.
 */
import { formatCidr, parseCidr, parseIp } from '../lib/net/ip.js';
import { checked, type Decoder, show } from './decoder.js';

/** Calico's "net": a CIDR without host bits set, or a bare address. */
export function checkNet(s: string): string | undefined {
  const c = parseCidr(s);
  if (c === undefined) return `invalid CIDR ${show(s)}`;
  if (c.hostBitsSet)
    return `invalid CIDR ${show(s)}: host bits are set (did you mean ${show(formatCidr(c))}?)`;
  return undefined;
}

/** Calico's "cidr": any CIDR or bare address; host bits may be set. */
export function checkCidr(s: string): string | undefined {
  return parseCidr(s) === undefined ? `invalid CIDR ${show(s)}` : undefined;
}

export function checkIp(s: string): string | undefined {
  return parseIp(s) === undefined ? `invalid IP address ${show(s)}` : undefined;
}

export function checkIpv4(s: string): string | undefined {
  return parseIp(s)?.family === 4 ? undefined : `invalid IPv4 address ${show(s)}`;
}

export function checkIpv6(s: string): string | undefined {
  return parseIp(s)?.family === 6 ? undefined : `invalid IPv6 address ${show(s)}`;
}

export const netField: Decoder<string> = checked(checkNet);
export const cidrField: Decoder<string> = checked(checkCidr);
export const ipField: Decoder<string> = checked(checkIp);
export const ipv4Field: Decoder<string> = checked(checkIpv4);
export const ipv6Field: Decoder<string> = checked(checkIpv6);
