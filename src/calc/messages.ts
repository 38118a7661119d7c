/**
 * THE contract between the calculation graph and the dataplane (Felix's felixbackend.proto `ToDataplane`):
 * one closed, JSON-serialisable union. The event sequencer emits these in dependency order: IP sets before
 * the policies that use them, policies and profiles before the endpoints that reference them; removals in
 * reverse. A dataplane `switch (msg.kind)` must be exhaustive.
 */

/** IP-set ids: selector sets `s:<uid>`, named-port sets `n:<hash>`. */
export type IpSetType = 'net' | 'ipPort';

export interface PortRangeMsg {
  readonly first: number;
  readonly last: number;
}

/** A rule as the dataplane renders it: selectors already turned into IP-set ids (Felix's ParsedRule). */
export interface RuleMsg {
  readonly action: 'allow' | 'deny' | 'pass' | 'log';
  /** Index of the rule in its policy/profile direction, for traces and comments. */
  readonly index: number;
  readonly ipVersion?: 4 | 6;
  readonly protocol?: number;
  readonly notProtocol?: number;
  readonly icmpType?: number;
  readonly icmpCode?: number;
  readonly notIcmpType?: number;
  readonly notIcmpCode?: number;
  readonly srcNets: readonly string[];
  readonly notSrcNets: readonly string[];
  readonly srcPorts: readonly PortRangeMsg[];
  readonly notSrcPorts: readonly PortRangeMsg[];
  readonly srcIpSetIds: readonly string[];
  readonly notSrcIpSetIds: readonly string[];
  readonly srcNamedPortIpSetIds: readonly string[];
  readonly notSrcNamedPortIpSetIds: readonly string[];
  readonly dstNets: readonly string[];
  readonly notDstNets: readonly string[];
  readonly dstPorts: readonly PortRangeMsg[];
  readonly notDstPorts: readonly PortRangeMsg[];
  readonly dstIpSetIds: readonly string[];
  readonly notDstIpSetIds: readonly string[];
  readonly dstNamedPortIpSetIds: readonly string[];
  readonly notDstNamedPortIpSetIds: readonly string[];
}

export interface PolicyMsg {
  readonly tier: string;
  readonly inboundRules: readonly RuleMsg[];
  readonly outboundRules: readonly RuleMsg[];
  readonly untracked: boolean;
  readonly preDnat: boolean;
  readonly applyOnForward: boolean;
}

export interface ProfileMsg {
  readonly inboundRules: readonly RuleMsg[];
  readonly outboundRules: readonly RuleMsg[];
}

/** Policies of one tier that apply to an endpoint, in order, per direction (staged policies excluded). */
export interface TierInfo {
  readonly name: string;
  readonly defaultAction: 'deny' | 'pass';
  readonly ingressPolicies: readonly string[];
  readonly egressPolicies: readonly string[];
}

export interface WorkloadEndpointMsg {
  readonly namespace: string;
  readonly name: string;
  /** `<namespace>/<pod>` for people. */
  readonly display: string;
  readonly interfaceName: string;
  readonly ipv4Nets: readonly string[];
  readonly ipv6Nets: readonly string[];
  readonly tiers: readonly TierInfo[];
  readonly profileIds: readonly string[];
}

export interface HostEndpointMsg {
  readonly name: string;
  /** '' when matched by expected IPs; '*' for all interfaces. */
  readonly interfaceName: string;
  readonly expectedIpv4Addrs: readonly string[];
  readonly expectedIpv6Addrs: readonly string[];
  readonly tiers: readonly TierInfo[];
  readonly untrackedTiers: readonly TierInfo[];
  readonly preDnatTiers: readonly TierInfo[];
  readonly forwardTiers: readonly TierInfo[];
  readonly profileIds: readonly string[];
}

export type DataplaneMessage =
  | { readonly kind: 'configUpdate'; readonly config: Readonly<Record<string, string>> }
  | { readonly kind: 'inSync' }
  | {
      readonly kind: 'ipSetUpdate';
      readonly id: string;
      readonly type: IpSetType;
      readonly members: readonly string[];
    }
  | {
      readonly kind: 'ipSetDeltaUpdate';
      readonly id: string;
      readonly added: readonly string[];
      readonly removed: readonly string[];
    }
  | { readonly kind: 'ipSetRemove'; readonly id: string }
  | { readonly kind: 'activePolicyUpdate'; readonly id: string; readonly policy: PolicyMsg }
  | { readonly kind: 'activePolicyRemove'; readonly id: string }
  | { readonly kind: 'activeProfileUpdate'; readonly id: string; readonly profile: ProfileMsg }
  | { readonly kind: 'activeProfileRemove'; readonly id: string }
  | { readonly kind: 'workloadEndpointUpdate'; readonly id: string; readonly endpoint: WorkloadEndpointMsg }
  | { readonly kind: 'workloadEndpointRemove'; readonly id: string }
  | { readonly kind: 'hostEndpointUpdate'; readonly id: string; readonly endpoint: HostEndpointMsg }
  | { readonly kind: 'hostEndpointRemove'; readonly id: string }
  /** The datastore revision whose effects the messages before this one complete. */
  | { readonly kind: 'revision'; readonly revision: number };

export type DataplaneMessageKind = DataplaneMessage['kind'];
