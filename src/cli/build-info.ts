/**
 * The client's version and git commit, for `calicoctl version`, the version-mismatch check and the
 * ClusterInformation that the first write creates. Read once from the package.json and `.git` found above
 * this module (the same code runs from `src/` under tsx and from `dist/src/` after the build).
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The Calico release whose user-visible surface calico-ts emulates: calicoctl's commands, options, messages
 * and table columns, the projectcalico.org/v3 resources and their validation, the protected tiers
 * (kube-admin, default, kube-baseline) and plain policy names, and, for Kubernetes NetworkPolicies, the
 * `knp.default.<name>` Calico NetworkPolicies that kube-controllers writes in etcd mode.
 */
export const EMULATED_CALICO_VERSION = 'v3.32.1';

export interface BuildInfo {
  /** `v` + the package version, e.g. `v0.1.0` (Calico's versions carry the `v`). */
  readonly version: string;
  readonly gitCommit: string;
}

function packageRoot(): string | undefined {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 8; i++) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    dir = dirname(dir);
  }
  return undefined;
}

function readText(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    // Absent (installed without .git, or a packed ref): the caller falls back.
    return undefined;
  }
}

function gitCommit(root: string): string {
  const head = readText(join(root, '.git', 'HEAD'))?.trim();
  if (head === undefined) return 'unknown';
  if (!head.startsWith('ref: ')) return head;
  const ref = head.slice('ref: '.length);
  const loose = readText(join(root, '.git', ref))?.trim();
  if (loose !== undefined) return loose;
  const packed = readText(join(root, '.git', 'packed-refs')) ?? '';
  const line = packed.split('\n').find((l) => l.endsWith(` ${ref}`));
  return line?.split(' ')[0] ?? 'unknown';
}

let cached: BuildInfo | undefined;

export function buildInfo(): BuildInfo {
  if (cached !== undefined) return cached;
  const root = packageRoot();
  let version = 'v0.0.0';
  if (root !== undefined) {
    const pkg = JSON.parse(readText(join(root, 'package.json')) ?? '{}') as { version?: unknown };
    if (typeof pkg.version === 'string') version = `v${pkg.version}`;
  }
  cached = { version, gitCommit: root === undefined ? 'unknown' : gitCommit(root) };
  return cached;
}

/** `v3.27.0-rc1` -> `3.27.0`: what Calico's version-mismatch check compares. */
export function comparableVersion(v: string): string {
  return (v.startsWith('v') ? v.slice(1) : v).split('-')[0] ?? '';
}
