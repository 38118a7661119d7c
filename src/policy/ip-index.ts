/**
 * Who holds an address: the label holders (endpoints by exact IP, network sets by containing CIDR) whose
 * labels decide whether an IP is a member of a selector's IP set (reference §3.9). Effective labels (own
 * labels, then each parent profile's labelsToApply for keys not yet present) are computed once per holder.
 */
import type { Labels } from '../api/selector/index.js';
import type { Cidr, IpAddr } from '../lib/net/ip.js';
import { maskOf } from '../lib/net/ip.js';
import type { ModelEndpoint, ModelNetworkSet, ModelProfile } from '../model/types.js';
import { DomainMatcher } from '../model/domain-match.js';

export type Holder =
  | { readonly kind: 'endpoint'; readonly endpoint: ModelEndpoint; readonly labels: Labels }
  | { readonly kind: 'netset'; readonly set: ModelNetworkSet; readonly labels: Labels };

/** A network set whose allowedEgressDomains has `pattern`, matching `name` (a name of the address). */
export interface DomainHolder {
  readonly holder: Extract<Holder, { kind: 'netset' }>;
  readonly pattern: string;
  readonly name: string;
}

/** Own labels first; for keys not set, the first parent profile (in order) that sets them wins. */
export function effectiveLabels(
  own: Readonly<Record<string, string>>,
  parents: readonly string[],
  profiles: ReadonlyMap<string, ModelProfile>,
): Labels {
  const out: Record<string, string> = Object.create(null) as Record<string, string>;
  for (const [k, v] of Object.entries(own)) out[k] = v;
  for (const p of parents) {
    const prof = profiles.get(p);
    if (prof === undefined) continue;
    for (const [k, v] of Object.entries(prof.labelsToApply)) {
      if (!(k in out)) out[k] = v;
    }
  }
  return out;
}

function ipKey(family: number, value: bigint): string {
  return `${family}/${value.toString(16)}`;
}

export class IpIndex {
  private readonly exact = new Map<string, Holder[]>();
  /** family -> prefix length -> network -> holders. */
  private readonly nets = new Map<number, Map<number, Map<bigint, Holder[]>>>();
  private readonly prefixes = new Map<number, number[]>();
  private readonly domainSets: { holder: Extract<Holder, { kind: 'netset' }>; matcher: DomainMatcher }[] = [];

  constructor(
    endpoints: readonly ModelEndpoint[],
    networkSets: readonly ModelNetworkSet[],
    profiles: ReadonlyMap<string, ModelProfile>,
  ) {
    for (const ep of endpoints) {
      const holder: Holder = {
        kind: 'endpoint',
        endpoint: ep,
        labels: effectiveLabels(ep.labels, ep.profiles, profiles),
      };
      this.endpointHolders.set(ep, holder);
      for (const ip of ep.ips) this.push(this.exact, ipKey(ip.family, ip.value), holder);
    }
    for (const set of networkSets) {
      const holder: Extract<Holder, { kind: 'netset' }> = {
        kind: 'netset',
        set,
        labels: effectiveLabels(set.labels, set.profiles, profiles),
      };
      for (const c of set.nets) this.addNet(c, holder);
      if ((set.allowedEgressDomains ?? []).length > 0) {
        this.domainSets.push({ holder, matcher: new DomainMatcher(set.allowedEgressDomains ?? []) });
      }
    }
    for (const [family, byPrefix] of this.nets) {
      this.prefixes.set(
        family,
        [...byPrefix.keys()].sort((a, b) => b - a),
      );
    }
  }

  private readonly endpointHolders = new Map<ModelEndpoint, Holder>();

  private push<K>(m: Map<K, Holder[]>, k: K, h: Holder): void {
    const list = m.get(k);
    if (list === undefined) m.set(k, [h]);
    else if (!list.includes(h)) list.push(h);
  }

  private addNet(c: Cidr, h: Holder): void {
    let byPrefix = this.nets.get(c.family);
    if (byPrefix === undefined) {
      byPrefix = new Map();
      this.nets.set(c.family, byPrefix);
    }
    let byNet = byPrefix.get(c.prefix);
    if (byNet === undefined) {
      byNet = new Map();
      byPrefix.set(c.prefix, byNet);
    }
    this.push(byNet, c.network, h);
  }

  /** The holder record (with effective labels) of an endpoint in this index. */
  holderOf(ep: ModelEndpoint): Holder | undefined {
    return this.endpointHolders.get(ep);
  }

  /** Every holder of an address: endpoints with exactly this IP, network sets with a CIDR containing it. */
  holdersOf(ip: IpAddr): Holder[] {
    const out: Holder[] = [...(this.exact.get(ipKey(ip.family, ip.value)) ?? [])];
    const byPrefix = this.nets.get(ip.family);
    if (byPrefix !== undefined) {
      for (const prefix of this.prefixes.get(ip.family) ?? []) {
        const hs = byPrefix.get(prefix)?.get(ip.value & maskOf(ip.family, prefix));
        if (hs !== undefined) for (const h of hs) if (!out.includes(h)) out.push(h);
      }
    }
    return out;
  }

  /** Network sets whose allowedEgressDomains match one of `names` (the names an address is mapped from). */
  domainHoldersOf(names: readonly string[]): DomainHolder[] {
    const out: DomainHolder[] = [];
    for (const { holder, matcher } of this.domainSets) {
      for (const name of names) {
        const pattern = matcher.match(name);
        if (pattern !== undefined) {
          out.push({ holder, pattern, name });
          break;
        }
      }
    }
    return out;
  }

  /** Endpoints (not network sets) holding exactly this address. */
  endpointsAt(ip: IpAddr): ModelEndpoint[] {
    const out: ModelEndpoint[] = [];
    for (const h of this.exact.get(ipKey(ip.family, ip.value)) ?? [])
      if (h.kind === 'endpoint') out.push(h.endpoint);
    return out;
  }
}
