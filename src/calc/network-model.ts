/**
 * What the route and VTEP resolver (routes.ts) needs of Nodes, IPPools, IPAMBlocks and BlockAffinities, as
 * small immutable values, plus the VTEP MAC rule (reference §8.5: the node's `vxlanTunnelMACAddr`, else `66`
 * followed by the first five bytes of SHA-1 of the node name). Pure.
 */
import { createHash } from 'node:crypto';
import type { BlockAffinitySpec } from '../api/v3/block-affinity.js';
import type { Node } from '../api/v3/bgp-types.js';
import type { IPAMBlockSpec } from '../api/v3/ipam-block.js';
import type { IPPool } from '../api/v3/ip-pool.js';
import { type Cidr, cidrContains, formatCidr, formatIp, parseCidr, parseIp } from '../lib/net/ip.js';
import type { HostMetadataMsg, IpPoolMsg, PoolType, VtepMsg } from './messages.js';

export interface NodeInfo {
  readonly name: string;
  readonly ipv4?: string;
  /** Network form of the IPv4 address's subnet (`10.0.1.0/24`). */
  readonly ipv4Subnet?: string;
  readonly ipv6?: string;
  readonly ipv6Subnet?: string;
  readonly asNumber?: number;
  readonly vxlanAddr?: string;
  readonly vxlanMac?: string;
}

export interface PoolInfo {
  readonly name: string;
  readonly cidr: Cidr;
  readonly msg: IpPoolMsg;
}

export interface Allocation {
  readonly ip: string;
  /** The `node` attribute of the allocation, when recorded. */
  readonly node?: string;
}

export interface BlockInfo {
  /** Normalised CIDR. */
  readonly cidr: string;
  readonly parsed: Cidr;
  /** The node of a `host:<node>` affinity. */
  readonly affinityHost?: string;
  readonly allocations: readonly Allocation[];
}

export interface AffinityInfo {
  readonly node: string;
  readonly cidr: string;
  readonly state: string;
}

/** `66:xx:xx:xx:xx:xx` from SHA-1 of the node name (`-v6` appended for the IPv6 VTEP). */
export function vtepMacFor(nodeName: string, family: 4 | 6 = 4): string {
  const sha = createHash('sha1')
    .update(family === 6 ? `${nodeName}-v6` : nodeName)
    .digest();
  return [0x66, ...sha.subarray(0, 5)].map((b) => b.toString(16).padStart(2, '0')).join(':');
}

function addressOf(text: string | undefined): { ip: string; subnet?: string } | undefined {
  if (text === undefined || text === '') return undefined;
  const c = parseCidr(text);
  if (c === undefined) return undefined;
  const ip = formatIp(c.family, c.address);
  return text.includes('/') ? { ip, subnet: formatCidr(c) } : { ip };
}

function familyOf(text: string): 4 | 6 | undefined {
  return parseCidr(text)?.family;
}

/** The node's addresses: `spec.bgp` first, else the first CalicoNodeIP/InternalIP address of the family. */
export function nodeInfo(n: Node): NodeInfo {
  const fallback = (family: 4 | 6): string | undefined =>
    (n.spec.addresses ?? []).find(
      (a) => (a.type ?? 'CalicoNodeIP') !== 'ExternalIP' && familyOf(a.address) === family,
    )?.address;
  const v4 = addressOf(n.spec.bgp?.ipv4Address ?? fallback(4));
  const v6 = addressOf(n.spec.bgp?.ipv6Address ?? fallback(6));
  return {
    name: n.metadata.name,
    ...(v4 !== undefined ? { ipv4: v4.ip } : {}),
    ...(v4?.subnet !== undefined ? { ipv4Subnet: v4.subnet } : {}),
    ...(v6 !== undefined ? { ipv6: v6.ip } : {}),
    ...(v6?.subnet !== undefined ? { ipv6Subnet: v6.subnet } : {}),
    ...(n.spec.bgp?.asNumber !== undefined ? { asNumber: n.spec.bgp.asNumber } : {}),
    ...(n.spec.ipv4VXLANTunnelAddr !== undefined && n.spec.ipv4VXLANTunnelAddr !== ''
      ? { vxlanAddr: n.spec.ipv4VXLANTunnelAddr }
      : {}),
    ...(n.spec.vxlanTunnelMACAddr !== undefined && n.spec.vxlanTunnelMACAddr !== ''
      ? { vxlanMac: n.spec.vxlanTunnelMACAddr.toLowerCase() }
      : {}),
  };
}

export function hostMetadata(n: NodeInfo): HostMetadataMsg {
  return {
    hostname: n.name,
    ...(n.ipv4 !== undefined ? { ipv4Addr: n.ipv4 } : {}),
    ...(n.ipv4Subnet !== undefined ? { ipv4Subnet: n.ipv4Subnet } : {}),
    ...(n.ipv6 !== undefined ? { ipv6Addr: n.ipv6 } : {}),
    ...(n.asNumber !== undefined ? { asNumber: n.asNumber } : {}),
  };
}

/** The node's IPv4 VTEP, when it has both a node IP and a VXLAN tunnel address. */
export function vtepOf(n: NodeInfo | undefined): VtepMsg | undefined {
  if (n?.ipv4 === undefined || n.vxlanAddr === undefined) return undefined;
  return {
    node: n.name,
    parentDeviceIp: n.ipv4,
    ipv4Addr: n.vxlanAddr,
    mac: n.vxlanMac ?? vtepMacFor(n.name),
  };
}

export function poolInfo(p: IPPool): PoolInfo | undefined {
  const cidr = parseCidr(p.spec.cidr);
  if (cidr === undefined) return undefined;
  return {
    name: p.metadata.name,
    cidr,
    msg: {
      cidr: formatCidr(cidr),
      vxlanMode: p.spec.vxlanMode ?? 'Never',
      ipipMode: p.spec.ipipMode ?? 'Never',
      natOutgoing: p.spec.natOutgoing ?? false,
      disabled: p.spec.disabled ?? false,
      disableBGPExport: p.spec.disableBGPExport ?? false,
    },
  };
}

/** A pool's encapsulation and its mode (VXLAN wins: a pool cannot have both). */
export function poolEncap(p: IpPoolMsg | undefined): { type: PoolType; crossSubnet: boolean } {
  if (p === undefined) return { type: 'none', crossSubnet: false };
  if (p.vxlanMode !== 'Never') return { type: 'vxlan', crossSubnet: p.vxlanMode === 'CrossSubnet' };
  if (p.ipipMode !== 'Never') return { type: 'ipip', crossSubnet: p.ipipMode === 'CrossSubnet' };
  return { type: 'none', crossSubnet: false };
}

export function blockInfo(spec: IPAMBlockSpec): BlockInfo | undefined {
  const parsed = parseCidr(spec.cidr);
  if (parsed === undefined || spec.deleted === true) return undefined;
  const allocations: Allocation[] = [];
  spec.allocations.forEach((idx, ordinal) => {
    if (idx === null) return;
    const attr = spec.attributes[idx];
    // An address released into cooldown is not in use by anyone.
    if (attr?.releasedAt !== undefined && attr.handle_id === undefined) return;
    const ip = formatIp(parsed.family, parsed.network + BigInt(ordinal));
    const node = attr?.secondary?.node;
    allocations.push(node !== undefined && node !== '' ? { ip, node } : { ip });
  });
  const host = spec.affinity?.startsWith('host:') === true ? spec.affinity.slice('host:'.length) : undefined;
  return {
    cidr: formatCidr(parsed),
    parsed,
    ...(host !== undefined && host !== '' ? { affinityHost: host } : {}),
    allocations,
  };
}

export function affinityInfo(spec: BlockAffinitySpec): AffinityInfo | undefined {
  if ((spec.type ?? 'host') !== 'host' || spec.deleted === true) return undefined;
  const c = parseCidr(spec.cidr);
  if (c === undefined) return undefined;
  return { node: spec.node, cidr: formatCidr(c), state: spec.state };
}

/** True when `ip` lies in `subnet` (both texts; false when either is missing). */
export function inSubnet(subnet: string | undefined, ip: string | undefined): boolean {
  if (subnet === undefined || ip === undefined) return false;
  const c = parseCidr(subnet);
  const a = parseIp(ip);
  return c !== undefined && a !== undefined && cidrContains(c, a);
}
