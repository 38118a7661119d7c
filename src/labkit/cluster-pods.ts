/**
 * Adding and removing batches of lab pods (pods.ts does one pod): records first (so cleanup finds
 * half-created pods), Namespaces before any pod (the agent takes the pod's profile from them), networks in
 * parallel with bounded concurrency, then the lab-wired pods' WorkloadEndpoints in one batch. A pod that
 * fails is torn down before the error is thrown.
 */
import { mapLimit } from './concurrency.js';
import {
  newPodRecord,
  plumbPod,
  podEndpoint,
  recordKey,
  unplumbPod,
  writePodMetadata,
  type PodContext,
  type PodVia,
} from './pods.js';
import type { ProbeAgents } from './probe-client.js';
import { ensureNamespaces } from './resource-sync.js';
import type { LabPodSpec } from './resources.js';
import { saveState, type PodRecord } from './state.js';

export interface PodBatchContext extends PodContext {
  readonly probes: ProbeAgents;
  readonly newNamespaceName: () => string;
}

type Signal = { readonly signal?: AbortSignal };

export async function addLabPods(
  ctx: PodBatchContext,
  items: readonly { readonly node: string; readonly spec: LabPodSpec }[],
  options: Signal & { readonly via: PodVia; readonly concurrency?: number },
): Promise<PodRecord[]> {
  const signal = options.signal !== undefined ? { signal: options.signal } : {};
  const specs = items.map((i) => i.spec);
  const records = items.map(({ node, spec }) =>
    newPodRecord(ctx.state, node, spec, specs, ctx.newNamespaceName(), options.via),
  );
  ctx.state.pods.push(...records);
  saveState(ctx.state);
  await ensureNamespaces(
    ctx.datastore,
    records.map((r) => r.namespace),
    signal,
  );
  await mapLimit(records, options.concurrency ?? 4, async (r) => {
    try {
      const agent = await plumbPod(ctx, r, signal);
      ctx.probes.add(recordKey(r), agent.process, agent.client);
    } catch (e) {
      await teardownLabPods(ctx, [r]).catch(() => undefined);
      throw e;
    } finally {
      saveState(ctx.state);
    }
  });
  const plumbed = records.filter((r) => r.via !== 'cni');
  if (plumbed.length > 0) await ctx.datastore.applyMany(plumbed.map(podEndpoint), signal);
  return records;
}

/** Removes the pods (endpoint, namespace, routes, addresses) and forgets them, saving state even on failure. */
export async function teardownLabPods(ctx: PodBatchContext, records: readonly PodRecord[]): Promise<void> {
  try {
    await mapLimit(records, 4, async (r) => {
      ctx.probes.forget(recordKey(r));
      await unplumbPod(ctx, r);
      const i = ctx.state.pods.indexOf(r);
      if (i >= 0) ctx.state.pods.splice(i, 1);
    });
  } finally {
    saveState(ctx.state);
  }
}

/** Changes a lab pod's labels, named container ports and/or served ports; its endpoint is rewritten on change. */
export async function updateLabPod(
  ctx: PodBatchContext,
  r: PodRecord,
  change: Pick<LabPodSpec, 'labels' | 'containerPorts' | 'ports'>,
  options: Signal = {},
): Promise<void> {
  if (change.ports !== undefined && !sameNumbers(change.ports, r.ports)) {
    r.ports = [...change.ports];
    await (await ctx.probes.client(recordKey(r), r.socketPath)).serve(r.ports);
  }
  const before = JSON.stringify(podEndpoint(r));
  if (change.labels !== undefined) r.labels = { ...change.labels };
  if (change.containerPorts !== undefined) r.containerPorts = [...change.containerPorts];
  saveState(ctx.state);
  if (JSON.stringify(podEndpoint(r)) !== before) await writePodMetadata(ctx, r, options);
}

function sameNumbers(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}
