/**
 * Where the upstream Kubernetes programs are: `scripts/build-kubernetes.sh --check` answers (the cache dir from
 * `CALICO_TS_CACHE`, else `~/.cache/calico-ts`; the release pinned in `tools/kubernetes/go.mod`; each binary's
 * stamp current), so the starter (the lab, the tests) and the script never disagree about what "built" means.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { CalicoError } from '../../../lib/errors.js';
import { repoRoot } from '../../../sys/repo-root.js';

export const KUBE_PROGRAMS = [
  'kube-apiserver',
  'kube-controller-manager',
  'kube-scheduler',
  'kubectl',
] as const;
export type KubeProgram = (typeof KUBE_PROGRAMS)[number];

export interface KubeBinaries {
  /** e.g. `v1.37.2`. */
  readonly release: string;
  readonly binDir: string;
  path(program: KubeProgram): string;
}

export type KubeBinariesLookup =
  { readonly ok: true; readonly binaries: KubeBinaries } | { readonly ok: false; readonly reason: string };

/** The script that builds the programs (named in every "not built" message). */
export function buildScript(): string {
  return join(repoRoot(), 'scripts', 'build-kubernetes.sh');
}

/** The built programs, or why there are none (to print when skipping or refusing). */
export function findKubeBinaries(): KubeBinariesLookup {
  const script = buildScript();
  const fix = `build them with ${script} (takes a while, once)`;
  if (!existsSync(script)) return { ok: false, reason: `${script} is missing` };
  const r = spawnSync(script, ['--check'], { encoding: 'utf8', timeout: 60_000 });
  const binDir = r.stdout.trim().split('\n').pop() ?? '';
  if (r.status !== 0 || binDir === '') {
    const why = r.error?.message ?? r.stderr.trim().split('\n').pop() ?? `exit ${r.status ?? '?'}`;
    return { ok: false, reason: `the Kubernetes programs are not built (${why}): ${fix}` };
  }
  const missing = KUBE_PROGRAMS.filter((p) => !existsSync(join(binDir, p)));
  if (missing.length > 0) return { ok: false, reason: `${missing.join(', ')} missing in ${binDir}: ${fix}` };
  const binaries: KubeBinaries = {
    release: basename(dirname(binDir)),
    binDir,
    path: (program) => join(binDir, program),
  };
  return { ok: true, binaries };
}

/** The built programs; a usage error naming the build script when they are not there. */
export function requireKubeBinaries(): KubeBinaries {
  const found = findKubeBinaries();
  if (!found.ok) throw new CalicoError('CALICO_ERR_USAGE', found.reason);
  return found.binaries;
}
