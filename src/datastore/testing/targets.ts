/**
 * The datastores cross-backend suites run against (datastore conformance, the IPAM allocator, the calicoctl
 * datastore commands): the embedded SQLite store (a fresh file per test in a temporary directory), a private
 * etcd started for the suite (emptied of `/calico/` between tests), and a kube-apiserver for the Kubernetes
 * datastore (the datastore conformance suite only, so far).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Etcd3 } from 'etcd3';
import type { DatastoreConfig } from '../config.js';
import { etcdSkipReason, startTestEtcd, type TestEtcd } from '../etcd/test-etcd.js';
import {
  kubernetesSkipReason,
  startTestControlPlane,
  type TestControlPlane,
} from '../kubernetes/testing/control-plane.js';

/**
 * Behaviour a store cannot have, each with the reason. The suite opts the cases that need it out explicitly
 * (a skip printing the reason) or checks the store's documented variant instead; never silently.
 */
export interface StoreLimits {
  /** A watch of several kinds is ordered per kind only (Kubernetes: one watch per resource type). */
  readonly watchOrderPerKind?: string;
  /** `compact` is refused. */
  readonly noCompaction?: string;
  /** `applyMany` is not atomic per chunk. */
  readonly nonAtomicApplyMany?: string;
  /** Arbitrary bytes cannot be stored under a key (`writeRawValue`). */
  readonly noRawValues?: string;
  /** A server restart ends watches with `compacted`: the syncer resyncs, emitting only the differences. */
  readonly restartResyncs?: string;
  /** Other writers share the store revision, so it moves without the test's writes. */
  readonly foreignWrites?: string;
  /** The store refuses some objects below the common size bound (`limits.ts`). */
  readonly smallerObjects?: string;
}

export interface StoreTarget {
  readonly name: string;
  /** What this store cannot do (absent: everything the contract promises). */
  readonly limits?: StoreLimits;
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

/**
 * A real kube-apiserver (on its own etcd) with Calico's CRDs, for the Kubernetes datastore (skipped where the
 * Kubernetes programs are not built). `fresh()` deletes every Calico custom resource and Kubernetes
 * NetworkPolicy in the API server's etcd directly (the API server sees the deletions through its etcd
 * watch); `server` restarts the API server, not etcd.
 */
export function kubernetesTarget(): StoreTarget {
  let plane: TestControlPlane | undefined;
  const running = (): TestControlPlane => {
    if (plane === undefined) throw new Error('the control plane is not running');
    return plane;
  };
  return {
    name: 'kubernetes (kube-apiserver)',
    skip: kubernetesSkipReason(),
    limits: {
      watchOrderPerKind:
        'Kubernetes watches one resource type per request; the backend merges them per kind, in arrival order',
      noCompaction: 'kube-apiserver compacts its etcd itself; the Kubernetes API offers no compaction',
      nonAtomicApplyMany: 'the Kubernetes API has no transactions: applyMany writes object by object',
      noRawValues:
        'the API server stores only well-formed objects of the CRD; KDD-specific tests cover custom resources that do not convert',
      restartResyncs:
        'a restarted kube-apiserver starts a new watch cache: resuming older resourceVersions answers 410 Gone',
      foreignWrites: 'kube-apiserver renews its own leases in the same etcd, which moves the revision',
      smallerObjects:
        'Kubernetes caps annotations at 256 KiB, and KDD keeps the v3 metadata in one annotation',
    },
    setup: async () => {
      plane = await startTestControlPlane();
    },
    teardown: async () => {
      await plane?.dispose();
    },
    fresh: async () => {
      const { etcd, kubeconfig } = running();
      const client = new Etcd3({ hosts: etcd.endpoint });
      try {
        await client.delete().prefix('/registry/crd.projectcalico.org/');
        await client.delete().prefix('/registry/networking.k8s.io/networkpolicies/');
      } finally {
        client.close();
      }
      return { datastoreType: 'kubernetes', kubeconfig };
    },
    server: {
      stop: () => running().stopApiServer(),
      kill: () => running().stopApiServer(),
      start: () => running().startApiServer(),
    },
  };
}
