/**
 * Waiting for the agent to program a new endpoint's policy before ADD returns (Calico's
 * `policy_setup_timeout_seconds` / `endpoint_status_dir`). The agent (`src/agent/status.ts`) writes
 * `<endpoint_status_dir>/<namespace>/<wep name>` once the endpoint is programmed, and `status.json` (in the
 * directory above) with `appliedRevision`, the datastore revision whose effects are all in the kernel.
 *
 * A status file alone can be stale: a re-ADD of the same pod keeps the WorkloadEndpoint's name, so the file
 * of the previous sandbox may still be there. The endpoint counts as programmed when its file exists and
 * either the file's or the agent's applied revision has reached the revision of our WorkloadEndpoint write.
 */
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';

export interface AgentStatus {
  readonly appliedRevision?: number;
  readonly dataplaneInSync?: boolean;
  readonly updatedAt?: string;
}

async function readJson(path: string): Promise<Record<string, unknown> | undefined> {
  try {
    const v: unknown = JSON.parse(await readFile(path, 'utf8'));
    return typeof v === 'object' && v !== null ? (v as Record<string, unknown>) : {};
  } catch {
    return undefined;
  }
}

export function endpointStatusPath(statusDir: string, namespace: string, wepName: string): string {
  return join(statusDir, namespace, wepName);
}

export function agentStatusPath(statusDir: string): string {
  return join(dirname(statusDir), 'status.json');
}

function statusFields(o: Record<string, unknown>): AgentStatus {
  return {
    ...(typeof o['appliedRevision'] === 'number' ? { appliedRevision: o['appliedRevision'] } : {}),
    ...(typeof o['dataplaneInSync'] === 'boolean' ? { dataplaneInSync: o['dataplaneInSync'] } : {}),
    ...(typeof o['updatedAt'] === 'string' ? { updatedAt: o['updatedAt'] } : {}),
  };
}

export async function readAgentStatus(statusDir: string): Promise<AgentStatus | undefined> {
  const o = await readJson(agentStatusPath(statusDir));
  return o === undefined ? undefined : statusFields(o);
}

/** `<runDir>/status.json`, read synchronously (test harnesses poll it). */
export function readAgentStatusSync(runDir: string): AgentStatus | undefined {
  try {
    const v: unknown = JSON.parse(readFileSync(join(runDir, 'status.json'), 'utf8'));
    return typeof v === 'object' && v !== null ? statusFields(v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** Whether the endpoint is programmed at (or after) `revision`. */
export async function endpointProgrammed(
  statusDir: string,
  namespace: string,
  wepName: string,
  revision: number,
): Promise<boolean> {
  const file = await readJson(endpointStatusPath(statusDir, namespace, wepName));
  if (file === undefined) return false;
  const fileRev = typeof file['appliedRevision'] === 'number' ? file['appliedRevision'] : -1;
  if (fileRev >= revision) return true;
  const agent = await readAgentStatus(statusDir);
  return (agent?.appliedRevision ?? -1) >= revision;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Polls (5 ms, growing to 25 ms) until programmed or `timeoutMs`; returns whether it was programmed. */
export async function waitForEndpoint(opts: {
  readonly statusDir: string;
  readonly namespace: string;
  readonly wepName: string;
  readonly revision: number;
  readonly timeoutMs: number;
}): Promise<boolean> {
  const deadline = performance.now() + opts.timeoutMs;
  let delay = 5;
  for (;;) {
    if (await endpointProgrammed(opts.statusDir, opts.namespace, opts.wepName, opts.revision)) return true;
    const left = deadline - performance.now();
    if (left <= 0) return false;
    await sleep(Math.min(delay, left));
    delay = Math.min(25, delay + 5);
  }
}
