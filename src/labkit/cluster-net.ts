/**
 * The cluster-level network steps of the lab (plumbing.ts has the commands, topology.ts the addresses): the
 * fabric namespace and its racks, a node's uplink, the outside namespace, and (in a `static` lab) the routes
 * that let pods on different nodes reach each other without a routing daemon.
 */
import type { CommandRunner } from '../dataplane/exec/command-runner.js';
import { createNamespace, deleteNamespace, listNamespaces } from './netns.js';
import {
  crossNodeRouteBatch,
  fabricSysctls,
  nodeSysctls,
  nodeUplinkBatches,
  outsideBatches,
  rackBatch,
  runBatch,
  setSysctls,
  type PodWiring,
} from './plumbing.js';
import type { LabState, NodeRecord, PodRecord } from './state.js';
import { nodeAddresses } from './topology.js';

type Signal = { readonly signal?: AbortSignal };

export async function createFabric(runner: CommandRunner, ns: string, options: Signal = {}): Promise<void> {
  await createNamespace(runner, ns, options);
  await setSysctls(runner, ns, fabricSysctls(), options);
}

/** The rack's bridge in the fabric, unless it is there already. */
export async function ensureRack(
  runner: CommandRunner,
  fabricNs: string,
  rack: number,
  options: Signal = {},
): Promise<void> {
  const r = await runner.run('ip', ['-n', fabricNs, 'link', 'show', 'dev', `rack${rack}`], options);
  if (r.code !== 0) await runBatch(runner, rackBatch(fabricNs, rack), options);
}

/** Creates the node namespace (its name is recorded already), sets its sysctls and joins it to its rack. */
export async function addNodeNetwork(
  runner: CommandRunner,
  fabricNs: string,
  node: Pick<NodeRecord, 'netns' | 'index' | 'rack'>,
  options: Signal = {},
): Promise<void> {
  const rack = node.rack ?? 1;
  await ensureRack(runner, fabricNs, rack, options);
  await createNamespace(runner, node.netns, options);
  await setSysctls(runner, node.netns, nodeSysctls(), options);
  for (const b of nodeUplinkBatches(fabricNs, node.netns, node.index, rack))
    await runBatch(runner, b, options);
}

/** Creates the outside namespace (name recorded already) and links it to the fabric. */
export async function addOutsideNetwork(
  runner: CommandRunner,
  fabricNs: string,
  outsideNs: string,
  options: Signal = {},
): Promise<void> {
  await createNamespace(runner, outsideNs, options);
  for (const b of outsideBatches(fabricNs, outsideNs)) await runBatch(runner, b, options);
}

/**
 * Deletes every namespace of the lab (pods, nodes, outside, fabric), which kills what runs in them (agents,
 * BIRD, probe agents, etcd). Carries on past failures and returns them.
 */
export async function deleteLabNamespaces(runner: CommandRunner, state: LabState): Promise<unknown[]> {
  const errors: unknown[] = [];
  const present = await listNamespaces(runner).catch((e: unknown): string[] | undefined => {
    errors.push(e);
    return undefined;
  });
  const namespaces = [
    ...state.pods.map((p) => p.netns),
    ...state.nodes.map((n) => n.netns),
    ...(state.outside !== undefined ? [state.outside.netns] : []),
    ...(state.fabricNs !== undefined ? [state.fabricNs] : []),
  ];
  for (const ns of namespaces) {
    if (present?.includes(ns) !== false)
      await deleteNamespace(runner, ns).catch((e: unknown) => errors.push(e));
  }
  return errors;
}

export function podWiring(node: Pick<NodeRecord, 'netns'>, pod: PodRecord): PodWiring {
  return { nodeNs: node.netns, podNs: pod.netns, hostIfname: pod.hostIfname, ip: pod.ip, family: pod.family };
}

/** Routes to `pod` on each of `others` through its node's fabric address (`static` labs). */
export async function wirePodRoutes(
  runner: CommandRunner,
  others: readonly Pick<NodeRecord, 'netns'>[],
  pod: Pick<PodRecord, 'ip' | 'family'>,
  home: Pick<NodeRecord, 'index' | 'rack'>,
  options: Signal = {},
): Promise<void> {
  for (const n of others) {
    await runBatch(
      runner,
      crossNodeRouteBatch(n.netns, pod.ip, pod.family, nodeAddresses(home.index, home.rack ?? 1)),
      options,
    );
  }
}

/** Best effort: a node namespace that is gone has no route left to remove. */
export async function unwirePodRoutes(
  runner: CommandRunner,
  others: readonly Pick<NodeRecord, 'netns'>[],
  pod: Pick<PodRecord, 'ip' | 'family'>,
): Promise<void> {
  const cidr = `${pod.ip}/${pod.family === 4 ? 32 : 128}`;
  for (const n of others) await runner.run('ip', [`-${pod.family}`, '-n', n.netns, 'route', 'del', cidr]);
}
