/**
 * `ipam check`: cross-checks IPAM's records against the addresses actually in use (calicoctl's IPAMChecker).
 * Owners of addresses come from a callback (by default the datastore's WorkloadEndpoints and the tunnel
 * addresses of Nodes). The result lists, for reporting and for `ipam release --from-report`:
 *
 *   leaked            allocated, not in cooldown, and owned by nothing
 *   not allocated     owned by something, inside an active pool, but not allocated
 *   outside pools     owned by something and inside no active pool
 *   leaked handles    IPAMHandles no block allocation refers to
 *   missing handles   handles named by allocations without an IPAMHandle (reported, not counted, as Calico)
 *   invalid blocks    blocks that do not decode or are internally inconsistent
 *   stale affinities  BlockAffinities in a transient state (pending, pendingDeletion) or disagreeing with
 *                     their block: what an interrupted claim or release leaves behind
 *
 * Addresses in cooldown are their own state: neither leaked nor free. The report is plain JSON and carries the
 * cluster GUID and ClusterInformation revision, which `ipam release` checks before acting on it.
 */
import type { IPAMBlockSpec } from '../api/v3/ipam-block.js';
import type { Backend, Resource } from '../datastore/api.js';
import { NotFoundError } from '../lib/errors.js';
import { type Cidr, cidrContains, formatIp, parseCidr, parseIp } from '../lib/net/ip.js';
import { allocations as blockAllocations, blockCidr, ordinalToIp } from './block.js';
import { blockProblems } from './block-report.js';
import { WINDOWS_RESERVED_HANDLE } from './names.js';
import { IpamStore } from './store.js';

export type OwnerKind = 'Node' | 'Workload' | 'Other';

/** Something using an address: `owner` is a friendly name such as `Workload(ns/name)` or `Node(n1)`. */
export interface IpOwner {
  readonly ip: string;
  readonly owner: string;
  readonly kind: OwnerKind;
}

export type ListOwners = () => Promise<readonly IpOwner[]>;

/** One allocation as recorded in the report (field names as Calico's report). */
export interface CheckAllocation {
  ip: string;
  handle?: string;
  sequenceNumber?: number;
  pod?: string;
  namespace?: string;
  node?: string;
  type?: string;
  creationTimestamp?: string;
  inUse: boolean;
  borrowed?: boolean;
  owners: string[];
  /** Rendered attributes, `Main:<handle> Extra:k=v,...` (for messages). */
  attrs: string;
}

export interface HandleInfo {
  ID: string;
  UID?: string;
  Revision: string;
}

export type AffinityProblem = 'pending' | 'pendingDeletion' | 'blockMissing' | 'blockNotAffine' | 'invalid';

export interface AffinityInfo {
  name: string;
  node: string;
  cidr: string;
  state: string;
  problem: AffinityProblem;
  revision: string;
  uid?: string;
}

export interface InvalidBlock {
  name: string;
  cidr?: string;
  problems: string[];
}

/** The machine-readable report (`ipam check -o`), consumed by `ipam release --from-report`. */
export interface CheckReport {
  version: string;
  clusterGUID: string;
  datastoreLocked: boolean;
  clusterInformationRevision: string;
  clusterType: string;
  allocations: Record<string, CheckAllocation[]>;
  /** Omitted (empty) in reports of calicoctl itself. */
  leakedHandles?: HandleInfo[];
  /** Absent in reports of calicoctl itself. */
  staleAffinities?: AffinityInfo[];
  invalidBlocks?: InvalidBlock[];
}

export interface CheckResult {
  report: CheckReport;
  blocks: {
    cidr: string;
    affinity?: string;
    allocated: { ip: string; attrs: string; releasedAt?: string }[];
  }[];
  activePools: string[];
  owners: IpOwner[];
  /** Distinct addresses in use by owners. */
  inUseCount: number;
  /** Node -> number of allocations, most first. */
  allocationsByNode: [string, number][];
  leaked: { ip: string; attrs: string }[];
  notInPools: { ip: string; owners: string[] }[];
  notAllocated: { ip: string; owners: string[] }[];
  multipleOwners: string[];
  leakedHandles: string[];
  goodHandles: number;
  missingHandles: string[];
  cooling: { ip: string; releasedAt: string }[];
  problems: number;
}

export interface ClusterInfo {
  readonly clusterGUID: string;
  readonly clusterType: string;
  readonly datastoreLocked: boolean;
  readonly revision: string;
}

/** The `default` ClusterInformation's report metadata (empty values when there is none). */
export async function readClusterInfo(backend: Backend): Promise<ClusterInfo> {
  let obj: Resource;
  try {
    obj = await backend.get({ kind: 'ClusterInformation', name: 'default' });
  } catch (e) {
    if (e instanceof NotFoundError)
      return { clusterGUID: '', clusterType: '', datastoreLocked: false, revision: '' };
    throw e;
  }
  const spec = (obj as Resource & { spec?: Record<string, unknown> }).spec ?? {};
  const str = (k: string): string => (typeof spec[k] === 'string' ? spec[k] : '');
  return {
    clusterGUID: str('clusterGUID'),
    clusterType: str('clusterType'),
    datastoreLocked: spec['datastoreReady'] === false,
    revision: obj.metadata.resourceVersion ?? '',
  };
}

function normaliseIp(text: string): string | undefined {
  const c = parseCidr(text);
  return c === undefined ? undefined : formatIp(c.family, c.address);
}

/** Owners recorded in the datastore: WorkloadEndpoint ipNetworks and Node tunnel / WireGuard addresses. */
export async function datastoreOwners(backend: Backend): Promise<IpOwner[]> {
  const out: IpOwner[] = [];
  const { items: nodes } = await backend.list({ kind: 'Node' });
  for (const n of nodes) {
    const spec = (n as Resource & { spec?: Record<string, unknown> }).spec ?? {};
    const bgp = (spec['bgp'] ?? {}) as Record<string, unknown>;
    const wg = (spec['wireguard'] ?? {}) as Record<string, unknown>;
    const candidates = [
      spec['ipv4VXLANTunnelAddr'],
      spec['ipv6VXLANTunnelAddr'],
      wg['interfaceIPv4Address'],
      wg['interfaceIPv6Address'],
      bgp['ipv4IPIPTunnelAddr'],
    ];
    for (const c of candidates) {
      const ip = typeof c === 'string' && c !== '' ? normaliseIp(c) : undefined;
      if (ip !== undefined) out.push({ ip, owner: `Node(${n.metadata.name})`, kind: 'Node' });
    }
  }
  const { items: weps } = await backend.list({ kind: 'WorkloadEndpoint' });
  for (const w of weps) {
    const nets = (w as Resource & { spec?: { ipNetworks?: unknown } }).spec?.ipNetworks;
    for (const net of Array.isArray(nets) ? nets : []) {
      const ip = typeof net === 'string' ? normaliseIp(net) : undefined;
      const name = `Workload(${w.metadata.namespace ?? ''}/${w.metadata.name})`;
      if (ip !== undefined) out.push({ ip, owner: name, kind: 'Workload' });
    }
  }
  return out;
}

/** `Main:<handle> Extra:k=v,...` (keys sorted), as calicoctl prints an allocation. */
export function formatAttrs(
  handle: string | undefined,
  attrs: Readonly<Record<string, string>> | undefined,
): string {
  const extra = Object.keys(attrs ?? {})
    .sort()
    .map((k) => `${k}=${attrs?.[k] ?? ''}`)
    .join(',');
  return `Main:${handle ?? '<none>'} Extra:${extra}`;
}

interface Scan {
  readonly allocations: Map<string, CheckAllocation[]>;
  readonly byNode: Map<string, number>;
  readonly usedHandles: Set<string>;
  readonly windowsOwned: IpOwner[];
  readonly cooling: { ip: string; releasedAt: string }[];
  readonly blocks: CheckResult['blocks'];
}

function recordBlock(spec: IPAMBlockSpec, scan: Scan): void {
  const cidr = blockCidr(spec);
  const affinityHost = spec.affinity?.startsWith('host:') === true ? spec.affinity.slice(5) : '';
  const listed: { ip: string; attrs: string; releasedAt?: string }[] = [];
  for (const a of blockAllocations(spec)) {
    const addr = ordinalToIp(cidr, a.ordinal);
    const ip = formatIp(addr.family, addr.value);
    const attr = a.attribute ?? {};
    const attrs = formatAttrs(attr.handle_id, attr.secondary);
    listed.push(attr.releasedAt === undefined ? { ip, attrs } : { ip, attrs, releasedAt: attr.releasedAt });
    if (a.state === 'cooling') {
      scan.cooling.push({ ip, releasedAt: attr.releasedAt ?? '' });
      continue;
    }
    const s = attr.secondary ?? {};
    const node = s['node'] !== undefined && s['node'] !== '' ? s['node'] : affinityHost;
    const alloc: CheckAllocation = {
      ip,
      inUse: false,
      owners: [],
      attrs,
      sequenceNumber: a.sequenceNumber,
      ...(node === '' ? {} : { node }),
    };
    if (attr.handle_id === WINDOWS_RESERVED_HANDLE)
      scan.windowsOwned.push({ ip, owner: 'Reserved for Windows', kind: 'Other' });
    else if (attr.handle_id !== undefined) {
      alloc.handle = attr.handle_id;
      scan.usedHandles.add(attr.handle_id);
    }
    for (const [k, field] of [
      ['pod', 'pod'],
      ['namespace', 'namespace'],
      ['type', 'type'],
      ['timestamp', 'creationTimestamp'],
    ] as const) {
      const v = s[k];
      if (v !== undefined && v !== '') alloc[field] = v;
    }
    if (node !== affinityHost) alloc.borrowed = true;
    scan.allocations.set(ip, [...(scan.allocations.get(ip) ?? []), alloc]);
    scan.byNode.set(node, (scan.byNode.get(node) ?? 0) + 1);
  }
  scan.blocks.push(
    spec.affinity === undefined
      ? { cidr: spec.cidr, allocated: listed }
      : { cidr: spec.cidr, affinity: spec.affinity, allocated: listed },
  );
}

async function scanAffinities(
  store: IpamStore,
  blocks: ReadonlyMap<string, IPAMBlockSpec>,
): Promise<AffinityInfo[]> {
  const { items, invalid } = await store.listAffinities();
  const out: AffinityInfo[] = invalid.map((a) => ({
    name: a.name,
    node: '',
    cidr: '',
    state: '',
    problem: 'invalid',
    revision: a.resourceVersion,
  }));
  for (const a of items) {
    const block = blocks.get(a.spec.cidr);
    const base = {
      name: a.name,
      node: a.spec.node,
      cidr: a.spec.cidr,
      state: a.spec.state,
      revision: a.resourceVersion,
      ...(a.uid === undefined ? {} : { uid: a.uid }),
    };
    if (a.spec.state === 'pending') out.push({ ...base, problem: 'pending' });
    else if (a.spec.state === 'pendingDeletion') out.push({ ...base, problem: 'pendingDeletion' });
    else if (block === undefined) out.push({ ...base, problem: 'blockMissing' });
    else if ((a.spec.type ?? 'host') === 'host' && block.affinity !== `host:${a.spec.node}`)
      out.push({ ...base, problem: 'blockNotAffine' });
  }
  return out;
}

export interface CheckOptions {
  /** Who uses which address; default: `datastoreOwners(backend)`. */
  readonly listOwners?: ListOwners;
  /** Version of the tool producing the report (checked by `ipam release --from-report`). */
  readonly version: string;
}

export async function checkIpam(backend: Backend, opts: CheckOptions): Promise<CheckResult> {
  const store = new IpamStore(backend);
  const cluster = await readClusterInfo(backend);
  const scan: Scan = {
    allocations: new Map(),
    byNode: new Map(),
    usedHandles: new Set(),
    windowsOwned: [],
    cooling: [],
    blocks: [],
  };
  const { items: blocks, invalid: undecodable } = await store.listBlocks();
  const invalidBlocks: InvalidBlock[] = undecodable.map((b) => ({ name: b.name, problems: [...b.problems] }));
  const byCidr = new Map<string, IPAMBlockSpec>();
  for (const b of blocks) {
    const problems = blockProblems(b.spec);
    if (problems.length > 0) {
      invalidBlocks.push({ name: b.name, cidr: b.spec.cidr, problems });
      continue;
    }
    byCidr.set(b.spec.cidr, b.spec);
    recordBlock(b.spec, scan);
  }
  const active: Cidr[] = (await store.listPools()).filter((p) => p.spec.disabled !== true).map((p) => p.cidr);
  const owners = [...scan.windowsOwned, ...(await (opts.listOwners ?? (() => datastoreOwners(backend)))())];
  const inUse = new Map<string, string[]>();
  for (const o of owners) {
    const ip = normaliseIp(o.ip) ?? o.ip;
    inUse.set(ip, [...(inUse.get(ip) ?? []), o.owner]);
    for (const a of scan.allocations.get(ip) ?? []) {
      a.inUse = true;
      a.owners.push(o.owner);
    }
  }
  return assemble(store, opts, cluster, scan, { invalidBlocks, byCidr, active, owners, inUse });
}

async function assemble(
  store: IpamStore,
  opts: CheckOptions,
  cluster: ClusterInfo,
  scan: Scan,
  x: {
    invalidBlocks: InvalidBlock[];
    byCidr: Map<string, IPAMBlockSpec>;
    active: Cidr[];
    owners: IpOwner[];
    inUse: Map<string, string[]>;
  },
): Promise<CheckResult> {
  const leaked = [...scan.allocations].flatMap(([ip, allocs]) =>
    x.inUse.has(ip) ? [] : allocs.map((a) => ({ ip, attrs: a.attrs })),
  );
  const notInPools: { ip: string; owners: string[] }[] = [];
  const notAllocated: { ip: string; owners: string[] }[] = [];
  for (const [ip, who] of x.inUse) {
    if (scan.allocations.has(ip)) continue;
    const addr = parseIp(ip);
    const inPool = addr !== undefined && x.active.some((c) => cidrContains(c, addr));
    (inPool ? notAllocated : notInPools).push({ ip, owners: who });
  }
  const { items: handles } = await store.listHandles();
  const leakedHandles = handles.filter((h) => !scan.usedHandles.has(h.spec.handleID));
  const known = new Set(handles.map((h) => h.spec.handleID));
  const staleAffinities = await scanAffinities(store, x.byCidr);
  const leakedIps = new Set(leaked.map((l) => l.ip));
  const report: CheckReport = {
    version: opts.version,
    clusterGUID: cluster.clusterGUID,
    datastoreLocked: cluster.datastoreLocked,
    clusterInformationRevision: cluster.revision,
    clusterType: cluster.clusterType,
    allocations: Object.fromEntries(scan.allocations),
    leakedHandles: leakedHandles.map((h) => ({
      ID: h.spec.handleID,
      Revision: h.resourceVersion,
      ...(h.uid === undefined ? {} : { UID: h.uid }),
    })),
    staleAffinities,
    invalidBlocks: x.invalidBlocks,
  };
  const problems =
    leakedIps.size +
    notInPools.length +
    notAllocated.length +
    leakedHandles.length +
    x.invalidBlocks.length +
    staleAffinities.length;
  return {
    report,
    blocks: scan.blocks,
    activePools: x.active.map((c) => `${formatIp(c.family, c.network)}/${c.prefix}`),
    owners: x.owners,
    inUseCount: x.inUse.size,
    allocationsByNode: [...scan.byNode].sort((a, b) => b[1] - a[1]),
    leaked,
    notInPools,
    notAllocated,
    multipleOwners: [...x.inUse].filter(([, w]) => w.length > 1).map(([ip]) => ip),
    leakedHandles: leakedHandles.map((h) => h.spec.handleID),
    goodHandles: handles.length - leakedHandles.length,
    missingHandles: [...scan.usedHandles].filter((h) => !known.has(h)),
    cooling: scan.cooling,
    problems,
  };
}
