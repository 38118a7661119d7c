/** Kubernetes-style object metadata and the resource envelope shared by every kind. */
export interface ObjectMeta {
  name: string;
  namespace?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  resourceVersion?: string;
  uid?: string;
  creationTimestamp?: string;
  generation?: number;
  generateName?: string;
  deletionTimestamp?: string;
  deletionGracePeriodSeconds?: number;
  finalizers?: string[];
  ownerReferences?: OwnerReference[];
  /** Server-side apply's field ownership (kept by calico-apiserver; other writers leave it as read). */
  managedFields?: ManagedFieldsEntry[];
}

/** meta/v1 ManagedFieldsEntry: the fields one manager set, in Kubernetes' `fieldsV1` (`f:<name>`) form. */
export interface ManagedFieldsEntry {
  manager: string;
  operation: 'Apply' | 'Update';
  apiVersion: string;
  time?: string;
  fieldsType: 'FieldsV1';
  fieldsV1: Record<string, unknown>;
  subresource?: string;
}

export interface OwnerReference {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
  controller?: boolean;
  blockOwnerDeletion?: boolean;
}

/** A document of kind K with spec S; V is the apiVersion (Calico's group unless stated). */
export interface ResourceEnvelope<K extends string, S, V extends string = typeof CALICO_API_VERSION> {
  apiVersion: V;
  kind: K;
  metadata: ObjectMeta;
  spec: S;
}

export const CALICO_API_VERSION = 'projectcalico.org/v3';
export const K8S_NETWORKING_API_VERSION = 'networking.k8s.io/v1';
export const K8S_CORE_API_VERSION = 'v1';
/** kubernetes-sigs/network-policy-api: AdminNetworkPolicy and BaselineAdminNetworkPolicy (v0.1.x). */
export const K8S_POLICY_V1ALPHA1_API_VERSION = 'policy.networking.k8s.io/v1alpha1';
/** kubernetes-sigs/network-policy-api: ClusterNetworkPolicy (v0.2 and later). */
export const K8S_POLICY_V1ALPHA2_API_VERSION = 'policy.networking.k8s.io/v1alpha2';
