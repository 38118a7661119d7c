/**
 * `calico` DEL and GC.
 *
 * DEL (reference §7.2, `CmdDelK8s`), idempotent (anything already gone is success): delete the
 * WorkloadEndpoint unless it now belongs to another sandbox of the same pod (its containerID differs: a newer
 * ADD replaced it), remove the container's interface inside `CNI_NETNS` when that still exists (which also
 * removes the host end and its routes), then let the IPAM plugin release the handle. The endpoint goes first
 * so that no endpoint is left pointing at an address that could be handed out again.
 *
 * GC (spec 1.1.0): for this node, delete the WorkloadEndpoints (and their host veths) whose container is not
 * among `cni.dev/valid-attachments`, then let the IPAM plugin release the stale handles.
 */
import type { Backend, Resource } from '../datastore/api.js';
import { ConflictError, NotFoundError, errorMessage } from '../lib/errors.js';
import { sandboxIdOf, workloadOf } from './invocation.js';
import { ipamRun } from './ipam-exec.js';
import { getOptional, resolveNodename } from './node.js';
import type { CommandContext } from './plugin.js';
import { CniCode, CniError } from './spec.js';
import { removeContainerInterface, removeHostInterface } from './veth.js';
import { workloadIds } from './workload.js';

interface WepSpec {
  node?: string;
  containerID?: string;
  endpoint?: string;
  interfaceName?: string;
  orchestrator?: string;
}

function specOf(r: Resource): WepSpec {
  return (r as Resource & { spec?: WepSpec }).spec ?? {};
}

/** Deletes the endpoint if it is this container's; returns what happened. */
async function deleteOwnEndpoint(
  backend: Backend,
  key: { kind: string; namespace: string; name: string },
  containerId: string,
): Promise<'deleted' | 'absent' | 'other-sandbox'> {
  for (let attempt = 1; ; attempt++) {
    const wep = await getOptional(backend, key);
    if (wep === undefined) return 'absent';
    const owner = specOf(wep).containerID ?? '';
    if (owner !== '' && owner !== containerId) return 'other-sandbox';
    try {
      await backend.delete(key, {
        ...(wep.metadata.resourceVersion === undefined
          ? {}
          : { resourceVersion: wep.metadata.resourceVersion }),
        ...(wep.metadata.uid === undefined ? {} : { uid: wep.metadata.uid }),
      });
      return 'deleted';
    } catch (e) {
      if (e instanceof NotFoundError) return 'absent';
      if (!(e instanceof ConflictError) || attempt >= 10) throw e;
    }
  }
}

export async function calicoDel(ctx: CommandContext): Promise<void> {
  const { conf, inv, log } = ctx;
  const node = resolveNodename(conf, false);
  const ids = workloadIds(node, workloadOf(inv), sandboxIdOf(inv), inv.ifname);
  const key = { kind: 'WorkloadEndpoint', namespace: ids.namespace, name: ids.wepName };
  const outcome = await ctx.host.withDatastore(conf, (backend) =>
    deleteOwnEndpoint(backend, key, ids.containerId),
  );
  if (outcome === 'other-sandbox') {
    log.info('WorkloadEndpoint belongs to a newer sandbox of this pod; keeping it', { wep: ids.wepName });
  } else {
    log.info(`WorkloadEndpoint ${outcome}`, { wep: `${ids.namespace}/${ids.wepName}` });
  }
  const removed = await removeContainerInterface(ctx.host.runner, inv.netns, inv.ifname);
  log.debug('container interface', { removed });
  await ipamRun(ctx, 'DEL');
}

/** Deletes this node's endpoints (and their host veths) whose attachment is not valid; collects failures. */
async function removeStaleEndpoints(
  ctx: CommandContext,
  backend: Backend,
  node: string,
  valid: readonly { containerID: string; ifname: string }[],
  errors: string[],
): Promise<void> {
  const attachments = new Set(valid.map((a) => `${a.containerID}/${a.ifname}`));
  const validIds = new Set(valid.map((a) => a.containerID));
  const { items } = await backend.list({ kind: 'WorkloadEndpoint' });
  for (const wep of items) {
    const s = specOf(wep);
    const cid = s.containerID ?? '';
    if (s.node !== node || cid === '' || (s.orchestrator !== 'k8s' && s.orchestrator !== 'cni')) continue;
    if (attachments.has(`${cid}/${s.endpoint ?? ''}`) || (validIds.has(cid) && s.endpoint === undefined))
      continue;
    try {
      await backend.delete(
        { kind: 'WorkloadEndpoint', namespace: wep.metadata.namespace ?? 'default', name: wep.metadata.name },
        { ...(wep.metadata.uid === undefined ? {} : { uid: wep.metadata.uid }) },
      );
      if (s.interfaceName !== undefined) await removeHostInterface(ctx.host.runner, s.interfaceName);
      ctx.log.info('GC removed a stale WorkloadEndpoint', {
        wep: `${wep.metadata.namespace ?? ''}/${wep.metadata.name}`,
        containerID: cid,
      });
    } catch (e) {
      if (!(e instanceof NotFoundError)) errors.push(`${wep.metadata.name}: ${errorMessage(e)}`);
    }
  }
}

export async function calicoGc(ctx: CommandContext): Promise<void> {
  const { conf } = ctx;
  const valid = conf.validAttachments;
  if (valid === undefined) {
    throw new CniError(CniCode.invalidConfig, 'GC needs cni.dev/valid-attachments');
  }
  const node = resolveNodename(conf, false);
  const errors: string[] = [];
  await ctx.host.withDatastore(conf, (backend) => removeStaleEndpoints(ctx, backend, node, valid, errors));
  try {
    await ipamRun(ctx, 'GC');
  } catch (e) {
    errors.push(`IPAM GC: ${errorMessage(e)}`);
  }
  if (errors.length > 0)
    throw new CniError(CniCode.internal, 'GC could not remove every stale resource', errors.join('; '));
}
