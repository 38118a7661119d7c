/** Where lab files live: the repository's built agent, and each pod's probe socket and log in the run dir. */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { join, relative } from 'node:path';
import { CalicoError } from '../lib/errors.js';
import { repoRoot } from '../sys/repo-root.js';

export { repoRoot };

/** `<repo>/dist/src/agent/main.js`: the agent the lab runs unless told otherwise. */
export function defaultAgentEntry(): string {
  return join(repoRoot(), 'dist', 'src', 'agent', 'main.js');
}

/**
 * A pod's probe socket and log. Named by a hash of `ns/pod`: unix socket paths are limited to 107 bytes,
 * pod names are not.
 */
export function podFiles(runDir: string, key: string): { socketPath: string; logFile: string } {
  const id = createHash('sha1').update(key).digest('hex').slice(0, 12);
  const socketPath = join(runDir, 'pods', `${id}.sock`);
  if (Buffer.byteLength(socketPath) > 100)
    throw new CalicoError('CALICO_ERR_USAGE', `run dir path too long for unix sockets: ${runDir}`);
  return { socketPath, logFile: join(runDir, 'pods', `${id}.log`) };
}

/**
 * Removes everything under `dir` but the files `keep` accepts (by path relative to `dir`), and directories
 * left empty; `dir` itself goes too when nothing is kept. Returns the kept files' relative paths, sorted.
 */
export function pruneDir(dir: string, keep: (relPath: string) => boolean): string[] {
  const kept: string[] = [];
  const walk = (d: string): boolean => {
    let any = false;
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const path = join(d, e.name);
      const rel = relative(dir, path);
      if (e.isDirectory() && walk(path)) any = true;
      else if (!e.isDirectory() && e.isFile() && keep(rel)) {
        kept.push(rel);
        any = true;
      } else rmSync(path, { recursive: true, force: true });
    }
    return any;
  };
  if (!existsSync(dir)) return [];
  if (!walk(dir)) rmSync(dir, { recursive: true, force: true });
  return kept.sort();
}

/** The cluster DNS's files (cluster-dns.ts): dnsmasq's configuration and log, and the pods' resolv.conf. */
export function clusterDnsFiles(runDir: string): {
  readonly dir: string;
  readonly configFile: string;
  readonly logFile: string;
  readonly resolvConf: string;
} {
  const dir = join(runDir, 'dns');
  return {
    dir,
    configFile: join(dir, 'dnsmasq.conf'),
    logFile: join(dir, 'dnsmasq.log'),
    resolvConf: join(dir, 'resolv.conf'),
  };
}
