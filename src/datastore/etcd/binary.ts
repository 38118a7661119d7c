/**
 * Where the etcd server binary is (Debian's etcd-server installs `/usr/bin/etcd`): for programs that start a
 * private etcd, such as the lab's `--datastore etcd`, and for the test helper (test-etcd.ts).
 */
import { existsSync } from 'node:fs';

const CANDIDATES = ['/usr/bin/etcd', '/usr/local/bin/etcd'];

/** The etcd binary to use (`ETCD_BINARY` overrides), or undefined when none is installed. */
export function findEtcdBinary(): string | undefined {
  const fromEnv = process.env['ETCD_BINARY'];
  if (fromEnv !== undefined && fromEnv !== '') return existsSync(fromEnv) ? fromEnv : undefined;
  return CANDIDATES.find((p) => existsSync(p));
}
