/** The Kubernetes kinds policy needs: networking.k8s.io/v1 NetworkPolicy; v1 Namespace, Pod, ServiceAccount. */
import type { CALICO_API_VERSION, ObjectMeta } from '../meta.js';

export interface LabelSelectorRequirement {
  key: string;
  operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist';
  values?: string[];
}

export interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: LabelSelectorRequirement[];
}

export interface IPBlock {
  cidr: string;
  except?: string[];
}

export interface NetworkPolicyPeer {
  podSelector?: LabelSelector;
  namespaceSelector?: LabelSelector;
  ipBlock?: IPBlock;
}

export interface NetworkPolicyPort {
  protocol?: 'TCP' | 'UDP' | 'SCTP';
  port?: number | string;
  endPort?: number;
}

export interface NetworkPolicyIngressRule {
  ports?: NetworkPolicyPort[];
  from?: NetworkPolicyPeer[];
}

export interface NetworkPolicyEgressRule {
  ports?: NetworkPolicyPort[];
  to?: NetworkPolicyPeer[];
}

export interface K8sNetworkPolicySpec {
  podSelector?: LabelSelector;
  ingress?: NetworkPolicyIngressRule[];
  egress?: NetworkPolicyEgressRule[];
  policyTypes?: ('Ingress' | 'Egress')[];
}

export interface K8sNetworkPolicy {
  apiVersion: 'networking.k8s.io/v1';
  kind: 'NetworkPolicy';
  metadata: ObjectMeta;
  spec: K8sNetworkPolicySpec;
}

export interface StagedKubernetesNetworkPolicySpec extends K8sNetworkPolicySpec {
  stagedAction?: 'Set' | 'Delete' | 'Learn' | 'Ignore';
}

/** A Calico kind (projectcalico.org/v3) whose spec is a Kubernetes NetworkPolicy spec plus stagedAction. */
export interface StagedKubernetesNetworkPolicy {
  apiVersion: typeof CALICO_API_VERSION;
  kind: 'StagedKubernetesNetworkPolicy';
  metadata: ObjectMeta;
  spec: StagedKubernetesNetworkPolicySpec;
}

export interface Namespace {
  apiVersion: 'v1';
  kind: 'Namespace';
  metadata: ObjectMeta;
  spec?: Record<string, unknown>;
}

export interface ServiceAccount {
  apiVersion: 'v1';
  kind: 'ServiceAccount';
  metadata: ObjectMeta;
}

export interface ContainerPort {
  name?: string;
  containerPort: number;
  protocol?: 'TCP' | 'UDP' | 'SCTP';
  hostPort?: number;
  hostIP?: string;
}

export interface Container {
  name: string;
  image?: string;
  ports?: ContainerPort[];
}

export interface PodSpec {
  nodeName?: string;
  serviceAccountName?: string;
  hostNetwork?: boolean;
  containers?: Container[];
  initContainers?: Container[];
}

export interface PodIP {
  ip: string;
}

export interface PodStatus {
  podIP?: string;
  podIPs?: PodIP[];
  phase?: string;
}

export interface Pod {
  apiVersion: 'v1';
  kind: 'Pod';
  metadata: ObjectMeta;
  spec: PodSpec;
  status?: PodStatus;
}
