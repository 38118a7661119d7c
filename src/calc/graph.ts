/**
 * The calculation graph (felix/calc/calc_graph.go), pure and synchronous.
 *
 *   syncer updates ──► InputProcessor ──► model values (policies, profiles, tiers, endpoints, sets, config)
 *                                           │
 *          ┌────────────────────────────────┼─────────────────────────────────┐
 *          ▼                                ▼                                 ▼
 *   local-endpoint index            IP-set member index               policy resolver
 *   (policy selectors vs            (rule selectors vs every          (per local endpoint: tiers,
 *    endpoints on this node)         endpoint and network set)         ordered policies, profiles)
 *          │ active policies/profiles      │ members, deltas                  │ endpoint updates
 *          └──► rule scanner ──► IP sets ──┘                                  │
 *                                           ▼                                 ▼
 *                                      EventSequencer ──► DataplaneMessage[] (dependency order)
 *
 *   Node, IPPool, IPAMBlock, BlockAffinity ──► RouteResolver (routes.ts) ──► hosts, pools, VTEPs, routes
 *
 * Work is proportional to what a change affects: label indexes are keyed by required labels; only the
 * endpoints a change touches are re-resolved. Output depends only on current state, never on history, which
 * is also what lets `replay()` give the whole current output at once (the dataplane's full resync).
 */
import { formatCidr, hostCidr } from '../lib/net/ip.js';
import { policyIdString } from '../model/ids.js';
import { orderPolicies } from '../model/order.js';
import type {
  ModelEndpoint,
  ModelNetworkSet,
  ModelPolicy,
  ModelProfile,
  ModelRule,
  ModelTier,
} from '../model/types.js';
import { InputProcessor } from './inputs.js';
import type { ModelSink, ResourceUpdate } from './inputs.js';
import { IpSetIndex } from './ipsets.js';
import { DomainSetIndex, type DomainSetSpec } from './domain-sets.js';
import type { IpSetSpec } from './ipsets.js';
import { LabelIndex } from './label-index.js';
import type {
  DataplaneMessage,
  HostEndpointMsg,
  PolicyMsg,
  ProfileMsg,
  TierInfo,
  WorkloadEndpointMsg,
} from './messages.js';
import type { AffinityInfo, BlockInfo, NodeInfo, PoolInfo } from './network-model.js';
import { RouteResolver } from './routes.js';
import { egressDomainSelector, scanRules } from './rule-scanner.js';
import { NetworkSetDomainIndex } from './netset-domains.js';
import { EventSequencer } from './sequencer.js';
import { type ConfigInputs, FelixConfigInput } from './felix-config.js';

/** The FelixConfiguration name prefix of host-specific configuration: `node.<host>`. */
const HOST_CONFIG_PREFIX = 'node.';

export interface CalcStats {
  readonly activeLocalEndpoints: number;
  readonly activeLocalPolicies: number;
  readonly activeLocalSelectors: number;
  readonly clusterHosts: number;
  readonly clusterWorkloadEndpoints: number;
  readonly clusterHostEndpoints: number;
  readonly clusterPolicies: number;
  readonly clusterProfiles: number;
  readonly clusterTiers: number;
}

interface Active<T> {
  readonly ipSets: ReadonlySet<string>;
  readonly domainSets: ReadonlySet<string>;
  readonly json: string;
  readonly msg: T;
}

export class CalcGraph implements ModelSink {
  private readonly hostname: string;
  private readonly inputs: InputProcessor;
  private readonly seq = new EventSequencer();
  private readonly ipsets = new IpSetIndex(this.seq);
  private readonly domainSets = new DomainSetIndex(this.seq);
  /** Network sets' allowedEgressDomains per egress Allow destination selector; owners `p:<policy id>`, `r:<profile>`. */
  private readonly netsetDomains = new NetworkSetDomainIndex({
    onSelectorDomainsChanged: (owners) => {
      for (const o of owners) {
        if (o.startsWith('p:')) this.refreshPolicy(o.slice(2));
        else this.refreshProfile(o.slice(2));
      }
    },
  });
  private readonly routes: RouteResolver;
  private readonly localIndex: LabelIndex;
  private readonly policies = new Map<string, ModelPolicy>();
  private readonly profiles = new Map<string, ModelProfile>();
  private readonly tiers = new Map<string, ModelTier>();
  private readonly endpoints = new Map<string, ModelEndpoint>();
  /** Hosts known from their Node, or from a `node.<host>` FelixConfiguration with a field set (Felix's stats). */
  private readonly knownNodes = new Set<string>();
  private readonly hostConfigs = new Set<string>();
  private readonly local = new Set<string>();
  private readonly activePolicies = new Map<string, Active<PolicyMsg>>();
  private readonly activeProfiles = new Map<string, Active<ProfileMsg>>();
  private readonly profileRefs = new Map<string, number>();
  private readonly dirty = new Set<string>();
  private readonly sentEndpoints = new Map<
    string,
    { readonly json: string; readonly msg: WorkloadEndpointMsg | HostEndpointMsg }
  >();
  private readonly config: FelixConfigInput;
  private configDirty = false;
  private configSent = false;
  private lastRevision: number | undefined;
  private inSync = false;

  /** `config`: the layers around the datastore's FelixConfigurations (FELIX_* environment values win). */
  constructor(hostname: string, config: ConfigInputs = {}) {
    this.hostname = hostname;
    this.config = new FelixConfigInput(hostname, config);
    this.inputs = new InputProcessor(this);
    this.routes = new RouteResolver(hostname, this.seq);
    this.localIndex = new LabelIndex({
      onMatchStarted: (policyId, epId) => {
        this.dirty.add(epId);
        this.refreshPolicy(policyId);
      },
      onMatchStopped: (policyId, epId) => {
        this.dirty.add(epId);
        this.refreshPolicy(policyId);
      },
    });
    // The model values that exist before any update (built-in tiers, the default-allow profile).
    this.inputs.start();
  }

  onUpdates(updates: readonly ResourceUpdate[]): void {
    for (const u of updates) {
      this.inputs.process(u);
      this.seq.onRevision(u.revision);
      this.lastRevision = Math.max(this.lastRevision ?? 0, u.revision);
    }
  }

  onInSync(): void {
    this.configDirty = true;
    this.inSync = true;
    this.seq.onInSync();
  }

  /**
   * Everything the dataplane must hear to be in the state the graph's output has put it in, as if it knew
   * nothing (its full resync after a failure): the configuration, every active IP set, domain set, policy
   * and profile,
   * every local endpoint, the cluster networking, the revision and InSync, in the sequencer's dependency
   * order. Pending work is flushed first; its messages are part of what is replayed.
   */
  replay(): DataplaneMessage[] {
    this.flush();
    const seq = new EventSequencer();
    seq.onConfig(this.config.resolve());
    this.ipsets.replay(seq);
    this.domainSets.replay(seq);
    for (const [id, a] of this.activePolicies) seq.onPolicy(id, a.msg);
    for (const [id, a] of this.activeProfiles) seq.onProfile(id, a.msg);
    for (const [id, { msg }] of this.sentEndpoints) {
      if (id.startsWith('wep/')) seq.onWorkloadEndpoint(id, msg as WorkloadEndpointMsg);
      else seq.onHostEndpoint(id, msg as HostEndpointMsg);
    }
    this.routes.replay(seq);
    if (this.lastRevision !== undefined) seq.onRevision(this.lastRevision);
    if (this.inSync) seq.onInSync();
    return seq.flush();
  }

  /** Resolves dirty endpoints and returns everything the dataplane must hear, in dependency order. */
  flush(): DataplaneMessage[] {
    if (this.configDirty) {
      // The first configuration always goes out; later ones only when something changed.
      const update = this.config.flush(!this.configSent);
      if (update !== undefined) this.seq.onConfig(update);
      this.configSent = true;
      this.configDirty = false;
    }
    for (const id of this.dirty) this.resolveEndpoint(id);
    this.dirty.clear();
    this.routes.flush();
    return this.seq.flush();
  }

  /**
   * Felix's StatsCollector counts: hosts are every host with a Node, a workload or host endpoint, or
   * host-specific configuration.
   */
  stats(): CalcStats {
    const hosts = new Set<string>([...this.knownNodes, ...this.hostConfigs]);
    let weps = 0;
    let heps = 0;
    for (const e of this.endpoints.values()) {
      hosts.add(e.node);
      if (e.key.kind === 'wep') weps++;
      else heps++;
    }
    return {
      activeLocalEndpoints: this.local.size,
      activeLocalPolicies: this.activePolicies.size,
      activeLocalSelectors: this.ipsets.activeSetCount,
      clusterHosts: hosts.size,
      clusterWorkloadEndpoints: weps,
      clusterHostEndpoints: heps,
      clusterPolicies: this.policies.size,
      clusterProfiles: this.profiles.size,
      clusterTiers: this.tiers.size,
    };
  }

  // ── ModelSink ────────────────────────────────────────────────────────────────────────────────

  policy(id: string, p: ModelPolicy | undefined): void {
    const old = this.policies.get(id);
    for (const ep of this.localIndex.matchingHolders(id)) this.dirty.add(ep);
    if (p === undefined || p.staged) {
      this.policies.delete(id);
      if (old !== undefined) this.localIndex.deleteSelector(id);
    } else {
      this.policies.set(id, p);
      this.localIndex.updateSelector(id, p.selector);
      for (const ep of this.localIndex.matchingHolders(id)) this.dirty.add(ep);
    }
    this.refreshPolicy(id);
  }

  profile(name: string, p: ModelProfile | undefined): void {
    const existed = this.profiles.has(name);
    if (p === undefined) this.profiles.delete(name);
    else this.profiles.set(name, p);
    this.ipsets.updateParent(name, p?.labelsToApply);
    this.netsetDomains.updateParent(name, p?.labelsToApply);
    this.localIndex.updateParent(name, p?.labelsToApply);
    this.refreshProfile(name);
    if (existed !== (p !== undefined)) {
      for (const id of this.local)
        if (this.endpoints.get(id)?.profiles.includes(name) === true) this.dirty.add(id);
    }
  }

  tier(name: string, t: ModelTier | undefined): void {
    if (t === undefined) this.tiers.delete(name);
    else this.tiers.set(name, t);
    for (const id of this.local) this.dirty.add(id);
    for (const [pid, p] of this.policies) if (p.tier === name) this.refreshPolicy(pid, true);
  }

  endpoint(id: string, e: ModelEndpoint | undefined): void {
    const old = this.endpoints.get(id);
    if (e === undefined) {
      this.endpoints.delete(id);
      this.ipsets.deleteHolder(id);
    } else {
      this.endpoints.set(id, e);
      const nets = e.ips.map((ip) => formatCidr(hostCidr(ip)));
      this.ipsets.updateHolder(id, e.labels, e.profiles, { nets, ports: e.ports });
    }
    const isLocal = e !== undefined && e.node === this.hostname;
    if (this.local.has(id) && old !== undefined) this.adjustProfileRefs(old.profiles, -1);
    if (isLocal) {
      this.local.add(id);
      this.adjustProfileRefs(e.profiles, 1);
      this.localIndex.updateHolder(id, e.labels, e.profiles);
    } else if (this.local.delete(id)) {
      this.localIndex.deleteHolder(id);
    }
    this.dirty.add(id);
  }

  networkSet(id: string, s: ModelNetworkSet | undefined): void {
    if (s === undefined) this.ipsets.deleteHolder(id);
    else this.ipsets.updateHolder(id, s.labels, s.profiles, { nets: s.nets.map(formatCidr), ports: [] });
    if (s === undefined) this.netsetDomains.deleteNetworkSet(id);
    else this.netsetDomains.updateNetworkSet(id, s.labels, s.profiles, s.allowedEgressDomains);
  }

  felixConfig(name: string, spec: Readonly<Record<string, unknown>> | undefined): void {
    if (this.config.onResource(name, spec)) this.configDirty = true;
    if (name.startsWith(HOST_CONFIG_PREFIX)) {
      // Felix turns each field of a node's configuration into a host-specific key; no field, no key.
      const host = name.slice(HOST_CONFIG_PREFIX.length);
      const fields = spec === undefined ? [] : Object.values(spec).filter((v) => v !== undefined);
      if (fields.length > 0) this.hostConfigs.add(host);
      else this.hostConfigs.delete(host);
    }
  }

  node(name: string, n: NodeInfo | undefined): void {
    if (n === undefined) this.knownNodes.delete(name);
    else this.knownNodes.add(name);
    this.routes.node(name, n);
  }

  ipPool(name: string, p: PoolInfo | undefined): void {
    this.routes.ipPool(name, p);
  }

  ipamBlock(name: string, b: BlockInfo | undefined): void {
    this.routes.ipamBlock(name, b);
  }

  blockAffinity(name: string, a: AffinityInfo | undefined): void {
    this.routes.blockAffinity(name, a);
  }

  // ── internals ────────────────────────────────────────────────────────────────────────────────

  private adjustProfileRefs(names: readonly string[], delta: number): void {
    for (const n of names) {
      const c = (this.profileRefs.get(n) ?? 0) + delta;
      if (c <= 0) this.profileRefs.delete(n);
      else this.profileRefs.set(n, c);
      this.refreshProfile(n);
    }
  }

  private acquireAll(
    sets: ReadonlyMap<string, IpSetSpec>,
    domains: ReadonlyMap<string, DomainSetSpec>,
  ): void {
    for (const spec of sets.values()) this.ipsets.acquire(spec);
    for (const spec of domains.values()) this.domainSets.acquire(spec);
  }

  private releaseAll(active: Active<unknown>): void {
    for (const id of active.ipSets) this.ipsets.release(id);
    for (const id of active.domainSets) this.domainSets.release(id);
  }

  /**
   * Scans an active policy's or profile's rules; its egress Allow destination selectors are watched for
   * network sets' allowedEgressDomains, whose current union the egress rules name as a domain set.
   */
  private scan(
    owner: string,
    inboundRules: readonly ModelRule[],
    outboundRules: readonly ModelRule[],
  ): {
    inbound: ReturnType<typeof scanRules>;
    outbound: ReturnType<typeof scanRules>;
    sets: Map<string, IpSetSpec>;
    domains: Map<string, DomainSetSpec>;
  } {
    const watched = outboundRules.flatMap((r) => egressDomainSelector(r, 'outbound') ?? []);
    this.netsetDomains.setWatches(owner, watched);
    const inbound = scanRules(inboundRules);
    const outbound = scanRules(outboundRules, {
      dir: 'outbound',
      selectorDomains: (sel) => this.netsetDomains.domainsOf(sel.uniqueId),
    });
    return {
      inbound,
      outbound,
      sets: new Map([...inbound.ipSets, ...outbound.ipSets]),
      domains: new Map([...inbound.domainSets, ...outbound.domainSets]),
    };
  }

  /** Activates, updates or deactivates a policy according to whether it selects any local endpoint. */
  private refreshPolicy(id: string, force = false): void {
    const p = this.policies.get(id);
    const active = this.activePolicies.get(id);
    const shouldBeActive = p !== undefined && this.localIndex.matchingHolders(id).size > 0;
    if (!shouldBeActive) {
      this.netsetDomains.setWatches(`p:${id}`, []);
      if (active !== undefined) {
        this.activePolicies.delete(id);
        this.seq.onPolicy(id, null);
        this.releaseAll(active);
      }
      return;
    }
    const { inbound, outbound, sets, domains } = this.scan(`p:${id}`, p.inbound, p.outbound);
    const msg: PolicyMsg = {
      tier: p.tier,
      inboundRules: inbound.msgs,
      outboundRules: outbound.msgs,
      untracked: p.doNotTrack,
      preDnat: p.preDNAT,
      applyOnForward: p.applyOnForward,
    };
    const json = JSON.stringify(msg);
    if (active !== undefined && active.json === json && !force) return;
    this.acquireAll(sets, domains);
    if (active !== undefined) this.releaseAll(active);
    this.activePolicies.set(id, {
      ipSets: new Set(sets.keys()),
      domainSets: new Set(domains.keys()),
      json,
      msg,
    });
    this.seq.onPolicy(id, msg);
  }

  private refreshProfile(name: string): void {
    const p = this.profiles.get(name);
    const active = this.activeProfiles.get(name);
    if (p === undefined || !this.profileRefs.has(name)) {
      this.netsetDomains.setWatches(`r:${name}`, []);
      if (active !== undefined) {
        this.activeProfiles.delete(name);
        this.seq.onProfile(name, null);
        this.releaseAll(active);
      }
      return;
    }
    const { inbound, outbound, sets, domains } = this.scan(`r:${name}`, p.inbound, p.outbound);
    const msg: ProfileMsg = { inboundRules: inbound.msgs, outboundRules: outbound.msgs };
    const json = JSON.stringify(msg);
    if (active?.json === json) return;
    this.acquireAll(sets, domains);
    if (active !== undefined) this.releaseAll(active);
    this.activeProfiles.set(name, {
      ipSets: new Set(sets.keys()),
      domainSets: new Set(domains.keys()),
      json,
      msg,
    });
    this.seq.onProfile(name, msg);
  }

  private tiersFor(epId: string, filter: (p: ModelPolicy) => boolean): TierInfo[] {
    const matched: ModelPolicy[] = [];
    for (const pid of this.localIndex.matchingSelectors(epId)) {
      const p = this.policies.get(pid);
      if (p !== undefined && filter(p)) matched.push(p);
    }
    return orderPolicies(matched, this.tiers).map((plan) => ({
      name: plan.tier.name,
      defaultAction: plan.tier.defaultAction,
      ingressPolicies: plan.policies.filter((p) => p.ingress).map((p) => policyIdString(p.key)),
      egressPolicies: plan.policies.filter((p) => p.egress).map((p) => policyIdString(p.key)),
    }));
  }

  private resolveEndpoint(id: string): void {
    const e = this.endpoints.get(id);
    const isWep = id.startsWith('wep/');
    if (e === undefined || !this.local.has(id)) {
      if (this.sentEndpoints.delete(id)) {
        if (isWep) this.seq.onWorkloadEndpoint(id, null);
        else this.seq.onHostEndpoint(id, null);
      }
      return;
    }
    const profileIds = e.profiles.filter((n) => this.profiles.has(n));
    const v4 = e.ips.filter((ip) => ip.family === 4).map((ip) => formatCidr(hostCidr(ip)));
    const v6 = e.ips.filter((ip) => ip.family === 6).map((ip) => formatCidr(hostCidr(ip)));
    let msg: WorkloadEndpointMsg | HostEndpointMsg;
    if (e.key.kind === 'wep') {
      msg = {
        namespace: e.key.namespace,
        name: e.key.name,
        display: e.display,
        interfaceName: e.interfaceName,
        ipv4Nets: v4,
        ipv6Nets: v6,
        tiers: this.tiersFor(id, (p) => !p.doNotTrack && !p.preDNAT),
        profileIds,
      };
    } else {
      msg = {
        name: e.key.name,
        interfaceName: e.interfaceName,
        expectedIpv4Addrs: v4.map((n) => n.split('/')[0] ?? n),
        expectedIpv6Addrs: v6.map((n) => n.split('/')[0] ?? n),
        tiers: this.tiersFor(id, (p) => !p.doNotTrack && !p.preDNAT),
        untrackedTiers: this.tiersFor(id, (p) => p.doNotTrack),
        preDnatTiers: this.tiersFor(id, (p) => p.preDNAT),
        forwardTiers: this.tiersFor(id, (p) => p.applyOnForward && !p.doNotTrack && !p.preDNAT),
        profileIds,
      };
    }
    const json = JSON.stringify(msg);
    if (this.sentEndpoints.get(id)?.json === json) return;
    this.sentEndpoints.set(id, { json, msg });
    if (e.key.kind === 'wep') this.seq.onWorkloadEndpoint(id, msg as WorkloadEndpointMsg);
    else this.seq.onHostEndpoint(id, msg as HostEndpointMsg);
  }
}
