/**
 * `calicoctl delete node` on both datastores: everything of the node goes (addresses, tunnel addresses,
 * block affinities, endpoints, node-specific peers and configuration, host endpoints) and nothing of the
 * other node; `calicoctl ipam check` finds 0 problems; a run that stopped half-way is run again.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Etcd3 } from 'etcd3';
import { etcdSkipReason, startTestEtcd, type TestEtcd } from '../datastore/etcd/test-etcd.js';
import { type Backend, type DatastoreConfig, openBackend, type Resource } from '../datastore/index.js';
import { IpamClient, tunnelAttributeType, tunnelHandle, workloadHandle } from '../ipam/index.js';
import { calicoctl } from './testing.js';

const C = 'projectcalico.org/v3';

function res(kind: string, name: string, spec: Record<string, unknown>, namespace?: string): Resource {
  return {
    apiVersion: C,
    kind,
    metadata: namespace === undefined ? { name } : { name, namespace },
    spec,
  } as Resource;
}

interface Datastore {
  readonly env: Record<string, string>;
  readonly config: DatastoreConfig;
}

/** Two nodes with pods, tunnel addresses, peers, configuration and host endpoints. */
async function populate(b: Backend): Promise<void> {
  const ipam = new IpamClient(b);
  await b.applyMany([res('IPPool', 'pool', { cidr: '10.70.0.0/16', blockSize: 26, vxlanMode: 'Always' })]);
  for (const node of ['node1', 'node2']) {
    const tunnel = await ipam.autoAssign({
      num4: 1,
      num6: 0,
      hostname: node,
      handleId: tunnelHandle('vxlan', node),
      attrs: { node, type: tunnelAttributeType('vxlan', 4) },
      intendedUse: 'Tunnel',
    });
    const vxlan = tunnel.ipv4[0]?.ip.split('/')[0] ?? '';
    await b.applyMany([
      res('Node', node, {
        bgp: { ipv4Address: `10.0.0.${node === 'node1' ? 1 : 2}/24` },
        ipv4VXLANTunnelAddr: vxlan,
      }),
      res('BGPPeer', `${node}-peer`, { node, peerIP: '10.0.0.254', asNumber: 64600 }),
      res('FelixConfiguration', `node.${node}`, { defaultEndpointToHostAction: 'Return' }),
      res('BGPConfiguration', `node.${node}`, { logSeverityScreen: 'Info' }),
      res('HostEndpoint', `${node}-eth0`, { node, interfaceName: 'eth0', expectedIPs: ['10.0.0.1'] }),
    ]);
    for (const pod of ['a', 'b', 'c']) {
      const cid = `${node}-${pod}`;
      const got = await ipam.autoAssign({
        num4: 1,
        num6: 0,
        hostname: node,
        handleId: workloadHandle(cid),
        attrs: { node, namespace: 'default', pod },
      });
      const ip = got.ipv4[0]?.ip ?? '';
      await b.applyMany([
        res(
          'WorkloadEndpoint',
          `${node}-k8s-${pod}-eth0`,
          {
            orchestrator: 'k8s',
            node,
            pod,
            endpoint: 'eth0',
            containerID: cid,
            interfaceName: `cali${cid}`,
            ipNetworks: [ip],
          },
          'default',
        ),
      ]);
    }
  }
  await b.applyMany([res('BGPPeer', 'global-peer', { peerIP: '10.0.0.253', asNumber: 64601 })]);
}

async function names(b: Backend, kind: string): Promise<string[]> {
  return (await b.list({ kind })).items.map((r) => r.metadata.name).sort();
}

async function ipamClean(env: Record<string, string>): Promise<void> {
  const check = await calicoctl(['ipam', 'check'], { env });
  assert.equal(check.status, 0, check.stderr);
  assert.match(check.stdout, /found 0 problems/);
}

function suite(
  name: string,
  skip: string | undefined,
  fresh: () => Promise<Datastore>,
  done: () => Promise<void>,
) {
  describe(`calicoctl delete node (${name})`, { skip: skip ?? false }, () => {
    after(done);

    it('deletes the node with everything of it, and nothing of the other node', async () => {
      const ds = await fresh();
      await using b = await openBackend(ds.config);
      await populate(b);
      await ipamClean(ds.env);
      const node2Ips = (await b.list({ kind: 'WorkloadEndpoint' })).items
        .filter((w) => w.metadata.name.startsWith('node2-'))
        .map(
          (w) =>
            ((w as unknown as { spec: { ipNetworks: string[] } }).spec.ipNetworks[0] ?? '').split('/')[0] ??
            '',
        );
      const node2 = (await b.get({ kind: 'Node', name: 'node2' })) as unknown as {
        spec: { ipv4VXLANTunnelAddr: string };
      };

      const r = await calicoctl(['delete', 'node', 'node2'], { env: ds.env });
      assert.equal(r.status, 0, r.stderr);
      assert.equal(r.stdout, "Successfully deleted 1 'Node' resource(s)\n");

      assert.deepEqual(await names(b, 'Node'), ['node1']);
      assert.deepEqual(await names(b, 'WorkloadEndpoint'), [
        'node1-k8s-a-eth0',
        'node1-k8s-b-eth0',
        'node1-k8s-c-eth0',
      ]);
      assert.deepEqual(await names(b, 'BGPPeer'), ['global-peer', 'node1-peer']);
      assert.deepEqual(await names(b, 'FelixConfiguration'), ['node.node1']);
      assert.deepEqual(await names(b, 'BGPConfiguration'), ['node.node1']);
      assert.deepEqual(await names(b, 'HostEndpoint'), ['node1-eth0']);
      const ipam = new IpamClient(b);
      for (const ip of [...node2Ips, node2.spec.ipv4VXLANTunnelAddr]) {
        assert.equal(await ipam.getAssignmentAttributes(ip), undefined, `${ip} released`);
      }
      const affinities = (await b.list({ kind: 'BlockAffinity' })).items.map(
        (a) => (a as unknown as { spec: { node: string } }).spec.node,
      );
      assert.ok(affinities.length > 0 && affinities.every((n) => n === 'node1'), affinities.join(','));
      assert.equal(
        (await ipam.ipsByHandle(tunnelHandle('vxlan', 'node1'))).length,
        1,
        "node1's tunnel stays",
      );
      await ipamClean(ds.env);

      // Again: the node is gone, so not found (as Calico), unless --skip-not-exists.
      const again = await calicoctl(['delete', 'node', 'node2'], { env: ds.env });
      assert.equal(again.status, 1);
      assert.match(again.stderr, /resource does not exist: Node\(node2\)/);
      const skipped = await calicoctl(['delete', 'node', 'node2', '--skip-not-exists'], { env: ds.env });
      assert.equal(skipped.status, 0, skipped.stderr);
    });

    it('finishes the job of a run that stopped half-way', async () => {
      const ds = await fresh();
      await using b = await openBackend(ds.config);
      await populate(b);
      // As if a first run had released the pods' addresses and deleted two endpoints, then failed.
      const ipam = new IpamClient(b);
      for (const pod of ['a', 'b']) {
        await ipam.releaseByHandle(workloadHandle(`node2-${pod}`));
        await b.delete({ kind: 'WorkloadEndpoint', namespace: 'default', name: `node2-k8s-${pod}-eth0` });
      }
      await b.delete({ kind: 'BGPPeer', name: 'node2-peer' });
      const r = await calicoctl(['delete', 'node', 'node2'], { env: ds.env });
      assert.equal(r.status, 0, r.stderr);
      assert.deepEqual(await names(b, 'Node'), ['node1']);
      assert.deepEqual(await names(b, 'HostEndpoint'), ['node1-eth0']);
      await ipamClean(ds.env);
    });

    it('a Node already deleted alone (an older calicoctl) still loses its tunnel address and endpoints', async () => {
      const ds = await fresh();
      await using b = await openBackend(ds.config);
      await populate(b);
      await b.delete({ kind: 'Node', name: 'node2' });
      const r = await calicoctl(['delete', 'node', 'node2', '--skip-not-exists'], { env: ds.env });
      assert.equal(r.status, 0, r.stderr);
      assert.deepEqual(await new IpamClient(b).ipsByHandle(tunnelHandle('vxlan', 'node2')), []);
      assert.deepEqual(await names(b, 'BGPPeer'), ['global-peer', 'node1-peer']);
      await ipamClean(ds.env);
    });
  });
}

let dir = '';
let n = 0;
suite(
  'embedded',
  undefined,
  async () => {
    dir ||= await mkdtemp(join(tmpdir(), 'calts-node-delete-'));
    const path = join(dir, `s${n++}.db`);
    return {
      env: { DATASTORE_TYPE: 'embedded', CALICO_DATASTORE_PATH: path },
      config: { datastoreType: 'embedded', datastorePath: path },
    };
  },
  async () => {
    if (dir !== '') await rm(dir, { recursive: true, force: true });
  },
);

let etcd: TestEtcd | undefined;
before(async () => {
  if (etcdSkipReason() === undefined) etcd = await startTestEtcd();
});
suite(
  'etcdv3',
  etcdSkipReason(),
  async () => {
    if (etcd === undefined) throw new Error('etcd is not running');
    const client = new Etcd3({ hosts: etcd.endpoint });
    try {
      await client.delete().prefix('/calico/');
    } finally {
      client.close();
    }
    return {
      env: { DATASTORE_TYPE: 'etcdv3', ETCD_ENDPOINTS: etcd.endpoint },
      config: { datastoreType: 'etcdv3', etcd: { endpoints: [etcd.endpoint] } },
    };
  },
  async () => {
    await etcd?.dispose();
  },
);
