/**
 * The lab's Kubernetes control plane (`calico-lab up --kubernetes`), the datastore layer's starter
 * (src/datastore/kubernetes/control-plane/) used the lab's way: started in `<run dir>/kubernetes` with the
 * admin kubeconfig at `<run dir>/kubeconfig`, detached like the lab's other processes, its record (ports, pids)
 * kept in the lab's state after every change. It runs in the root namespace on 127.0.0.1 (kubectl on the host
 * reaches it; nothing of the host's network configuration changes). Each lab node is registered as a Node
 * named after it. In a lab on the Kubernetes datastore (kube/cluster.ts) it is the datastore of the agents,
 * the CNI plugin and calicoctl; with `--no-agent` it only runs beside the lab's own datastore.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { errorMessage } from '../../lib/errors.js';
import { saveState, type LabState } from '../state.js';
import { labApiServerStatus, stopLabApiServer } from './apiserver.js';
import {
  KubeControlPlane,
  type ControlPlaneRecord,
} from '../../datastore/kubernetes/control-plane/control-plane.js';
import {
  controlPlaneProcesses,
  stopControlPlaneProcesses,
} from '../../datastore/kubernetes/control-plane/sweep.js';

export function labKubeDir(runDir: string): string {
  return join(runDir, 'kubernetes');
}

export function labKubeconfig(runDir: string): string {
  return join(runDir, 'kubeconfig');
}

/** `KUBECONFIG` for a lab with a control plane (`calico-lab env`), else nothing. */
export function labKubeEnv(state: Pick<LabState, 'kubernetes'>): Record<string, string> {
  return state.kubernetes !== undefined ? { KUBECONFIG: state.kubernetes.kubeconfig } : {};
}

/** Starts the control plane unless it serves already (an `up` again after a crash starts it anew). */
export async function ensureLabKubernetes(
  state: LabState,
  options: {
    readonly signal?: AbortSignal;
    readonly timeoutMs?: number;
    readonly featureGates?: Readonly<Record<string, boolean>>;
  } = {},
): Promise<ControlPlaneRecord> {
  if (state.kubernetes !== undefined) {
    const s = await KubeControlPlane.attach(state.kubernetes).status();
    if (s.ready && s.stopped.length === 0) return state.kubernetes;
  }
  const cp = await KubeControlPlane.start({
    dir: labKubeDir(state.runDir),
    kubeconfig: labKubeconfig(state.runDir),
    detached: state.detached,
    ...options,
    onRecord: (r) => {
      state.kubernetes = r;
      saveState(state);
    },
  });
  return cp.record;
}

/** Registers every lab node as a Kubernetes Node of the same name (server-side apply: idempotent). */
export async function registerLabNodes(state: LabState): Promise<string[]> {
  if (state.kubernetes === undefined) return [];
  const { api } = KubeControlPlane.attach(state.kubernetes);
  for (const n of state.nodes)
    await api.apply(`/api/v1/nodes/${n.name}`, {
      apiVersion: 'v1',
      kind: 'Node',
      metadata: { name: n.name, labels: { 'kubernetes.io/hostname': n.name, 'kubernetes.io/os': 'linux' } },
    });
  return state.nodes.map((n) => n.name);
}

/**
 * Stops the lab's control plane: the recorded processes, then any process whose command line names
 * `<run dir>/kubernetes` (also for a lab whose state lost the record). Returns how many were stopped.
 * calico-apiserver (kube/apiserver.ts) is stopped first and not counted.
 */
export async function stopLabKubernetes(
  state: Pick<LabState, 'kubernetes' | 'runDir' | 'calicoApiServer'>,
): Promise<number> {
  const dir = labKubeDir(state.runDir);
  if (state.kubernetes === undefined && !existsSync(dir)) return 0;
  await stopLabApiServer(state);
  const running = controlPlaneProcesses(dir).length;
  if (state.kubernetes !== undefined) await KubeControlPlane.attach(state.kubernetes).stop();
  await stopControlPlaneProcesses(dir);
  return running;
}

/** `calico-lab status` lines for the control plane (none when the lab has none). */
export async function labKubernetesStatus(
  state: Pick<LabState, 'kubernetes' | 'runDir' | 'calicoApiServer'>,
): Promise<string[]> {
  const r = state.kubernetes;
  if (r === undefined) return [];
  const cp = KubeControlPlane.attach(r);
  const s = await cp.status().catch((e: unknown) => ({ error: errorMessage(e) }));
  const head = `kubernetes ${r.release}: kube-apiserver ${r.server}`;
  if ('error' in s) return [`${head}: status unknown (${s.error})`];
  const pids = s.running.map((p) => `${p} ${r.pids[p] ?? '?'}`).join(', ');
  return [
    `${head} ${s.ready ? 'ready' : 'NOT ready'}; running: ${pids || 'nothing'}` +
      (s.stopped.length > 0 ? `; stopped: ${s.stopped.join(', ')}` : ''),
    `  KUBECONFIG=${r.kubeconfig}; logs ${r.dir}/*.log`,
    ...labApiServerStatus(state),
  ];
}
