/**
 * Brings a Kubernetes cluster to a case state through kube-apiserver, as a user would with kubectl: the
 * state's Namespaces with exactly its labels, its Pods (bound to lab nodes, at the case addresses; the
 * nodes' lab kubelets run them through the calico CNI plugin), its NetworkPolicies, and any Calico-kind
 * policies through the Kubernetes datastore (CRDs). Objects are reused across states and cases: a Pod
 * whose spec and address are unchanged is kept and only relabelled (a Pod's spec is immutable), others are
 * deleted (their kubelet runs CNI DEL, which releases the address) and created anew; an unchanged policy is
 * not rewritten. Objects this reconciler did not create are left alone.
 *
 * Order within a state: namespaces (created or relabelled), pods (removed, then relabelled, then created and
 * waited for until Running at their address), policies, Calico resources, and last the namespaces the state
 * no longer has (their pods are gone by then, so no address is still held when the next state starts).
 */
import { waitFor } from '../lib/async.js';
import { CalicoError, NotFoundError, errorMessage } from '../lib/errors.js';
import { keyOf, type Backend, type Resource } from '../datastore/index.js';
import { formatKey } from '../datastore/resource.js';
import { KubeApiError, type CaseApi, type StoredObject } from './kube-api.js';
import {
  labelsPatch,
  namespaceObject,
  podFingerprint,
  type KubeNetworkPolicy,
  type KubeObject,
  type Labels,
} from './kube-objects.js';

type Signal = { readonly signal?: AbortSignal };

/** A pod of the state: its object and the address it must run at. */
export interface WantedPod {
  readonly object: KubeObject;
  readonly ip: string;
}

interface TrackedPod {
  readonly fingerprint: string;
  labels: Labels;
}

const POD_TIMEOUT_MS = 90_000;
const DELETE_TIMEOUT_MS = 90_000;

function keyOfObject(o: { metadata: { namespace?: string; name: string } }): string {
  return `${o.metadata.namespace ?? ''}/${o.metadata.name}`;
}

function splitKey(key: string): [string, string] {
  const i = key.indexOf('/');
  return [key.slice(0, i), key.slice(i + 1)];
}

/** The API server refuses a Pod until its namespace's `default` ServiceAccount exists (admission). */
function waitingForServiceAccount(e: unknown): boolean {
  return e instanceof KubeApiError && e.status === 403 && /service ?account/i.test(e.message);
}

/** What a pod that is not Running yet shows (its Ready condition's message carries a sandbox error). */
function podProgress(o: StoredObject | undefined): string {
  if (o === undefined) return 'not found';
  const ready = o.status?.conditions?.find((c) => c.type === 'Ready');
  return `${o.status?.phase ?? 'no phase'}${o.status?.podIP !== undefined ? ` at ${o.status.podIP}` : ''}${
    ready?.message !== undefined ? ` (${ready.message})` : ''
  }`;
}

export class KubeCaseObjects {
  readonly #api: CaseApi;
  readonly #calicoStore: Backend;
  readonly #namespaces = new Set<string>();
  readonly #pods = new Map<string, TrackedPod>();
  readonly #policies = new Map<string, string>();
  readonly #calico = new Map<string, string>();

  /** `calicoStore`: the Kubernetes datastore backend, for Calico-kind policies (CRDs). */
  constructor(api: CaseApi, calicoStore: Backend) {
    this.#api = api;
    this.#calicoStore = calicoStore;
  }

  /** Creates or relabels each wanted namespace (waiting out one still terminating). */
  async ensureNamespaces(want: Readonly<Record<string, Labels>>, options: Signal = {}): Promise<void> {
    for (const [name, labels] of Object.entries(want)) {
      const o = namespaceObject(name, labels);
      let cur = await this.#api.get('Namespace', undefined, name, options.signal);
      if (cur?.metadata.deletionTimestamp !== undefined) {
        await this.#waitGone([['Namespace', undefined, name]], options);
        cur = undefined;
      }
      if (cur === undefined) await this.#api.create('Namespace', o, options.signal);
      else {
        const patch = labelsPatch(cur.metadata.labels, o.metadata.labels ?? {});
        if (patch !== undefined) await this.#api.patch('Namespace', undefined, name, patch, options.signal);
      }
      this.#namespaces.add(name);
    }
  }

  /** Deletes the namespaces this reconciler made that are not in `keep` (not waited for). */
  async dropNamespaces(keep: ReadonlySet<string>, options: Signal = {}): Promise<void> {
    for (const name of [...this.#namespaces]) {
      if (keep.has(name)) continue;
      await this.#api.delete('Namespace', undefined, name, options.signal);
      this.#namespaces.delete(name);
      // Their policies go with them.
      for (const k of [...this.#policies.keys()]) if (splitKey(k)[0] === name) this.#policies.delete(k);
    }
  }

  /**
   * Makes the reconciler's pods exactly `want`: changed and unwanted pods are deleted and waited for until
   * gone, kept ones relabelled, new ones created and waited for until Running at their address.
   */
  async setPods(want: readonly WantedPod[], options: Signal = {}): Promise<void> {
    const wanted = new Map(want.map((w) => [keyOfObject(w.object), w]));
    const gone = [...this.#pods.entries()]
      .filter(([k, t]) => {
        const w = wanted.get(k);
        return w === undefined || podFingerprint(w.object) !== t.fingerprint;
      })
      .map(([k]) => k);
    for (const k of gone) await this.#api.delete('Pod', ...splitKey(k), options.signal);
    await this.#waitGone(
      gone.map((k) => ['Pod', ...splitKey(k)]),
      options,
    );
    for (const k of gone) this.#pods.delete(k);
    for (const [k, w] of wanted) {
      const labels = w.object.metadata.labels ?? {};
      const t = this.#pods.get(k);
      if (t === undefined) {
        await this.#createPod(w.object, options);
        this.#pods.set(k, { fingerprint: podFingerprint(w.object), labels });
        continue;
      }
      const patch = labelsPatch(t.labels, labels);
      if (patch !== undefined) {
        await this.#api.patch('Pod', ...splitKey(k), patch, options.signal);
        t.labels = labels;
      }
    }
    // Every pod of the state, not only the new ones: a pod of an earlier state may never have come up.
    await this.#waitRunning([...wanted.values()], options);
  }

  async #createPod(o: KubeObject, options: Signal): Promise<void> {
    let last: unknown;
    await waitFor(
      async () => {
        try {
          await this.#api.create('Pod', o, options.signal);
          return true;
        } catch (e) {
          if (!waitingForServiceAccount(e)) throw e;
          last = e;
          return false;
        }
      },
      {
        timeoutMs: 30_000,
        intervalMs: 100,
        what: `the default ServiceAccount of namespace ${o.metadata.namespace ?? ''}`,
        describe: () => errorMessage(last),
        ...options,
      },
    );
  }

  async #waitRunning(pods: readonly WantedPod[], options: Signal): Promise<void> {
    const pending = new Map(pods.map((p) => [keyOfObject(p.object), p]));
    const seen = new Map<string, StoredObject | undefined>();
    await waitFor(
      async () => {
        for (const [k, p] of [...pending]) {
          const o = await this.#api.get('Pod', ...splitKey(k), options.signal);
          seen.set(k, o);
          const ip = o?.status?.podIP;
          if (o?.status?.phase !== 'Running' || ip === undefined) continue;
          if (ip !== p.ip)
            throw new CalicoError('CALICO_ERR_IO', `pod ${k} runs at ${ip}, not at the case address ${p.ip}`);
          pending.delete(k);
        }
        return pending.size === 0;
      },
      {
        timeoutMs: POD_TIMEOUT_MS,
        intervalMs: 100,
        what: `pods Running (${[...pending.keys()].join(', ')})`,
        describe: () => [...pending.keys()].map((k) => `${k}: ${podProgress(seen.get(k))}`).join('; '),
        ...options,
      },
    );
  }

  async #waitGone(
    objects: readonly (readonly ['Namespace' | 'Pod', string | undefined, string])[],
    options: Signal,
  ): Promise<void> {
    if (objects.length === 0) return;
    let left = [...objects];
    await waitFor(
      async () => {
        const still = [];
        for (const o of left)
          if ((await this.#api.get(o[0], o[1], o[2], options.signal)) !== undefined) still.push(o);
        left = still;
        return left.length === 0;
      },
      {
        timeoutMs: DELETE_TIMEOUT_MS,
        intervalMs: 100,
        what: 'deleted objects to be gone',
        describe: () => left.map((o) => `${o[0]} ${o[1] ?? ''}/${o[2]}`).join(', '),
        ...options,
      },
    );
  }

  /**
   * Makes the NetworkPolicies exactly `want` (unchanged ones untouched). Returns the API server's refusals
   * (an invalid policy) as problems; other failures throw.
   */
  async setPolicies(want: readonly KubeNetworkPolicy[], options: Signal = {}): Promise<string[]> {
    const wanted = new Map(want.map((p) => [keyOfObject(p), p]));
    for (const k of [...this.#policies.keys()]) {
      if (wanted.has(k)) continue;
      await this.#api.delete('NetworkPolicy', ...splitKey(k), options.signal);
      this.#policies.delete(k);
    }
    const problems: string[] = [];
    for (const [k, p] of wanted) {
      const text = JSON.stringify(p);
      if (this.#policies.get(k) === text) continue;
      try {
        const cur = await this.#api.get('NetworkPolicy', ...splitKey(k), options.signal);
        if (cur === undefined) await this.#api.create('NetworkPolicy', p, options.signal);
        else await this.#api.replace('NetworkPolicy', p, cur.metadata.resourceVersion, options.signal);
        this.#policies.set(k, text);
      } catch (e) {
        if (!(e instanceof KubeApiError) || (e.status !== 400 && e.status !== 422)) throw e;
        // An earlier version may still be stored: keep it tracked (never equal to a wanted text), so a
        // later state deletes or rewrites it.
        this.#policies.set(k, '');
        problems.push(e.message);
      }
    }
    return problems;
  }

  /** Makes the Calico-kind resources of the cases exactly `want` (through the Kubernetes datastore). */
  async setCalicoResources(want: readonly Resource[], options: Signal = {}): Promise<void> {
    const wanted = new Map(want.map((r) => [formatKey(keyOf(r)), r]));
    for (const [k] of this.#calico) {
      if (wanted.has(k)) continue;
      const r = JSON.parse(this.#calico.get(k) ?? 'null') as Resource;
      await this.#calicoStore.delete(keyOf(r), options).catch((e: unknown) => {
        if (!(e instanceof NotFoundError)) throw e;
      });
      this.#calico.delete(k);
    }
    const changed = [...wanted].filter(([k, r]) => this.#calico.get(k) !== JSON.stringify(r));
    if (changed.length > 0)
      await this.#calicoStore.applyMany(
        changed.map(([, r]) => r),
        options,
      );
    for (const [k, r] of changed) this.#calico.set(k, JSON.stringify(r));
  }
}
