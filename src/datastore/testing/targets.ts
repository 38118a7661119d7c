/**
 * The two datastores every cross-backend suite runs against (datastore conformance, the IPAM allocator, the
 * calicoctl datastore commands): the embedded SQLite store (a fresh file per test in a temporary directory)
 * and a private etcd started for the suite (emptied of `/calico/` between tests).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Etcd3 } from 'etcd3';
import type { DatastoreConfig } from '../config.js';
import { etcdSkipReason, startTestEtcd, type TestEtcd } from '../etcd/test-etcd.js';

export interface StoreTarget {
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

/** The embedded store: each `fresh()` names a new file in a not yet existing directory (opening creates it). */
export function embeddedTarget(tmpPrefix: string): StoreTarget {
  let dir = '';
  let n = 0;
  return {
    name: 'embedded (SQLite)',
    setup: async () => {
      dir = await mkdtemp(join(tmpdir(), tmpPrefix));
    },
    teardown: async () => {
      await rm(dir, { recursive: true, force: true });
    },
    fresh: () =>
      Promise.resolve({ datastoreType: 'embedded', datastorePath: join(dir, `store-${n++}`, 'calico.db') }),
  };
}

/** A real etcd for the suite (skipped where no binary is installed); `fresh()` deletes everything Calico's. */
export function etcdTarget(): StoreTarget {
  let etcd: TestEtcd | undefined;
  const running = (): TestEtcd => {
    if (etcd === undefined) throw new Error('etcd is not running');
    return etcd;
  };
  return {
    name: 'etcdv3',
    skip: etcdSkipReason(),
    setup: async () => {
      etcd = await startTestEtcd();
    },
    teardown: async () => {
      await etcd?.dispose();
    },
    fresh: async () => {
      const { endpoint } = running();
      const client = new Etcd3({ hosts: endpoint });
      try {
        await client.delete().prefix('/calico/');
      } finally {
        client.close();
      }
      return { datastoreType: 'etcdv3', etcd: { endpoints: [endpoint] } };
    },
    server: {
      stop: () => running().stop(),
      kill: () => running().kill(),
      start: () => running().start(),
    },
  };
}
