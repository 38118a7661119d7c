/**
 * What the agent tells the rest of the node through files (namespaces do not isolate the filesystem):
 * `<runDir>/status.json` after every apply, and `<runDir>/endpoint-status/<namespace>/<endpoint>` for each
 * local workload endpoint whose policy is programmed (the CNI plugin waits for it). Writes are atomic
 * (temp file + rename); files are 0644 and directories 0755 whatever the umask (a status file anyone could
 * write would let them tell the CNI plugin a pod's policy is in place).
 */
import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { FILE_MODE, ensureDirSync, writeFileAtomic } from '../sys/files.js';
import type { DatastoreStatus } from './datastore-health.js';

export interface AgentStatus {
  readonly pid: number;
  readonly nodeName: string;
  readonly inSync: boolean;
  readonly dataplaneInSync: boolean;
  readonly appliedRevision: number;
  readonly lastApplyError: string | null;
  /** Datastore reachability and held-back invalid resources (datastore-health.ts). */
  readonly datastore?: DatastoreStatus;
  readonly updatedAt: string;
}

function atomicWrite(path: string, text: string): Promise<void> {
  return writeFileAtomic(path, text, FILE_MODE);
}

export class StatusWriter {
  private readonly runDir: string;
  private readonly written = new Set<string>();
  private swept = false;

  constructor(runDir: string) {
    this.runDir = runDir;
  }

  async writeStatus(s: AgentStatus): Promise<void> {
    ensureDirSync(this.runDir);
    await atomicWrite(join(this.runDir, 'status.json'), `${JSON.stringify(s)}\n`);
  }

  /** Makes the endpoint-status directory hold exactly these endpoints (`namespace/name`). */
  async writeEndpoints(
    endpoints: ReadonlyMap<string, { namespace: string; name: string }>,
    revision: number,
  ): Promise<void> {
    const dir = join(this.runDir, 'endpoint-status');
    ensureDirSync(dir);
    const wanted = new Set<string>();
    for (const ep of endpoints.values()) {
      const rel = `${ep.namespace}/${ep.name}`;
      wanted.add(rel);
      if (this.written.has(rel)) continue;
      ensureDirSync(join(dir, ep.namespace));
      await atomicWrite(join(dir, rel), `${JSON.stringify({ status: 'up', appliedRevision: revision })}\n`);
      this.written.add(rel);
    }
    if (!this.swept) {
      // First apply after a restart: drop files of endpoints a previous instance wrote that are gone now.
      this.swept = true;
      for (const ns of await readdir(dir).catch(() => [] as string[])) {
        for (const name of await readdir(join(dir, ns)).catch(() => [] as string[])) {
          if (!wanted.has(`${ns}/${name}`)) await rm(join(dir, ns, name), { force: true });
        }
      }
    }
    for (const rel of [...this.written]) {
      if (wanted.has(rel)) continue;
      await rm(join(dir, rel), { force: true });
      this.written.delete(rel);
    }
  }
}
