/**
 * Installs Calico's CustomResourceDefinitions (`calicoCrds()`, group crd.projectcalico.org) by server-side
 * apply, then waits (bounded) until the API server reports every one Established, i.e. serving its kind, and
 * until each kind's list answers (warm: see `waitCrdsServed`).
 */
import { waitFor } from '../../../lib/async.js';
import { calicoCrds, type CustomResourceDefinition } from '../crd-definitions.js';
import { policyApiCrds } from '../policy-api-crds.js';
import type { KubeApi } from './api.js';

const CRDS = '/apis/apiextensions.k8s.io/v1/customresourcedefinitions';

/** Calico's CRDs and the upstream network-policy-api ones (AdminNetworkPolicy, ...), which KDD watches too. */
function installedCrds(): CustomResourceDefinition[] {
  return [...calicoCrds(), ...policyApiCrds()];
}

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

type WaitOptions = { readonly timeoutMs: number; readonly signal?: AbortSignal };

/** Applies every Calico CRD and waits until all are Established and served; returns their names. */
export async function installCalicoCrds(api: KubeApi, options: WaitOptions): Promise<string[]> {
  const crds = installedCrds();
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
  await waitCrdsServed(api, options);
  return names;
}

/**
 * Waits until every Calico kind's list answers 200 (after a restart the API server serves the CRDs late: 503).
 * The list also creates the kind's watch cache, which the API server otherwise creates on first use, starting
 * at that moment: a watch from an earlier resourceVersion would then be answered 410 Gone.
 */
export async function waitCrdsServed(api: KubeApi, options: WaitOptions): Promise<void> {
  let pending = installedCrds();
  await waitFor(
    async () => {
      const list = (c: (typeof pending)[number]): Promise<number> =>
        api
          .send(
            'GET',
            `/apis/${c.spec.group}/${c.spec.versions[0]?.name ?? 'v1'}/${c.spec.names.plural}?limit=1`,
          )
          .then(
            (r) => r.status,
            () => 0,
          );
      const statuses = await Promise.all(pending.map(list));
      pending = pending.filter((_, i) => statuses[i] !== 200);
      return pending.length === 0;
    },
    {
      timeoutMs: options.timeoutMs,
      intervalMs: 100,
      what: 'Calico CRDs served',
      describe: () => `not yet: ${pending.map((c) => c.metadata.name).join(', ')}`,
      ...(options.signal !== undefined ? { signal: options.signal } : {}),
    },
  );
}
