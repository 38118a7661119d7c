/**
 * Installs Calico's CustomResourceDefinitions (`calicoCrds()`, group crd.projectcalico.org) by server-side
 * apply, then waits (bounded) until the API server reports every one Established, i.e. serving its kind.
 */
import { waitFor } from '../../lib/async.js';
import { calicoCrds } from '../../datastore/kubernetes/crd-definitions.js';
import type { KubeApi } from './api.js';

const CRDS = '/apis/apiextensions.k8s.io/v1/customresourcedefinitions';

interface CrdList {
  readonly items?: readonly {
    readonly metadata?: { readonly name?: string };
    readonly status?: {
      readonly conditions?: readonly { readonly type?: string; readonly status?: string }[];
    };
  }[];
}

/** The names of the CRDs the API server reports Established. */
export async function establishedCrds(api: KubeApi): Promise<Set<string>> {
  const list = (await api.getJson(CRDS)) as CrdList;
  return new Set(
    (list.items ?? [])
      .filter((c) => c.status?.conditions?.some((x) => x.type === 'Established' && x.status === 'True'))
      .map((c) => c.metadata?.name ?? ''),
  );
}

/** Applies every Calico CRD and waits until all are Established; returns their names. */
export async function installCalicoCrds(
  api: KubeApi,
  options: { readonly timeoutMs: number; readonly signal?: AbortSignal },
): Promise<string[]> {
  const crds = calicoCrds();
  for (const crd of crds) await api.apply(`${CRDS}/${crd.metadata.name}`, crd);
  const names = crds.map((c) => c.metadata.name);
  let missing = names;
  await waitFor(
    async () => {
      const ok = await establishedCrds(api);
      missing = names.filter((n) => !ok.has(n));
      return missing.length === 0;
    },
    {
      timeoutMs: options.timeoutMs,
      intervalMs: 200,
      what: 'Calico CRDs Established',
      describe: () => `not yet: ${missing.join(', ')}`,
      ...(options.signal !== undefined ? { signal: options.signal } : {}),
    },
  );
  return names;
}
