/**
 * The objects calicoctl shows that calico-ts derives rather than stores, as Calico v3.32 shows them in etcd
 * mode, where kube-controllers writes them: a Kubernetes NetworkPolicy `ns/x` appears as the Calico
 * NetworkPolicy `ns/knp.default.x` (knp.ts), a Namespace `ns` as the Profile `kns.ns`, and a ServiceAccount
 * `ns/sa` as the Profile `ksa.ns.sa` (the profiles Felix gives workloads). These views are read-only: the
 * Kubernetes object is the one to change, and calicoctl refuses writes to the reserved names.
 */
import type { Namespace, ServiceAccount } from '../api/k8s/types.js';
import type { Resource, ResourceKey } from '../datastore/index.js';
import { NAMESPACE_PROFILE_PREFIX, SERVICE_ACCOUNT_PROFILE_PREFIX } from '../model/ids.js';
import { namespaceToProfile, serviceAccountToProfile } from '../model/k8s-resources.js';
import { KNP_PREFIX, KNP_REASON, viewOf } from './knp.js';

/** Why writes to the kns./ksa. profiles are refused. */
export const DERIVED_PROFILE_REASON =
  'the profiles of Kubernetes namespaces and service accounts must be managed through the Namespace and ServiceAccount';

export function isDerivedProfileName(name: string): boolean {
  return name.startsWith(NAMESPACE_PROFILE_PREFIX) || name.startsWith(SERVICE_ACCOUNT_PROFILE_PREFIX);
}

/**
 * Calico's refusal (ErrorOperationNotSupported) of a write to a view's reserved name, or undefined.
 * `operation` is Calico's wording: `create or apply`, `apply or replace`, `delete`.
 */
export function reservedNameProblem(key: ResourceKey, operation: string): string | undefined {
  if (key.kind === 'NetworkPolicy' && key.name.startsWith(KNP_PREFIX)) {
    return `operation ${operation} is not supported on NetworkPolicy(${key.namespace ?? ''}/${key.name}): ${KNP_REASON}`;
  }
  if (key.kind === 'Profile' && isDerivedProfileName(key.name)) {
    return `operation ${operation} is not supported on Profile(${key.name}): ${DERIVED_PROFILE_REASON}`;
  }
  return undefined;
}

/** The stored object a `kns.`/`ksa.` profile name is derived from, or undefined for other names. */
export function profileSource(name: string): ResourceKey | undefined {
  if (name.startsWith(NAMESPACE_PROFILE_PREFIX)) {
    return { kind: 'Namespace', name: name.slice(NAMESPACE_PROFILE_PREFIX.length) };
  }
  if (!name.startsWith(SERVICE_ACCOUNT_PROFILE_PREFIX)) return undefined;
  // Namespace names are DNS labels (no dots): the first dot ends the namespace.
  const rest = name.slice(SERVICE_ACCOUNT_PROFILE_PREFIX.length);
  const dot = rest.indexOf('.');
  if (dot <= 0 || dot === rest.length - 1) return undefined;
  return { kind: 'ServiceAccount', namespace: rest.slice(0, dot), name: rest.slice(dot + 1) };
}

/** The Profile view of a stored Namespace or ServiceAccount, with the source object's uid and version. */
export function profileView(stored: Resource): Resource | undefined {
  let profile: Resource;
  if (stored.kind === 'Namespace') profile = namespaceToProfile(stored as Namespace);
  else if (stored.kind === 'ServiceAccount') profile = serviceAccountToProfile(stored as ServiceAccount);
  else return undefined;
  return viewOf(profile, stored);
}
