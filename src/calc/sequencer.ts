/**
 * Event sequencer (felix/calc/event_sequencer.go): buffers the graph's outputs, merges bursts (only final
 * state is sent), and flushes in dependency order: config, IP-set creations and deltas, policies, profiles,
 * endpoint updates; then endpoint removals, profile and policy removals, IP-set removals; then the
 * revision marker and, once, InSync. Cluster networking: host metadata and pool updates right after config;
 * route removals and non-VXLAN route updates, VTEP removals, VTEP updates, VXLAN route updates after the
 * endpoints (Felix's order: a route never refers to a VTEP the dataplane does not have); pool and host
 * removals last.
 */
import type { ResolvedFelixConfig } from '../api/v3/felix-config.js';
import type {
  DataplaneMessage,
  HostEndpointMsg,
  HostMetadataMsg,
  IpPoolMsg,
  IpSetType,
  PolicyMsg,
  ProfileMsg,
  RouteMsg,
  VtepMsg,
  WorkloadEndpointMsg,
} from './messages.js';

export class EventSequencer {
  private config: ResolvedFelixConfig | undefined;
  private readonly newSets = new Map<string, { type: IpSetType; members: Set<string> }>();
  private readonly deltas = new Map<string, { added: Set<string>; removed: Set<string> }>();
  private readonly removedSets = new Set<string>();
  private readonly policies = new Map<string, PolicyMsg | null>();
  private readonly profiles = new Map<string, ProfileMsg | null>();
  private readonly weps = new Map<string, WorkloadEndpointMsg | null>();
  private readonly heps = new Map<string, HostEndpointMsg | null>();
  private readonly hosts = new Map<string, HostMetadataMsg | null>();
  private readonly pools = new Map<string, IpPoolMsg | null>();
  private readonly vteps = new Map<string, VtepMsg | null>();
  private readonly routes = new Map<string, RouteMsg | null>();
  private readonly sentSets = new Set<string>();
  private readonly domainSets = new Map<string, readonly string[] | null>();
  private readonly sentDomainSets = new Set<string>();
  private revision: number | undefined;
  private inSyncPending = false;
  private inSyncSent = false;

  onConfig(config: ResolvedFelixConfig): void {
    this.config = config;
  }

  onIpSetAdded(id: string, type: IpSetType, members: readonly string[]): void {
    this.removedSets.delete(id);
    this.deltas.delete(id);
    this.newSets.set(id, { type, members: new Set(members) });
  }

  onMembersChanged(id: string, added: readonly string[], removed: readonly string[]): void {
    const fresh = this.newSets.get(id);
    if (fresh !== undefined) {
      for (const m of removed) fresh.members.delete(m);
      for (const m of added) fresh.members.add(m);
      return;
    }
    let d = this.deltas.get(id);
    if (d === undefined) {
      d = { added: new Set(), removed: new Set() };
      this.deltas.set(id, d);
    }
    for (const m of removed) {
      if (!d.added.delete(m)) d.removed.add(m);
    }
    for (const m of added) {
      if (!d.removed.delete(m)) d.added.add(m);
    }
  }

  onIpSetRemoved(id: string): void {
    this.newSets.delete(id);
    this.deltas.delete(id);
    if (this.sentSets.has(id)) this.removedSets.add(id);
  }

  onDomainSet(id: string, domains: readonly string[] | null): void {
    if (domains === null && !this.sentDomainSets.has(id)) this.domainSets.delete(id);
    else this.domainSets.set(id, domains);
  }

  onPolicy(id: string, p: PolicyMsg | null): void {
    this.policies.set(id, p);
  }

  onProfile(id: string, p: ProfileMsg | null): void {
    this.profiles.set(id, p);
  }

  onWorkloadEndpoint(id: string, e: WorkloadEndpointMsg | null): void {
    this.weps.set(id, e);
  }

  onHostEndpoint(id: string, e: HostEndpointMsg | null): void {
    this.heps.set(id, e);
  }

  onHostMetadata(hostname: string, m: HostMetadataMsg | null): void {
    this.hosts.set(hostname, m);
  }

  onIpPool(id: string, p: IpPoolMsg | null): void {
    this.pools.set(id, p);
  }

  onVtep(node: string, v: VtepMsg | null): void {
    this.vteps.set(node, v);
  }

  onRoute(dst: string, r: RouteMsg | null): void {
    this.routes.set(dst, r);
  }

  onRevision(revision: number): void {
    this.revision = Math.max(this.revision ?? 0, revision);
  }

  onInSync(): void {
    if (!this.inSyncSent) this.inSyncPending = true;
  }

  flush(): DataplaneMessage[] {
    const out: DataplaneMessage[] = [];
    if (this.config !== undefined)
      out.push({ kind: 'configUpdate', config: this.config.config, sources: this.config.sources });
    for (const [hostname, m] of this.hosts)
      if (m !== null) out.push({ kind: 'hostMetadataUpdate', hostname, metadata: m });
    for (const [id, p] of this.pools) if (p !== null) out.push({ kind: 'ipPoolUpdate', id, pool: p });
    for (const [id, s] of this.newSets) {
      out.push({ kind: 'ipSetUpdate', id, type: s.type, members: [...s.members].sort() });
      this.sentSets.add(id);
    }
    for (const [id, d] of this.deltas) {
      if (d.added.size > 0 || d.removed.size > 0) {
        out.push({
          kind: 'ipSetDeltaUpdate',
          id,
          added: [...d.added].sort(),
          removed: [...d.removed].sort(),
        });
      }
    }
    for (const [id, domains] of this.domainSets) {
      if (domains === null) continue;
      out.push({ kind: 'domainSetUpdate', id, domains });
      this.sentDomainSets.add(id);
    }
    for (const [id, p] of this.policies)
      if (p !== null) out.push({ kind: 'activePolicyUpdate', id, policy: p });
    for (const [id, p] of this.profiles)
      if (p !== null) out.push({ kind: 'activeProfileUpdate', id, profile: p });
    for (const [id, e] of this.weps)
      if (e !== null) out.push({ kind: 'workloadEndpointUpdate', id, endpoint: e });
    for (const [id, e] of this.heps)
      if (e !== null) out.push({ kind: 'hostEndpointUpdate', id, endpoint: e });
    for (const [id, e] of this.weps) if (e === null) out.push({ kind: 'workloadEndpointRemove', id });
    for (const [id, e] of this.heps) if (e === null) out.push({ kind: 'hostEndpointRemove', id });
    for (const [id, p] of this.profiles) if (p === null) out.push({ kind: 'activeProfileRemove', id });
    for (const [id, p] of this.policies) if (p === null) out.push({ kind: 'activePolicyRemove', id });
    for (const id of this.removedSets) {
      out.push({ kind: 'ipSetRemove', id });
      this.sentSets.delete(id);
    }
    for (const [id, domains] of this.domainSets) {
      if (domains !== null) continue;
      out.push({ kind: 'domainSetRemove', id });
      this.sentDomainSets.delete(id);
    }
    this.domainSets.clear();
    this.flushNetwork(out);
    if (this.revision !== undefined) out.push({ kind: 'revision', revision: this.revision });
    if (this.inSyncPending) {
      out.push({ kind: 'inSync' });
      this.inSyncPending = false;
      this.inSyncSent = true;
    }
    this.config = undefined;
    this.newSets.clear();
    this.deltas.clear();
    this.removedSets.clear();
    this.policies.clear();
    this.profiles.clear();
    this.weps.clear();
    this.heps.clear();
    this.revision = undefined;
    return out;
  }

  private flushNetwork(out: DataplaneMessage[]): void {
    // A route that stops using a VTEP is replaced before that VTEP goes.
    for (const [dst, r] of this.routes) if (r === null) out.push({ kind: 'routeRemove', dst });
    for (const r of this.routes.values())
      if (r !== null && r.encap !== 'vxlan') out.push({ kind: 'routeUpdate', route: r });
    for (const [node, v] of this.vteps) if (v === null) out.push({ kind: 'vtepRemove', node });
    for (const v of this.vteps.values()) if (v !== null) out.push({ kind: 'vtepUpdate', vtep: v });
    for (const r of this.routes.values())
      if (r !== null && r.encap === 'vxlan') out.push({ kind: 'routeUpdate', route: r });
    for (const [id, p] of this.pools) if (p === null) out.push({ kind: 'ipPoolRemove', id });
    for (const [hostname, m] of this.hosts)
      if (m === null) out.push({ kind: 'hostMetadataRemove', hostname });
    this.routes.clear();
    this.vteps.clear();
    this.pools.clear();
    this.hosts.clear();
  }
}
