/**
 * ClusterInformation (projectcalico.org/v3, the cluster-wide singleton `default`): the cluster's GUID, types,
 * Calico version, datastore readiness and variant, written by calico-node's start-up (Calico v3.32.1
 * `clusterinfo.go`; no field checks beyond types; clientv3 refuses any other name on create).
 */
import { calicoKind } from '../codec.js';
import { bool, opt, str, struct } from '../decoder.js';
import type { ResourceEnvelope } from '../meta.js';

export interface ClusterInformationSpec {
  clusterGUID?: string;
  clusterType?: string;
  calicoVersion?: string;
  datastoreReady?: boolean;
  variant?: string;
}
export type ClusterInformation = ResourceEnvelope<'ClusterInformation', ClusterInformationSpec>;

export const CLUSTER_INFORMATION_NAME = 'default';

export const clusterInformationCodec = calicoKind({
  kind: 'ClusterInformation',
  checkName: (name) =>
    name === CLUSTER_INFORMATION_NAME
      ? undefined
      : `Cannot create a Cluster Information resource with a name other than "${CLUSTER_INFORMATION_NAME}"`,
  spec: struct<ClusterInformationSpec>({
    clusterGUID: opt(str),
    clusterType: opt(str),
    calicoVersion: opt(str),
    datastoreReady: opt(bool),
    variant: opt(str),
  }),
});
