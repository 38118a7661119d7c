/**
 * Three nodes sharing one etcd, each with its agent, allocating in parallel: every address is unique
 * cluster-wide (the per-host lock does not span hosts; compare-and-swap in etcd does), each node's pods
 * come from blocks affine to that node, and deleting everything leaves IPAM clean.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startTestEtcd, etcdSkipReason, type TestEtcd } from '../datastore/etcd/test-etcd.js';
import { NetnsScope, kernelTestSkipReason } from '../labkit/netns.js';
import { CniNode, ipPool, namespaceObject, runner, type CniOutput } from './testing/harness.js';

const skip =
  kernelTestSkipReason(['ip', 'nft', 'nsenter', 'flock', 'sysctl', 'socat', 'ss']) ||
  etcdSkipReason() ||
  false;
const NODES = 3;
const PODS_PER_NODE = 15;

describe('three nodes sharing one etcd', { skip, timeout: 900_000 }, () => {
  const scope = new NetnsScope(runner);
  let etcd: TestEtcd | undefined;
  const nodes: CniNode[] = [];

  before(async () => {
    etcd = await startTestEtcd();
    for (let i = 1; i <= NODES; i++) {
      const n = new CniNode({
        nodeName: `node${i}`,
        datastore: { type: 'etcdv3', endpoint: etcd.endpoint },
        uplinkIndex: i,
      });
      nodes.push(n);
      await n.setup(scope);
    }
    const first = nodes[0]!;
    await first.put(ipPool('pool-v4', '10.68.0.0/16', 27));
    await first.put(namespaceObject('default'));
    for (const n of nodes) n.startAgent();
    for (const n of nodes) await n.agentReady(60_000);
  });

  after(async () => {
    for (const n of nodes) await n[Symbol.asyncDispose]();
    await scope[Symbol.asyncDispose]();
    await etcd?.dispose();
  });

  it("gives unique addresses from the node's own blocks and leaves nothing behind", async () => {
    const jobs: { node: CniNode; env: Record<string, string> }[] = [];
    for (const node of nodes) {
      for (let i = 0; i < PODS_PER_NODE; i++) {
        const ns = await scope.namespace();
        jobs.push({
          node,
          env: node.podEnv({
            containerId: `${node.nodeName}-c${i}`,
            netns: `/var/run/netns/${ns}`,
            pod: `${node.nodeName}-p${i}`,
          }),
        });
      }
    }
    const conf = (n: CniNode) => n.netconf({ policy_setup_timeout_seconds: 300 });
    const added: CniOutput[] = await Promise.all(jobs.map((j) => j.node.cni('ADD', conf(j.node), j.env)));
    assert.deepEqual(
      added.filter((r) => r.code !== 0),
      [],
    );
    const ips = added.map(
      (r) => (JSON.parse(r.stdout) as { ips: { address: string }[] }).ips[0]?.address ?? '',
    );
    assert.equal(new Set(ips).size, jobs.length, 'no duplicate address across nodes');
    // Each node's agent served its own node's ADDs (same etcd, same node, same network namespace).
    for (const n of nodes) assert.deepEqual([...n.addPids()], [n.agentPid]);

    // Each node's addresses lie in blocks affine to that node.
    const backend = nodes[0]!.backend;
    const blocks = (await backend.list({ kind: 'IPAMBlock' })).items as unknown as {
      spec: { cidr: string; affinity?: string };
    }[];
    const affinityOf = (ip: string): string | undefined => {
      const last = Number(ip.split('/')[0]?.split('.')[3]);
      const third = ip.split('.')[2];
      return blocks.find((b) => {
        const [net, prefix] = b.spec.cidr.split('/');
        const size = 2 ** (32 - Number(prefix));
        const start = Number(net?.split('.')[3]);
        return net?.split('.')[2] === third && last >= start && last < start + size;
      })?.spec.affinity;
    };
    jobs.forEach((j, i) => {
      assert.equal(
        affinityOf(ips[i] ?? ''),
        `host:${j.node.nodeName}`,
        `${ips[i] ?? ''} on ${j.node.nodeName}`,
      );
    });
    assert.equal((await nodes[0]!.ipamProblems()).problems, 0);

    const deleted = await Promise.all(jobs.map((j) => j.node.cni('DEL', conf(j.node), j.env)));
    assert.deepEqual(
      deleted.filter((r) => r.code !== 0),
      [],
    );
    assert.equal((await backend.list({ kind: 'WorkloadEndpoint' })).items.length, 0);
    assert.equal((await backend.list({ kind: 'IPAMHandle' })).items.length, 0);
    const check = await nodes[0]!.ipamProblems();
    assert.equal(check.problems, 0, check.summary);
  });
});
