/**
 * The VXLAN overlay as data (Felix's vxlan_mgr.go, reference §8.5): the `vxlan.calico` device (VNI 4096, UDP
 * 4789, local = node IP, learning off, MTU = parent MTU - 50 unless configured, the node's VTEP MAC and
 * tunnel address /32), and per remote VTEP one FDB entry (`<MAC> dst <node IP>`) and one permanent
 * neighbour entry (`<VTEP IP> lladdr <MAC>`). Parsers read iproute2's JSON back; differs say what to change.
 * Everything on `vxlan.calico` is ours, so whatever is not wanted there is removed. Pure.
 */
import type { FelixConfig } from '../../api/v3/felix-config-params.js';
import type { VtepMsg } from '../../calc/messages.js';

export const VXLAN_DEVICE = 'vxlan.calico';
export const VXLAN_OVERHEAD_V4 = 50;
export const DEFAULT_VXLAN_VNI = 4096;
export const DEFAULT_VXLAN_PORT = 4789;

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

/** What `ip -d -j link show dev vxlan.calico` says about the device. */
export interface ActualVxlanDevice {
  readonly kind: string;
  readonly vni: number | undefined;
  readonly port: number | undefined;
  readonly localIp: string | undefined;
  readonly learning: boolean | undefined;
  readonly mtu: number | undefined;
  readonly mac: string | undefined;
  readonly up: boolean;
}

type Obj = Record<string, unknown>;

function obj(x: unknown): Obj | undefined {
  return typeof x === 'object' && x !== null && !Array.isArray(x) ? (x as Obj) : undefined;
}

const num = (x: unknown): number | undefined => (typeof x === 'number' ? x : undefined);
const text = (x: unknown): string | undefined => (typeof x === 'string' ? x : undefined);

export function parseVxlanLink(json: unknown): ActualVxlanDevice | undefined {
  const link = Array.isArray(json) ? obj(json[0]) : undefined;
  if (link === undefined) return undefined;
  const info = obj(link.linkinfo);
  const data = obj(info?.info_data);
  const flags = Array.isArray(link.flags) ? link.flags : [];
  return {
    kind: text(info?.info_kind) ?? '',
    vni: num(data?.id),
    port: num(data?.port),
    localIp: text(data?.local),
    learning: typeof data?.learning === 'boolean' ? data.learning : undefined,
    mtu: num(link.mtu),
    mac: text(link.address)?.toLowerCase(),
    up: flags.includes('UP'),
  };
}

/** Properties fixed at creation: a mismatch means delete and re-create. */
export function needsRecreate(actual: ActualVxlanDevice, want: VxlanDeviceSpec): boolean {
  return (
    actual.kind !== 'vxlan' ||
    actual.vni !== want.vni ||
    actual.port !== want.port ||
    actual.localIp !== want.localIp ||
    actual.learning !== false
  );
}

/** `ip` argument vectors that create the device, then set what can be set in place. */
export function createDeviceArgs(want: VxlanDeviceSpec): string[][] {
  return [
    [
      'link',
      'add',
      VXLAN_DEVICE,
      'type',
      'vxlan',
      'id',
      String(want.vni),
      'local',
      want.localIp,
      'dstport',
      String(want.port),
      'nolearning',
      'dev',
      want.parent,
    ],
    ...updateDeviceArgs(undefined, want),
  ];
}

export function updateDeviceArgs(actual: ActualVxlanDevice | undefined, want: VxlanDeviceSpec): string[][] {
  const set: string[] = [];
  if (actual?.mac !== want.mac) set.push('address', want.mac);
  if (actual?.mtu !== want.mtu) set.push('mtu', String(want.mtu));
  if (actual?.up !== true) set.push('up');
  return set.length === 0 ? [] : [['link', 'set', VXLAN_DEVICE, ...set]];
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

/** `bridge -j fdb show dev vxlan.calico`: entries with a remote `dst`. */
export function parseFdb(json: unknown): FdbEntry[] {
  if (!Array.isArray(json)) return [];
  return json.flatMap((e: unknown) => {
    const o = obj(e);
    const mac = text(o?.mac)?.toLowerCase();
    const dst = text(o?.dst);
    return mac !== undefined && dst !== undefined ? [{ mac, dst }] : [];
  });
}

/** `ip -j neigh show dev vxlan.calico` (IPv4 entries with a link-layer address). */
export function parseNeighbours(json: unknown): NeighbourEntry[] {
  if (!Array.isArray(json)) return [];
  return json.flatMap((e: unknown) => {
    const o = obj(e);
    const ip = text(o?.dst);
    const mac = text(o?.lladdr)?.toLowerCase();
    return ip !== undefined && !ip.includes(':') && mac !== undefined ? [{ ip, mac }] : [];
  });
}

export interface EntryDiff<T> {
  readonly add: readonly T[];
  readonly remove: readonly T[];
}

/** Entries keyed by `key`: wanted ones missing or different are (re)added, unwanted ones removed. */
export function diffEntries<T>(want: readonly T[], have: readonly T[], key: (t: T) => string): EntryDiff<T> {
  const same = (a: T, b: T): boolean => JSON.stringify(a) === JSON.stringify(b);
  const wantByKey = new Map(want.map((w) => [key(w), w]));
  const haveByKey = new Map(have.map((h) => [key(h), h]));
  return {
    add: want.filter((w) => {
      const h = haveByKey.get(key(w));
      return h === undefined || !same(h, w);
    }),
    remove: have.filter((h) => {
      const w = wantByKey.get(key(h));
      return w === undefined || !same(h, w);
    }),
  };
}

/** `bridge -batch` lines. An FDB entry is keyed by MAC and destination. */
export function fdbCommands(diff: EntryDiff<FdbEntry>): string[] {
  return [
    ...diff.remove.map((e) => `fdb del ${e.mac} dev ${VXLAN_DEVICE} dst ${e.dst} self`),
    ...diff.add.map((e) => `fdb replace ${e.mac} dev ${VXLAN_DEVICE} dst ${e.dst} self permanent`),
  ];
}

/** `ip -batch` lines. A neighbour entry is keyed by IP. */
export function neighbourCommands(diff: EntryDiff<NeighbourEntry>): string[] {
  const replaced = new Set(diff.add.map((e) => e.ip));
  return [
    ...diff.remove.filter((e) => !replaced.has(e.ip)).map((e) => `neigh del ${e.ip} dev ${VXLAN_DEVICE}`),
    ...diff.add.map((e) => `neigh replace ${e.ip} lladdr ${e.mac} dev ${VXLAN_DEVICE} nud permanent`),
  ];
}
