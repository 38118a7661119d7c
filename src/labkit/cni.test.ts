import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { labNetconf, parseCniResult } from './cni.js';
import { etcdRecord, labDatastoreEnv } from './datastore.js';
import type { LabState } from './state.js';

const state: LabState = {
  version: 1,
  ownerPid: 1,
  runDir: '/run/lab',
  datastorePath: '/run/lab/calico.db',
  network: 'vxlan',
  agentEnv: {},
  detached: false,
  nodes: [],
  pods: [],
};
const node = { name: 'node-1', runDir: '/run/lab/nodes/node-1' };

describe('lab CNI invocations', () => {
  test('the network configuration: calico-ipam, the node, its status dir, the mode MTU, the datastore', () => {
    const c = labNetconf(state, node);
    assert.equal(c.type, 'calico');
    assert.equal(c.cniVersion, '1.0.0');
    assert.equal(c.nodename, 'node-1');
    assert.equal(c.mtu, 1450);
    assert.deepEqual(c.ipam, { type: 'calico-ipam', assign_ipv4: 'true' });
    assert.equal(c.endpoint_status_dir, '/run/lab/nodes/node-1/endpoint-status');
    assert.equal(c.datastore_type, 'embedded');
    assert.equal(c.datastore_path, '/run/lab/calico.db');
    const etcd = labNetconf({ ...state, network: 'bgp', datastore: etcdRecord('/run/lab/etcd') }, node);
    assert.equal(etcd.mtu, 1500);
    assert.equal(etcd.datastore_type, 'etcdv3');
    assert.equal(etcd.etcd_endpoints, 'unix:///run/lab/etcd/etcd.sock:2379');
  });

  test('the address and MAC of a CNI 1.0.0 result', () => {
    const result = {
      cniVersion: '1.0.0',
      interfaces: [
        { name: 'cali123', mac: 'ee:ee:ee:ee:ee:ee' },
        { name: 'eth0', mac: '0a:58:0a:f4:01:0a', sandbox: '/var/run/netns/p' },
      ],
      ips: [{ address: '10.244.1.10/32', interface: 1 }],
    };
    assert.deepEqual(parseCniResult(JSON.stringify(result)), { ip: '10.244.1.10', mac: '0a:58:0a:f4:01:0a' });
    assert.deepEqual(parseCniResult('{"ips":[{"address":"10.244.1.11/32"}]}'), { ip: '10.244.1.11' });
    assert.throws(() => parseCniResult('{"ips":[]}'), /no address/);
    assert.throws(() => parseCniResult('nope'), /not JSON/);
  });

  test('every component reaches the datastore with the same variables', () => {
    assert.deepEqual(labDatastoreEnv(state), {
      DATASTORE_TYPE: 'embedded',
      CALICO_DATASTORE_PATH: '/run/lab/calico.db',
    });
    assert.deepEqual(labDatastoreEnv({ ...state, datastore: etcdRecord('/run/lab/etcd') }), {
      DATASTORE_TYPE: 'etcdv3',
      ETCD_ENDPOINTS: 'unix:///run/lab/etcd/etcd.sock:2379',
    });
    assert.throws(() => etcdRecord(`/${'x'.repeat(100)}`), /too long/);
  });
});
