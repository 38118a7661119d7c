/**
 * Waiting for the agent to program a new endpoint's policy before ADD returns (Calico's
 * `policy_setup_timeout_seconds` / `endpoint_status_dir`). The agent (files: `agent-status.ts`) writes
 * `<endpoint_status_dir>/<namespace>/<wep name>` once the endpoint is programmed, and `status.json` (in the
 * directory above) with `appliedRevision`, the datastore revision whose effects are all in the kernel.
 *
 * A status file alone can be stale: a re-ADD of the same pod keeps the WorkloadEndpoint's name, so the file
 * of the previous sandbox may still be there. The endpoint counts as programmed when its file exists and
 * either the file's or the agent's applied revision has reached the revision of our WorkloadEndpoint write.
 */
import { readAgentStatus, readEndpointStatus, runDirOfStatusDir } from './agent-status.js';

/** Whether the endpoint is programmed at (or after) `revision`. */
export async function endpointProgrammed(
  statusDir: string,
  namespace: string,
  wepName: string,
  revision: number,
): Promise<boolean> {
  const file = await readEndpointStatus(statusDir, namespace, wepName);
  if (file === undefined) return false;
  if (file.appliedRevision >= revision) return true;
  const agent = await readAgentStatus(runDirOfStatusDir(statusDir));
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
