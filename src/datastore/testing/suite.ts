/** Types shared by the conformance entry point (`../conformance.ts`) and its topic files. */
import type { TestContext } from 'node:test';
import type { Backend } from '../api.js';
import type { DatastoreConfig } from '../config.js';

export interface ConformanceTarget {
  readonly name: string;
  /** When set, the whole suite is skipped with this reason (e.g. the etcd binary is missing). */
  readonly skip?: string | undefined;
  /** Runs once before the suite (start a server). */
  setup?(): Promise<void>;
  /** Runs once after the suite, even when tests failed (stop servers, remove directories). */
  teardown?(): Promise<void>;
  /** Prepares a fresh, empty store and returns the config that reaches it (also used by child processes). */
  fresh(): Promise<DatastoreConfig>;
  /** A server process that can be stopped and started again with its data (etcd). */
  readonly server?: {
    stop(): Promise<void>;
    /** SIGKILL. */
    kill(): Promise<void>;
    start(): Promise<void>;
  };
}

export interface Store {
  readonly backend: Backend;
  readonly config: DatastoreConfig;
  /** Another client of the same store (closed after the test). */
  readonly connect: () => Promise<Backend>;
}

export interface SuiteContext {
  readonly target: ConformanceTarget;
  /** A fresh store with one open client; every client is closed when the test ends. */
  fresh(t: TestContext): Promise<Store>;
}

/** Per-test timeout: generous, so that only a hang fails on it. */
export const TEST_TIMEOUT_MS = 60_000;
