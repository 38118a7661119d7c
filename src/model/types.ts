/**
 * The backend policy model: what Felix's calculation graph and the reference evaluator consume after the
 * update processors have translated projectcalico.org/v3 (and Kubernetes) resources. Selectors here are the
 * *backend* selectors: namespace and service-account scoping already folded in (reference §3.1).
 */
import type { Selector } from '../api/selector/index.js';
import type { Cidr, IpAddr } from '../lib/net/ip.js';
import type { EndpointKey, NetworkSetKey, PolicyKey } from './ids.js';

export type RuleActionModel = 'allow' | 'deny' | 'log' | 'pass';

export interface PortRange {
  readonly min: number;
  readonly max: number;
}

export interface EntityMatch {
  readonly nets: readonly Cidr[];
  readonly notNets: readonly Cidr[];
  /** Positive selector (scoped; combined with notSelector when both exist, as Felix does). */
  readonly selector?: Selector;
  /** Negative selector left standalone (only when there is no positive selector). */
  readonly notSelector?: Selector;
  readonly ports: readonly PortRange[];
  readonly namedPorts: readonly string[];
  readonly notPorts: readonly PortRange[];
  readonly notNamedPorts: readonly string[];
  /** Domain patterns (canonical, sorted, unique; destination of egress Allow rules; absent when none). */
  readonly domains?: readonly string[];
}

export interface IcmpMatch {
  readonly type: number;
  readonly code?: number;
}

export interface ModelRule {
  /** Index of the rule in the policy's ingress or egress list as written. */
  readonly index: number;
  readonly action: RuleActionModel;
  readonly ipVersion?: 4 | 6;
  readonly protocol?: number;
  readonly notProtocol?: number;
  readonly icmp?: IcmpMatch;
  readonly notIcmp?: IcmpMatch;
  readonly src: EntityMatch;
  readonly dst: EntityMatch;
  /** Set when the rule carries an HTTP match (only enforceable by an L7 proxy; ignored by L3/L4 dataplanes). */
  readonly hasHttpMatch: boolean;
  /** Rule annotations (metadata.annotations), rendered as comments. */
  readonly annotations?: Readonly<Record<string, string>>;
}

export type StagedActionModel = 'Set' | 'Delete' | 'Learn' | 'Ignore';

export interface ModelPolicy {
  readonly key: PolicyKey;
  readonly tier: string;
  /** undefined means "no order": sorts after every ordered policy. */
  readonly order: number | undefined;
  readonly selector: Selector;
  readonly ingress: boolean;
  readonly egress: boolean;
  readonly inbound: readonly ModelRule[];
  readonly outbound: readonly ModelRule[];
  readonly staged: boolean;
  readonly doNotTrack: boolean;
  readonly preDNAT: boolean;
  readonly applyOnForward: boolean;
}

export interface ModelTier {
  readonly name: string;
  readonly order: number | undefined;
  readonly defaultAction: 'deny' | 'pass';
}

export interface ModelProfile {
  readonly name: string;
  readonly inbound: readonly ModelRule[];
  readonly outbound: readonly ModelRule[];
  readonly labelsToApply: Readonly<Record<string, string>>;
}

export interface ModelNamedPort {
  readonly name: string;
  readonly protocol: number;
  readonly port: number;
}

export interface ModelEndpoint {
  readonly key: EndpointKey;
  readonly node: string;
  readonly interfaceName: string;
  /** The endpoint's own labels (profile labels are inherited at evaluation time). */
  readonly labels: Readonly<Record<string, string>>;
  readonly profiles: readonly string[];
  readonly ips: readonly IpAddr[];
  readonly ports: readonly ModelNamedPort[];
  /** Human label for traces: `production/web` for pods, the HEP name otherwise. */
  readonly display: string;
}

export interface ModelNetworkSet {
  readonly key: NetworkSetKey;
  readonly labels: Readonly<Record<string, string>>;
  /** Parent profiles whose labelsToApply are inherited (kns.<ns> for namespaced sets). */
  readonly profiles: readonly string[];
  readonly nets: readonly Cidr[];
  /** Canonical, sorted, unique domain patterns (absent when none); egress Allow destinations only. */
  readonly allowedEgressDomains?: readonly string[];
}
