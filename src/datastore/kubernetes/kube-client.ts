/**
 * The KDD backend's requests to kube-apiserver, with Kubernetes answers mapped onto the datastore's errors:
 * 404 on an object -> NotFoundError; 404 on a collection (no such resource type) -> "the Calico CRD
 * <plural>.crd.projectcalico.org is not installed"; 409 AlreadyExists -> AlreadyExistsError; other 409s
 * (stale resourceVersion, failed precondition) -> ConflictError; 400/422 -> ValidationError with the
 * server's message; 403 -> UsageError (RBAC); anything else -> DatastoreUnavailableError. Lists are read in
 * pages of 500 and report the first page's resourceVersion (the continue token keeps later pages at it).
 */
import { DatastoreUnavailableError, UsageError, ValidationError } from '../../lib/errors.js';
import type { ResourceKey } from '../api.js';
import { alreadyExists, conflict, formatKey, notFound } from '../resource.js';
import { crdName } from './spec-v1.js';
import { CRD_GROUP } from './kinds.js';
import { collectionPath, itemPath, parseResourceVersion, sourcesOf, type ApiResource } from './sources.js';
import { statusOf, type KubeResponse, type KubeTransport } from './transport.js';

/** Where a key is read: the API resource, namespace, and object name when it is known without a scan. */
export interface Located {
  readonly api: ApiResource;
  readonly namespace?: string | undefined;
  readonly name?: string | undefined;
}

const PAGE = 500;

interface ListBody {
  readonly metadata?: { readonly resourceVersion?: unknown; readonly continue?: unknown };
  readonly items?: readonly unknown[];
}

export class KubeClient {
  readonly #t: KubeTransport;

  constructor(transport: KubeTransport) {
    this.#t = transport;
  }

  notFound(key: ResourceKey): Error {
    return notFound(key);
  }

  conflict(key: ResourceKey): Error {
    return conflict(key);
  }

  /** Where `key` lives (sources.ts): Profile `kns.<ns>` / `ksa.<ns>.<sa>`; a WorkloadEndpoint needs a scan. */
  locate(key: ResourceKey): Located {
    const sources = sourcesOf(key.kind);
    const api = sources[0];
    if (api === undefined)
      throw new ValidationError([{ path: 'kind', message: `unknown kind "${key.kind}"` }]);
    if (api.crdKind !== undefined) {
      return {
        api,
        namespace: key.namespace,
        name: crdName(key.kind, { apiVersion: '', kind: key.kind, metadata: { name: key.name } }),
      };
    }
    switch (key.kind) {
      case 'WorkloadEndpoint':
        return { api, namespace: key.namespace };
      case 'Profile': {
        if (key.name.startsWith('kns.')) return { api, name: key.name.slice(4) };
        const rest = key.name.startsWith('ksa.') ? key.name.slice(4) : '';
        const dot = rest.indexOf('.');
        const sa = sources[1];
        if (dot > 0 && sa !== undefined)
          return { api: sa, namespace: rest.slice(0, dot), name: rest.slice(dot + 1) };
        return { api, name: '' };
      }
      default:
        return { api, namespace: key.namespace, name: key.name };
    }
  }

  /** Maps a non-2xx answer to the datastore's error for `key` (or for the collection of `api`). */
  error(res: KubeResponse, api: ApiResource, key: ResourceKey | undefined): Error {
    const s = statusOf(res.body);
    const message = s.message ?? `HTTP ${res.status}`;
    const what = key === undefined ? collectionPath(api) : formatKey(key);
    switch (res.status) {
      case 404:
        // An object that is not there: `<resource> "<name>" not found`; anything else (e.g. "the server could
        // not find the requested resource") means the resource type itself is not served.
        if (s.details?.name === undefined || !message.includes(`"${s.details.name}" not found`)) {
          return this.#missingType(api);
        }
        return key === undefined ? new DatastoreUnavailableError(`${what}: ${message}`) : notFound(key);
      case 409:
        if (s.reason === 'AlreadyExists' && key !== undefined) return alreadyExists(key);
        return key === undefined ? new DatastoreUnavailableError(`${what}: ${message}`) : conflict(key);
      case 400:
      case 422:
        return new ValidationError([{ path: '', message }], what);
      case 403:
        return new UsageError(`the Kubernetes API server refused access to ${what}: ${message}`);
      default:
        return new DatastoreUnavailableError(
          `${what}: the Kubernetes API server answered ${res.status}: ${message}`,
        );
    }
  }

  #missingType(api: ApiResource): Error {
    if (api.crdKind !== undefined) {
      return new DatastoreUnavailableError(`the Calico CRD ${api.plural}.${CRD_GROUP} is not installed`);
    }
    return new DatastoreUnavailableError(`the Kubernetes API server does not serve ${collectionPath(api)}`);
  }

  async getObject(
    api: ApiResource,
    ns: string | undefined,
    name: string,
    signal: AbortSignal,
    key: ResourceKey,
  ): Promise<unknown> {
    const res = await this.#t.request('GET', itemPath(api, ns, name), undefined, { signal });
    if (res.status === 200) return res.body;
    throw this.error(res, api, key);
  }

  /** Every object of a collection, and the resourceVersion the list reflects. */
  async list(
    api: ApiResource,
    ns: string | undefined,
    query: Readonly<Record<string, string>>,
    signal: AbortSignal,
    key?: ResourceKey,
  ): Promise<{ objects: unknown[]; revision: number }> {
    const objects: unknown[] = [];
    let revision: number | undefined;
    let token: string | undefined;
    for (let page = 0; page < 1_000_000; page++) {
      const params = new URLSearchParams({
        ...query,
        limit: String(PAGE),
        ...(token === undefined ? {} : { continue: token }),
      });
      const res = await this.#t.request('GET', `${collectionPath(api, ns)}?${params.toString()}`, undefined, {
        signal,
      });
      if (res.status !== 200) throw this.error(res, api, key);
      const body = res.body as ListBody;
      revision ??= parseResourceVersion(
        body.metadata?.resourceVersion,
        `the list resourceVersion of ${collectionPath(api)}`,
      );
      objects.push(...(body.items ?? []));
      const next = body.metadata?.continue;
      if (typeof next !== 'string' || next === '') return { objects, revision };
      token = next;
    }
    throw new DatastoreUnavailableError(`${collectionPath(api)}: too many pages`);
  }

  /** The objects (by name when given) as of `revision`; undefined when that revision is compacted (410). */
  async listAt(
    api: ApiResource,
    ns: string | undefined,
    name: string | undefined,
    revision: number,
    signal: AbortSignal,
    key: ResourceKey,
  ): Promise<unknown[] | undefined> {
    const query: Record<string, string> = {
      resourceVersion: String(revision),
      resourceVersionMatch: 'Exact',
    };
    if (name !== undefined) query['fieldSelector'] = `metadata.name=${name}`;
    try {
      return (await this.list(api, ns, query, signal, key)).objects;
    } catch (e) {
      if (e instanceof DatastoreUnavailableError && / 410: /.test(e.message)) return undefined;
      throw e;
    }
  }

  async create(
    api: ApiResource,
    ns: string | undefined,
    body: unknown,
    signal: AbortSignal,
    key: ResourceKey,
  ): Promise<unknown> {
    const res = await this.#t.request('POST', collectionPath(api, ns), body, { signal });
    if (res.status === 201 || res.status === 200) return res.body;
    throw this.error(res, api, key);
  }

  async replace(
    api: ApiResource,
    ns: string | undefined,
    name: string,
    body: unknown,
    signal: AbortSignal,
    key: ResourceKey,
  ): Promise<unknown> {
    const res = await this.#t.request('PUT', itemPath(api, ns, name), body, { signal });
    if (res.status === 200 || res.status === 201) return res.body;
    throw this.error(res, api, key);
  }

  /** DELETE with Kubernetes preconditions (409 when the object changed or was re-created). */
  async remove(
    api: ApiResource,
    ns: string | undefined,
    name: string,
    preconditions: { readonly resourceVersion: string; readonly uid?: string },
    signal: AbortSignal,
    key: ResourceKey,
  ): Promise<void> {
    const body = { apiVersion: 'v1', kind: 'DeleteOptions', preconditions };
    const res = await this.#t.request('DELETE', itemPath(api, ns, name), body, { signal });
    if (res.status === 200 || res.status === 202) return;
    throw this.error(res, api, key);
  }

  /** A merge patch of an object's `status` subresource (the CNI's pod annotations, as Calico writes them). */
  async patchStatus(
    api: ApiResource,
    ns: string,
    name: string,
    patch: unknown,
    signal: AbortSignal,
    key: ResourceKey,
  ): Promise<unknown> {
    const path = `${itemPath(api, ns, name)}/status`;
    const res = await this.#t.request('PATCH', path, patch, {
      signal,
      contentType: 'application/merge-patch+json',
    });
    if (res.status === 200) return res.body;
    throw this.error(res, api, key);
  }

  /** The current revision: a one-item list of namespaces (a consistent read answers the latest revision). */
  async currentRevision(signal: AbortSignal): Promise<number> {
    const api = sourcesOf('Namespace')[0]!;
    const res = await this.#t.request('GET', `${collectionPath(api)}?limit=1`, undefined, { signal });
    if (res.status !== 200) throw this.error(res, api, undefined);
    return parseResourceVersion(
      (res.body as ListBody).metadata?.resourceVersion,
      'the list resourceVersion of namespaces',
    );
  }
}
