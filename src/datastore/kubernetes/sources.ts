/**
 * Where the KDD backend reads each calico-ts kind from, and how one API object becomes the resources of a
 * kind (kinds.ts says where a kind lives; this file turns that into API paths and decoders). Pure.
 *
 * - A CRD kind reads its custom resources (`fromCustomResource`); a custom resource that is not Calico's is an
 *   invalid stored value of the key its name gives, never dropped.
 * - Namespace, Pod, ServiceAccount and KubernetesNetworkPolicy are the core objects as read (managedFields
 *   left out); Profile, WorkloadEndpoint and Node are derived (core.ts, node-annotations.ts).
 */
import { K8S_CORE_API_VERSION } from '../../api/meta.js';
import { errorMessage } from '../../lib/errors.js';
import type { Resource, ResourceKey } from '../api.js';
import { keyOf } from '../resource.js';
import { builtInProfiles, derivedResources, type CoreObject } from './core.js';
import { fromCustomResource, type CustomResource } from './crd.js';
import { CRD_API_VERSION, kddPlacement, type CoreSource } from './kinds.js';
import { kubeNodeToCalico, type KubeNode } from './node-annotations.js';

/** One API resource type: `/api/v1/pods`, `/apis/crd.projectcalico.org/v1/globalnetworkpolicies`. */
export interface ApiResource {
  /** `/api/v1` or `/apis/<group>/<version>`. */
  readonly prefix: string;
  readonly plural: string;
  readonly namespaced: boolean;
  /** Set for CRD kinds: the calico-ts kind it stores. */
  readonly crdKind?: string;
  /** Set for core sources: the objects' apiVersion and kind (list items come without them). */
  readonly object?: { readonly apiVersion: string; readonly kind: string };
}

export function collectionPath(api: ApiResource, namespace?: string): string {
  return `${api.prefix}${namespace === undefined ? '' : `/namespaces/${encodeURIComponent(namespace)}`}/${api.plural}`;
}

export function itemPath(api: ApiResource, namespace: string | undefined, name: string): string {
  return `${collectionPath(api, namespace)}/${encodeURIComponent(name)}`;
}

/** A stable id for a source (dedupes watches of kinds that share one). */
export function apiId(api: ApiResource): string {
  return `${api.prefix}/${api.plural}`;
}

function coreApi(s: CoreSource): ApiResource {
  const prefix = s.apiVersion === K8S_CORE_API_VERSION ? '/api/v1' : `/apis/${s.apiVersion}`;
  return {
    prefix,
    plural: s.plural,
    namespaced: s.namespaced,
    object: { apiVersion: s.apiVersion, kind: s.kind },
  };
}

/** The API resources a kind is read from (one for CRD and core kinds; Profile has two). */
export function sourcesOf(kind: string): readonly ApiResource[] {
  const p = kddPlacement(kind);
  if (p === undefined) return [];
  if (p.store === 'crd') {
    const namespaced = p.crd.scope === 'Namespaced';
    return [{ prefix: `/apis/${CRD_API_VERSION}`, plural: p.crd.plural, namespaced, crdKind: kind }];
  }
  return p.sources.map(coreApi);
}

/** One decoded object: a resource, or the problem that kept it from being one (under its key). */
export type Decoded =
  | { readonly key: ResourceKey; readonly value: Resource; readonly problem?: undefined }
  | { readonly key: ResourceKey; readonly value?: undefined; readonly problem: string };

interface RawMeta {
  name?: unknown;
  namespace?: unknown;
  resourceVersion?: unknown;
  managedFields?: unknown;
}

function rawMeta(obj: unknown): RawMeta {
  const m = typeof obj === 'object' && obj !== null ? (obj as { metadata?: unknown }).metadata : undefined;
  return typeof m === 'object' && m !== null ? m : {};
}

/** The object's resourceVersion, as the integer it must be (kube-apiserver on etcd3). */
export function objectRevision(obj: unknown): number {
  return parseResourceVersion(rawMeta(obj).resourceVersion, 'metadata.resourceVersion');
}

/**
 * A resourceVersion from kube-apiserver as an integer: on etcd3 it is the etcd revision, which the KDD
 * backend relies on to order and resume. Anything else fails closed (docs/design/kubernetes-datastore.md).
 */
export function parseResourceVersion(rv: unknown, what: string): number {
  if (typeof rv === 'string' && /^[1-9]\d{0,15}$/.test(rv)) return Number(rv);
  throw new Error(
    `the Kubernetes API server answered ${what} ${JSON.stringify(rv)}, which is not an etcd revision: ` +
      'the Kubernetes datastore needs a kube-apiserver storing in etcd3 (integer resourceVersions)',
  );
}

/**
 * A copy with the source's apiVersion and kind (list items of built-in types come without them) and without
 * managedFields (server bookkeeping, not part of the object users wrote).
 */
function cleaned(api: ApiResource, obj: unknown): Resource {
  const copy = structuredClone(obj) as Resource & { metadata: RawMeta };
  delete copy.metadata.managedFields;
  return api.object === undefined ? copy : { ...copy, ...api.object };
}

/**
 * The resources of `kind` that one object of `api` stands for (usually one; none when, say, a pod is not an
 * endpoint). A custom resource that does not convert is reported under the key its metadata names.
 */
export function decodeFor(kind: string, api: ApiResource, obj: unknown): Decoded[] {
  if (api.crdKind !== undefined) {
    const m = rawMeta(obj);
    const name = typeof m.name === 'string' ? m.name : '';
    const key: ResourceKey =
      typeof m.namespace === 'string' ? { kind, namespace: m.namespace, name } : { kind, name };
    try {
      const value = fromCustomResource(obj as CustomResource);
      return [{ key: keyOf(value), value }];
    } catch (e) {
      return [{ key, problem: errorMessage(e) }];
    }
  }
  const clean = cleaned(api, obj);
  if (kind === 'Node') {
    const node = kubeNodeToCalico(clean as unknown as KubeNode);
    return [{ key: keyOf(node), value: node }];
  }
  const out: Decoded[] = [];
  for (const r of derivedResources(clean as unknown as CoreObject)) {
    const key = keyOf(r);
    if (key.kind === kind) out.push({ key, value: r });
  }
  return out;
}

/** Resources a kind has that no API object stands for (Profile `projectcalico-default-allow`). */
export function builtIns(kind: string): Resource[] {
  return kind === 'Profile' ? builtInProfiles() : [];
}
