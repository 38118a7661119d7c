/**
 * The CustomResourceDefinitions (apiextensions.k8s.io/v1) of every kind KDD stores as a custom resource,
 * named as Calico v3.32.1's manifests name them (libcalico-go/config/crd/crd.projectcalico.org_*.yaml: group
 * `crd.projectcalico.org`, version `v1` served and stored, no short names, the `status` subresource only on
 * KubeControllersConfiguration). The schemas are generated from calico-ts's resource model (crd-schemas.ts:
 * `spec` typed where the custom resource holds the v3 spec, open where it does not), so the API server
 * stores what calico-ts writes, and calico-ts still validates what it reads (the syncer's validation filter;
 * docs/design/kubernetes-datastore.md). Pure; the lab installs them with the API client.
 */
import { crdSchema } from './crd-schemas.js';
import { CRD_GROUP, CRD_VERSION, type CrdNames, crdKinds } from './kinds.js';

export interface CustomResourceDefinition {
  readonly apiVersion: 'apiextensions.k8s.io/v1';
  readonly kind: 'CustomResourceDefinition';
  readonly metadata: { readonly name: string; readonly annotations?: Readonly<Record<string, string>> };
  readonly spec: {
    readonly group: string;
    readonly names: {
      readonly kind: string;
      readonly listKind: string;
      readonly plural: string;
      readonly singular: string;
      readonly shortNames?: readonly string[];
    };
    readonly scope: 'Namespaced' | 'Cluster';
    readonly versions: readonly CrdVersion[];
  };
}

export interface CrdVersion {
  readonly name: string;
  readonly served: boolean;
  readonly storage: boolean;
  readonly schema: { readonly openAPIV3Schema: Record<string, unknown> };
  readonly subresources?: { readonly status: Record<string, never> };
}

/** `<plural>.<group>`, the name Kubernetes requires for a CRD. */
export function crdObjectName(names: CrdNames): string {
  return `${names.plural}.${CRD_GROUP}`;
}

/** The CRD for one kind's names, with the schema generated for that calico-ts kind. */
export function crdDefinition(names: CrdNames, kind: string): CustomResourceDefinition {
  const version: CrdVersion = {
    name: CRD_VERSION,
    served: true,
    storage: true,
    schema: { openAPIV3Schema: crdSchema(kind) },
    ...(names.statusSubresource ? { subresources: { status: {} } } : {}),
  };
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: crdObjectName(names) },
    spec: {
      group: CRD_GROUP,
      names: {
        kind: names.kind,
        listKind: names.listKind,
        plural: names.plural,
        singular: names.singular,
        ...(names.shortNames.length > 0 ? { shortNames: names.shortNames } : {}),
      },
      scope: names.scope,
      versions: [version],
    },
  };
}

/** Every CRD calico-ts needs in a cluster, in the order of the kind table (fresh objects on each call). */
export function calicoCrds(): CustomResourceDefinition[] {
  return crdKinds().map((k) => crdDefinition(k.crd, k.kind));
}
