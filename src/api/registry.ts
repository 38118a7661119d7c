/**
 * The decodable kinds. Adding a kind is one file exporting a `KindCodec` plus one line in `CODECS`; the
 * `Resource` union and `ResourceKind` follow from this list.
 */
import type { KindCodec } from './codec.js';
import { namespaceCodec } from './k8s/namespace.js';
import { podCodec } from './k8s/pod.js';
import { serviceAccountCodec } from './k8s/service-account.js';
import { kubernetesNetworkPolicyCodec } from './k8s/network-policy.js';
import { adminNetworkPolicyCodec, baselineAdminNetworkPolicyCodec } from './k8s/admin-network-policy.js';
import { clusterNetworkPolicyCodec } from './k8s/cluster-network-policy.js';
import { globalNetworkPolicyCodec } from './v3/global-network-policy.js';
import { hostEndpointCodec } from './v3/host-endpoint.js';
import { globalNetworkSetCodec, networkSetCodec } from './v3/network-set.js';
import { networkPolicyCodec } from './v3/network-policy.js';
import { profileCodec } from './v3/profile.js';
import { stagedGlobalNetworkPolicyCodec } from './v3/staged-global-network-policy.js';
import { stagedKubernetesNetworkPolicyCodec } from './v3/staged-kubernetes-network-policy.js';
import { stagedNetworkPolicyCodec } from './v3/staged-network-policy.js';
import { tierCodec } from './v3/tier.js';
import { workloadEndpointCodec } from './v3/workload-endpoint.js';
import { ipPoolCodec } from './v3/ip-pool.js';
import { ipReservationCodec } from './v3/ip-reservation.js';
import { ipamConfigurationCodec } from './v3/ipam-config.js';
import { ipamBlockCodec } from './v3/ipam-block.js';
import { blockAffinityCodec } from './v3/block-affinity.js';
import { ipamHandleCodec } from './v3/ipam-handle.js';
import { bgpConfigurationCodec } from './v3/bgp-configuration.js';
import { bgpPeerCodec } from './v3/bgp-peer.js';
import { bgpFilterCodec } from './v3/bgp-filter.js';
import { nodeCodec } from './v3/node.js';
import { calicoNodeStatusCodec } from './v3/calico-node-status.js';
import { felixConfigurationCodec } from './v3/felix-configuration.js';
import { kubeControllersConfigurationCodec } from './v3/kube-controllers-config.js';
import { clusterInformationCodec } from './v3/cluster-information.js';

const CODECS = [
  felixConfigurationCodec,
  globalNetworkPolicyCodec,
  networkPolicyCodec,
  stagedGlobalNetworkPolicyCodec,
  stagedNetworkPolicyCodec,
  stagedKubernetesNetworkPolicyCodec,
  tierCodec,
  globalNetworkSetCodec,
  networkSetCodec,
  hostEndpointCodec,
  workloadEndpointCodec,
  profileCodec,
  kubernetesNetworkPolicyCodec,
  adminNetworkPolicyCodec,
  baselineAdminNetworkPolicyCodec,
  clusterNetworkPolicyCodec,
  namespaceCodec,
  podCodec,
  serviceAccountCodec,
  ipPoolCodec,
  ipReservationCodec,
  ipamConfigurationCodec,
  ipamBlockCodec,
  blockAffinityCodec,
  ipamHandleCodec,
  bgpConfigurationCodec,
  bgpPeerCodec,
  bgpFilterCodec,
  nodeCodec,
  calicoNodeStatusCodec,
  kubeControllersConfigurationCodec,
  clusterInformationCodec,
] as const;

type AnyCodec = (typeof CODECS)[number];
type ResourceOfCodec<C> = C extends KindCodec<string, infer R> ? R : never;

/** The internal kinds that can be decoded (names as in `kinds.ts`). */
export type ResourceKind = AnyCodec['kind'];

/** Every decodable resource, as a closed union. */
export type Resource = ResourceOfCodec<AnyCodec>;

/** The resource type of one kind, e.g. `ResourceOf<'Tier'>`. */
export type ResourceOf<K extends ResourceKind> = ResourceOfCodec<Extract<AnyCodec, { readonly kind: K }>>;

export function allCodecs(): readonly KindCodec<ResourceKind, Resource>[] {
  return CODECS;
}

/** The codec for a document's (apiVersion, kind), if the kind is supported. */
export function codecFor(
  apiVersion: string,
  documentKind: string,
): KindCodec<ResourceKind, Resource> | undefined {
  return CODECS.find((c) => c.apiVersion === apiVersion && c.documentKind === documentKind);
}

/** The codecs whose document kind is `documentKind`, whatever their apiVersion (for error messages). */
export function codecsForKind(documentKind: string): readonly KindCodec<ResourceKind, Resource>[] {
  return CODECS.filter((c) => c.documentKind === documentKind);
}
