/**
 * Every kernel-visible name calico-ts programs, in one place (Felix's rules.PolicyChainName and the prefixes
 * of rule_defs.go, in their nftables form): chains carry their iptables-style layer prefix inside
 * `table inet calico` (`filter-cali-pi-gnp/allow-dns`), IP sets are `cali4`/`cali6` + `0` + set id with `:`
 * replaced by `-`, truncated to 31 characters as Calico's ipset names are. Names longer than nft allows are
 * shortened with a hash, as libcalico-go's GetLengthLimitedID does.
 */
import { createHash } from 'node:crypto';

export const MAX_NFT_NAME = 250;

/** prefix + suffix, or prefix + `_` + hash of the suffix when the result would be too long. */
export function lengthLimitedId(prefix: string, suffix: string, max: number): string {
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

export function chainName(layer: Layer, name: string): string {
  return lengthLimitedId(`${layer}-`, name, MAX_NFT_NAME);
}

export function policyChain(layer: Layer, policyId: string, dir: 'in' | 'out'): string {
  return lengthLimitedId(`${layer}-cali-p${dir === 'in' ? 'i' : 'o'}-`, safe(policyId), MAX_NFT_NAME);
}

/** A tier chain (shared by endpoints with the same policies in a tier): `filter-cali-ti-<hash>`. */
export function tierChain(layer: Layer, dir: 'ingress' | 'egress', key: string): string {
  const h = createHash('sha256').update(key).digest('base64url').slice(0, 22);
  return `${layer}-cali-t${dir === 'ingress' ? 'i' : 'o'}-${h}`;
}

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

export const MARK_ACCEPT = 0x10000;
export const MARK_PASS = 0x20000;

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
