/**
 * What the flow collector knows from the dataplane's messages, the same ones the rules are rendered from:
 * this node's endpoints by address with their tiers per direction (to read an NFLOG walk back into a
 * trace: which tier a policy is in, which policy a tier's end names), and the active policies, profiles and
 * tiers (to resolve the hashed prefixes of long names, which only a lookup of the known prefixes can read).
 */
import type { DataplaneMessage, HostEndpointMsg, PolicyMsg, ProfileMsg } from '../../calc/messages.js';
import { nflogTraceContext, type NflogTraceContext } from '../../flows/policy-hits.js';
import { parseIp } from '../../lib/net/ip.js';
import {
  hashedPrefixLookup,
  isHashedNflogPrefix,
  ownerNflogPrefixes,
  parseNflogPrefix,
  tierNflogPrefixes,
  type HashedPrefixLookup,
  type NflogDirection,
  type NflogPrefix,
} from '../../model/nflog-prefix.js';
import type { WorkloadEndpointMsg } from '../../calc/messages.js';

type EndpointMsg = WorkloadEndpointMsg | HostEndpointMsg;

function ipKey(address: string): string | undefined {
  const ip = parseIp(address.split('/')[0] ?? '');
  return ip === undefined ? undefined : `${ip.family}/${ip.value}`;
}

function addressesOf(e: EndpointMsg): string[] {
  return 'ipv4Nets' in e ? [...e.ipv4Nets, ...e.ipv6Nets] : [...e.expectedIpv4Addrs, ...e.expectedIpv6Addrs];
}

/** Distinct prefix texts kept parsed (one per rule, tier end and profile rule in use). */
const PARSED_MAX = 20_000;
export class FlowDataplaneView {
  readonly #endpoints = new Map<string, EndpointMsg>();
  readonly #byIp = new Map<string, EndpointMsg>();
  readonly #policies = new Map<string, PolicyMsg>();
  readonly #profiles = new Map<string, ProfileMsg>();
  #hashed: HashedPrefixLookup | undefined;
  /**
   * Prefixes read so far, by text: every packet of a rule carries the same text, so each is parsed once and
   * equal prefixes are one object (traces are memoized by it). Emptied when policies change and when full.
   */
  readonly #parsed = new Map<string, NflogPrefix | undefined>();
  #ipsDirty = false;

  onMessages(msgs: readonly DataplaneMessage[]): void {
    for (const m of msgs) {
      if (m.kind === 'workloadEndpointUpdate' || m.kind === 'hostEndpointUpdate') {
        this.#endpoints.set(m.id, m.endpoint);
        this.#ipsDirty = true;
        // Their tiers name the ends of tiers a hashed prefix may stand for.
        this.#hashed = undefined;
        this.#parsed.clear();
      } else if (m.kind === 'workloadEndpointRemove' || m.kind === 'hostEndpointRemove') {
        this.#endpoints.delete(m.id);
        this.#ipsDirty = true;
      } else if (m.kind === 'activePolicyUpdate') {
        this.#policies.set(m.id, m.policy);
        this.#hashed = undefined;
        this.#parsed.clear();
      } else if (m.kind === 'activePolicyRemove') this.#policies.delete(m.id);
      else if (m.kind === 'activeProfileUpdate') {
        this.#profiles.set(m.id, m.profile);
        this.#hashed = undefined;
        this.#parsed.clear();
      } else if (m.kind === 'activeProfileRemove') this.#profiles.delete(m.id);
    }
  }

  /** A prefix as the kernel logged it; a hashed one through the prefixes the current rules render. */
  parsePrefix(text: string): NflogPrefix | undefined {
    if (this.#parsed.has(text)) return this.#parsed.get(text);
    let p: NflogPrefix | undefined;
    if (!isHashedNflogPrefix(text)) p = parseNflogPrefix(text);
    else {
      this.#hashed ??= hashedPrefixLookup(this.#knownPrefixes());
      p = parseNflogPrefix(text, this.#hashed);
    }
    if (this.#parsed.size >= PARSED_MAX) this.#parsed.clear();
    this.#parsed.set(text, p);
    return p;
  }

  #knownPrefixes(): NflogPrefix[] {
    const out: NflogPrefix[] = [];
    for (const [id, p] of this.#policies)
      out.push(...ownerNflogPrefixes('policy', id, p.inboundRules, p.outboundRules));
    for (const [id, p] of this.#profiles)
      out.push(...ownerNflogPrefixes('profile', id, p.inboundRules, p.outboundRules));
    const tiers = new Set<string>();
    for (const e of this.#endpoints.values()) for (const t of e.tiers) tiers.add(t.name);
    for (const tier of tiers) out.push(...tierNflogPrefixes(tier));
    return out;
  }

  /** This node's endpoint at `address`, if any. */
  localEndpoint(address: string): EndpointMsg | undefined {
    if (this.#ipsDirty) {
      this.#byIp.clear();
      for (const e of this.#endpoints.values())
        for (const a of addressesOf(e)) {
          const k = ipKey(a);
          if (k !== undefined) this.#byIp.set(k, e);
        }
      this.#ipsDirty = false;
    }
    const k = ipKey(address);
    return k === undefined ? undefined : this.#byIp.get(k);
  }

  /** How to read the NFLOG walk of the endpoint at `address` for one direction. */
  traceContext(address: string, direction: NflogDirection): NflogTraceContext {
    const e = this.localEndpoint(address);
    return nflogTraceContext(
      (e?.tiers ?? []).map((t) => ({
        name: t.name,
        policyIds: direction === 'ingress' ? t.ingressPolicies : t.egressPolicies,
      })),
    );
  }
}
