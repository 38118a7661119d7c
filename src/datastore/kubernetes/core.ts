/**
 * The calico-ts resources KDD derives from Kubernetes core objects, as Calico v3.32.1 does
 * (libcalico-go/lib/backend/k8s/conversion/conversion.go, workload_endpoint_default.go, resources/profile.go,
 * resources/kubenetworkpolicy.go). The conversions themselves are the model's (src/model/k8s-resources.ts);
 * this file adds what only KDD has: the derived objects' uid, creation time and resourceVersion, Calico's
 * rules for which pods are endpoints, and the pod annotations the CNI plugin writes. Pure.
 *
 * - Namespace `ns` -> Profile `kns.ns`; ServiceAccount `ns/sa` -> Profile `ksa.ns.sa`: uid translated
 *   (uid.ts), creationTimestamp and resourceVersion the source's. The Namespace, ServiceAccount and Pod are
 *   also calico-ts kinds of their own (kept as read).
 * - networking.k8s.io NetworkPolicy `ns/x` -> KubernetesNetworkPolicy `ns/x` as read; the model and calicoctl
 *   show it as `knp.default.x` (src/model/ids.ts `policyDisplayName`).
 * - Pod -> WorkloadEndpoint `<node>-k8s-<pod>-eth0` when it is scheduled and not host-networked; no addresses
 *   once it has finished; `spec.containerID` from `cni.projectcalico.org/containerID`; the Pod's own uid; a
 *   pod without a service account gets no `ksa.` profile and no service-account label (the model assumes
 *   `default`, as an API server would assign).
 */
import type {
  AdminNetworkPolicy,
  BaselineAdminNetworkPolicy,
  ClusterNetworkPolicy,
} from '../../api/k8s/admin-types.js';
import type { K8sNetworkPolicy, Namespace, Pod, ServiceAccount } from '../../api/k8s/types.js';
import { internalKind } from '../../api/kinds.js';
import type { ObjectMeta } from '../../api/meta.js';
import { defaultAllowProfile } from '../../api/tiers.js';
import type { Profile, WorkloadEndpoint } from '../../api/v3/misc.js';
import { LABEL_SERVICE_ACCOUNT, SERVICE_ACCOUNT_PROFILE_PREFIX } from '../../model/ids.js';
import {
  namespaceToProfile,
  podToWorkloadEndpoint,
  serviceAccountToProfile,
} from '../../model/k8s-resources.js';
import type { Resource, ResourceKey } from '../api.js';
import { keyOf } from '../resource.js';
import { convertUid } from './uid.js';

export const ANNOTATION_POD_IP = 'cni.projectcalico.org/podIP';
export const ANNOTATION_POD_IPS = 'cni.projectcalico.org/podIPs';
export const ANNOTATION_CONTAINER_ID = 'cni.projectcalico.org/containerID';

/** The source object's identity and version on the object derived from it; `uid` already translated. */
function stamped<T extends Resource>(derived: T, source: ObjectMeta, uid: string | undefined): T {
  const { creationTimestamp, resourceVersion } = source;
  return {
    ...derived,
    metadata: {
      ...derived.metadata,
      ...(creationTimestamp === undefined ? {} : { creationTimestamp }),
      ...(uid === undefined ? {} : { uid }),
      ...(resourceVersion === undefined ? {} : { resourceVersion }),
    },
  };
}

function translated(meta: ObjectMeta): string | undefined {
  return meta.uid === undefined ? undefined : convertUid(meta.uid);
}

/** conversion.go `NamespaceToProfile`: the `kns.<ns>` profile, with the Namespace's uid translated. */
export function namespaceProfile(ns: Namespace): Profile {
  return stamped(namespaceToProfile(ns), ns.metadata, translated(ns.metadata));
}

/** conversion.go `ServiceAccountToProfile`: the `ksa.<ns>.<sa>` profile, with the uid translated. */
export function serviceAccountProfile(sa: ServiceAccount): Profile {
  return stamped(serviceAccountToProfile(sa), sa.metadata, translated(sa.metadata));
}

/** The profile every KDD datastore lists besides the derived ones (resources/profile.go). */
export function builtInProfiles(): Profile[] {
  return [defaultAllowProfile()];
}

/** conversion.go `IsFinished`: the pod's addresses are gone (Failed/Succeeded/Completed, or CNI DEL ran). */
export function podFinished(pod: Pod): boolean {
  if (pod.metadata.deletionTimestamp !== undefined) {
    const ann = pod.metadata.annotations ?? {};
    if (Object.hasOwn(ann, ANNOTATION_POD_IP) && ann[ANNOTATION_POD_IP] === '') return true;
  }
  const phase = pod.status?.phase;
  return phase === 'Failed' || phase === 'Succeeded' || phase === 'Completed';
}

/**
 * The pod's WorkloadEndpoint as Calico's KDD shows it, or undefined when the pod is not an endpoint
 * (host-networked, or not yet scheduled: conversion.go `IsValidCalicoWorkloadEndpoint`).
 */
export function podWorkloadEndpoint(pod: Pod): WorkloadEndpoint | undefined {
  const node = pod.spec.nodeName;
  if (node === undefined || node === '') return undefined;
  const wep = podToWorkloadEndpoint(pod);
  if (wep === undefined) return undefined;
  const m = pod.metadata;
  const containerId = m.annotations?.[ANNOTATION_CONTAINER_ID];
  const sa = pod.spec.serviceAccountName ?? '';
  const profiles = (wep.spec.profiles ?? []).filter(
    (p) => sa !== '' || !p.startsWith(SERVICE_ACCOUNT_PROFILE_PREFIX),
  );
  const labels = Object.fromEntries(
    Object.entries(wep.metadata.labels ?? {}).filter(([k]) => sa !== '' || k !== LABEL_SERVICE_ACCOUNT),
  );
  const spec: WorkloadEndpoint['spec'] = {
    ...wep.spec,
    profiles,
    ...(podFinished(pod) ? { ipNetworks: [] } : {}),
    ...(containerId === undefined || containerId === '' ? {} : { containerID: containerId }),
  };
  if (sa === '') delete spec.serviceAccountName;
  const meta = {
    ...wep.metadata,
    labels,
    ...(m.generateName === undefined ? {} : { generateName: m.generateName }),
  };
  return stamped({ ...wep, metadata: meta, spec }, m, m.uid);
}

/** A Kubernetes object KDD reads from the core API and derives calico-ts resources from. */
export type CoreObject =
  | Namespace
  | ServiceAccount
  | Pod
  | K8sNetworkPolicy
  | AdminNetworkPolicy
  | BaselineAdminNetworkPolicy
  | ClusterNetworkPolicy;

/**
 * Every calico-ts resource a core object stands for: the object itself under its calico-ts kind (a
 * networking.k8s.io NetworkPolicy as KubernetesNetworkPolicy), plus its Profile or WorkloadEndpoint.
 */
export function derivedResources(obj: CoreObject): Resource[] {
  switch (obj.kind) {
    case 'Namespace':
      return [obj, namespaceProfile(obj)];
    case 'ServiceAccount':
      return [obj, serviceAccountProfile(obj)];
    case 'Pod': {
      const wep = podWorkloadEndpoint(obj);
      return wep === undefined ? [obj] : [obj, wep];
    }
    case 'NetworkPolicy':
    case 'AdminNetworkPolicy':
    case 'BaselineAdminNetworkPolicy':
    case 'ClusterNetworkPolicy':
      return [obj];
  }
}

/** The key a core object itself has among calico-ts resources (`KubernetesNetworkPolicy` for a KNP). */
export function coreKey(obj: CoreObject): ResourceKey {
  const key = keyOf(obj);
  return { ...key, kind: internalKind(obj.apiVersion, obj.kind) };
}

/**
 * The annotations the CNI plugin patches onto the Pod for a WorkloadEndpoint write (workloadendpoint.go
 * `calcCNIAnnotations`): the first address, all addresses joined by commas, and the container ID when set.
 * Nothing when the endpoint has no addresses.
 */
export function podIpAnnotations(wep: WorkloadEndpoint): Record<string, string> {
  const ips = wep.spec.ipNetworks ?? [];
  if (ips.length === 0) return {};
  const out: Record<string, string> = {
    [ANNOTATION_POD_IP]: ips[0] ?? '',
    [ANNOTATION_POD_IPS]: ips.join(','),
  };
  const id = wep.spec.containerID;
  if (id !== undefined && id !== '') out[ANNOTATION_CONTAINER_ID] = id;
  return out;
}

/** The CNI DEL's patch (workloadendpoint.go `patchOutAnnotations`): addresses cleared, container ID kept. */
export function podIpsClearedAnnotations(): Record<string, string> {
  return { [ANNOTATION_POD_IP]: '', [ANNOTATION_POD_IPS]: '' };
}
