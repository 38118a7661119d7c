/** The allocator suite against a real etcd (started here, emptied between tests). */
import { Etcd3 } from 'etcd3';
import { etcdSkipReason, startTestEtcd, type TestEtcd } from '../datastore/etcd/test-etcd.js';
import { runAllocatorSuite } from './testing/suite.js';

let etcd: TestEtcd | undefined;

function endpoint(): string {
  if (etcd === undefined) throw new Error('etcd is not running');
  return etcd.endpoint;
}

runAllocatorSuite({
  name: 'etcdv3',
  skip: etcdSkipReason(),
  setup: async () => {
    etcd = await startTestEtcd();
  },
  teardown: async () => {
    await etcd?.dispose();
  },
  fresh: async () => {
    const client = new Etcd3({ hosts: endpoint() });
    try {
      await client.delete().prefix('/calico/');
    } finally {
      client.close();
    }
    return { datastoreType: 'etcdv3', etcd: { endpoints: [endpoint()] } };
  },
});
