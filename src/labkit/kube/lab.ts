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
import { waitFor } from '../../lib/async.js';
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

interface NodeJson {
  readonly metadata: { readonly name: string };
  readonly spec?: { readonly taints?: readonly { readonly key: string; readonly effect: string }[] };
  readonly status?: { readonly conditions?: readonly { readonly type: string; readonly status: string }[] };
}

/** Why `node` cannot take pods now (not Ready, or a NoSchedule/NoExecute taint), or undefined when it can. */
function unschedulable(node: NodeJson | undefined): string | undefined {
  if (node === undefined) return 'not registered';
  const ready = node.status?.conditions?.find((c) => c.type === 'Ready')?.status;
  if (ready !== 'True') return `Ready is ${ready ?? 'not reported'}`;
  const taint = node.spec?.taints?.find((t) => t.effect === 'NoSchedule' || t.effect === 'NoExecute');
  return taint === undefined ? undefined : `tainted ${taint.key}:${taint.effect}`;
}

/**
 * Waits (bounded) until every node in `names` is Ready and carries no NoSchedule/NoExecute taint, so the
 * scheduler may place pods on all of them: a node whose kubelet reported Ready keeps the node lifecycle
 * controller's `node.kubernetes.io/not-ready` taint for a moment, and pods created meanwhile all land on
 * the other nodes.
 */
export async function waitLabNodesSchedulable(
  state: LabState,
  names: readonly string[],
  options: { readonly timeoutMs?: number; readonly signal?: AbortSignal } = {},
): Promise<void> {
  if (state.kubernetes === undefined || names.length === 0) return;
  const { api } = KubeControlPlane.attach(state.kubernetes);
  let why = '';
  await waitFor(
    async () => {
      const list = (await api.getJson('/api/v1/nodes', 10_000)) as { items: NodeJson[] };
      const problems = names.flatMap((n) => {
        const p = unschedulable(list.items.find((i) => i.metadata.name === n));
        return p === undefined ? [] : [`${n}: ${p}`];
      });
      why = problems.join('; ');
      return problems.length === 0;
    },
    {
      timeoutMs: options.timeoutMs ?? 60_000,
      intervalMs: 200,
      what: `nodes ${names.join(', ')} schedulable`,
      describe: () => why,
      ...(options.signal !== undefined ? { signal: options.signal } : {}),
    },
  );
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
