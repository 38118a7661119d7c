/**
 * The per-test harness of the calicoctl suites: a fresh store of a datastore target, calicoctl runs against
 * it (reached only through the environment, as a user's shell would), temp files; and `describeCliSuite`,
 * which runs a set of such tests against one target.
 */
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe } from 'node:test';
import { openBackend, type Backend, type DatastoreConfig } from '../../datastore/index.js';
import { KUBERNETES_SYSTEM_NAMESPACES, type StoreTarget } from '../../datastore/testing/targets.js';
import { repoRoot } from '../../test-support/repo.js';
import { calicoctl, type CliRun } from '../testing.js';

export interface Harness {
  /** The store of this test. */
  readonly config: DatastoreConfig;
  /** The environment that reaches it. */
  readonly env: Record<string, string>;
  /** The same store as the spec lines of a CalicoAPIConfig file (for `-c`). */
  readonly configSpec: string;
  readonly dir: string;
  run(args: string[], stdin?: string): Promise<CliRun>;
  /** Runs and asserts exit status 0; returns stdout. */
  ok(args: string[], stdin?: string): Promise<string>;
  file(name: string, text: string): Promise<string>;
  /** Direct datastore access, for checks the CLI cannot make. */
  withBackend<T>(fn: (b: Backend) => Promise<T>): Promise<T>;
}

export const STARTER = join(repoRoot(), 'examples', 'starter.yaml');
export const TEST_TIMEOUT_MS = 60_000;
export const opts = { timeout: TEST_TIMEOUT_MS };

export const GNP = (name: string, extra = ''): string =>
  `apiVersion: projectcalico.org/v3\nkind: GlobalNetworkPolicy\nmetadata:\n  name: ${name}\nspec:\n  selector: all()\n${extra}`;
export const NP = (ns: string | undefined, name: string): string =>
  `apiVersion: projectcalico.org/v3\nkind: NetworkPolicy\nmetadata:\n  name: ${name}\n${ns === undefined ? '' : `  namespace: ${ns}\n`}spec:\n  selector: all()\n`;

/** The first column of each table row (below the header). */
export function names(table: string): string[] {
  return table
    .trimEnd()
    .split('\n')
    .slice(1)
    .map((l) => l.trim().split(/\s+/)[0] ?? '');
}

/**
 * `listed` without the namespaces a Kubernetes API server always has (`default`, `kube-*`) when `h` is on the
 * Kubernetes datastore: what the test itself created.
 */
export function userNamespaces(h: Harness, listed: readonly string[]): string[] {
  if (h.config.datastoreType !== 'kubernetes') return [...listed];
  return listed.filter((n) => !KUBERNETES_SYSTEM_NAMESPACES.includes(n));
}

/** The datastore variables (and, for a -c file, the CalicoAPIConfig spec lines) that reach `config`. */
function clientSettings(config: DatastoreConfig): { env: Record<string, string>; configSpec: string } {
  switch (config.datastoreType) {
    case 'embedded':
      return {
        env: { DATASTORE_TYPE: 'embedded', CALICO_DATASTORE_PATH: config.datastorePath },
        configSpec: `  datastoreType: embedded\n  datastorePath: ${config.datastorePath}\n`,
      };
    case 'etcdv3': {
      const endpoints = config.etcd.endpoints.join(',');
      return {
        env: { DATASTORE_TYPE: 'etcdv3', ETCD_ENDPOINTS: endpoints },
        configSpec: `  datastoreType: etcdv3\n  etcdEndpoints: ${endpoints}\n`,
      };
    }
    case 'kubernetes': {
      const kubeconfig = config.kubeconfig ?? '';
      return {
        env: { DATASTORE_TYPE: 'kubernetes', KUBECONFIG: kubeconfig },
        configSpec: `  datastoreType: kubernetes\n  kubeconfig: ${kubeconfig}\n`,
      };
    }
  }
}

export async function makeHarness(target: StoreTarget, dir: string): Promise<Harness> {
  const config = await target.fresh();
  const { env, configSpec } = clientSettings(config);
  await mkdir(dir, { recursive: true });
  const run = (args: string[], stdin?: string): Promise<CliRun> =>
    calicoctl(args, stdin === undefined ? { env } : { env, stdin });
  return {
    config,
    env,
    configSpec,
    dir,
    run,
    ok: async (args, stdin) => {
      const r = await run(args, stdin);
      assert.equal(r.status, 0, `calicoctl ${args.join(' ')} failed:\n${r.stderr}${r.stdout}`);
      return r.stdout;
    },
    file: async (name, text) => {
      const path = join(dir, name);
      await writeFile(path, text);
      return path;
    },
    withBackend: async (fn) => {
      const backend = await openBackend(config);
      try {
        return await fn(backend);
      } finally {
        await backend.close();
      }
    },
  };
}

/**
 * Registers `register`'s tests as one suite against `target`: the target is set up once, and each
 * `harness()` gives a fresh store and a directory of its own under one temporary root.
 */
export function describeCliSuite(
  title: string,
  target: StoreTarget,
  register: (harness: () => Promise<Harness>) => void,
): void {
  let root = '';
  let n = 0;
  const harness = (): Promise<Harness> => makeHarness(target, join(root, `t${n++}`));
  void describe(`${title}: ${target.name}`, { skip: target.skip ?? false }, () => {
    before(async () => {
      root = await mkdtemp(join(tmpdir(), 'calicoctl-'));
      await target.setup?.();
    });
    after(async () => {
      await target.teardown?.();
      await rm(root, { recursive: true, force: true });
    });
    register(harness);
  });
}
