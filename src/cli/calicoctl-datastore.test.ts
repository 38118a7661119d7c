/** The calicoctl datastore-command suite against both backends: embedded SQLite and a real etcd. */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Etcd3 } from 'etcd3';
import { etcdSkipReason, startTestEtcd, type TestEtcd } from '../datastore/etcd/test-etcd.js';
import { runCliSuite } from './testing/scenario.js';

let dir = '';
let n = 0;

runCliSuite({
  name: 'embedded (SQLite)',
  setup: async () => {
    dir = await mkdtemp(join(tmpdir(), 'calicoctl-sqlite-'));
  },
  teardown: async () => {
    await rm(dir, { recursive: true, force: true });
  },
  fresh: () => {
    const path = join(dir, `store-${n++}`, 'calico.db');
    return Promise.resolve({
      env: { DATASTORE_TYPE: 'embedded', CALICO_DATASTORE_PATH: path },
      configSpec: `  datastoreType: embedded\n  datastorePath: ${path}\n`,
    });
  },
});

let etcd: TestEtcd | undefined;

runCliSuite({
  name: 'etcdv3',
  skip: etcdSkipReason(),
  setup: async () => {
    etcd = await startTestEtcd();
  },
  teardown: async () => {
    await etcd?.dispose();
  },
  fresh: async () => {
    if (etcd === undefined) throw new Error('etcd is not running');
    const client = new Etcd3({ hosts: etcd.endpoint });
    try {
      await client.delete().prefix('/calico/');
    } finally {
      client.close();
    }
    return {
      env: { DATASTORE_TYPE: 'etcdv3', ETCD_ENDPOINTS: etcd.endpoint },
      configSpec: `  datastoreType: etcdv3\n  etcdEndpoints: ${etcd.endpoint}\n`,
    };
  },
});
