/**
 * Route and VTEP resolution (Felix's L3RouteResolver + VXLANResolver): from Nodes, IPPools, IPAM blocks and
 * block affinities, this node's view of the cluster's workload routes.
 *
 *   Node ──────► host metadata, VTEP (tunnel address + MAC, reached via the node IP)
 *   IPPool ────► pool (encapsulation, natOutgoing)
 *   IPAMBlock + BlockAffinity ──► per block: the block CIDR to its owner (affinity confirmed), and a /32 to
 *                                 every node holding an address borrowed from a block it does not own
 *   all of it ─► per route: pool type, whether the owner is on our subnet, and how to reach it:
 *                VXLAN Always, or CrossSubnet to another subnet ⇒ via the owner's VTEP; otherwise directly
 *
 * Incremental: a block is re-resolved when it, its affinity, or a node it routes to changes; a pool or our own
 * node changing re-resolves every block. Routes are merged per destination (a borrowed /32 wins over a /32
 * block route), and only changes reach the sequencer. Output depends only on current state.
 */
import { cidrCovers, formatCidr, parseCidr } from '../lib/net/ip.js';
import type { HostMetadataMsg, IpPoolMsg, RouteMsg, VtepMsg } from './messages.js';
import {
  type AffinityInfo,
  type BlockInfo,
  hostMetadata,
  inSubnet,
  type NodeInfo,
  poolEncap,
  type PoolInfo,
  vtepOf,
} from './network-model.js';

/** Where resolved state goes (the event sequencer). */
export interface RouteSink {
  onHostMetadata(hostname: string, m: HostMetadataMsg | null): void;
  onIpPool(id: string, p: IpPoolMsg | null): void;
  onVtep(node: string, v: VtepMsg | null): void;
  onRoute(dst: string, r: RouteMsg | null): void;
}

/** Affinity states that make a block its node's (a pending claim is not ownership). */
const OWNING_STATES: ReadonlySet<string> = new Set(['', 'confirmed', 'pendingDeletion']);

function byKey<T>(a: [string, T], b: [string, T]): number {
  return a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0;
}

export class RouteResolver {
  private readonly hostname: string;
  private readonly sink: RouteSink;
  private readonly nodes = new Map<string, NodeInfo>();
  private readonly pools = new Map<string, PoolInfo>();
  private readonly blocks = new Map<string, BlockInfo>();
  /** Block resource names by CIDR, so an affinity change finds its block. */
  private readonly blockByCidr = new Map<string, string>();
  private readonly affinities = new Map<string, AffinityInfo>();
  /** `node\0cidr` -> affinity resource names (normally one). */
  private readonly affinityIndex = new Map<string, Set<string>>();
  /** Per block: the routes it contributes, and the nodes they go to. */
  private readonly blockRoutes = new Map<string, RouteMsg[]>();
  private readonly blockDeps = new Map<string, Set<string>>();
  private readonly blocksByNode = new Map<string, Set<string>>();
  private readonly routesByDst = new Map<string, Map<string, RouteMsg>>();
  private readonly dirtyNodes = new Set<string>();
  private readonly dirtyPools = new Set<string>();
  private readonly dirtyBlocks = new Set<string>();
  private readonly dirtyDsts = new Set<string>();
  private allBlocksDirty = false;
  private readonly sentHosts = new Map<string, string>();
  private readonly sentPools = new Map<string, string>();
  private readonly sentVteps = new Map<string, string>();
  private readonly sentRoutes = new Map<string, string>();

  constructor(hostname: string, sink: RouteSink) {
    this.hostname = hostname;
    this.sink = sink;
  }

  get routeCount(): number {
    return this.sentRoutes.size;
  }

  node(name: string, n: NodeInfo | undefined): void {
    if (n === undefined) this.nodes.delete(name);
    else this.nodes.set(name, n);
    this.dirtyNodes.add(name);
    if (name === this.hostname) this.allBlocksDirty = true;
  }

  ipPool(name: string, p: PoolInfo | undefined): void {
    if (p === undefined) this.pools.delete(name);
    else this.pools.set(name, p);
    this.dirtyPools.add(name);
    this.allBlocksDirty = true;
  }

  ipamBlock(name: string, b: BlockInfo | undefined): void {
    const old = this.blocks.get(name);
    if (old !== undefined && this.blockByCidr.get(old.cidr) === name) this.blockByCidr.delete(old.cidr);
    if (b === undefined) this.blocks.delete(name);
    else {
      this.blocks.set(name, b);
      this.blockByCidr.set(b.cidr, name);
    }
    this.dirtyBlocks.add(name);
  }

  blockAffinity(name: string, a: AffinityInfo | undefined): void {
    const old = this.affinities.get(name);
    if (old !== undefined) this.indexAffinity(old, name, false);
    if (a === undefined) this.affinities.delete(name);
    else {
      this.affinities.set(name, a);
      this.indexAffinity(a, name, true);
    }
    for (const cidr of new Set([old?.cidr, a?.cidr])) {
      const block = cidr === undefined ? undefined : this.blockByCidr.get(cidr);
      if (block !== undefined) this.dirtyBlocks.add(block);
    }
  }

  /** Tells `sink` everything last sent (hosts, pools, VTEPs, routes), as if it were new (a replay). */
  replay(sink: RouteSink): void {
    for (const [name, json] of this.sentHosts) sink.onHostMetadata(name, JSON.parse(json) as HostMetadataMsg);
    for (const [name, json] of this.sentPools) sink.onIpPool(name, JSON.parse(json) as IpPoolMsg);
    for (const [name, json] of this.sentVteps) sink.onVtep(name, JSON.parse(json) as VtepMsg);
    for (const [dst, json] of this.sentRoutes) sink.onRoute(dst, JSON.parse(json) as RouteMsg);
  }

  /** Resolves everything that changed and tells the sink. */
  flush(): void {
    for (const name of this.dirtyNodes) {
      const n = this.nodes.get(name);
      this.send(this.sentHosts, name, n === undefined ? null : hostMetadata(n), (m) => {
        this.sink.onHostMetadata(name, m);
      });
      this.send(this.sentVteps, name, vtepOf(n) ?? null, (v) => {
        this.sink.onVtep(name, v);
      });
    }
    for (const name of this.dirtyPools) {
      const p = this.pools.get(name);
      this.send(this.sentPools, name, p?.msg ?? null, (m) => {
        this.sink.onIpPool(name, m);
      });
    }
    const blocks = new Set(this.dirtyBlocks);
    if (this.allBlocksDirty) for (const b of this.blocks.keys()) blocks.add(b);
    else for (const n of this.dirtyNodes) for (const b of this.blocksByNode.get(n) ?? []) blocks.add(b);
    for (const name of blocks) this.resolveBlock(name);
    for (const dst of this.dirtyDsts) {
      const winner = this.winner(dst);
      this.send(this.sentRoutes, dst, winner ?? null, (r) => {
        this.sink.onRoute(dst, r);
      });
    }
    this.dirtyNodes.clear();
    this.dirtyPools.clear();
    this.dirtyBlocks.clear();
    this.dirtyDsts.clear();
    this.allBlocksDirty = false;
  }

  private send<T>(
    sent: Map<string, string>,
    key: string,
    value: T | null,
    emit: (v: T | null) => void,
  ): void {
    if (value === null) {
      if (sent.delete(key)) emit(null);
      return;
    }
    const json = JSON.stringify(value);
    if (sent.get(key) === json) return;
    sent.set(key, json);
    emit(value);
  }

  private indexAffinity(a: AffinityInfo, name: string, add: boolean): void {
    const key = `${a.node}\0${a.cidr}`;
    const names = this.affinityIndex.get(key) ?? new Set<string>();
    if (add) names.add(name);
    else names.delete(name);
    if (names.size === 0) this.affinityIndex.delete(key);
    else this.affinityIndex.set(key, names);
  }

  private owner(b: BlockInfo): string | undefined {
    const host = b.affinityHost;
    if (host === undefined) return undefined;
    for (const name of this.affinityIndex.get(`${host}\0${b.cidr}`) ?? []) {
      if (OWNING_STATES.has(this.affinities.get(name)?.state ?? 'pending')) return host;
    }
    return undefined;
  }

  /** The most specific pool covering `dst` (ties: by name). */
  private poolFor(dst: string): PoolInfo | undefined {
    const c = parseCidr(dst);
    if (c === undefined) return undefined;
    let best: PoolInfo | undefined;
    for (const p of [...this.pools.values()].sort((a, b) => (a.name < b.name ? -1 : 1))) {
      if (cidrCovers(p.cidr, c) && (best === undefined || p.cidr.prefix > best.cidr.prefix)) best = p;
    }
    return best;
  }

  private resolveBlock(name: string): void {
    const b = this.blocks.get(name);
    const next: RouteMsg[] = [];
    if (b !== undefined) {
      const owner = this.owner(b);
      if (owner !== undefined) this.pushRoute(next, b.cidr, owner, false);
      const host = b.parsed.family === 4 ? 32 : 128;
      for (const a of b.allocations) {
        if (a.node === undefined || a.node === owner) continue;
        this.pushRoute(next, `${a.ip}/${host}`, a.node, true);
      }
    }
    for (const r of this.blockRoutes.get(name) ?? []) {
      this.routesByDst.get(r.dst)?.delete(name);
      if (this.routesByDst.get(r.dst)?.size === 0) this.routesByDst.delete(r.dst);
      this.dirtyDsts.add(r.dst);
    }
    for (const n of this.blockDeps.get(name) ?? []) {
      const set = this.blocksByNode.get(n);
      set?.delete(name);
      if (set?.size === 0) this.blocksByNode.delete(n);
    }
    // The nodes this block depends on, even those whose route cannot be resolved yet.
    const deps = new Set<string>();
    if (b !== undefined) {
      if (b.affinityHost !== undefined) deps.add(b.affinityHost);
      for (const a of b.allocations) if (a.node !== undefined) deps.add(a.node);
    }
    if (deps.size === 0) this.blockDeps.delete(name);
    else this.blockDeps.set(name, deps);
    for (const n of deps) {
      let set = this.blocksByNode.get(n);
      if (set === undefined) {
        set = new Set();
        this.blocksByNode.set(n, set);
      }
      set.add(name);
    }
    for (const r of next) {
      let m = this.routesByDst.get(r.dst);
      if (m === undefined) {
        m = new Map();
        this.routesByDst.set(r.dst, m);
      }
      m.set(name, r);
      this.dirtyDsts.add(r.dst);
    }
    if (next.length === 0) this.blockRoutes.delete(name);
    else this.blockRoutes.set(name, next);
  }

  /** Appends the route to `dst` on `node`, unless it cannot be resolved yet (unknown node IP or VTEP). */
  private pushRoute(out: RouteMsg[], dst: string, node: string, borrowed: boolean): void {
    const c = parseCidr(dst);
    if (c === undefined) return;
    const pool = this.poolFor(dst);
    const { type, crossSubnet } = poolEncap(pool?.msg);
    const common = {
      dst: formatCidr(c),
      dstNode: node,
      borrowed,
      ...(pool !== undefined ? { poolCidr: pool.msg.cidr } : {}),
      poolType: type,
      natOutgoing: pool?.msg.natOutgoing ?? false,
    };
    const n = this.nodes.get(node);
    const nodeIp = c.family === 4 ? n?.ipv4 : n?.ipv6;
    if (node === this.hostname) {
      out.push({
        ...common,
        type: 'localWorkload',
        ...(nodeIp !== undefined ? { dstNodeIp: nodeIp } : {}),
        sameSubnet: true,
        encap: 'none',
      });
      return;
    }
    if (nodeIp === undefined) return;
    const me = this.nodes.get(this.hostname);
    const sameSubnet = inSubnet(c.family === 4 ? me?.ipv4Subnet : me?.ipv6Subnet, nodeIp);
    const encap = crossSubnet && sameSubnet ? 'none' : type;
    const route: RouteMsg = { ...common, type: 'remoteWorkload', dstNodeIp: nodeIp, sameSubnet, encap };
    if (encap === 'vxlan') {
      // Only IPv4 VTEPs are modelled: a VXLAN route without one cannot be programmed (as in Felix).
      const vtep = c.family === 4 ? vtepOf(n) : undefined;
      if (vtep === undefined) return;
      out.push({ ...route, vtepAddr: vtep.ipv4Addr });
      return;
    }
    if (encap === 'ipip' && c.family === 6) return;
    out.push(route);
  }

  /** One route per destination: a borrowed address beats a block route; then by block name. */
  private winner(dst: string): RouteMsg | undefined {
    const m = this.routesByDst.get(dst);
    if (m === undefined) return undefined;
    const candidates = [...m.entries()].sort(byKey).map(([, r]) => r);
    return candidates.find((r) => r.borrowed) ?? candidates[0];
  }
}
