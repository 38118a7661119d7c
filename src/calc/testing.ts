/**
 * Test support for the calc graph: a sink that rebuilds the dataplane's view from the message stream and
 * checks the sequencer's contract on the way (Felix's mock dataplane): no duplicate IP-set creation without a
 * removal, deltas only for existing sets, policies only reference sent IP sets, endpoints only reference
 * sent policies and profiles, removals only of things that exist; a VXLAN route only through a VTEP that
 * was sent, with the address the route uses.
 */
import type { FelixConfig } from '../api/v3/felix-config-params.js';
import type {
  DataplaneMessage,
  HostEndpointMsg,
  HostMetadataMsg,
  IpPoolMsg,
  PolicyMsg,
  ProfileMsg,
  RouteMsg,
  RuleMsg,
  VtepMsg,
  WorkloadEndpointMsg,
} from './messages.js';

export interface DataplaneView {
  readonly ipSets: Map<string, Set<string>>;
  readonly domainSets: Map<string, readonly string[]>;
  readonly policies: Map<string, PolicyMsg>;
  readonly profiles: Map<string, ProfileMsg>;
  readonly weps: Map<string, WorkloadEndpointMsg>;
  readonly heps: Map<string, HostEndpointMsg>;
  readonly hosts: Map<string, HostMetadataMsg>;
  readonly pools: Map<string, IpPoolMsg>;
  readonly vteps: Map<string, VtepMsg>;
  readonly routes: Map<string, RouteMsg>;
  config: FelixConfig | undefined;
  inSync: boolean;
  revision: number;
}

export function emptyView(): DataplaneView {
  return {
    ipSets: new Map(),
    domainSets: new Map(),
    policies: new Map(),
    profiles: new Map(),
    weps: new Map(),
    heps: new Map(),
    hosts: new Map(),
    pools: new Map(),
    vteps: new Map(),
    routes: new Map(),
    config: undefined,
    inSync: false,
    revision: 0,
  };
}

function ruleSets(rules: readonly RuleMsg[]): string[] {
  return rules.flatMap((r) => [
    ...r.srcIpSetIds,
    ...r.notSrcIpSetIds,
    ...r.srcNamedPortIpSetIds,
    ...r.notSrcNamedPortIpSetIds,
    ...r.dstIpSetIds,
    ...r.notDstIpSetIds,
    ...r.dstNamedPortIpSetIds,
    ...r.notDstNamedPortIpSetIds,
  ]);
}

function ruleDomainSets(rules: readonly RuleMsg[]): string[] {
  return rules.flatMap((r) => [r.dstDomainSetId ?? [], r.dstSelectorDomainSetId ?? []].flat());
}

export class RecordingSink {
  readonly view = emptyView();
  readonly violations: string[] = [];

  private check(ok: boolean, what: string): void {
    if (!ok) this.violations.push(what);
  }

  apply(msgs: readonly DataplaneMessage[]): void {
    for (const m of msgs) this.one(m);
    // After a flush, every reference must resolve.
    for (const [id, p] of this.view.policies) {
      for (const s of [...ruleSets(p.inboundRules), ...ruleSets(p.outboundRules)])
        this.check(this.view.ipSets.has(s), `policy ${id} uses unsent IP set ${s}`);
      for (const d of ruleDomainSets([...p.inboundRules, ...p.outboundRules]))
        this.check(this.view.domainSets.has(d), `policy ${id} uses unsent domain set ${d}`);
    }
    for (const [id, p] of this.view.profiles) {
      for (const s of [...ruleSets(p.inboundRules), ...ruleSets(p.outboundRules)])
        this.check(this.view.ipSets.has(s), `profile ${id} uses unsent IP set ${s}`);
      for (const d of ruleDomainSets([...p.inboundRules, ...p.outboundRules]))
        this.check(this.view.domainSets.has(d), `profile ${id} uses unsent domain set ${d}`);
    }
    for (const [id, e] of [...this.view.weps, ...this.view.heps]) {
      for (const t of e.tiers)
        for (const p of [...t.ingressPolicies, ...t.egressPolicies])
          this.check(this.view.policies.has(p), `endpoint ${id} uses unsent policy ${p}`);
      for (const p of e.profileIds)
        this.check(this.view.profiles.has(p), `endpoint ${id} uses unsent profile ${p}`);
    }
    for (const [dst, r] of this.view.routes) {
      if (r.encap !== 'vxlan') continue;
      const vtep = this.view.vteps.get(r.dstNode);
      this.check(
        vtep !== undefined && vtep.ipv4Addr === r.vtepAddr,
        `VXLAN route ${dst} uses VTEP ${r.vtepAddr ?? '?'} of ${r.dstNode}, which was not sent`,
      );
    }
  }

  private one(m: DataplaneMessage): void {
    const v = this.view;
    switch (m.kind) {
      case 'configUpdate':
        v.config = m.config;
        return;
      case 'inSync':
        v.inSync = true;
        return;
      case 'revision':
        this.check(m.revision >= v.revision, `revision went back from ${v.revision} to ${m.revision}`);
        v.revision = m.revision;
        return;
      case 'ipSetUpdate':
        v.ipSets.set(m.id, new Set(m.members));
        return;
      case 'ipSetDeltaUpdate': {
        const s = v.ipSets.get(m.id);
        this.check(s !== undefined, `delta for unknown IP set ${m.id}`);
        for (const x of m.removed) {
          this.check(s?.has(x) === true, `delta removes absent member ${x} of ${m.id}`);
          s?.delete(x);
        }
        for (const x of m.added) {
          this.check(s?.has(x) !== true, `delta adds present member ${x} of ${m.id}`);
          s?.add(x);
        }
        return;
      }
      case 'ipSetRemove':
        this.check(v.ipSets.delete(m.id), `removal of unknown IP set ${m.id}`);
        return;
      case 'domainSetUpdate':
        v.domainSets.set(m.id, m.domains);
        return;
      case 'domainSetRemove':
        this.check(v.domainSets.delete(m.id), `removal of unknown domain set ${m.id}`);
        return;
      case 'activePolicyUpdate':
        v.policies.set(m.id, m.policy);
        return;
      case 'activePolicyRemove':
        v.policies.delete(m.id);
        return;
      case 'activeProfileUpdate':
        v.profiles.set(m.id, m.profile);
        return;
      case 'activeProfileRemove':
        v.profiles.delete(m.id);
        return;
      case 'workloadEndpointUpdate':
        v.weps.set(m.id, m.endpoint);
        return;
      case 'workloadEndpointRemove':
        v.weps.delete(m.id);
        return;
      case 'hostEndpointUpdate':
        v.heps.set(m.id, m.endpoint);
        return;
      case 'hostEndpointRemove':
        v.heps.delete(m.id);
        return;
      case 'hostMetadataUpdate':
        v.hosts.set(m.hostname, m.metadata);
        return;
      case 'hostMetadataRemove':
        this.check(v.hosts.delete(m.hostname), `removal of unknown host ${m.hostname}`);
        return;
      case 'ipPoolUpdate':
        v.pools.set(m.id, m.pool);
        return;
      case 'ipPoolRemove':
        this.check(v.pools.delete(m.id), `removal of unknown pool ${m.id}`);
        return;
      case 'vtepUpdate':
        v.vteps.set(m.vtep.node, m.vtep);
        return;
      case 'vtepRemove':
        this.check(v.vteps.delete(m.node), `removal of unknown VTEP ${m.node}`);
        for (const r of v.routes.values())
          this.check(
            r.encap !== 'vxlan' || r.dstNode !== m.node,
            `VTEP ${m.node} removed while ${r.dst} uses it`,
          );
        return;
      case 'routeUpdate':
        if (m.route.encap === 'vxlan') {
          this.check(
            v.vteps.has(m.route.dstNode),
            `route ${m.route.dst} sent before the VTEP of ${m.route.dstNode}`,
          );
        }
        v.routes.set(m.route.dst, m.route);
        return;
      case 'routeRemove':
        this.check(v.routes.delete(m.dst), `removal of unknown route ${m.dst}`);
        return;
    }
  }
}

/** A comparable form of a view (sets sorted). */
export function normaliseView(v: DataplaneView): unknown {
  const sorted = <T>(m: Map<string, T>): [string, T][] =>
    [...m.entries()].sort(([a], [b]) => (a < b ? -1 : 1));
  return {
    ipSets: sorted(v.ipSets).map(([k, s]) => [k, [...s].sort()]),
    domainSets: sorted(v.domainSets),
    policies: sorted(v.policies),
    profiles: sorted(v.profiles),
    weps: sorted(v.weps),
    heps: sorted(v.heps),
    hosts: sorted(v.hosts),
    pools: sorted(v.pools),
    vteps: sorted(v.vteps),
    routes: sorted(v.routes),
  };
}

const CALICO = 'projectcalico.org/v3';

/** A Node resource: `ip` with prefix (`10.0.1.1/24`), optional VXLAN tunnel address. */
export function nodeResource(name: string, ip: string, vxlanAddr?: string): unknown {
  return {
    apiVersion: CALICO,
    kind: 'Node',
    metadata: { name },
    spec: {
      bgp: { ipv4Address: ip },
      ...(vxlanAddr !== undefined ? { ipv4VXLANTunnelAddr: vxlanAddr } : {}),
    },
  };
}

export function poolResource(
  name: string,
  cidr: string,
  opts: { vxlanMode?: string; ipipMode?: string; natOutgoing?: boolean } = {},
): unknown {
  return { apiVersion: CALICO, kind: 'IPPool', metadata: { name }, spec: { cidr, ...opts } };
}

/** An IPv4 /26 IPAMBlock affine to `host` (or to nobody), with `[ordinal, node]` allocations. */
export function blockResource(
  cidr: string,
  host: string | undefined,
  allocations: readonly (readonly [number, string])[],
): unknown {
  const size = 64;
  const allocs = new Array<number | null>(size).fill(null);
  const attributes = allocations.map(([ordinal, node], i) => {
    allocs[ordinal] = i;
    return { handle_id: `h-${node}-${ordinal}`, secondary: { node } };
  });
  return {
    apiVersion: CALICO,
    kind: 'IPAMBlock',
    metadata: { name: cidr.replaceAll('.', '-').replace('/', '-') },
    spec: {
      cidr,
      ...(host !== undefined ? { affinity: `host:${host}` } : {}),
      allocations: allocs,
      unallocated: allocs.flatMap((a, i) => (a === null ? [i] : [])),
      attributes,
      sequenceNumber: 1,
    },
  };
}

export function affinityResource(node: string, cidr: string, state: string): unknown {
  return {
    apiVersion: CALICO,
    kind: 'BlockAffinity',
    metadata: { name: `${node}-${cidr.replaceAll('.', '-').replace('/', '-')}` },
    spec: { state, node, type: 'host', cidr, deleted: false },
  };
}

/** A rule that matches everything (every list empty): tests spread it and set what they need. */
export const EMPTY_RULE: RuleMsg = {
  action: 'allow',
  index: 0,
  srcNets: [],
  notSrcNets: [],
  srcPorts: [],
  notSrcPorts: [],
  srcIpSetIds: [],
  notSrcIpSetIds: [],
  srcNamedPortIpSetIds: [],
  notSrcNamedPortIpSetIds: [],
  dstNets: [],
  notDstNets: [],
  dstPorts: [],
  notDstPorts: [],
  dstIpSetIds: [],
  notDstIpSetIds: [],
  dstNamedPortIpSetIds: [],
  notDstNamedPortIpSetIds: [],
};
