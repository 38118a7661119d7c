/**
 * Where each kind calico-ts stores lives in the Kubernetes datastore (KDD), as Calico v3.32.1 places it
 * (libcalico-go/lib/backend/k8s/client.go `NewKubeClient`; docs/design/kubernetes-datastore.md):
 *
 * - `crd`: a custom resource in `crd.projectcalico.org/v1` (Calico's default backing group; the
 *   `projectcalico.org/v3` CRD mode is not implemented). Names as in libcalico-go/config/crd/*.yaml: no short
 *   names; the CRD kind equals the v3 kind except IPAMConfiguration, stored as `IPAMConfig` / `ipamconfigs`.
 * - `core`: derived read-only from Kubernetes objects (Pod, Namespace, ServiceAccount, NetworkPolicy, Node);
 *   `writes` says what each write does: refused with Calico's ErrorOperationNotSupported text, translated
 *   into a change of the source object (the CNI's pod-IP annotations, a Node's Calico annotations), or
 *   passed through to the Kubernetes object itself (Namespace, Pod, ServiceAccount, KubernetesNetworkPolicy).
 *
 * Every kind of `src/api/kinds.ts` has exactly one entry (kinds.test.ts); none is unsupported.
 */
import { allKinds } from '../../api/kinds.js';
import {
  K8S_CORE_API_VERSION,
  K8S_NETWORKING_API_VERSION,
  K8S_POLICY_V1ALPHA1_API_VERSION,
  K8S_POLICY_V1ALPHA2_API_VERSION,
} from '../../api/meta.js';
import { BugError } from '../../lib/errors.js';
import type { ResourceKey } from '../api.js';

export const CRD_GROUP = 'crd.projectcalico.org';
export const CRD_VERSION = 'v1';
export const CRD_API_VERSION = `${CRD_GROUP}/${CRD_VERSION}`;

export type CrdScope = 'Namespaced' | 'Cluster';

/** A CustomResourceDefinition's `spec.names` and scope, as Calico's manifest declares them. */
export interface CrdNames {
  readonly kind: string;
  readonly listKind: string;
  readonly plural: string;
  readonly singular: string;
  readonly scope: CrdScope;
  readonly shortNames: readonly string[];
  /** Whether the CRD has the `status` subresource (only KubeControllersConfiguration in v3.32.1). */
  readonly statusSubresource: boolean;
}

/** The Kubernetes objects KDD derives Calico kinds from. */
export type CoreKind =
  | 'Pod'
  | 'Namespace'
  | 'ServiceAccount'
  | 'NetworkPolicy'
  | 'Node'
  | 'AdminNetworkPolicy'
  | 'BaselineAdminNetworkPolicy'
  | 'ClusterNetworkPolicy';

export interface CoreSource {
  readonly apiVersion:
    | typeof K8S_CORE_API_VERSION
    | typeof K8S_NETWORKING_API_VERSION
    | typeof K8S_POLICY_V1ALPHA1_API_VERSION
    | typeof K8S_POLICY_V1ALPHA2_API_VERSION;
  readonly kind: CoreKind;
  readonly plural: string;
  readonly namespaced: boolean;
}

export type WriteOp = 'create' | 'update' | 'delete';

/** What a write to a derived kind does. */
export type DerivedWrite =
  /** Refused: `operation <Op> is not supported on <Kind>(<key>)[: reason]` (`refusalMessage`). */
  | { readonly action: 'refuse'; readonly reason?: string }
  /** CNI only (Calico's PatchModeCNI): patch the Pod's `cni.projectcalico.org/podIP(s)` and `containerID`. */
  | { readonly action: 'patchPodIps' }
  /** The CNI's DEL: set the Pod's `podIP`/`podIPs` annotations to "" (the container ID stays). */
  | { readonly action: 'clearPodIps' }
  /** Write the Calico fields into the Node's `projectcalico.org/*` annotations (node-annotations.ts). */
  | { readonly action: 'mergeNodeAnnotations' }
  /** Create, replace or delete the Kubernetes object itself (a Node: with the Calico annotations). */
  | { readonly action: 'passthrough' };

export type KddPlacement =
  | { readonly store: 'crd'; readonly crd: CrdNames }
  | {
      readonly store: 'core';
      readonly sources: readonly CoreSource[];
      readonly writes: Readonly<Record<WriteOp, DerivedWrite>>;
    };

function core(kind: CoreKind, plural: string, namespaced: boolean): CoreSource {
  const apiVersion =
    kind === 'NetworkPolicy'
      ? K8S_NETWORKING_API_VERSION
      : kind === 'AdminNetworkPolicy' || kind === 'BaselineAdminNetworkPolicy'
        ? K8S_POLICY_V1ALPHA1_API_VERSION
        : kind === 'ClusterNetworkPolicy'
          ? K8S_POLICY_V1ALPHA2_API_VERSION
          : K8S_CORE_API_VERSION;
  return { apiVersion, kind, plural, namespaced };
}
const POD = core('Pod', 'pods', true);
const NAMESPACE = core('Namespace', 'namespaces', false);
const SERVICE_ACCOUNT = core('ServiceAccount', 'serviceaccounts', true);
const NETWORK_POLICY = core('NetworkPolicy', 'networkpolicies', true);
const NODE = core('Node', 'nodes', false);
/** The network-policy-api kinds: the upstream CRDs (policy-api-crds.ts), read and written as they are. */
const ADMIN_NETWORK_POLICY = core('AdminNetworkPolicy', 'adminnetworkpolicies', false);
const BASELINE_ADMIN_NETWORK_POLICY = core(
  'BaselineAdminNetworkPolicy',
  'baselineadminnetworkpolicies',
  false,
);
const CLUSTER_NETWORK_POLICY = core('ClusterNetworkPolicy', 'clusternetworkpolicies', false);

const REFUSE: DerivedWrite = { action: 'refuse' };
const READ_ONLY = { create: REFUSE, update: REFUSE, delete: REFUSE } as const;

/**
 * The Kubernetes objects calico-ts stores as kinds of their own go to the core API as they are: a write
 * creates, replaces or deletes the real object (the lead's decision for issue 11; Calico's calicoctl has no
 * such kinds and refuses KubernetesNetworkPolicy writes).
 */
const PASSTHROUGH: DerivedWrite = { action: 'passthrough' };
const WRITTEN_THROUGH = { create: PASSTHROUGH, update: PASSTHROUGH, delete: PASSTHROUGH } as const;

function crd(kind: string, scope: CrdScope, opts: { crdKind?: string; status?: boolean } = {}): KddPlacement {
  const crdKind = opts.crdKind ?? kind;
  const singular = crdKind.toLowerCase();
  const plural = singular.endsWith('y')
    ? `${singular.slice(0, -1)}ies`
    : singular.endsWith('s')
      ? `${singular}es`
      : `${singular}s`;
  return {
    store: 'crd',
    crd: {
      kind: crdKind,
      listKind: `${crdKind}List`,
      plural,
      singular,
      scope,
      shortNames: [],
      statusSubresource: opts.status ?? false,
    },
  };
}

// One kind per line reads better than the wrapped form.
// prettier-ignore
const TABLE: Readonly<Record<string, KddPlacement>> = {
  NetworkPolicy: crd('NetworkPolicy', 'Namespaced'),
  GlobalNetworkPolicy: crd('GlobalNetworkPolicy', 'Cluster'),
  StagedNetworkPolicy: crd('StagedNetworkPolicy', 'Namespaced'),
  StagedGlobalNetworkPolicy: crd('StagedGlobalNetworkPolicy', 'Cluster'),
  StagedKubernetesNetworkPolicy: crd('StagedKubernetesNetworkPolicy', 'Namespaced'),
  Tier: crd('Tier', 'Cluster'),
  GlobalNetworkSet: crd('GlobalNetworkSet', 'Cluster'),
  NetworkSet: crd('NetworkSet', 'Namespaced'),
  HostEndpoint: crd('HostEndpoint', 'Cluster'),
  IPPool: crd('IPPool', 'Cluster'),
  IPReservation: crd('IPReservation', 'Cluster'),
  BGPConfiguration: crd('BGPConfiguration', 'Cluster'),
  BGPPeer: crd('BGPPeer', 'Cluster'),
  BGPFilter: crd('BGPFilter', 'Cluster'),
  FelixConfiguration: crd('FelixConfiguration', 'Cluster'),
  KubeControllersConfiguration: crd('KubeControllersConfiguration', 'Cluster', { status: true }),
  ClusterInformation: crd('ClusterInformation', 'Cluster'),
  CalicoNodeStatus: crd('CalicoNodeStatus', 'Cluster'),
  IPAMConfiguration: crd('IPAMConfiguration', 'Cluster', { crdKind: 'IPAMConfig' }),
  IPAMBlock: crd('IPAMBlock', 'Cluster'),
  BlockAffinity: crd('BlockAffinity', 'Cluster'),
  IPAMHandle: crd('IPAMHandle', 'Cluster'),
  // libcalico-go/lib/backend/k8s/resources/workloadendpoint.go: Create/Update patch the Pod (CNI mode only).
  WorkloadEndpoint: { store: 'core', sources: [POD], writes: { create: { action: 'patchPodIps' }, update: { action: 'patchPodIps' }, delete: { action: 'clearPodIps' } } },
  // resources/profile.go: kns.<ns>, ksa.<ns>.<sa> and the built-in projectcalico-default-allow; no writes.
  Profile: { store: 'core', sources: [NAMESPACE, SERVICE_ACCOUNT], writes: READ_ONLY },
  // resources/node.go refuses Create and Delete; calico-ts passes them through to the Kubernetes Node (the
  // lead's decision); Update writes the Calico annotations (UpdateStatus).
  Node: { store: 'core', sources: [NODE], writes: { create: PASSTHROUGH, update: { action: 'mergeNodeAnnotations' }, delete: PASSTHROUGH } },
  // resources/kubenetworkpolicy.go refuses every write; calico-ts writes the networking.k8s.io object.
  KubernetesNetworkPolicy: { store: 'core', sources: [NETWORK_POLICY], writes: WRITTEN_THROUGH },
  AdminNetworkPolicy: { store: 'core', sources: [ADMIN_NETWORK_POLICY], writes: WRITTEN_THROUGH },
  BaselineAdminNetworkPolicy: { store: 'core', sources: [BASELINE_ADMIN_NETWORK_POLICY], writes: WRITTEN_THROUGH },
  ClusterNetworkPolicy: { store: 'core', sources: [CLUSTER_NETWORK_POLICY], writes: WRITTEN_THROUGH },
  Namespace: { store: 'core', sources: [NAMESPACE], writes: WRITTEN_THROUGH },
  Pod: { store: 'core', sources: [POD], writes: WRITTEN_THROUGH },
  ServiceAccount: { store: 'core', sources: [SERVICE_ACCOUNT], writes: WRITTEN_THROUGH },
};

/** The placement of a calico-ts kind (internal kind name, e.g. `KubernetesNetworkPolicy`). */
export function kddPlacement(kind: string): KddPlacement | undefined {
  return Object.hasOwn(TABLE, kind) ? TABLE[kind] : undefined;
}

/** Every calico-ts kind stored as a CRD, with its CRD names, in the order of the kind table. */
export function crdKinds(): readonly { readonly kind: string; readonly crd: CrdNames }[] {
  const out: { kind: string; crd: CrdNames }[] = [];
  for (const info of allKinds()) {
    const p = kddPlacement(info.kind);
    if (p?.store === 'crd') out.push({ kind: info.kind, crd: p.crd });
  }
  return out;
}

const BY_CRD_KIND = new Map(crdKinds().map((k) => [k.crd.kind, k]));

/** The calico-ts kind and CRD names of a custom resource's `kind` (`IPAMConfig` -> IPAMConfiguration). */
export function kindOfCrd(crdKind: string): { readonly kind: string; readonly crd: CrdNames } | undefined {
  return BY_CRD_KIND.get(crdKind);
}

/** The CRD names of a kind stored as a CRD; a BugError for others (callers check the placement first). */
export function crdNamesOf(kind: string): CrdNames {
  const p = kddPlacement(kind);
  if (p?.store !== 'crd') throw new BugError(`${kind} is not stored as a CRD in the Kubernetes datastore`);
  return p.crd;
}

const OPERATION: Readonly<Record<WriteOp, string>> = { create: 'Create', update: 'Update', delete: 'Delete' };

/**
 * Calico's ErrorOperationNotSupported text for a refused write (libcalico-go/lib/errors/errors.go, with the
 * backend's operation names and `model.ResourceKey` rendering): `operation Create is not supported on
 * KubernetesNetworkPolicy(ns/name)`, `operation Delete is not supported on Profile(kns.ns)`.
 */
export function refusalMessage(key: ResourceKey, op: WriteOp, reason?: string): string {
  const id = key.namespace === undefined ? key.name : `${key.namespace}/${key.name}`;
  const head = `operation ${OPERATION[op]} is not supported on ${key.kind}(${id})`;
  return reason === undefined ? head : `${head}: ${reason}`;
}

/**
 * The refusal of `op` on `key` in KDD, or undefined when the write is allowed (CRD kinds) or translated into a
 * change of the source object. Unknown kinds are the key check's business, not this table's.
 */
export function writeRefusal(key: ResourceKey, op: WriteOp): string | undefined {
  const p = kddPlacement(key.kind);
  if (p === undefined || p.store === 'crd') return undefined;
  const w = p.writes[op];
  return w.action === 'refuse' ? refusalMessage(key, op, w.reason) : undefined;
}
