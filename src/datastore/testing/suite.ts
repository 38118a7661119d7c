/** Types shared by the conformance entry point (`../conformance.ts`) and its topic files. */
import type { TestContext } from 'node:test';
import type { Backend } from '../api.js';
import type { DatastoreConfig } from '../config.js';
import type { StoreLimits, StoreTarget } from './targets.js';

export interface Store {
  readonly backend: Backend;
  readonly config: DatastoreConfig;
  /** Another client of the same store (closed after the test). */
  readonly connect: () => Promise<Backend>;
}

export interface SuiteContext {
  readonly target: StoreTarget;
  /** A fresh store with one open client; every client is closed when the test ends. */
  fresh(t: TestContext): Promise<Store>;
}

/** Per-test timeout: generous, so that only a hang fails on it. */
export const TEST_TIMEOUT_MS = 60_000;

/** Skips the test with the store's reason when it has `limit`; true when skipped. */
export function optedOut(
  ctx: SuiteContext,
  t: { skip(message?: string): void },
  limit: keyof StoreLimits,
): boolean {
  const reason = ctx.target.limits?.[limit];
  if (reason === undefined) return false;
  t.skip(`${ctx.target.name}: ${reason}`);
  return true;
}
