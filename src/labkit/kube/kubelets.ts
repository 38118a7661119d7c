/**
 * The lab kubelets of a Kubernetes-datastore lab: one process per node (kubelet-main.ts, in the root
 * namespace), its pid kept in the node's record, its files in `<node run dir>/kubelet` (sandbox records, probe
 * sockets, the API relay's socket) and its log in `<node run dir>/kubelet.log`. The kubelet gives the node's
 * namespace the API server on its own 127.0.0.1 (the API relay), which the node's calico-node uses too, so it
 * starts before the agent.
 *
 * Removal: the kubelets are stopped (SIGTERM, then SIGKILL), recognised by pid and command line (a reused pid
 * is never signalled) or, for a lab whose state lost a pid, by a command line naming the node's kubelet dir;
 * then every pod namespace a sandbox record names is deleted (with the probe agent in it). No CNI DEL: the
 * lab's IPAM goes with its control plane.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CommandRunner } from '../../dataplane/exec/command-runner.js';
import { waitFor } from '../../lib/async.js';
import { CalicoError } from '../../lib/errors.js';
import { parseIp } from '../../lib/net/ip.js';
import { readSandboxRecords, sandboxFiles, type SandboxRecord } from '../kubelet/sandbox.js';
import { hostInterfaceName } from '../resources.js';
import { deleteNamespace, listNamespaces } from '../netns.js';
import { LabProcess, nodeScriptCommand, siblingScript } from '../process.js';
import { saveState, type LabState, type NodeRecord, type PodRecord } from '../state.js';
import { nodeAddresses } from '../topology.js';

export function kubeletDir(node: Pick<NodeRecord, 'runDir'>): string {
  return join(node.runDir, 'kubelet');
}

export function kubeletLogFile(node: Pick<NodeRecord, 'runDir'>): string {
  return join(node.runDir, 'kubelet.log');
}

const SCRIPT = 'kubelet-main';

/** True when `pid` is the lab kubelet of the node whose kubelet dir is `dir`. */
function isKubeletOf(pid: number, dir: string): boolean {
  let argv: string[];
  try {
    argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
  } catch {
    return false;
  }
  const i = argv.indexOf('--dir');
  return argv.some((a) => a.includes(SCRIPT)) && i >= 0 && argv[i + 1] === dir;
}

/** The live kubelet processes of these nodes (by recorded pid, else by command line). */
export function kubeletProcesses(nodes: readonly Pick<NodeRecord, 'runDir' | 'kubeletPid'>[]): number[] {
  const dirs = nodes.map(kubeletDir);
  const found = new Set<number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    if (dirs.some((d) => isKubeletOf(Number(entry), d))) found.add(Number(entry));
  }
  return [...found];
}

/** Whether the node's kubelet runs. */
export function kubeletRunning(node: Pick<NodeRecord, 'runDir' | 'kubeletPid'>): boolean {
  return node.kubeletPid !== undefined && isKubeletOf(node.kubeletPid, kubeletDir(node));
}

export interface KubeletLaunch {
  readonly kubeconfig: string;
  readonly cniBinDir: string;
  readonly mtu: number;
  readonly netnsPrefix: string;
  readonly heartbeatMs?: number;
  /** The CNI plugin's wait for the node's agent (calico's `policy_setup_timeout_seconds`); default 30. */
  readonly policySetupTimeoutSeconds?: number;
  readonly timeoutMs?: number;
  readonly signal?: AbortSignal;
}

/**
 * Starts the node's kubelet (unless it runs) and waits (bounded) until it watches its pods: its Node is
 * Ready and the API relay serves in the node's namespace.
 */
export async function startLabKubelet(state: LabState, node: NodeRecord, o: KubeletLaunch): Promise<void> {
  if (kubeletRunning(node)) return;
  const dir = kubeletDir(node);
  const readyFile = join(node.runDir, 'kubelet.out');
  const { command, args } = nodeScriptCommand(siblingScript(SCRIPT, import.meta.url));
  const proc = LabProcess.spawn({
    command,
    args: [
      ...args,
      ...['--kubeconfig', o.kubeconfig, '--node', node.name, '--netns', node.netns],
      ...['--node-run-dir', node.runDir, '--node-ip', nodeAddresses(node.index, node.rack ?? 1).v4],
      ...['--cni-bin-dir', o.cniBinDir, '--dir', dir, '--mtu', String(o.mtu)],
      ...['--netns-prefix', o.netnsPrefix, '--netns-owner-pid', String(state.ownerPid)],
      ...(o.heartbeatMs !== undefined ? ['--heartbeat-ms', String(o.heartbeatMs)] : []),
      ...(o.policySetupTimeoutSeconds !== undefined
        ? ['--policy-setup-timeout-seconds', String(o.policySetupTimeoutSeconds)]
        : []),
    ],
    logFile: kubeletLogFile(node),
    stdoutFile: readyFile,
    detached: state.detached,
  });
  node.kubeletPid = proc.pid;
  saveState(state);
  try {
    await waitFor(
      () => {
        if (!proc.isRunning())
          throw new CalicoError(
            'CALICO_ERR_IO',
            `lab kubelet of ${node.name} ${proc.exitStatus ?? 'exited'}: ${proc.logTail(10)}`,
          );
        return existsSync(readyFile) && readFileSync(readyFile, 'utf8').includes('running');
      },
      {
        timeoutMs: o.timeoutMs ?? 60_000,
        intervalMs: 50,
        what: `the lab kubelet of ${node.name} (log ${kubeletLogFile(node)})`,
        ...(o.signal !== undefined ? { signal: o.signal } : {}),
      },
    );
  } catch (e) {
    await proc.stop(2000);
    delete node.kubeletPid;
    saveState(state);
    throw e;
  }
}

/** The sandbox dir of the node's kubelet (kubelet.ts: `<dir>/pods`). */
export function kubeletSandboxDir(node: Pick<NodeRecord, 'runDir'>): string {
  return join(kubeletDir(node), 'pods');
}

/** The pod namespaces the nodes' kubelets recorded (sandbox records). */
function sandboxNamespaces(nodes: readonly Pick<NodeRecord, 'runDir'>[]): string[] {
  return nodes.flatMap((n) => kubeletSandboxes(n).map((r) => r.netns));
}

/** Stops the node's kubelet (SIGTERM, then SIGKILL); its pods' sandboxes stay for the next one to adopt. */
export async function stopLabKubelet(node: NodeRecord, graceMs = 5000): Promise<void> {
  if (node.kubeletPid !== undefined && kubeletRunning(node))
    await LabProcess.adopt(node.kubeletPid).stop(graceMs);
  delete node.kubeletPid;
}

/** The pods the node's kubelet runs (its sandbox records). */
export function kubeletSandboxes(node: Pick<NodeRecord, 'runDir'>): SandboxRecord[] {
  return readSandboxRecords(kubeletSandboxDir(node), () => undefined);
}

/**
 * The running pods of the nodes' kubelets as lab pod records (for probes and path checks): every sandbox with
 * an address. `pods` (by uid, from the API) adds labels and container ports; without it they are empty.
 */
export function kubeletPodRecords(
  nodes: readonly Pick<NodeRecord, 'name' | 'runDir'>[],
  pods: ReadonlyMap<
    string,
    { readonly labels: Record<string, string>; readonly containerPorts: ContainerPortRecord[] }
  > = new Map(),
): PodRecord[] {
  return nodes.flatMap((n) =>
    kubeletSandboxes(n).flatMap((r): PodRecord[] => {
      if (r.ip === undefined) return [];
      const api = pods.get(r.uid);
      return [
        {
          namespace: r.namespace,
          name: r.name,
          node: n.name,
          ip: r.ip,
          family: parseIp(r.ip)?.family ?? 4,
          netns: r.netns,
          hostIfname: hostInterfaceName(r),
          labels: { ...(api?.labels ?? {}) },
          ports: [...r.ports],
          containerPorts: [...(api?.containerPorts ?? [])],
          ...sandboxFiles(kubeletSandboxDir(n), r.uid),
          via: 'cni',
          containerId: r.containerId,
          ...(r.probePid !== undefined ? { probePid: r.probePid } : {}),
        },
      ];
    }),
  );
}

type ContainerPortRecord = PodRecord['containerPorts'][number];

/**
 * Stops the nodes' kubelets and deletes their pods' namespaces. Returns how many kubelets were stopped and
 * the problems met (cleanup goes on past them).
 */
export async function stopLabKubelets(
  runner: CommandRunner,
  state: Pick<LabState, 'nodes'>,
  options: { readonly graceMs?: number } = {},
): Promise<{ stopped: number; errors: unknown[] }> {
  const pids = kubeletProcesses(state.nodes);
  await Promise.all(pids.map((pid) => LabProcess.adopt(pid).stop(options.graceMs ?? 5000)));
  for (const n of state.nodes) delete n.kubeletPid;
  const errors: unknown[] = [];
  const wanted = sandboxNamespaces(state.nodes);
  if (wanted.length > 0) {
    const present = await listNamespaces(runner).catch((e: unknown) => {
      errors.push(e);
      return wanted;
    });
    for (const ns of wanted.filter((w) => present.includes(w)))
      await deleteNamespace(runner, ns).catch((e: unknown) => errors.push(e));
  }
  return { stopped: pids.length, errors };
}
