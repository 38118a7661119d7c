/**
 * Where helm is (`scripts/build-helm.sh --check` answers, as the Kubernetes programs are found:
 * control-plane/binaries.ts) and `helm template` of the chart, as manifests/calico.yaml is rendered.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { CalicoError } from '../lib/errors.js';
import { repoRoot } from '../sys/repo-root.js';

export type HelmLookup =
  { readonly ok: true; readonly helm: string } | { readonly ok: false; readonly reason: string };

/** The chart directory and the release name and namespace manifests/calico.yaml is rendered with. */
export const CHART_DIR = 'charts/calico';
export const RELEASE = 'calico';
export const NAMESPACE = 'kube-system';

/** The built helm, or why there is none. */
export function findHelm(): HelmLookup {
  const script = join(repoRoot(), 'scripts', 'build-helm.sh');
  const fix = `build it with ${script} (a few minutes, once)`;
  if (!existsSync(script)) return { ok: false, reason: `${script} is missing` };
  const r = spawnSync(script, ['--check'], { encoding: 'utf8', timeout: 60_000 });
  const binDir = r.stdout.trim().split('\n').pop() ?? '';
  if (r.status !== 0 || binDir === '') {
    const why = r.error?.message ?? r.stderr.trim().split('\n').pop() ?? `exit ${r.status ?? '?'}`;
    return { ok: false, reason: `helm is not built (${why}): ${fix}` };
  }
  const helm = join(binDir, 'helm');
  return existsSync(helm) ? { ok: true, helm } : { ok: false, reason: `${helm} is missing: ${fix}` };
}

/**
 * `helm template calico charts/calico -n kube-system [extra]` from the repository root: the rendered text.
 * A usage error naming the build script when helm is not built; helm's message when it fails.
 */
export function helmTemplate(extra: readonly string[] = []): string {
  const found = findHelm();
  if (!found.ok) throw new CalicoError('CALICO_ERR_USAGE', found.reason);
  const args = ['template', RELEASE, CHART_DIR, '--namespace', NAMESPACE, ...extra];
  const r = spawnSync(found.helm, args, { cwd: repoRoot(), encoding: 'utf8', timeout: 120_000 });
  if (r.status !== 0) {
    const why = r.error?.message ?? r.stderr.trim();
    throw new CalicoError('CALICO_ERR_IO', `helm ${args.join(' ')} failed: ${why}`);
  }
  return r.stdout;
}
