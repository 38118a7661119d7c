/**
 * What a lab consists of, kept in `<run dir>/lab.json` after every change: enough for a later command (the
 * CLI runs one command per process) to find every namespace and process again, and for cleanup to remove
 * half-created things (a record is written before the thing it describes is created).
 */
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CalicoError } from '../lib/errors.js';
import type { IpFamily } from '../lib/net/ip.js';

export interface NodeRecord {
  readonly name: string;
  /** 1-based; picks the node's fabric addresses. */
  readonly index: number;
  readonly netns: string;
  /** CALICO_RUN_DIR of the node's agent. */
  readonly runDir: string;
  agentPid?: number;
}

export interface PodRecord {
  readonly namespace: string;
  readonly name: string;
  readonly node: string;
  readonly ip: string;
  readonly family: IpFamily;
  readonly netns: string;
  readonly hostIfname: string;
  mac?: string;
  labels: Record<string, string>;
  ports: number[];
  containerPorts: { name?: string; containerPort: number; protocol?: string }[];
  readonly socketPath: string;
  readonly logFile: string;
  probePid?: number;
}

export interface LabState {
  readonly version: 1;
  /** Namespaces are named after this process: they become stale (sweepable) once it is gone. */
  readonly ownerPid: number;
  readonly runDir: string;
  readonly datastorePath: string;
  fabricNs?: string;
  /** The agent entry script; absent: nodes run no agent. */
  readonly agentEntry?: string;
  readonly agentEnv: Record<string, string>;
  /** Processes outlive the process that started them (CLI). */
  readonly detached: boolean;
  /** A process of the CLI's that only holds the lab's namespaces alive (see netns.ts). */
  keeperPid?: number;
  readonly nodes: NodeRecord[];
  readonly pods: PodRecord[];
}

export const STATE_FILE = 'lab.json';

export function statePath(runDir: string): string {
  return join(runDir, STATE_FILE);
}

/** Writes the state atomically (a reader never sees half a file). */
export function saveState(state: LabState): void {
  const path = statePath(state.runDir);
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(state, null, 2)}\n`);
  renameSync(tmp, path);
}

export function loadState(runDir: string): LabState {
  let x: unknown;
  try {
    x = JSON.parse(readFileSync(statePath(runDir), 'utf8'));
  } catch (e) {
    throw new CalicoError('CALICO_ERR_USAGE', `no lab in ${runDir}: ${(e as Error).message}`);
  }
  if (
    typeof x !== 'object' ||
    x === null ||
    !('version' in x) ||
    x.version !== 1 ||
    !('nodes' in x) ||
    !Array.isArray(x.nodes) ||
    !('pods' in x) ||
    !Array.isArray(x.pods)
  )
    throw new CalicoError('CALICO_ERR_PARSE', `${statePath(runDir)} is not a lab state file`);
  return x as LabState;
}
