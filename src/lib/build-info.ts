/**
 * The version and git commit of this checkout or installation, as calicoctl version and calico-node -v print
 * them: the package.json found above a module's directory, and `.git/HEAD` resolved through loose or packed
 * refs. Pure: file reads are passed in (callers pass `node:fs`).
 */
import { dirname, join, resolve } from 'node:path';

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

/** Reads a file's text, or undefined when it cannot be read. */
export type ReadText = (path: string) => string | undefined;

function packageRoot(startDir: string, readText: ReadText): string | undefined {
  let dir = startDir;
  for (let i = 0; i < 8; i++) {
    if (readText(join(dir, 'package.json')) !== undefined) return dir;
    dir = dirname(dir);
  }
  return undefined;
}

/** The git directory: `.git`, or where a `.git` file points (a worktree), and where its refs live. */
function gitDirs(root: string, readText: ReadText): { readonly git: string; readonly common: string } {
  const dotGit = join(root, '.git');
  const pointer = /^gitdir: (.+)$/m.exec(readText(dotGit) ?? '')?.[1]?.trim();
  if (pointer === undefined) return { git: dotGit, common: dotGit };
  const git = resolve(root, pointer);
  const common = readText(join(git, 'commondir'))?.trim();
  return { git, common: common === undefined ? git : resolve(git, common) };
}

function gitCommit(root: string, readText: ReadText): string {
  const { git, common } = gitDirs(root, readText);
  const head = readText(join(git, 'HEAD'))?.trim();
  if (head === undefined) return 'unknown';
  if (!head.startsWith('ref: ')) return head;
  const ref = head.slice('ref: '.length);
  const loose = (readText(join(git, ref)) ?? readText(join(common, ref)))?.trim();
  if (loose !== undefined) return loose;
  const packed = readText(join(common, 'packed-refs')) ?? '';
  const line = packed.split('\n').find((l) => l.endsWith(` ${ref}`));
  return line?.split(' ')[0] ?? 'unknown';
}

export function readBuildInfo(moduleDir: string, readText: ReadText): BuildInfo {
  const root = packageRoot(moduleDir, readText);
  let version = 'v0.0.0';
  if (root !== undefined) {
    const pkg = JSON.parse(readText(join(root, 'package.json')) ?? '{}') as { version?: unknown };
    if (typeof pkg.version === 'string') version = `v${pkg.version}`;
  }
  return { version, gitCommit: root === undefined ? 'unknown' : gitCommit(root, readText) };
}
