/**
 * The Kubernetes datastore backend (`DATASTORE_TYPE=kubernetes`): the `Backend` contract over a real
 * kube-apiserver (docs/design/kubernetes-datastore.md). Calico's kinds are custom resources in
 * `crd.projectcalico.org/v1`; Namespace, Pod, ServiceAccount, KubernetesNetworkPolicy and Node are the core
 * objects; Profile and WorkloadEndpoint are derived from them (kinds.ts, sources.ts).
 *
 * - Revisions are resourceVersions read as integers (etcd revisions; anything else fails closed). A list's
 *   revision is its resourceVersion (the lowest of its sources' for Profile).
 * - `update` with a resourceVersion is a PUT carrying it (409 -> ConflictError); without one, the current
 *   version is read and the PUT retried on conflict. uid and creationTimestamp stay the server's.
 * - `delete` reads the object, checks the caller's preconditions, and deletes with Kubernetes preconditions
 *   on that resourceVersion and uid, so the value returned is exactly the one deleted.
 * - `applyMany` is NOT atomic, per chunk or otherwise: Kubernetes has no transactions; each object is
 *   created, or replaced when it exists, one after the other. A failure leaves the earlier ones written.
 * - `valueAt` lists at `resourceVersion=<rev>&resourceVersionMatch=Exact` (undefined once etcd compacted it).
 * - `compact` is refused: kube-apiserver compacts its etcd itself.
 * - Writes to derived kinds are refused with Calico's ErrorOperationNotSupported text, except the CNI's
 *   WorkloadEndpoint writes, which patch the pod's `cni.projectcalico.org/podIP(s)` annotations.
 */
import { CalicoError, DatastoreUnavailableError, UsageError, ValidationError } from '../../lib/errors.js';
import type { WorkloadEndpoint } from '../../api/v3/misc.js';
import type { Node } from '../../api/v3/bgp-types.js';
import type {
  Backend,
  CallOptions,
  DeleteOptions,
  InvalidStoredValue,
  ListFilter,
  ListResult,
  PastValue,
  Resource,
  ResourceKey,
  WatchFilter,
  WatchHandler,
  WatchOptions,
} from '../api.js';
import { checkKey, checkKindFilter, checkWatchFilter, keyOf, keyPath, parseRevision } from '../resource.js';
import { checkNewSize } from '../limits.js';
import { StoredValueError } from '../stored.js';
import { allKinds } from '../../api/kinds.js';
import { podIpAnnotations, podIpsClearedAnnotations } from './core.js';
import { toCustomResource } from './crd.js';
import { kddPlacement, refusalMessage, type WriteOp } from './kinds.js';
import { mergeCalicoNodeIntoKube, type KubeNode } from './node-annotations.js';
import { planWatch, runWatch } from './kdd-watch.js';
import { KubeClient, type Located } from './kube-client.js';
import {
  OperationNotSupportedError,
  byKeyPath,
  emptyKubeNode,
  forWrite,
  objectName,
  sameKey,
} from './objects.js';
import { builtIns, decodeFor, objectRevision, sourcesOf, type Decoded } from './sources.js';
import { KubeTransport } from './transport.js';

export { OperationNotSupportedError } from './objects.js';

export interface KubernetesBackendOptions {
  /**
   * The kubeconfig file; default `$KUBECONFIG` (its first entry), then the pod's service account when in a
   * pod, then `~/.kube/config`.
   */
  readonly kubeconfig?: string | undefined;
}

/** How many times a read-modify-write is retried after losing a race (409) before giving up. */
const MAX_RETRIES = 20;

/**
 * Opens the backend. Fails with UsageError when the kubeconfig is missing or unusable, and when a reachable
 * API server answers resourceVersions that are not integers; an unreachable server is reported by the calls.
 */
export async function openKubernetesBackend(opts: KubernetesBackendOptions = {}): Promise<Backend> {
  const transport = KubeTransport.open(opts.kubeconfig);
  const backend = new KubernetesBackend(transport);
  try {
    await backend.currentRevision({ signal: AbortSignal.timeout(5000) });
  } catch (e) {
    if (!(e instanceof DatastoreUnavailableError) && !(e instanceof Error && e.name === 'TimeoutError')) {
      await backend.close();
      throw e instanceof CalicoError ? e : new UsageError(e instanceof Error ? e.message : String(e));
    }
  }
  return backend;
}

class KubernetesBackend implements Backend {
  readonly type = 'kubernetes' as const;
  readonly #kube: KubeClient;
  readonly #transport: KubeTransport;
  readonly #closed = new AbortController();

  constructor(transport: KubeTransport) {
    this.#transport = transport;
    this.#kube = new KubeClient(transport);
  }

  #signal(opts?: CallOptions): AbortSignal {
    return opts?.signal === undefined
      ? this.#closed.signal
      : AbortSignal.any([opts.signal, this.#closed.signal]);
  }

  /** The decoded entry of `key` among the resources one object stands for. */
  #pick(key: ResourceKey, decoded: readonly Decoded[]): Decoded | undefined {
    return decoded.find((d) => sameKey(d.key, key));
  }

  async get(key: ResourceKey, opts?: CallOptions): Promise<Resource> {
    checkKey(key);
    const signal = this.#signal(opts);
    signal.throwIfAborted();
    const found = await this.#current(key, signal);
    if (found.decoded.value !== undefined) return found.decoded.value;
    throw new StoredValueError({ key, revision: found.revision, problem: found.decoded.problem });
  }

  /** The object `key` is read from and its decoding; NotFoundError when there is none. */
  async #current(
    key: ResourceKey,
    signal: AbortSignal,
  ): Promise<{ raw: unknown; revision: number; decoded: Decoded; at: Located }> {
    const builtIn = builtIns(key.kind).find((r) => r.metadata.name === key.name);
    if (builtIn !== undefined) {
      throw new OperationNotSupportedError(`${key.kind}(${key.name}) is built in: it has no stored object`);
    }
    const at = this.#kube.locate(key);
    const candidates =
      at.name === undefined
        ? (await this.#kube.list(at.api, at.namespace, {}, signal, key)).objects
        : [await this.#kube.getObject(at.api, at.namespace, at.name, signal, key)];
    for (const raw of candidates) {
      if (raw === undefined) continue;
      const decoded = this.#pick(key, decodeFor(key.kind, at.api, raw));
      if (decoded !== undefined) return { raw, revision: objectRevision(raw), decoded, at };
      if (at.name !== undefined) {
        // The object at the key's place names another resource (e.g. a metadata annotation with another name).
        const problem = `the object stored for ${keyPath(key)} is not that resource`;
        return { raw, revision: objectRevision(raw), decoded: { key, problem }, at };
      }
    }
    throw this.#kube.notFound(key);
  }

  async list(filter: ListFilter, opts?: CallOptions): Promise<ListResult> {
    checkKindFilter(filter.kind, filter.namespace);
    const signal = this.#signal(opts);
    signal.throwIfAborted();
    const entries: Decoded[] = [];
    let revision = Number.POSITIVE_INFINITY;
    for (const api of sourcesOf(filter.kind)) {
      const ns = api.namespaced ? filter.namespace : undefined;
      const page = await this.#kube.list(api, ns, {}, signal);
      revision = Math.min(revision, page.revision);
      for (const raw of page.objects) entries.push(...decodeFor(filter.kind, api, raw));
    }
    for (const r of builtIns(filter.kind)) entries.push({ key: keyOf(r), value: r });
    entries.sort(byKeyPath);
    const items: Resource[] = [];
    const invalid: InvalidStoredValue[] = [];
    for (const e of entries) {
      if (e.value !== undefined) items.push(e.value);
      else invalid.push({ key: e.key, revision: 0, problem: e.problem });
    }
    return { items, invalid, revision };
  }

  #refuse(key: ResourceKey, op: WriteOp): 'write' | 'patchPodIps' | 'clearPodIps' | 'mergeNodeAnnotations' {
    const p = kddPlacement(key.kind);
    if (p === undefined || p.store === 'crd') return 'write';
    const w = p.writes[op];
    switch (w.action) {
      case 'refuse':
        throw new OperationNotSupportedError(refusalMessage(key, op, w.reason));
      case 'passthrough':
        return 'write';
      case 'patchPodIps':
      case 'clearPodIps':
      case 'mergeNodeAnnotations':
        return w.action;
    }
  }

  /** The body written for `obj`: its custom resource, or the Kubernetes object itself. */
  #body(key: ResourceKey, obj: Resource, resourceVersion?: string): unknown {
    const clean = forWrite(obj, resourceVersion);
    if (kddPlacement(key.kind)?.store !== 'crd') return clean;
    // A custom resource keeps the v3 managedFields (calico-apiserver's) in its metadata annotation, as
    // libcalico-go's conversion stores the whole v3 ObjectMeta there.
    const { managedFields } = obj.metadata;
    return toCustomResource(
      managedFields === undefined ? clean : { ...clean, metadata: { ...clean.metadata, managedFields } },
    );
  }

  #decodeWritten(key: ResourceKey, raw: unknown): Resource {
    const at = this.#kube.locate(key);
    const d = this.#pick(key, decodeFor(key.kind, at.api, raw));
    if (d?.value === undefined) {
      const problem = d?.problem ?? 'the API server answered an object that is not this resource';
      throw new StoredValueError({ key, revision: objectRevision(raw), problem });
    }
    return d.value;
  }

  async create<T extends Resource>(obj: T, opts?: CallOptions): Promise<T> {
    const key = keyOf(obj);
    checkKey(key);
    const signal = this.#signal(opts);
    signal.throwIfAborted();
    checkNewSize(key, obj, Date.now());
    switch (this.#refuse(key, 'create')) {
      case 'patchPodIps':
        return (await this.#patchPod(key, obj as unknown as WorkloadEndpoint, false, signal)) as unknown as T;
      case 'mergeNodeAnnotations':
      case 'clearPodIps':
      case 'write':
        break;
    }
    const body =
      key.kind === 'Node'
        ? mergeCalicoNodeIntoKube(forWrite(obj) as unknown as Node, emptyKubeNode(key.name))
        : this.#body(key, obj);
    const at = this.#kube.locate(key);
    const raw = await this.#kube.create(at.api, at.namespace, body, signal, key);
    return this.#decodeWritten(key, raw) as T;
  }

  async update<T extends Resource>(obj: T, opts?: CallOptions): Promise<T> {
    const key = keyOf(obj);
    checkKey(key);
    const signal = this.#signal(opts);
    signal.throwIfAborted();
    checkNewSize(key, obj, Date.now());
    const action = this.#refuse(key, 'update');
    if (action === 'patchPodIps') {
      return (await this.#patchPod(key, obj as unknown as WorkloadEndpoint, false, signal)) as unknown as T;
    }
    const rv = obj.metadata.resourceVersion;
    if (rv !== undefined && parseRevision(rv) < 0) throw this.#kube.conflict(key);
    const at = this.#kube.locate(key);
    for (let attempt = 1; ; attempt++) {
      const base = rv ?? String((await this.#current(key, signal)).revision);
      let body = this.#body(key, obj, base);
      if (action === 'mergeNodeAnnotations') {
        const kube = (await this.#current(key, signal)).raw as KubeNode;
        body = mergeCalicoNodeIntoKube(forWrite(obj) as unknown as Node, {
          ...kube,
          metadata: { ...kube.metadata, resourceVersion: base },
        });
      }
      try {
        const raw = await this.#kube.replace(at.api, at.namespace, at.name ?? key.name, body, signal, key);
        return this.#decodeWritten(key, raw) as T;
      } catch (e) {
        if (
          rv !== undefined ||
          attempt >= MAX_RETRIES ||
          !(e instanceof CalicoError && e.code === 'CALICO_ERR_CONFLICT')
        )
          throw e;
      }
    }
  }

  async delete(key: ResourceKey, opts?: DeleteOptions): Promise<Resource | undefined> {
    checkKey(key);
    const signal = this.#signal(opts);
    signal.throwIfAborted();
    if (this.#refuse(key, 'delete') === 'clearPodIps') {
      const before = await this.get(key, { signal });
      await this.#patchPod(key, before as WorkloadEndpoint, true, signal);
      return before;
    }
    for (let attempt = 1; ; attempt++) {
      const cur = await this.#current(key, signal);
      const value = cur.decoded.value;
      if (opts?.uid !== undefined && value?.metadata.uid !== opts.uid) throw this.#kube.conflict(key);
      if (opts?.resourceVersion !== undefined && opts.resourceVersion !== String(cur.revision)) {
        throw this.#kube.conflict(key);
      }
      const rawUid = (cur.raw as { metadata?: { uid?: string } }).metadata?.uid;
      const preconditions = {
        resourceVersion: String(cur.revision),
        ...(rawUid === undefined ? {} : { uid: rawUid }),
      };
      try {
        await this.#kube.remove(
          cur.at.api,
          cur.at.namespace,
          objectName(cur.raw),
          preconditions,
          signal,
          key,
        );
        return value;
      } catch (e) {
        const lostRace =
          e instanceof CalicoError && (e.code === 'CALICO_ERR_CONFLICT' || e.code === 'CALICO_ERR_NOT_FOUND');
        if (!lostRace || opts?.resourceVersion !== undefined || attempt >= MAX_RETRIES) throw e;
      }
    }
  }

  /** The CNI's WorkloadEndpoint write: the pod's IP annotations set (or cleared), patched through `status`. */
  async #patchPod(
    key: ResourceKey,
    wep: WorkloadEndpoint,
    clear: boolean,
    signal: AbortSignal,
  ): Promise<Resource> {
    const pod = wep.spec.pod;
    if (pod === undefined || pod === '' || key.namespace === undefined) {
      throw new ValidationError([
        { path: 'spec.pod', message: 'required: the pod whose annotations are written' },
      ]);
    }
    const annotations = clear ? podIpsClearedAnnotations() : podIpAnnotations(wep);
    const podApi = sourcesOf('Pod')[0]!;
    const raw = await this.#kube.patchStatus(
      podApi,
      key.namespace,
      pod,
      { metadata: { annotations } },
      signal,
      key,
    );
    const d = decodeFor('WorkloadEndpoint', podApi, raw)[0];
    if (d?.value === undefined) throw this.#kube.notFound(key);
    return d.value;
  }

  /** Not atomic (Kubernetes has no transactions): each object created or replaced in turn. */
  async applyMany(objs: readonly Resource[], opts?: CallOptions): Promise<Resource[]> {
    // Every object is checked before the first is written, as on the transactional backends.
    for (const obj of objs) {
      const key = keyOf(obj);
      checkKey(key);
      checkNewSize(key, obj, Date.now());
    }
    const out: Resource[] = [];
    for (const obj of objs) {
      const clean = forWrite(obj);
      try {
        out.push(await this.create(clean, opts));
      } catch (e) {
        if (!(e instanceof CalicoError && e.code === 'CALICO_ERR_ALREADY_EXISTS')) throw e;
        out.push(await this.update(clean, opts));
      }
    }
    return out;
  }

  async watch(filter: WatchFilter, handler: WatchHandler, opts: WatchOptions): Promise<void> {
    checkWatchFilter(filter);
    const kinds = filter.kind === undefined ? allKinds().map((k) => k.kind) : [filter.kind];
    const plans = planWatch(kinds, filter.namespace, sourcesOf);
    const signal = AbortSignal.any([opts.signal, this.#closed.signal]);
    const { fromRevision, fromRevisionByKind } = filter;
    await runWatch(this.#transport, plans, fromRevision, fromRevisionByKind, handler, signal);
  }

  async valueAt(key: ResourceKey, revision: number, opts?: CallOptions): Promise<PastValue | undefined> {
    checkKey(key);
    const signal = this.#signal(opts);
    if (builtIns(key.kind).some((r) => r.metadata.name === key.name)) return undefined;
    const at = this.#kube.locate(key);
    const page = await this.#kube.listAt(at.api, at.namespace, at.name, revision, signal, key);
    for (const raw of page ?? []) {
      const d = this.#pick(key, decodeFor(key.kind, at.api, raw));
      if (d === undefined) continue;
      const rev = objectRevision(raw);
      return d.value !== undefined
        ? { revision: rev, value: d.value }
        : { revision: rev, problem: d.problem };
    }
    return undefined;
  }

  async currentRevision(opts?: CallOptions): Promise<number> {
    return this.#kube.currentRevision(this.#signal(opts));
  }

  compact(): Promise<void> {
    return Promise.reject(
      new UsageError(
        'compaction is not available through the Kubernetes API: kube-apiserver compacts its etcd itself ' +
          '(--etcd-compaction-interval, every 5 minutes by default)',
      ),
    );
  }

  close(): Promise<void> {
    this.#closed.abort();
    this.#transport.close();
    return Promise.resolve();
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}
