/**
 * "Is this module the program Node was started with?" for every entry point (calico-node, calicoctl, the CNI
 * plugins, calico-lab, calico-conformance, install-cni). Node loads the main module from its real path, so
 * `import.meta.url` names the target of any symlink, while `process.argv[1]` keeps the path the user ran:
 * `/usr/local/bin/calicoctl` after `npm link`, `/opt/cni/bin/calico` for an installed plugin. Comparing
 * real paths answers the same through a symlink, through `node dist/...` and through the installed path.
 * The real-path lookup is passed in (lib does no I/O): entry points pass `node:fs` `realpathSync`.
 *
 *   if (isMainModule(import.meta.url, process.argv[1], realpathSync)) await main();
 */
import { fileURLToPath } from 'node:url';

export function isMainModule(
  moduleUrl: string,
  argv1: string | undefined,
  realpath: (path: string) => string,
): boolean {
  if (argv1 === undefined || argv1 === '' || !moduleUrl.startsWith('file:')) return false;
  const self = fileURLToPath(moduleUrl);
  // Node also accepts the main script without its extension (`node dist/src/cli/calicoctl`).
  for (const candidate of [argv1, `${argv1}.js`]) {
    let real: string;
    try {
      real = realpath(candidate);
    } catch {
      // Not a file (yet): try the next spelling.
      continue;
    }
    if (real === self) return true;
  }
  return false;
}
