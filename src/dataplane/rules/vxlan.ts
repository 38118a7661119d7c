/**
 * The VXLAN overlay as data (Felix's vxlan_mgr.go, reference §8.5): the `vxlan.calico` device (VNI 4096, UDP
 * 4789, local = node IP, learning off, MTU = parent MTU - 50 unless configured, the node's VTEP MAC and
 * tunnel address /32), and per remote VTEP one FDB entry (`<MAC> dst <node IP>`) and one permanent
 * neighbour entry (`<VTEP IP> lladdr <MAC>`): the desired state only. Reading the kernel back, comparing and
 * the commands that fix it are iproute/vxlan.ts. Pure.
 */
import type { FelixConfig } from '../../api/v3/felix-config-params.js';
import type { VtepMsg } from '../../calc/messages.js';

const VXLAN_OVERHEAD_V4 = 50;
const DEFAULT_VXLAN_VNI = 4096;
const DEFAULT_VXLAN_PORT = 4789;

export interface VxlanConfig {
  readonly vni: number;
  readonly port: number;
  /** Explicit MTU (FelixConfiguration vxlanMTU / FELIX_VXLANMTU); 0 = parent MTU - 50. */
  readonly mtu: number;
}

/** From Felix's typed configuration (VNI 0 and port 0 are not usable: the defaults apply). */
export function vxlanConfigFrom(c: Pick<FelixConfig, 'vxlanVNI' | 'vxlanPort' | 'vxlanMTU'>): VxlanConfig {
  return {
    vni: c.vxlanVNI >= 1 ? c.vxlanVNI : DEFAULT_VXLAN_VNI,
    port: c.vxlanPort >= 1 ? c.vxlanPort : DEFAULT_VXLAN_PORT,
    mtu: c.vxlanMTU,
  };
}

export interface VxlanDeviceSpec {
  readonly vni: number;
  readonly port: number;
  readonly localIp: string;
  readonly parent: string;
  readonly mtu: number;
  readonly mac: string;
  readonly address: string;
}

export function deviceSpec(
  cfg: VxlanConfig,
  local: VtepMsg,
  parent: { readonly name: string; readonly mtu: number },
): VxlanDeviceSpec {
  return {
    vni: cfg.vni,
    port: cfg.port,
    localIp: local.parentDeviceIp,
    parent: parent.name,
    mtu: cfg.mtu > 0 ? cfg.mtu : parent.mtu - VXLAN_OVERHEAD_V4,
    mac: local.mac.toLowerCase(),
    address: local.ipv4Addr,
  };
}

export interface FdbEntry {
  readonly mac: string;
  readonly dst: string;
}

export interface NeighbourEntry {
  readonly ip: string;
  readonly mac: string;
}

/** Remote VTEPs (every VTEP but our own). */
export function remoteVteps(vteps: Iterable<VtepMsg>, hostname: string): VtepMsg[] {
  return [...vteps].filter((v) => v.node !== hostname);
}

export function desiredFdb(remote: readonly VtepMsg[]): FdbEntry[] {
  return remote.map((v) => ({ mac: v.mac.toLowerCase(), dst: v.parentDeviceIp }));
}

export function desiredNeighbours(remote: readonly VtepMsg[]): NeighbourEntry[] {
  return remote.map((v) => ({ ip: v.ipv4Addr, mac: v.mac.toLowerCase() }));
}
