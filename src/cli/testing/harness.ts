/** The per-test harness of the calicoctl suite: a fresh store, calicoctl runs against it, temp files. */
import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { loadClientConfig, openBackend, type Backend } from '../../datastore/index.js';
import { repoRoot } from '../../test-support/repo.js';
import { calicoctl, type CliRun } from '../testing.js';

export interface CliTarget {
  readonly name: string;
  /** When set, the whole suite is skipped with this reason. */
  readonly skip?: string | undefined;
  setup?(): Promise<void>;
  teardown?(): Promise<void>;
  /** A fresh, empty store: the environment that reaches it, and the CalicoAPIConfig spec lines for a -c file. */
  fresh(): Promise<{ env: Record<string, string>; configSpec: string }>;
}

export interface Harness {
  readonly env: Record<string, string>;
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

export async function makeHarness(target: CliTarget, dir: string): Promise<Harness> {
  const { env, configSpec } = await target.fresh();
  await mkdir(dir, { recursive: true });
  const run = (args: string[], stdin?: string): Promise<CliRun> =>
    calicoctl(args, stdin === undefined ? { env } : { env, stdin });
  return {
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
      const backend = await openBackend(await loadClientConfig({ env }));
      try {
        return await fn(backend);
      } finally {
        await backend.close();
      }
    },
  };
}
