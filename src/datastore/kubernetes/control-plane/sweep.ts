/**
 * The control plane's processes are recognised by their command lines: the program (etcd or a kube-*
 * server) and an argument naming a file under the control plane's directory. So `calico-lab down`, a lab
 * restarted after its keeper died, or a test's cleanup finds them even when no pid was recorded, and a pid
 * reused by an unrelated process is never signalled.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { ManagedProcess } from '../../../sys/process.js';

export const CONTROL_PLANE_PROGRAMS = [
  'etcd',
  'kube-apiserver',
  'kube-controller-manager',
  'kube-scheduler',
] as const;
export type ControlPlaneProgram = (typeof CONTROL_PLANE_PROGRAMS)[number];

/** A process's argv (empty when it is gone or unreadable). */
function argvOf(pid: number): string[] {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8')
      .split('\0')
      .filter((a) => a !== '');
  } catch {
    return [];
  }
}

/** The control-plane program `pid` runs for `dir`, if it is one. */
export function controlPlaneProgramOf(pid: number, dir: string): ControlPlaneProgram | undefined {
  const argv = argvOf(pid);
  const program = CONTROL_PLANE_PROGRAMS.find((p) => p === basename(argv[0] ?? ''));
  if (program === undefined) return undefined;
  const prefix = `${dir.replace(/\/+$/, '')}/`;
  return argv.slice(1).some((a) => a.startsWith(prefix) || a.includes(`=${prefix}`)) ? program : undefined;
}

/** Every live control-plane process of `dir`, by program. */
export function controlPlaneProcesses(dir: string): { pid: number; program: ControlPlaneProgram }[] {
  const found: { pid: number; program: ControlPlaneProgram }[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const pid = Number(entry);
    const program = controlPlaneProgramOf(pid, dir);
    if (program !== undefined) found.push({ pid, program });
  }
  return found;
}

/**
 * Stops every control-plane process of `dir`, in the reverse order of their start (scheduler and controller
 * manager first, etcd last): SIGTERM, up to `graceMs`, then SIGKILL. Returns how many there were.
 */
export async function stopControlPlaneProcesses(dir: string, graceMs = 10_000): Promise<number> {
  const found = controlPlaneProcesses(dir);
  for (const program of [...CONTROL_PLANE_PROGRAMS].reverse()) {
    await Promise.all(
      found.filter((f) => f.program === program).map((f) => ManagedProcess.adopt(f.pid).stop(graceMs)),
    );
  }
  return found.length;
}
