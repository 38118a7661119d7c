/**
 * What a lab left behind after it was taken down: the one check behind every "down leaves nothing" test
 * (the lab CLI, the starter workflow, KubeLab, the conformance driver). A lab's processes are recognised by
 * their command lines (a control-plane program with a file under the control plane's directory, or any
 * process naming the run directory: agents, kubelets, relays, probe agents), its namespaces by the lab's
 * name prefix, its mounts by prefix or run directory. Reads /proc and `ip netns`; changes nothing.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { controlPlaneProcesses } from '../datastore/kubernetes/control-plane/sweep.js';
import type { CommandRunner } from '../dataplane/exec/command-runner.js';
import { NodeCommandRunner } from '../dataplane/exec/node-runner.js';
import { listNamespaces } from './netns.js';

export interface LeftoverQuery {
  /** The lab's run directory. */
  readonly runDir: string;
  /** The lab's namespace prefix (`calts-lab-<owner pid base 36>-`). */
  readonly prefix: string;
  /** Where the control plane keeps its files, when not the run directory itself. */
  readonly controlPlaneDir?: string;
  readonly runner?: CommandRunner;
}

/** Live processes (other than this one) whose command line names `dir`. */
export function processesNaming(dir: string): number[] {
  return readdirSync('/proc')
    .filter((e) => /^\d+$/.test(e) && Number(e) !== process.pid)
    .filter((e) => {
      try {
        return readFileSync(`/proc/${e}/cmdline`, 'utf8').includes(dir);
      } catch {
        return false; // gone meanwhile
      }
    })
    .map(Number);
}

/** One line per thing left behind; empty when the lab is gone without a trace. */
export async function labLeftovers(q: LeftoverQuery): Promise<string[]> {
  const controlPlane = controlPlaneProcesses(q.controlPlaneDir ?? q.runDir);
  const known = new Set(controlPlane.map((p) => p.pid));
  const procs = [
    ...controlPlane.map((p) => `${p.program} ${p.pid}`),
    ...processesNaming(q.runDir)
      .filter((pid) => !known.has(pid))
      .map((pid) => `process ${pid}`),
  ];
  const ns = (await listNamespaces(q.runner ?? new NodeCommandRunner()))
    .filter((n) => n.startsWith(q.prefix))
    .map((n) => `namespace ${n}`);
  const mounts = readFileSync('/proc/mounts', 'utf8')
    .split('\n')
    .filter((l) => l.includes(q.prefix) || l.includes(q.runDir))
    .map((l) => `mount ${l}`);
  const dir = existsSync(q.runDir) ? [`run dir ${q.runDir}`] : [];
  return [...procs, ...ns, ...mounts, ...dir];
}
