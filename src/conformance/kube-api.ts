/**
 * The conformance driver's calls to kube-apiserver (over the Kubernetes datastore's transport: the
 * kubeconfig's TLS and credentials): create, read, label-patch and delete Namespaces, Pods and
 * NetworkPolicies as a user's kubectl would. Objects go as written (JSON); the API server validates and
 * defaults them. Every answer other than the expected one is an error naming the call, the object and the
 * server's message.
 */
import { CalicoError } from '../lib/errors.js';
import { statusOf, type KubeResponse, type KubeTransport } from '../datastore/kubernetes/transport.js';
import type { KubeObject, Labels } from './kube-objects.js';

const MERGE_PATCH = 'application/merge-patch+json';

/** The fields of a stored object the driver reads. */
export interface StoredObject {
  readonly metadata: {
    readonly name: string;
    readonly namespace?: string;
    readonly uid: string;
    readonly resourceVersion: string;
    readonly labels?: Labels;
    readonly deletionTimestamp?: string;
  };
  readonly status?: {
    readonly phase?: string;
    readonly podIP?: string;
    readonly conditions?: readonly {
      readonly type: string;
      readonly status: string;
      readonly message?: string;
    }[];
  };
}

export type ObjectKind = 'Namespace' | 'Pod' | 'NetworkPolicy';

/** The API path of an object (or, without a name, of its collection). */
export function objectPath(kind: ObjectKind, namespace: string | undefined, name?: string): string {
  const tail = name === undefined ? '' : `/${encodeURIComponent(name)}`;
  switch (kind) {
    case 'Namespace':
      return `/api/v1/namespaces${tail}`;
    case 'Pod':
      return `/api/v1/namespaces/${encodeURIComponent(namespace ?? '')}/pods${tail}`;
    case 'NetworkPolicy':
      return `/apis/networking.k8s.io/v1/namespaces/${encodeURIComponent(namespace ?? '')}/networkpolicies${tail}`;
  }
}

function describe(kind: ObjectKind, namespace: string | undefined, name: string): string {
  return `${kind} ${namespace === undefined ? '' : `${namespace}/`}${name}`;
}

/** An answer the API server gave that the caller did not expect. */
export class KubeApiError extends CalicoError {
  readonly status: number;
  readonly reason: string | undefined;

  constructor(what: string, r: KubeResponse) {
    const s = statusOf(r.body);
    super('CALICO_ERR_IO', `${what}: ${r.status} ${s.message ?? ''}`.trim());
    this.status = r.status;
    this.reason = s.reason;
  }
}

export class CaseApi {
  readonly #t: KubeTransport;

  constructor(transport: KubeTransport) {
    this.#t = transport;
  }

  /** The object, or undefined when there is none. */
  async get(
    kind: ObjectKind,
    namespace: string | undefined,
    name: string,
    signal?: AbortSignal,
  ): Promise<StoredObject | undefined> {
    const r = await this.#t.request('GET', objectPath(kind, namespace, name), undefined, { signal });
    if (r.status === 404) return undefined;
    if (r.status !== 200) throw new KubeApiError(`get ${describe(kind, namespace, name)}`, r);
    return r.body as StoredObject;
  }

  /** Creates `o`; AlreadyExists and every other refusal are KubeApiErrors (status 409, 403, 422, ...). */
  async create(kind: ObjectKind, o: KubeObject, signal?: AbortSignal): Promise<StoredObject> {
    const { namespace, name } = o.metadata;
    const r = await this.#t.request('POST', objectPath(kind, namespace), o, { signal });
    if (r.status !== 201 && r.status !== 200)
      throw new KubeApiError(`create ${describe(kind, namespace, name)}`, r);
    return r.body as StoredObject;
  }

  /** Replaces the object with `o` at the stored object's resourceVersion (a conflict is a KubeApiError 409). */
  async replace(
    kind: ObjectKind,
    o: KubeObject,
    resourceVersion: string,
    signal?: AbortSignal,
  ): Promise<void> {
    const { namespace, name } = o.metadata;
    const body = { ...o, metadata: { ...o.metadata, resourceVersion } };
    const r = await this.#t.request('PUT', objectPath(kind, namespace, name), body, { signal });
    if (r.status !== 200) throw new KubeApiError(`replace ${describe(kind, namespace, name)}`, r);
  }

  /** A JSON merge patch of the object's metadata/spec (labels: see kube-objects.ts labelsPatch). */
  async patch(
    kind: ObjectKind,
    namespace: string | undefined,
    name: string,
    patch: unknown,
    signal?: AbortSignal,
  ): Promise<StoredObject> {
    const r = await this.#t.request('PATCH', objectPath(kind, namespace, name), patch, {
      contentType: MERGE_PATCH,
      signal,
    });
    if (r.status !== 200) throw new KubeApiError(`patch ${describe(kind, namespace, name)}`, r);
    return r.body as StoredObject;
  }

  /**
   * Deletes the object with the default grace (a Pod: its kubelet tears the sandbox down, CNI DEL, and then
   * removes it). False when there was none.
   */
  async delete(
    kind: ObjectKind,
    namespace: string | undefined,
    name: string,
    signal?: AbortSignal,
  ): Promise<boolean> {
    const r = await this.#t.request('DELETE', objectPath(kind, namespace, name), undefined, { signal });
    if (r.status === 404) return false;
    if (r.status !== 200 && r.status !== 202)
      throw new KubeApiError(`delete ${describe(kind, namespace, name)}`, r);
    return true;
  }

  /** The names of a namespace's NetworkPolicies. */
  async listPolicyNames(namespace: string, signal?: AbortSignal): Promise<string[]> {
    const r = await this.#t.request('GET', objectPath('NetworkPolicy', namespace), undefined, { signal });
    if (r.status !== 200) throw new KubeApiError(`list NetworkPolicies of ${namespace}`, r);
    return ((r.body as { items?: StoredObject[] }).items ?? []).map((o) => o.metadata.name);
  }
}
