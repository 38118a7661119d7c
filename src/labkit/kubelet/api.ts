/**
 * The kubelet's few API calls (over the KDD backend's transport: the kubeconfig's TLS and credentials): list
 * and watch the pods bound to one node, patch a pod's status, delete a pod with grace period 0, and the node
 * heartbeat (Node status, Lease). Each answer other than the expected one is an error naming the call and the
 * server's message.
 */
import { CalicoError } from '../../lib/errors.js';
import {
  statusOf,
  type KubeResponse,
  type KubeTransport,
  type WatchEvent,
} from '../../datastore/kubernetes/transport.js';
import { nodeLease, nodeStatusPatch, type KubePod } from './status.js';

/** The field manager of the kubelet's server-side applies. */
export const KUBELET_FIELD_MANAGER = 'calico-lab-kubelet';

const MERGE_PATCH = 'application/merge-patch+json';

function fail(what: string, r: KubeResponse): CalicoError {
  const s = statusOf(r.body);
  return new CalicoError('CALICO_ERR_IO', `${what}: ${r.status} ${s.message ?? ''}`.trim());
}

function podPath(namespace: string, name: string): string {
  return `/api/v1/namespaces/${encodeURIComponent(namespace)}/pods/${encodeURIComponent(name)}`;
}

export class KubeletApi {
  readonly #t: KubeTransport;
  readonly node: string;
  readonly #selector: string;

  constructor(transport: KubeTransport, node: string) {
    this.#t = transport;
    this.node = node;
    this.#selector = `fieldSelector=${encodeURIComponent(`spec.nodeName=${node}`)}`;
  }

  get server(): string {
    return this.#t.server;
  }

  /** The pods bound to the node, and the list's resourceVersion to watch from. */
  async listPods(signal?: AbortSignal): Promise<{ items: KubePod[]; resourceVersion: string }> {
    const r = await this.#t.request('GET', `/api/v1/pods?${this.#selector}`, undefined, { signal });
    if (r.status !== 200) throw fail(`list pods on node ${this.node}`, r);
    const body = r.body as { items?: KubePod[]; metadata?: { resourceVersion?: string } };
    return { items: body.items ?? [], resourceVersion: body.metadata?.resourceVersion ?? '' };
  }

  /**
   * Watches the node's pods from `resourceVersion` until the stream ends; resolves with how it ended:
   * `closed` (re-watch from the last version seen), `expired` (410: list again) or an error.
   */
  watchPods(
    resourceVersion: string,
    onEvent: (e: WatchEvent) => void,
    signal: AbortSignal,
  ): Promise<'closed' | 'expired' | Error> {
    const path = `/api/v1/pods?${this.#selector}&watch=1&allowWatchBookmarks=true&resourceVersion=${resourceVersion}`;
    return new Promise((resolve) => {
      const onAbort = (): void => {
        resolve('closed');
      };
      signal.addEventListener('abort', onAbort, { once: true });
      const done = (v: 'closed' | 'expired' | Error): void => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      };
      this.#t
        .watch(
          path,
          {
            onEvent: (e) => {
              if (e.type === 'ERROR') {
                done(
                  statusOf(e.object).code === 410
                    ? 'expired'
                    : new Error(`watch: ${statusOf(e.object).message}`),
                );
                return;
              }
              onEvent(e);
            },
            onEnd: (error) => {
              done(error ?? 'closed');
            },
          },
          signal,
        )
        .then(
          (refused) => {
            if (refused !== undefined) done(refused.status === 410 ? 'expired' : fail('watch pods', refused));
          },
          (e: unknown) => {
            done(e instanceof Error ? e : new Error(String(e)));
          },
        );
    });
  }

  /**
   * A merge patch of the pod's status subresource, guarded by the pod's uid as kubelet's status manager does
   * (a uid in the patch must match: a pod recreated under the same name is left alone).
   */
  async patchPodStatus(pod: KubePod, patch: Record<string, unknown>): Promise<void> {
    const { namespace, name, uid } = pod.metadata;
    const r = await this.#t.request(
      'PATCH',
      `${podPath(namespace, name)}/status`,
      { ...patch, metadata: { uid } },
      {
        contentType: MERGE_PATCH,
      },
    );
    if (r.status === 404) return; // gone
    // Replaced by a pod of the same name: the API server answers `metadata.uid: ... field is immutable`.
    if (r.status === 422 && (statusOf(r.body).message ?? '').includes('metadata.uid')) return;
    if (r.status !== 200) throw fail(`patch status of pod ${namespace}/${name}`, r);
  }

  /** Deletes the pod now (grace period 0), only if it is still the same object (uid precondition). */
  async deletePodNow(pod: KubePod): Promise<void> {
    const { namespace, name, uid } = pod.metadata;
    const r = await this.#t.request('DELETE', podPath(namespace, name), {
      apiVersion: 'v1',
      kind: 'DeleteOptions',
      gracePeriodSeconds: 0,
      preconditions: { uid },
    });
    if (r.status === 404 || r.status === 409) return; // gone, or another pod of that name now
    if (r.status !== 200 && r.status !== 202) throw fail(`delete pod ${namespace}/${name}`, r);
  }

  /** One heartbeat: the Node's status (Ready) and its Lease. */
  async heartbeat(now: Date, since: Date, nodeIp: string | undefined): Promise<void> {
    const st = await this.#t.request(
      'PATCH',
      `/api/v1/nodes/${encodeURIComponent(this.node)}/status`,
      nodeStatusPatch(now, since, nodeIp),
      { contentType: MERGE_PATCH },
    );
    if (st.status !== 200) throw fail(`node ${this.node} status`, st);
    const lease = await this.#t.request(
      'PATCH',
      `/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/${encodeURIComponent(this.node)}` +
        `?fieldManager=${KUBELET_FIELD_MANAGER}&force=true`,
      nodeLease(this.node, now),
      { contentType: 'application/apply-patch+yaml' },
    );
    if (lease.status !== 200 && lease.status !== 201) throw fail(`node ${this.node} lease`, lease);
  }
}
