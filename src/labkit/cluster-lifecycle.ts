/**
 * A LabCluster's birth and end (cluster.ts): the run dir, the first state and the datastore (an etcd in
 * the fabric namespace, or a Kubernetes control plane, started first), undone when any of it fails; and
 * the teardown that removes processes, namespaces, the datastore and the run dir, going on past failures.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CommandRunner } from '../dataplane/exec/command-runner.js';
import { NodeCommandRunner } from '../dataplane/exec/node-runner.js';
import type { Backend } from '../datastore/index.js';
import { CalicoError, errorMessage } from '../lib/errors.js';
import { PRIVATE_DIR_MODE, ensureDirSync } from '../sys/files.js';
import { LabInfra } from './cluster-infra.js';
import { deleteLabNamespaces } from './cluster-net.js';
import { LAB_NETNS_PREFIX, sig, type LabClusterOptions } from './cluster-options.js';
import { openLabBackend } from './datastore.js';
import type { LabKubernetes } from './kube/lab-cluster.js';
import { ensureLabKubernetes, stopLabKubernetes } from './kube/lab.js';
import { defaultAgentEntry, pruneDir } from './paths.js';
import { ProbeAgents } from './probe-client.js';
import { LabProcess } from './process.js';
import { newLabState, saveState, type LabState } from './state.js';
import { topologyProblem } from './topology.js';

export interface NewLab {
  readonly runner: CommandRunner;
  readonly state: LabState;
  readonly datastore: Backend;
}

/** The run dir, the lab state and an open datastore; on failure, what was made is removed again. */
export async function newLab(options: LabClusterOptions): Promise<NewLab> {
  const network = options.network ?? 'static';
  const racks = options.racks ?? 1;
  const problem = topologyProblem(network, racks);
  if (problem !== undefined) throw new CalicoError('CALICO_ERR_USAGE', problem);
  const ownerPid = options.ownerPid ?? process.pid;
  const runDir =
    options.runDir ?? mkdtempSync(join(tmpdir(), `${LAB_NETNS_PREFIX}${ownerPid.toString(36)}-`));
  ensureDirSync(runDir, { mode: PRIVATE_DIR_MODE });
  ensureDirSync(join(runDir, 'pods'));
  const entry = options.agentEntry === undefined ? defaultAgentEntry() : options.agentEntry;
  const state = newLabState({
    ownerPid,
    runDir,
    network,
    racks,
    entry,
    detached: options.detached === true,
  });
  Object.assign(state.agentEnv, options.agentEnv ?? {});
  saveState(state);
  const runner = options.runner ?? new NodeCommandRunner();
  const infra = new LabInfra(runner, state, new ProbeAgents());
  try {
    if (options.datastore === 'etcd') await infra.startEtcd(sig(options));
    if (options.datastore === 'kubernetes') {
      const gates = options.kubeFeatureGates;
      const cp = await ensureLabKubernetes(state, {
        ...sig(options),
        ...(gates !== undefined ? { featureGates: gates } : {}),
      });
      state.datastore = { type: 'kubernetes', kubeconfig: cp.kubeconfig };
      saveState(state);
    }
    const datastore = await openLabBackend(state);
    return { runner, state, datastore };
  } catch (e) {
    await stopLabKubernetes(state).catch(() => undefined);
    await deleteLabNamespaces(runner, state);
    if (options.keepRunDir !== true) rmSync(runDir, { recursive: true, force: true });
    throw e;
  }
}

export interface LabTeardown {
  readonly runner: CommandRunner;
  readonly state: LabState;
  readonly datastore: Backend;
  readonly probes: ProbeAgents;
  readonly kube: LabKubernetes;
  readonly keepRunDir: boolean;
  /** Which run dir files (relative paths) stay when the run dir goes; absent: all go. */
  readonly keep?: (relPath: string) => boolean;
}

/**
 * Removes everything: probe connections, the datastore, kubelets and the control plane, namespaces, the
 * keeper process and (unless kept) the run dir. Goes on past failures and throws them together at the end.
 * Returns the run dir files kept.
 */
export async function teardownLab(t: LabTeardown): Promise<string[]> {
  const errors: unknown[] = [];
  t.probes.disconnect();
  // Before the namespaces go: an etcd runs in the fabric namespace.
  await t.datastore.close().catch((e: unknown) => errors.push(e));
  errors.push(...(await t.kube.stop(t.runner)));
  errors.push(...(await deleteLabNamespaces(t.runner, t.state)));
  if (t.state.keeperPid !== undefined) LabProcess.adopt(t.state.keeperPid).signal('SIGKILL');
  let kept: string[] = [];
  if (!t.keepRunDir) {
    if (t.keep === undefined) rmSync(t.state.runDir, { recursive: true, force: true });
    else kept = pruneDir(t.state.runDir, t.keep);
  }
  if (errors.length > 0)
    throw new AggregateError(errors, `lab cleanup failed: ${errors.map(errorMessage).join('; ')}`);
  return kept;
}
