/**
 * The client's version and git commit, for `calicoctl version`, the version-mismatch check and the
 * ClusterInformation that the first write creates. Read once from the package.json and `.git` found above
 * this module (the same code runs from `src/` under tsx and from `dist/src/` after the build).
 */
import { readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type BuildInfo, readBuildInfo } from '../lib/build-info.js';

export type { BuildInfo } from '../lib/build-info.js';
export { EMULATED_CALICO_VERSION } from '../lib/build-info.js';

function readText(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    // Absent (installed without .git, or a packed ref): the caller falls back.
    return undefined;
  }
}

let cached: BuildInfo | undefined;

export function buildInfo(): BuildInfo {
  cached ??= readBuildInfo(dirname(fileURLToPath(import.meta.url)), readText);
  return cached;
}

/** `v3.27.0-rc1` -> `3.27.0`: what Calico's version-mismatch check compares. */
export function comparableVersion(v: string): string {
  return (v.startsWith('v') ? v.slice(1) : v).split('-')[0] ?? '';
}
