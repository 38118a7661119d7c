/**
 * Test support for the calc graph: a sink that rebuilds the dataplane's view from the message stream and
 * checks the sequencer's contract on the way (Felix's mock dataplane): no duplicate IP-set creation without a
 * removal, deltas only for existing sets, policies only reference sent IP sets, endpoints only reference
 * sent policies and profiles, removals only of things that exist.
 */
import type {
  DataplaneMessage,
  HostEndpointMsg,
  PolicyMsg,
  ProfileMsg,
  RuleMsg,
  WorkloadEndpointMsg,
} from './messages.js';

export interface DataplaneView {
  readonly ipSets: Map<string, Set<string>>;
  readonly policies: Map<string, PolicyMsg>;
  readonly profiles: Map<string, ProfileMsg>;
  readonly weps: Map<string, WorkloadEndpointMsg>;
  readonly heps: Map<string, HostEndpointMsg>;
  config: Readonly<Record<string, string>> | undefined;
  inSync: boolean;
  revision: number;
}

export function emptyView(): DataplaneView {
  return {
    ipSets: new Map(),
    policies: new Map(),
    profiles: new Map(),
    weps: new Map(),
    heps: new Map(),
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
    }
    for (const [id, p] of this.view.profiles) {
      for (const s of [...ruleSets(p.inboundRules), ...ruleSets(p.outboundRules)])
        this.check(this.view.ipSets.has(s), `profile ${id} uses unsent IP set ${s}`);
    }
    for (const [id, e] of [...this.view.weps, ...this.view.heps]) {
      for (const t of e.tiers)
        for (const p of [...t.ingressPolicies, ...t.egressPolicies])
          this.check(this.view.policies.has(p), `endpoint ${id} uses unsent policy ${p}`);
      for (const p of e.profileIds)
        this.check(this.view.profiles.has(p), `endpoint ${id} uses unsent profile ${p}`);
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
    }
  }
}

/** A comparable form of a view (sets sorted). */
export function normaliseView(v: DataplaneView): unknown {
  const sorted = <T>(m: Map<string, T>): [string, T][] =>
    [...m.entries()].sort(([a], [b]) => (a < b ? -1 : 1));
  return {
    ipSets: sorted(v.ipSets).map(([k, s]) => [k, [...s].sort()]),
    policies: sorted(v.policies),
    profiles: sorted(v.profiles),
    weps: sorted(v.weps),
    heps: sorted(v.heps),
  };
}
