/**
 * IP-set membership (Felix's IP-set member index): each active IP set is a selector set (the CIDRs of
 * every matching endpoint and network set) or a named-port set (`ip,proto,port` of every matching endpoint
 * that has a port of that name and protocol). Members are reference-counted because several holders may
 * contribute the same member; the index records per-set deltas for the sequencer.
 */
import { createHash } from 'node:crypto';
import type { Selector } from '../api/selector/index.js';
import { namedPortProtocolMatches } from '../model/rules.js';
import { LabelIndex } from './label-index.js';
import type { IpSetType } from './messages.js';

export interface HolderData {
  /** CIDRs (`10.0.0.1/32`, `10.1.0.0/16`, `fd00::1/128`). */
  readonly nets: readonly string[];
  /** Named ports (endpoints only). */
  readonly ports: readonly { readonly name: string; readonly protocol: number; readonly port: number }[];
}

export interface IpSetSpec {
  readonly id: string;
  readonly type: IpSetType;
  readonly selector: Selector;
  readonly namedPort?: { readonly name: string; readonly protocol: number };
}

const PROTO_NAMES: Readonly<Record<number, string>> = { 6: 'tcp', 17: 'udp', 132: 'sctp', 255: 'any' };

export function protocolName(p: number): string {
  return PROTO_NAMES[p] ?? String(p);
}

/** Felix's IP-set ids: `s:<selector uid>` and `n:` + base64url(SHA-224("n:" + uid + "," + proto + "," + port)). */
export function selectorIpSetId(sel: Selector): string {
  return sel.uniqueId;
}

export function namedPortIpSetId(sel: Selector, protocol: number, port: string): string {
  const h = createHash('sha224')
    .update(`n:${sel.uniqueId},${protocolName(protocol)},${port}`)
    .digest('base64url');
  return `n:${h}`;
}

export interface IpSetDelta {
  readonly added: Set<string>;
  readonly removed: Set<string>;
}

interface SetState {
  readonly spec: IpSetSpec;
  readonly members: Map<string, number>;
  readonly contrib: Map<string, readonly string[]>;
  refs: number;
}

export interface IpSetListener {
  onIpSetAdded(id: string, type: IpSetType, members: readonly string[]): void;
  onIpSetRemoved(id: string): void;
  onMembersChanged(id: string, added: readonly string[], removed: readonly string[]): void;
}

const QUIET = { onMembersChanged: (): void => undefined };

export class IpSetIndex {
  private readonly sets = new Map<string, SetState>();
  private readonly setsBySelector = new Map<string, Set<string>>();
  private readonly holders = new Map<string, HolderData>();
  private readonly labels: LabelIndex;
  private readonly listener: IpSetListener;
  private quietMembers = false;

  constructor(listener: IpSetListener) {
    this.listener = listener;
    this.labels = new LabelIndex({
      onMatchStarted: (sel, holder) => {
        this.refreshHolderInSets(sel, holder);
      },
      onMatchStopped: (sel, holder) => {
        for (const id of this.setsBySelector.get(sel) ?? []) this.setContrib(id, holder, []);
      },
    });
  }

  get activeSetCount(): number {
    return this.sets.size;
  }

  get selectorEvaluations(): number {
    return this.labels.evaluations;
  }

  private contributionOf(spec: IpSetSpec, h: HolderData): string[] {
    if (spec.namedPort === undefined) return [...h.nets];
    const np = spec.namedPort;
    const out: string[] = [];
    for (const p of h.ports) {
      if (p.name !== np.name || !namedPortProtocolMatches(np.protocol, p.protocol)) continue;
      for (const net of h.nets) {
        const ip = net.split('/')[0] ?? net;
        out.push(`${ip},${protocolName(p.protocol)},${p.port}`);
      }
    }
    return out;
  }

  private setContrib(id: string, holder: string, members: readonly string[]): void {
    const st = this.sets.get(id);
    if (st === undefined) return;
    const old = st.contrib.get(holder) ?? [];
    if (old.length === members.length && old.every((m, i) => m === members[i])) return;
    const added: string[] = [];
    const removed: string[] = [];
    for (const m of members) {
      const n = st.members.get(m) ?? 0;
      st.members.set(m, n + 1);
      if (n === 0) added.push(m);
    }
    for (const m of old) {
      const n = (st.members.get(m) ?? 1) - 1;
      if (n === 0) {
        st.members.delete(m);
        removed.push(m);
      } else st.members.set(m, n);
    }
    if (members.length === 0) st.contrib.delete(holder);
    else st.contrib.set(holder, members);
    // A member removed by one holder and added by another in the same step nets out.
    const addedSet = new Set(added.filter((m) => !removed.includes(m)));
    const removedSet = removed.filter((m) => !added.includes(m));
    if (addedSet.size > 0 || removedSet.length > 0) {
      (this.quietMembers ? QUIET : this.listener).onMembersChanged(id, [...addedSet], removedSet);
    }
  }

  private refreshHolderInSets(sel: string, holder: string): void {
    const h = this.holders.get(holder);
    for (const id of this.setsBySelector.get(sel) ?? []) {
      const st = this.sets.get(id);
      if (st !== undefined && h !== undefined) this.setContrib(id, holder, this.contributionOf(st.spec, h));
    }
  }

  updateHolder(
    id: string,
    labels: Readonly<Record<string, string>>,
    parents: readonly string[],
    data: HolderData,
  ): void {
    this.holders.set(id, data);
    this.labels.updateHolder(id, labels, parents);
    // Addresses or ports may have changed without any match changing.
    for (const sel of this.labels.matchingSelectors(id)) this.refreshHolderInSets(sel, id);
  }

  deleteHolder(id: string): void {
    this.labels.deleteHolder(id);
    this.holders.delete(id);
  }

  updateParent(name: string, labels: Readonly<Record<string, string>> | undefined): void {
    this.labels.updateParent(name, labels);
  }

  /** Takes a reference on an IP set; the first reference creates it and computes its members. */
  acquire(spec: IpSetSpec): void {
    const existing = this.sets.get(spec.id);
    if (existing !== undefined) {
      existing.refs++;
      return;
    }
    const st: SetState = { spec, members: new Map(), contrib: new Map(), refs: 1 };
    this.sets.set(spec.id, st);
    const selId = spec.selector.uniqueId;
    let ids = this.setsBySelector.get(selId);
    if (ids === undefined) {
      ids = new Set();
      this.setsBySelector.set(selId, ids);
    }
    ids.add(spec.id);
    // Compute the initial members silently, then announce the full set.
    this.quietMembers = true;
    try {
      if (ids.size === 1) this.labels.updateSelector(selId, spec.selector);
      for (const holder of this.labels.matchingHolders(selId)) this.refreshHolderInSets(selId, holder);
    } finally {
      this.quietMembers = false;
    }
    this.listener.onIpSetAdded(spec.id, spec.type, [...st.members.keys()]);
  }

  /** Drops a reference; the last one removes the set. */
  release(id: string): void {
    const st = this.sets.get(id);
    if (st === undefined) return;
    st.refs--;
    if (st.refs > 0) return;
    this.sets.delete(id);
    const selId = st.spec.selector.uniqueId;
    const ids = this.setsBySelector.get(selId);
    ids?.delete(id);
    if (ids !== undefined && ids.size === 0) {
      this.setsBySelector.delete(selId);
      this.labels.deleteSelector(selId);
    }
    this.listener.onIpSetRemoved(id);
  }

  /** Announces every active set with its members, as if each had just been created (a replay). */
  replay(listener: Pick<IpSetListener, 'onIpSetAdded'>): void {
    for (const [id, st] of this.sets) listener.onIpSetAdded(id, st.spec.type, [...st.members.keys()]);
  }

  members(id: string): readonly string[] {
    return [...(this.sets.get(id)?.members.keys() ?? [])];
  }
}
