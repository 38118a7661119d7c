/**
 * `calico-lab up` (and `down`): builds a detached lab step by step with progress lines, idempotently. A lab
 * already up in the run dir is completed (missing nodes added, stopped agents started) when its networking
 * mode and datastore match; the remains of a lab whose keeper process is gone (a reboot, a killed shell) are
 * removed first. A failed or interrupted `up` removes everything it built.
 *
 * The lab's namespaces are named after a keeper process (`sleep infinity`) that `down` ends, so test runs
 * sweeping stale `calts-lab-` namespaces leave a live lab alone.
 */
import { spawn } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { NodeCommandRunner } from '../dataplane/exec/node-runner.js';
import { CalicoError, errorMessage } from '../lib/errors.js';
import { LabCluster } from '../labkit/cluster.js';
import { deleteLabNamespaces } from '../labkit/cluster-net.js';
import type { LabDatastoreChoice } from '../labkit/datastore.js';
import { labDatastore } from '../labkit/datastore.js';
import { kernelTestSkipReason } from '../labkit/netns.js';
import { defaultAgentEntry } from '../labkit/paths.js';
import { loadState, statePath } from '../labkit/state.js';
import { agentRouted, nodeAddresses, type LabNetwork } from '../labkit/topology.js';

export interface UpRequest {
  readonly runDir: string;
  readonly nodes: number;
  readonly network: LabNetwork;
  readonly racks: number;
  readonly datastore: LabDatastoreChoice;
  readonly agents: boolean;
  /** Ports the outside namespace serves. */
  readonly outsidePorts?: readonly number[];
}

export type Say = (line: string) => void;

/** Why a lab of this mode cannot be built here (not root, a tool or the build missing), or false. */
export function labUnavailableReason(network: LabNetwork, agents: boolean): string | false {
  const tools = [
    'ip',
    'nft',
    'sysctl',
    'conntrack',
    ...(agents && network === 'bgp' ? ['bird', 'birdc'] : []),
  ];
  const why = kernelTestSkipReason(tools);
  if (why !== false) return why;
  if (agents && !existsSync(defaultAgentEntry())) return `${defaultAgentEntry()} is missing (npm run build)`;
  return false;
}

function processAlive(pid: number | undefined): boolean {
  if (pid === undefined) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Times one step and says how long it took. */
export async function step<T>(say: Say, what: string, fn: () => Promise<T>): Promise<T> {
  const t0 = performance.now();
  say(`  ${what} ...`);
  const r = await fn();
  say(`  ${what}: done in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  return r;
}

/** Removes what a lab left whose keeper is gone; false when there is no such lab. */
async function removeStaleLab(runDir: string, say: Say): Promise<boolean> {
  if (!existsSync(statePath(runDir))) return false;
  const state = loadState(runDir);
  if (processAlive(state.keeperPid)) return false;
  say(`removing the remains of an earlier lab in ${runDir} (its keeper process is gone)`);
  const errors = await deleteLabNamespaces(new NodeCommandRunner(), state);
  if (errors.length > 0) say(`  (cleanup problems: ${errors.map(errorMessage).join('; ')})`);
  rmSync(runDir, { recursive: true, force: true });
  return true;
}

/** Adds nodes up to `req.nodes` (starting agents), the outside namespace, then waits for cluster routes. */
export async function buildLab(
  lab: LabCluster,
  req: UpRequest,
  say: Say,
  signal: AbortSignal,
): Promise<void> {
  for (let i = 1; i <= req.nodes; i++) {
    const name = `node-${i}`;
    if (!lab.nodes().some((n) => n.name === name)) {
      await step(say, `${name}: namespace on rack ${rackLabel(lab, i)}`, () => lab.addNode(name, { signal }));
    }
    if (req.agents && !lab.agentRunning(name)) {
      await step(say, `${name}: starting calico-node (networking ${lab.network})`, () =>
        lab.startAgent(name, { signal, timeoutMs: 60_000 }),
      );
    }
  }
  if (lab.state.outside === undefined)
    await step(say, 'outside namespace (stands for the Internet)', () =>
      lab.addOutside({ ports: req.outsidePorts ?? [80], signal }),
    );
  if (!req.agents || !agentRouted(lab.network) || lab.nodes().length < 2) return;
  if (lab.network === 'bgp') {
    const short = await step(say, 'BGP full mesh between the nodes (BIRD)', () =>
      lab.waitBgpMesh({ signal, timeoutMs: 90_000 }),
    );
    if (short.length > 0) throw new CalicoError('CALICO_ERR_IO', `BGP sessions not up: ${short.join(', ')}`);
  }
  const missing = await step(say, 'cluster routes on every node', () =>
    lab.waitRoutes({ signal, timeoutMs: 60_000 }),
  );
  if (missing.length > 0) throw new CalicoError('CALICO_ERR_IO', `routes missing: ${missing.join(', ')}`);
}

function rackLabel(lab: LabCluster, index: number): string {
  const racks = lab.state.racks ?? 1;
  const rack = ((index - 1) % racks) + 1;
  return `${rack} (${nodeAddresses(index, rack).v4}/24)`;
}

function checkSame(lab: LabCluster, req: UpRequest): void {
  const ds = labDatastore(lab.state).type === 'etcdv3' ? 'etcd' : 'embedded';
  if (lab.network !== req.network || ds !== req.datastore)
    throw new CalicoError(
      'CALICO_ERR_USAGE',
      `a lab with --network ${lab.network} --datastore ${ds} is up in ${lab.runDir} (calico-lab down first)`,
    );
}

/** `calico-lab up`. Returns the lab, detached (closed) already. */
export async function up(req: UpRequest, say: Say, signal: AbortSignal): Promise<void> {
  const why = labUnavailableReason(req.network, req.agents);
  if (why !== false) throw new CalicoError('CALICO_ERR_USAGE', `cannot build a lab here: ${why}`);
  await removeStaleLab(req.runDir, say);
  if (existsSync(statePath(req.runDir))) {
    const lab = await LabCluster.attach(req.runDir);
    try {
      checkSame(lab, req);
      say(`a lab is up in ${req.runDir}; completing it`);
      await buildLab(lab, req, say, signal);
    } finally {
      await lab.detach();
    }
    return;
  }
  const keeper = spawn('sleep', ['infinity'], { detached: true, stdio: 'ignore' });
  keeper.unref();
  if (keeper.pid === undefined) throw new CalicoError('CALICO_ERR_IO', 'cannot start the keeper process');
  say(
    `creating a ${req.nodes}-node lab (networking ${req.network}, ${req.racks} rack(s), datastore ${req.datastore}) in ${req.runDir}`,
  );
  let lab: LabCluster | undefined;
  try {
    lab = await step(say, req.datastore === 'etcd' ? 'run dir, fabric and etcd' : 'run dir', () =>
      LabCluster.create({
        runDir: req.runDir,
        detached: true,
        ownerPid: keeper.pid!,
        keepRunDir: false,
        network: req.network,
        racks: req.racks,
        datastore: req.datastore,
        signal,
        ...(req.agents ? {} : { agentEntry: null }),
      }),
    );
    lab.keeperPid = keeper.pid;
    await buildLab(lab, req, say, signal);
  } catch (e) {
    say(`failed (${errorMessage(e)}); removing what was built`);
    if (lab !== undefined) await lab.destroy().catch(() => undefined);
    else process.kill(keeper.pid, 'SIGKILL');
    throw e;
  }
  await lab.detach();
}

/** `calico-lab down`: removes the lab (nothing to do when there is none). */
export async function down(runDir: string, say: Say): Promise<void> {
  if (await removeStaleLab(runDir, say)) return;
  if (!existsSync(statePath(runDir))) {
    say(`no lab in ${runDir}`);
    return;
  }
  const lab = await LabCluster.attach(runDir);
  await lab.destroy();
  say(`lab in ${runDir} removed`);
}
