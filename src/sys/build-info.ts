/**
 * This installation's version and git commit (lib/build-info.ts, read from the package.json and `.git` found
 * above this module), read once per process: what `calicoctl version` and `calico-node -v` print and what both
 * record in ClusterInformation. The same code runs from `src/` under tsx and from `dist/src/` after the build.
 */
import { readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type BuildInfo, readBuildInfo } from '../lib/build-info.js';

export type { BuildInfo } from '../lib/build-info.js';

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
