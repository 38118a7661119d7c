/**
 * Turns calc-graph messages into nftables intent on one `table inet calico` (Felix's policy, endpoint and
 * IP-set managers, rendering through src/dataplane/rules). Receiving a message only records state and
 * marks it dirty; `prepare()` hands the rendered objects to the table, whose `apply()` does the kernel work
 * as one atomic transaction. Everything rendered is a pure function of the current messages, so a restart
 * re-renders the same objects and the table adopts what is already in the kernel.
 */
import type {
  DataplaneMessage,
  HostEndpointMsg,
  IpSetType,
  PolicyMsg,
  ProfileMsg,
  WorkloadEndpointMsg,
} from '../../calc/messages.js';
import type { SetSpec } from '../nftables/model.js';
import type { NftTable } from '../nftables/table.js';
import { DEFAULT_RULES_CONFIG, rulesConfigFrom } from '../rules/config.js';
import type { RulesConfig } from '../rules/config.js';
import { renderHostEndpoint } from '../rules/host.js';
import { needsInterfaceAddresses, resolveHostEndpoints } from '../rules/host-resolve.js';
import { CHAIN, ipSetName, MAP_FROM_WL, MAP_TO_WL } from '../rules/names.js';
import { renderProfileChains } from '../rules/profile.js';
import { ALL_VXLAN_SET, emptyMap, renderStaticChains, STATIC_MAPS } from '../rules/static.js';
import { renderWorkloadEndpoint } from '../rules/workload.js';
import { TierChains } from './tier-chains.js';

interface IpSetState {
  readonly type: IpSetType;
  readonly members: Set<string>;
}

function familyOfMember(m: string): 4 | 6 {
  const ip = m.split(/[,/]/)[0] ?? m;
  return ip.includes(':') ? 6 : 4;
}

/** `10.0.0.1,tcp,80` -> `10.0.0.1 . tcp . 80`; CIDRs unchanged. */
function nftElement(type: IpSetType, m: string): string {
  return type === 'ipPort' ? m.split(',').join(' . ') : m;
}

export class PolicyDataplane {
  private readonly table: NftTable;
  private config: RulesConfig = DEFAULT_RULES_CONFIG;
  private readonly ipSets = new Map<string, IpSetState>();
  private readonly policies = new Map<string, PolicyMsg>();
  private readonly profiles = new Map<string, ProfileMsg>();
  private readonly weps = new Map<string, WorkloadEndpointMsg>();
  private readonly heps = new Map<string, HostEndpointMsg>();
  private readonly hepChains = new Map<string, { chains: string[]; entries: [string, string][] }>();
  /** Host interface -> its addresses, for host endpoints matched by expected IPs. */
  private hostAddresses: ReadonlyMap<string, readonly string[]> = new Map();
  /** Node -> VXLAN parent address, for the host's allow-VXLAN-from-nodes rules. */
  private readonly vtepHosts = new Map<string, string>();
  private staticDone = false;
  private readonly tierChains: TierChains;

  constructor(table: NftTable) {
    this.table = table;
    this.tierChains = new TierChains(table, () => this.config.tierDispatchMinRules);
  }

  get workloadEndpoints(): ReadonlyMap<string, WorkloadEndpointMsg> {
    return this.weps;
  }

  get rulesConfig(): RulesConfig {
    return this.config;
  }

  onMessage(msg: DataplaneMessage): void {
    // The static chains and maps exist before anything refers to them.
    if (msg.kind !== 'configUpdate') this.ensureStatic();
    switch (msg.kind) {
      case 'configUpdate':
        this.onConfig(msg.config);
        return;
      // Cluster networking (hosts, pools, VTEPs, routes) is the NetworkDataplane's (managers/network.ts);
      // VTEPs only decide who may send VXLAN to this host.
      case 'vtepUpdate':
        this.onVtep(msg.vtep.node, msg.vtep.parentDeviceIp);
        return;
      case 'vtepRemove':
        this.onVtep(msg.node, undefined);
        return;
      case 'inSync':
      case 'revision':
      case 'hostMetadataUpdate':
      case 'hostMetadataRemove':
      case 'ipPoolUpdate':
      case 'ipPoolRemove':
      case 'routeUpdate':
      case 'routeRemove':
        return;
      case 'ipSetUpdate':
        this.ipSets.set(msg.id, { type: msg.type, members: new Set(msg.members) });
        this.writeSet(msg.id);
        return;
      case 'ipSetDeltaUpdate': {
        this.onDelta(msg.id, msg.added, msg.removed);
        return;
      }
      case 'ipSetRemove':
        this.ipSets.delete(msg.id);
        for (const f of [4, 6] as const) this.table.removeSet(ipSetName(f, msg.id));
        return;
      case 'activePolicyUpdate':
        this.policies.set(msg.id, msg.policy);
        this.tierChains.policyChanged(msg.id, this.policies, this.config);
        return;
      case 'activePolicyRemove':
        this.policies.delete(msg.id);
        this.tierChains.policyChanged(msg.id, this.policies, this.config);
        return;
      case 'activeProfileUpdate':
        this.profiles.set(msg.id, msg.profile);
        for (const c of renderProfileChains(msg.id, msg.profile, this.config))
          this.table.updateChain(c.name, c.rules);
        return;
      case 'activeProfileRemove': {
        const p = this.profiles.get(msg.id);
        this.profiles.delete(msg.id);
        if (p !== undefined)
          for (const c of renderProfileChains(msg.id, p, this.config)) this.table.removeChain(c.name);
        return;
      }
      case 'workloadEndpointUpdate': {
        this.onWorkload(msg.id, msg.endpoint);
        return;
      }
      case 'workloadEndpointRemove': {
        this.onWorkload(msg.id, undefined);
        return;
      }
      case 'hostEndpointUpdate':
        this.heps.set(msg.id, msg.endpoint);
        this.renderHeps();
        return;
      case 'hostEndpointRemove':
        this.heps.delete(msg.id);
        this.renderHeps();
        return;
    }
  }

  /** Static chains and maps; idempotent. Called before the first apply. */
  ensureStatic(): void {
    if (this.staticDone) return;
    this.staticDone = true;
    for (const m of STATIC_MAPS) this.table.updateMap(emptyMap(m));
    this.writeVxlanSet();
    this.renderStatic();
    this.renderHeps();
  }

  private renderStatic(): void {
    for (const c of renderStaticChains(this.config, { vxlan: this.vtepHosts.size > 0 }))
      this.table.updateChain(c.name, c.rules, c.hook !== undefined ? { hook: c.hook } : {});
  }

  private writeVxlanSet(): void {
    const ips = [...new Set(this.vtepHosts.values())].filter((ip) => !ip.includes(':')).sort();
    this.table.updateSet({ name: ALL_VXLAN_SET, type: 'ipv4_addr', interval: false, elements: ips });
  }

  private onVtep(node: string, parentIp: string | undefined): void {
    const before = this.vtepHosts.size > 0;
    if (parentIp === undefined) this.vtepHosts.delete(node);
    else this.vtepHosts.set(node, parentIp);
    this.writeVxlanSet();
    // The rules exist only while VXLAN is in use; membership changes need no chain change.
    if (before !== this.vtepHosts.size > 0) this.renderStatic();
  }

  private onConfig(values: Readonly<Record<string, string>>): void {
    const next = rulesConfigFrom(values);
    if (JSON.stringify(next) === JSON.stringify(this.config)) return;
    this.config = next;
    if (!this.staticDone) return;
    this.renderStatic();
    this.tierChains.rerenderAll(this.policies, this.config);
    for (const [id, p] of this.profiles)
      for (const c of renderProfileChains(id, p, this.config)) this.table.updateChain(c.name, c.rules);
    for (const [id, e] of this.weps) this.onWorkload(id, e);
    this.renderHeps();
  }

  private setSpec(id: string, f: 4 | 6, st: IpSetState): SetSpec {
    const net = st.type === 'net';
    const type = net
      ? f === 4
        ? 'ipv4_addr'
        : 'ipv6_addr'
      : f === 4
        ? 'ipv4_addr . inet_proto . inet_service'
        : 'ipv6_addr . inet_proto . inet_service';
    const elements = [...st.members]
      .filter((m) => familyOfMember(m) === f)
      .map((m) => nftElement(st.type, m));
    return { name: ipSetName(f, id), type, interval: net, elements };
  }

  private writeSet(id: string): void {
    const st = this.ipSets.get(id);
    if (st === undefined) return;
    for (const f of [4, 6] as const) this.table.updateSet(this.setSpec(id, f, st));
  }

  private onDelta(id: string, added: readonly string[], removed: readonly string[]): void {
    const st = this.ipSets.get(id);
    if (st === undefined) return;
    for (const m of removed) st.members.delete(m);
    for (const m of added) st.members.add(m);
    for (const f of [4, 6] as const) {
      const name = ipSetName(f, id);
      const rem = removed.filter((m) => familyOfMember(m) === f).map((m) => nftElement(st.type, m));
      const add = added.filter((m) => familyOfMember(m) === f).map((m) => nftElement(st.type, m));
      if (rem.length > 0) this.table.removeSetMembers(name, rem);
      if (add.length > 0) this.table.addSetMembers(name, add);
    }
  }

  private onWorkload(id: string, ep: WorkloadEndpointMsg | undefined): void {
    const old = this.weps.get(id);
    if (old !== undefined && (ep === undefined || old.interfaceName !== ep.interfaceName)) {
      const r = renderWorkloadEndpoint(old, this.config);
      this.table.removeMapElements(MAP_FROM_WL, [old.interfaceName]);
      this.table.removeMapElements(MAP_TO_WL, [old.interfaceName]);
      for (const c of r.chains) this.table.removeChain(c.name);
    }
    if (ep === undefined) {
      this.weps.delete(id);
      this.tierChains.setUser(`wep:${id}`, [], this.policies, this.config);
      return;
    }
    this.weps.set(id, ep);
    const r = renderWorkloadEndpoint(ep, this.config);
    // Tier chains first, so the endpoint chains never jump to a missing chain.
    this.tierChains.setUser(`wep:${id}`, r.tierChains, this.policies, this.config);
    for (const c of r.chains) this.table.updateChain(c.name, c.rules);
    this.table.updateMapElements(MAP_FROM_WL, [r.fromEntry]);
    this.table.updateMapElements(MAP_TO_WL, [r.toEntry]);
  }

  /** Whether some host endpoint is matched by address: the loop then reads the interfaces' addresses. */
  wantsInterfaceAddresses(): boolean {
    return needsInterfaceAddresses(this.heps);
  }

  /** The host's interfaces and their addresses; host endpoints by expected IP follow them. */
  setInterfaceAddresses(addresses: ReadonlyMap<string, readonly string[]>): void {
    const key = (m: ReadonlyMap<string, readonly string[]>): string =>
      JSON.stringify([...m].sort(([a], [b]) => (a < b ? -1 : 1)));
    if (key(addresses) === key(this.hostAddresses)) return;
    this.hostAddresses = addresses;
    this.renderHeps();
  }

  /** Host endpoints are re-rendered together: the `*` endpoint changes the dispatch chains. */
  private renderHeps(): void {
    if (!this.staticDone) return;
    const wanted = new Map<string, { chains: string[]; entries: [string, string][] }>();
    let anyChains: { in: string; out: string } | undefined;
    const instances = resolveHostEndpoints(this.heps, this.hostAddresses, this.config.interfacePrefixes);
    for (const { key: id, endpoint: ep } of instances) {
      const r = renderHostEndpoint(ep);
      this.tierChains.setUser(`hep:${id}`, r.tierChains, this.policies, this.config);
      for (const c of r.chains) this.table.updateChain(c.name, c.rules);
      const entries: [string, string][] = [];
      for (const [map, key, verdict] of r.entries) {
        if (ep.interfaceName === '*') continue;
        this.table.updateMapElements(map, [[key, verdict]]);
        entries.push([map, key]);
      }
      if (ep.interfaceName === '*') {
        const fh = r.chains[0]?.name;
        const th = r.chains[1]?.name;
        if (fh !== undefined && th !== undefined) anyChains = { in: fh, out: th };
      }
      wanted.set(id, { chains: r.chains.map((c) => c.name), entries });
    }
    for (const [id, old] of this.hepChains) {
      const now = wanted.get(id);
      if (now === undefined) this.tierChains.setUser(`hep:${id}`, [], this.policies, this.config);
      for (const [map, key] of old.entries)
        if (!(now?.entries.some(([m, k]) => m === map && k === key) ?? false))
          this.table.removeMapElements(map, [key]);
      for (const c of old.chains) if (!(now?.chains.includes(c) ?? false)) this.table.removeChain(c);
    }
    this.hepChains.clear();
    for (const [id, v] of wanted) this.hepChains.set(id, v);
    // The `*` host endpoint covers every interface without its own endpoint, except loopback.
    this.table.updateChain(CHAIN.fromHep, [
      'iifname vmap @cali-from-hep-dispatch',
      ...(anyChains !== undefined ? [`iifname != "lo" jump ${anyChains.in}`] : []),
    ]);
    this.table.updateChain(CHAIN.toHep, [
      'oifname vmap @cali-to-hep-dispatch',
      ...(anyChains !== undefined ? [`oifname != "lo" jump ${anyChains.out}`] : []),
    ]);
  }
}
