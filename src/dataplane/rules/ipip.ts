/**
 * IPIP (reference §8.5: device `tunl0`, IPv4 only, MTU overhead 20, `Always` / `CrossSubnet`), rendered
 * only: this kernel has no ipip module, so nothing here is ever run by the tests. What the agent would
 * program: `tunl0` up with the pool-derived MTU and the node's IPIP tunnel address as a /32, and remote
 * blocks of IPIP pools `via <node IP> dev tunl0 onlink`. Pure.
 */
import type { RouteMsg } from '../../calc/messages.js';
import type { KernelRoute } from './cluster-routes.js';

export const IPIP_DEVICE = 'tunl0';
export const IPIP_OVERHEAD = 20;

export interface IpipDeviceSpec {
  /** The node's IPIP tunnel address (spec.bgp.ipv4IPIPTunnelAddr). */
  readonly tunnelAddress: string;
  /** Host MTU (of the interface holding the node IP). */
  readonly parentMtu: number;
  /** An explicit MTU (FELIX_IPINIPMTU); 0 or absent = parent MTU - 20. */
  readonly mtu?: number;
}

export function ipipMtu(spec: IpipDeviceSpec): number {
  return spec.mtu !== undefined && spec.mtu > 0 ? spec.mtu : spec.parentMtu - IPIP_OVERHEAD;
}

/** `ip -batch` lines configuring `tunl0` (the kernel creates it when the ipip module loads). */
export function ipipDeviceCommands(spec: IpipDeviceSpec): string[] {
  return [
    `link set ${IPIP_DEVICE} mtu ${ipipMtu(spec)} up`,
    `addr replace ${spec.tunnelAddress}/32 dev ${IPIP_DEVICE}`,
  ];
}

/** The route to a remote block of an IPIP pool (IPv4 only). */
export function ipipRoute(r: RouteMsg): KernelRoute | undefined {
  if (r.encap !== 'ipip' || r.dstNodeIp === undefined || r.dst.includes(':')) return undefined;
  return { dst: r.dst, type: 'unicast', via: r.dstNodeIp, dev: IPIP_DEVICE, onlink: true };
}
