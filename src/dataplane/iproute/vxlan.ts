/**
 * The VXLAN overlay in the kernel (the driver side of rules/vxlan.ts): what iproute2's JSON says about
 * `vxlan.calico`, its FDB and neighbour entries; which device properties force a re-create; the `ip`/`bridge`
 * commands that turn what is there into what is wanted. Everything on `vxlan.calico` is ours, so whatever is
 * not wanted there is removed. Pure.
 */
import { VXLAN_DEVICE } from '../rules/names.js';
import type { FdbEntry, NeighbourEntry, VxlanDeviceSpec } from '../rules/vxlan.js';

type Obj = Record<string, unknown>;

function obj(x: unknown): Obj | undefined {
  return typeof x === 'object' && x !== null && !Array.isArray(x) ? (x as Obj) : undefined;
}

const num = (x: unknown): number | undefined => (typeof x === 'number' ? x : undefined);
const text = (x: unknown): string | undefined => (typeof x === 'string' ? x : undefined);

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
