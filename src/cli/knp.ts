/**
 * How Kubernetes NetworkPolicies appear among Calico NetworkPolicies, as in Calico v3.32 with an etcd
 * datastore (kube-controllers writes each one as a Calico NetworkPolicy): a networking.k8s.io/v1
 * NetworkPolicy `ns/x` is listed as the Calico NetworkPolicy `ns/knp.default.x` (tier default, order 1000,
 * selectors converted by `k8sNetworkPolicyToCalico`). That view is read-only: the Kubernetes object is the
 * one to edit or delete (calicoctl refuses writes to `knp.default.*` names with "kubernetes network
 * policies must be managed through the kubernetes API"; views.ts).
 */
import { decodeResource } from '../api/decode.js';
import { CALICO_API_VERSION } from '../api/meta.js';
import type { Resource } from '../datastore/index.js';
import { k8sNetworkPolicyToCalico } from '../model/k8s-policy.js';

export const KNP_PREFIX = 'knp.default.';
export const KNP_KIND = 'KubernetesNetworkPolicy';
export const KNP_REASON = 'kubernetes network policies must be managed through the kubernetes API';

/** `knp.default.x` -> `x`; undefined for other names. */
export function knpNameOf(calicoName: string): string | undefined {
  return calicoName.startsWith(KNP_PREFIX) ? calicoName.slice(KNP_PREFIX.length) : undefined;
}

/**
 * The Calico NetworkPolicy view of a stored Kubernetes NetworkPolicy: decoded as a Calico NP (so it carries
 * the same defaults as a user's NP would), with the Kubernetes object's uid, creation time and version.
 */
export function knpView(stored: Resource): Resource {
  const decodedK8s = decodeResource(stored);
  const spec =
    decodedK8s.ok &&
    decodedK8s.value.kind === 'NetworkPolicy' &&
    decodedK8s.value.apiVersion !== CALICO_API_VERSION
      ? k8sNetworkPolicyToCalico(decodedK8s.value.spec)
      : {};
  const { namespace } = stored.metadata;
  const raw = {
    apiVersion: CALICO_API_VERSION,
    kind: 'NetworkPolicy',
    metadata: {
      name: `${KNP_PREFIX}${stored.metadata.name}`,
      ...(namespace === undefined ? {} : { namespace }),
    },
    spec,
  };
  return viewOf(raw, stored);
}

/**
 * A derived view as calicoctl shows it: `raw` decoded as its kind (so it carries the defaults a user's object
 * would; undecodable, it is shown as built), with the source object's uid, creation time and version.
 */
export function viewOf(raw: Resource, stored: Resource): Resource {
  const decoded = decodeResource(raw);
  const base: Resource = decoded.ok ? decoded.value : raw;
  const { uid, creationTimestamp, resourceVersion } = stored.metadata;
  return {
    ...base,
    metadata: {
      ...base.metadata,
      ...(uid === undefined ? {} : { uid }),
      ...(creationTimestamp === undefined ? {} : { creationTimestamp }),
      ...(resourceVersion === undefined ? {} : { resourceVersion }),
    },
  };
}
