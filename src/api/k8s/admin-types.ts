/**
 * The kubernetes-sigs/network-policy-api kinds (group `policy.networking.k8s.io`): AdminNetworkPolicy and
 * BaselineAdminNetworkPolicy (v1alpha1, as in v0.1.7) and ClusterNetworkPolicy (v1alpha2). Field names and
 * shapes follow the upstream Go types (apis/v1alpha1, apis/v1alpha2).
 */
import type { ObjectMeta } from '../meta.js';
import type { LabelSelector } from './types.js';

export type K8sProtocol = 'TCP' | 'UDP' | 'SCTP';

/** NamespacedPod: pods selected by namespace AND pod labels (v1alpha2 defaults an absent namespaceSelector to {}). */
export interface NamespacedPod {
  namespaceSelector: LabelSelector;
  podSelector: LabelSelector;
}

/** Exactly one of the two is set. */
export interface AdminPolicySubject {
  namespaces?: LabelSelector;
  pods?: NamespacedPod;
}

/** Exactly one field is set (ingress peers only select pods). */
export interface AdminPolicyIngressPeer {
  namespaces?: LabelSelector;
  pods?: NamespacedPod;
}

/** Exactly one field is set. `domainNames` exists for AdminNetworkPolicy and ClusterNetworkPolicy only. */
export interface AdminPolicyEgressPeer {
  namespaces?: LabelSelector;
  pods?: NamespacedPod;
  nodes?: LabelSelector;
  networks?: string[];
  domainNames?: string[];
}

// --- v1alpha1 -----------------------------------------------------------------------------------------

export interface AnpPortNumber {
  protocol: K8sProtocol;
  port: number;
}

export interface AnpPortRange {
  protocol: K8sProtocol;
  start: number;
  end: number;
}

/** AdminNetworkPolicyPort: exactly one field is set. */
export interface AnpPort {
  portNumber?: AnpPortNumber;
  namedPort?: string;
  portRange?: AnpPortRange;
}

export type AnpAction = 'Allow' | 'Deny' | 'Pass';
export type BanpAction = 'Allow' | 'Deny';

export interface AnpIngressRule<A extends string = AnpAction> {
  name?: string;
  action: A;
  from: AdminPolicyIngressPeer[];
  ports?: AnpPort[];
}

export interface AnpEgressRule<A extends string = AnpAction> {
  name?: string;
  action: A;
  to: AdminPolicyEgressPeer[];
  ports?: AnpPort[];
}

export interface AdminNetworkPolicySpec {
  priority: number;
  subject: AdminPolicySubject;
  ingress?: AnpIngressRule[];
  egress?: AnpEgressRule[];
}

export interface BaselineAdminNetworkPolicySpec {
  subject: AdminPolicySubject;
  ingress?: AnpIngressRule<BanpAction>[];
  egress?: AnpEgressRule<BanpAction>[];
}

export interface AdminNetworkPolicy {
  apiVersion: 'policy.networking.k8s.io/v1alpha1';
  kind: 'AdminNetworkPolicy';
  metadata: ObjectMeta;
  spec: AdminNetworkPolicySpec;
}

export interface BaselineAdminNetworkPolicy {
  apiVersion: 'policy.networking.k8s.io/v1alpha1';
  kind: 'BaselineAdminNetworkPolicy';
  metadata: ObjectMeta;
  spec: BaselineAdminNetworkPolicySpec;
}

// --- v1alpha2 -----------------------------------------------------------------------------------------

export interface CnpPortRange {
  start: number;
  end: number;
}

/** Port: exactly one of number and range. */
export interface CnpPort {
  number?: number;
  range?: CnpPortRange;
}

export interface CnpProtocolPort {
  destinationPort?: CnpPort;
}

/** ClusterNetworkPolicyProtocol: exactly one field is set. */
export interface CnpProtocol {
  tcp?: CnpProtocolPort;
  udp?: CnpProtocolPort;
  sctp?: CnpProtocolPort;
  destinationNamedPort?: string;
}

export type CnpAction = 'Accept' | 'Deny' | 'Pass';
export type CnpTier = 'Admin' | 'Baseline';

export interface CnpIngressRule {
  name?: string;
  action: CnpAction;
  from: AdminPolicyIngressPeer[];
  protocols?: CnpProtocol[];
}

export interface CnpEgressRule {
  name?: string;
  action: CnpAction;
  to: AdminPolicyEgressPeer[];
  protocols?: CnpProtocol[];
}

export interface ClusterNetworkPolicySpec {
  tier: CnpTier;
  priority: number;
  subject: AdminPolicySubject;
  ingress?: CnpIngressRule[];
  egress?: CnpEgressRule[];
}

export interface ClusterNetworkPolicy {
  apiVersion: 'policy.networking.k8s.io/v1alpha2';
  kind: 'ClusterNetworkPolicy';
  metadata: ObjectMeta;
  spec: ClusterNetworkPolicySpec;
}
