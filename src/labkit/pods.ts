/**
 * A lab pod's life: its record (validated against the lab's other pods), its namespace, its network, its
 * probe agent, its endpoint, and teardown. Two ways to give a pod its network:
 *
 *   cni    the `calico` CNI plugin with calico-ipam (cni.ts): IPAM, veth, WorkloadEndpoint, policy wait. The
 *          lab stores the Kubernetes Pod first (labels, named ports, the ipAddrs annotation for a fixed
 *          address, which must lie in an IPPool), as the API server would hold it for the plugin to read.
 *   plumb  the lab's own wiring (plumbing.ts) and WorkloadEndpoint, for exact addresses of either family. In an
 *          agent-routed lab the address is assigned in IPAM on the pod's node first, so that its block (and
 *          so its route on the other nodes) belongs to that node.
 *
 * In a `static` lab (no routing daemon) every other node gets a host route to the pod, whichever way it was
 * wired.
 *
 * Both add the hairpin rules inside the pod (plumbing.ts) so that pod -> own address crosses the node.
 */
import { existsSync } from 'node:fs';
import type { Backend, Resource } from '../datastore/index.js';
import type { CommandRunner } from '../dataplane/exec/command-runner.js';
import { IpamClient } from '../ipam/index.js';
import { CalicoError, NotFoundError } from '../lib/errors.js';
import { parseIp } from '../lib/net/ip.js';
import { endpointStatusPath } from './agent.js';
import { podWiring, unwirePodRoutes, wirePodRoutes } from './cluster-net.js';
import { cniAdd, cniDel, labNetconf, IP_ADDRS_ANNOTATION, type CniAttachment } from './cni.js';
import { createNamespace, deleteNamespace, listNamespaces } from './netns.js';
import { clusterDnsFiles, podFiles } from './paths.js';
import { interfaceMac, wireCniPodHairpin, wirePod } from './plumbing.js';
import { startProbeAgent, type ProbeAgentClient } from './probe-client.js';
import type { LabProcess } from './process.js';
import {
  hostInterfaceName,
  labPod,
  labWorkloadEndpoint,
  parsePodKey,
  podIpFamily,
  podKey,
  type LabPodSpec,
} from './resources.js';
import type { LabState, NodeRecord, PodRecord } from './state.js';
import { agentRouted, podMtu } from './topology.js';

type Signal = { readonly signal?: AbortSignal };

export type PodVia = 'cni' | 'plumb';

export interface PodContext {
  readonly runner: CommandRunner;
  readonly state: LabState;
  readonly datastore: Backend;
}

export function recordKey(r: Pick<PodRecord, 'namespace' | 'name'>): string {
  return podKey(r.namespace, r.name);
}

/**
 * The record of a new pod. Its key and IP (when fixed) must be unused by the lab's pods and by the rest of
 * `batch` (the specs being added with it).
 */
export function newPodRecord(
  state: LabState,
  node: string,
  spec: LabPodSpec,
  batch: readonly LabPodSpec[],
  netns: string,
  via: PodVia,
): PodRecord {
  if (!state.nodes.some((n) => n.name === node))
    throw new CalicoError('CALICO_ERR_NOT_FOUND', `no lab node ${node}`);
  const key = podKey(spec.namespace, spec.name);
  if (parsePodKey(key) === undefined) throw new CalicoError('CALICO_ERR_USAGE', `invalid pod "${key}"`);
  if (via === 'plumb' && spec.ip === undefined && !agentRouted(state.network ?? 'static'))
    throw new CalicoError('CALICO_ERR_USAGE', `pod ${key} needs an address in a static lab`);
  const family = spec.ip === undefined ? 4 : podIpFamily(spec.ip);
  const ip = spec.ip === undefined ? undefined : parseIp(spec.ip)?.value;
  const taken = (p: { namespace: string; name: string; ip?: string }): boolean =>
    podKey(p.namespace, p.name) === key ||
    (ip !== undefined && p.ip !== undefined && parseIp(p.ip)?.value === ip);
  if (state.pods.some(taken) || batch.filter((s) => s !== spec).some(taken))
    throw new CalicoError('CALICO_ERR_ALREADY_EXISTS', `pod ${key} or IP ${spec.ip ?? ''} is taken`);
  return {
    namespace: spec.namespace,
    name: spec.name,
    node,
    ip: spec.ip ?? '',
    family,
    netns,
    hostIfname: hostInterfaceName(spec),
    labels: { ...(spec.labels ?? {}) },
    ports: [...(spec.ports ?? [])],
    containerPorts: [...(spec.containerPorts ?? [])],
    via,
    ...(via === 'cni' ? { containerId: `lab-${netns}` } : {}),
    ...podFiles(state.runDir, key),
  };
}

function nodeOf(state: LabState, r: PodRecord): NodeRecord {
  const n = state.nodes.find((x) => x.name === r.node);
  if (n === undefined) throw new CalicoError('CALICO_ERR_NOT_FOUND', `no lab node ${r.node}`);
  return n;
}

function ipamHandle(r: PodRecord): string {
  return `lab.${r.namespace}.${r.name}`;
}

/** Assigns (or picks) the address of a plumbed pod in IPAM, on its node. */
async function assignPlumbedAddress(ctx: PodContext, r: PodRecord): Promise<void> {
  const ipam = new IpamClient(ctx.datastore);
  const handleId = ipamHandle(r);
  const attrs = { node: r.node, namespace: r.namespace, pod: r.name };
  r.ipamHandle = handleId;
  if (r.ip !== '') {
    await ipam.assignIp({ ip: r.ip, hostname: r.node, handleId, attrs });
    return;
  }
  const { ipv4 } = await ipam.autoAssign({ num4: 1, num6: 0, hostname: r.node, handleId, attrs });
  const ip = ipv4[0]?.ip.split('/')[0];
  if (ip === undefined) throw new CalicoError('CALICO_ERR_IO', `IPAM assigned no address to ${recordKey(r)}`);
  r.ip = ip;
}

function cniAttachment(ctx: PodContext, r: PodRecord): CniAttachment {
  if (ctx.state.cniBinDir === undefined || r.containerId === undefined)
    throw new CalicoError('CALICO_ERR_BUG', `CNI pod ${recordKey(r)} without plugins or container ID`);
  const node = nodeOf(ctx.state, r);
  return {
    binDir: ctx.state.cniBinDir,
    nodeNs: node.netns,
    podNs: r.netns,
    containerId: r.containerId,
    namespace: r.namespace,
    name: r.name,
    netconf: labNetconf(ctx.state, node),
    nodeRunDir: node.runDir,
  };
}

/** The Kubernetes Pod the CNI plugin reads (its fixed address, if any, as Calico's annotation). */
export function storedPod(r: PodRecord, fixedIp: string | undefined): Resource {
  const annotations = fixedIp === undefined ? {} : { [IP_ADDRS_ANNOTATION]: JSON.stringify([fixedIp]) };
  const spec: LabPodSpec = {
    namespace: r.namespace,
    name: r.name,
    labels: r.labels,
    containerPorts: r.containerPorts,
    ...(fixedIp !== undefined ? { ip: fixedIp } : {}),
  };
  return labPod(r.node, spec, annotations);
}

async function wireByCni(ctx: PodContext, r: PodRecord, options: Signal): Promise<void> {
  const fixed = r.ip === '' ? undefined : r.ip;
  await ctx.datastore.applyMany([storedPod(r, fixed)], options);
  const got = await cniAdd(ctx.runner, cniAttachment(ctx, r), options);
  r.ip = got.ip;
  r.mac = got.mac ?? (await interfaceMac(ctx.runner, r.netns, 'eth0', options));
  const node = nodeOf(ctx.state, r);
  const w = podWiring(node, r);
  await wireCniPodHairpin(ctx.runner, w, options);
  await routeFromOtherNodes(ctx, r, node, options);
}

/** In a `static` lab nothing routes pods between nodes: every other node gets a host route to the pod. */
async function routeFromOtherNodes(
  ctx: PodContext,
  r: PodRecord,
  node: NodeRecord,
  options: Signal,
): Promise<void> {
  if (agentRouted(ctx.state.network ?? 'static')) return;
  const others = ctx.state.nodes.filter((n) => n.name !== r.node);
  await wirePodRoutes(ctx.runner, others, r, node, options);
}

async function wireByLab(ctx: PodContext, r: PodRecord, options: Signal): Promise<void> {
  const network = ctx.state.network ?? 'static';
  if (agentRouted(network)) await assignPlumbedAddress(ctx, r);
  const node = nodeOf(ctx.state, r);
  r.mac = await wirePod(ctx.runner, { ...podWiring(node, r), mtu: podMtu(network) }, options);
  await routeFromOtherNodes(ctx, r, node, options);
}

/** Creates the pod's namespace, its network (CNI or the lab's wiring) and starts its probe agent. */
export async function plumbPod(
  ctx: PodContext,
  r: PodRecord,
  options: Signal = {},
): Promise<{ process: LabProcess; client: ProbeAgentClient }> {
  await createNamespace(ctx.runner, r.netns, options);
  if (r.via === 'cni') await wireByCni(ctx, r, options);
  else await wireByLab(ctx, r, options);
  const agent = await startProbeAgent({
    netns: r.netns,
    socketPath: r.socketPath,
    ports: r.ports,
    logFile: r.logFile,
    resolvConf: clusterDnsFiles(ctx.state.runDir).resolvConf,
    detached: ctx.state.detached,
  });
  r.probePid = agent.process.pid;
  return agent;
}

async function deleteIgnoringMissing(ctx: PodContext, key: Parameters<Backend['delete']>[0]): Promise<void> {
  await ctx.datastore.delete(key).catch((e: unknown) => {
    if (!(e instanceof NotFoundError)) throw e;
  });
}

/**
 * Removes the pod: its endpoint first (as the CNI plugin does), then its namespace (killing the probe
 * agent; the veth and the node's route go with it), then routes elsewhere and its addresses.
 */
export async function unplumbPod(ctx: PodContext, r: PodRecord): Promise<void> {
  const present = (await listNamespaces(ctx.runner)).includes(r.netns);
  if (r.via === 'cni') {
    if (ctx.state.cniBinDir !== undefined && r.containerId !== undefined)
      await cniDel(ctx.runner, cniAttachment(ctx, r));
    await deleteIgnoringMissing(ctx, { kind: 'Pod', namespace: r.namespace, name: r.name });
  } else if (r.ip !== '') {
    await deleteIgnoringMissing(ctx, {
      kind: 'WorkloadEndpoint',
      namespace: r.namespace,
      name: podEndpoint(r).metadata.name,
    });
  }
  if (present) await deleteNamespace(ctx.runner, r.netns);
  if (r.ip !== '' && (r.via !== 'cni' || !agentRouted(ctx.state.network ?? 'static')))
    await unwirePodRoutes(
      ctx.runner,
      ctx.state.nodes.filter((n) => n.name !== r.node),
      r,
    );
  if (r.ipamHandle !== undefined) await new IpamClient(ctx.datastore).releaseByHandle(r.ipamHandle);
}

/** The pod's WorkloadEndpoint as the lab writes it, with the MAC the CNI plugin would record. */
export function podEndpoint(r: PodRecord): Resource {
  const wep = labWorkloadEndpoint(r.node, r);
  if (r.mac !== undefined) wep.spec.mac = r.mac;
  return wep;
}

/**
 * Writes a pod's labels and named ports. A plumbed pod's endpoint is the lab's own; a CNI pod's was written
 * by the plugin (container ID, MAC, addresses), so only its labels and ports change, in the Pod too.
 */
export async function writePodMetadata(ctx: PodContext, r: PodRecord, options: Signal = {}): Promise<void> {
  const fresh = podEndpoint(r);
  if (r.via !== 'cni') {
    await ctx.datastore.applyMany([fresh], options);
    return;
  }
  const key = { kind: 'WorkloadEndpoint', namespace: r.namespace, name: fresh.metadata.name };
  const stored = (await ctx.datastore.get(key, options)) as Resource & { spec: Record<string, unknown> };
  const freshSpec = (fresh as Resource & { spec: { ports?: unknown } }).spec;
  const merged = {
    ...stored,
    metadata: { ...stored.metadata, labels: { ...(fresh.metadata.labels ?? {}) } },
    spec: { ...stored.spec, ...(freshSpec.ports !== undefined ? { ports: freshSpec.ports } : {}) },
  } as Resource;
  const pod = storedPod(r, undefined);
  const old = await ctx.datastore
    .get({ kind: 'Pod', namespace: r.namespace, name: r.name }, options)
    .catch(() => undefined);
  if (old?.metadata.annotations !== undefined) pod.metadata.annotations = old.metadata.annotations;
  await ctx.datastore.applyMany([pod, merged], options);
}

/** True once the node's agent has written the pod's endpoint status file (its policy is programmed). */
export function endpointProgrammed(node: Pick<NodeRecord, 'runDir'>, r: PodRecord): boolean {
  if (r.ip === '') return false;
  return existsSync(
    endpointStatusPath(node.runDir, r.namespace, labWorkloadEndpoint(r.node, r).metadata.name),
  );
}
