/**
 * The client's version and git commit (src/sys/build-info.ts), for `calicoctl version`, the version-mismatch
 * check and the ClusterInformation that the first write creates.
 */
export { buildInfo, type BuildInfo } from '../sys/build-info.js';
export { EMULATED_CALICO_VERSION } from '../lib/build-info.js';

/** `v3.27.0-rc1` -> `3.27.0`: what Calico's version-mismatch check compares. */
export function comparableVersion(v: string): string {
  return (v.startsWith('v') ? v.slice(1) : v).split('-')[0] ?? '';
}
