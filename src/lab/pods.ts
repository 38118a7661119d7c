/**
 * A lab pod's life: its record (validated against the lab's other pods), its namespace and wiring into the
 * node (plumbing.ts), routes to it from the other nodes, its probe agent, its WorkloadEndpoint, and teardown.
 */
import type { Resource } from '../datastore/index.js';
import type { CommandRunner } from '../dataplane/exec/command-runner.js';
import { CalicoError } from '../lib/errors.js';
import { parseIp } from '../lib/net/ip.js';
import { podWiring, unwirePodRoutes, wirePodRoutes } from './cluster-net.js';
import { createNamespace, deleteNamespace, listNamespaces } from './netns.js';
import { podFiles } from './paths.js';
import { wirePod } from './plumbing.js';
import { startProbeAgent, type ProbeAgentClient } from './probe-client.js';
import type { LabProcess } from './process.js';
import {
  hostInterfaceName,
  labWorkloadEndpoint,
  parsePodKey,
  podIpFamily,
  podKey,
  type LabPodSpec,
} from './resources.js';
import type { LabState, NodeRecord, PodRecord } from './state.js';

type Signal = { readonly signal?: AbortSignal };

export function recordKey(r: Pick<PodRecord, 'namespace' | 'name'>): string {
  return podKey(r.namespace, r.name);
}

/**
 * The record of a new pod. Its key and IP must be unused by the lab's pods and by the rest of `batch` (the
 * specs being added with it).
 */
export function newPodRecord(
  state: LabState,
  node: string,
  spec: LabPodSpec,
  batch: readonly LabPodSpec[],
  netns: string,
): PodRecord {
  if (!state.nodes.some((n) => n.name === node))
    throw new CalicoError('CALICO_ERR_NOT_FOUND', `no lab node ${node}`);
  const key = podKey(spec.namespace, spec.name);
  if (parsePodKey(key) === undefined) throw new CalicoError('CALICO_ERR_USAGE', `invalid pod "${key}"`);
  const family = podIpFamily(spec.ip);
  const ip = parseIp(spec.ip)?.value;
  const taken = (p: { namespace: string; name: string; ip: string }): boolean =>
    podKey(p.namespace, p.name) === key || parseIp(p.ip)?.value === ip;
  if (state.pods.some(taken) || batch.filter((s) => s !== spec).some(taken))
    throw new CalicoError('CALICO_ERR_ALREADY_EXISTS', `pod ${key} or IP ${spec.ip} is taken`);
  return {
    namespace: spec.namespace,
    name: spec.name,
    node,
    ip: spec.ip,
    family,
    netns,
    hostIfname: hostInterfaceName(spec),
    labels: { ...(spec.labels ?? {}) },
    ports: [...(spec.ports ?? [])],
    containerPorts: [...(spec.containerPorts ?? [])],
    ...podFiles(state.runDir, key),
  };
}

function nodeOf(state: LabState, r: PodRecord): NodeRecord {
  const n = state.nodes.find((x) => x.name === r.node);
  if (n === undefined) throw new CalicoError('CALICO_ERR_NOT_FOUND', `no lab node ${r.node}`);
  return n;
}

/** Creates the pod's namespace, wires it, routes to it from other nodes and starts its probe agent. */
export async function plumbPod(
  runner: CommandRunner,
  state: LabState,
  r: PodRecord,
  options: Signal = {},
): Promise<{ process: LabProcess; client: ProbeAgentClient }> {
  const node = nodeOf(state, r);
  await createNamespace(runner, r.netns, options);
  r.mac = await wirePod(runner, podWiring(node, r), options);
  const others = state.nodes.filter((n) => n.name !== r.node);
  await wirePodRoutes(runner, others, r, node, options);
  const agent = await startProbeAgent({
    netns: r.netns,
    socketPath: r.socketPath,
    ports: r.ports,
    logFile: r.logFile,
    detached: state.detached,
  });
  r.probePid = agent.process.pid;
  return agent;
}

/** Deletes the pod's namespace (killing its probe agent; the veth and the node's route go with it). */
export async function unplumbPod(runner: CommandRunner, state: LabState, r: PodRecord): Promise<void> {
  if ((await listNamespaces(runner)).includes(r.netns)) await deleteNamespace(runner, r.netns);
  await unwirePodRoutes(
    runner,
    state.nodes.filter((n) => n.name !== r.node),
    r,
  );
}

/** The pod's WorkloadEndpoint, with the MAC the CNI plugin would record. */
export function podEndpoint(r: PodRecord): Resource {
  const wep = labWorkloadEndpoint(r.node, r);
  if (r.mac !== undefined) wep.spec.mac = r.mac;
  return wep;
}
