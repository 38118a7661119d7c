/**
 * Multi-node labs whose cluster routes come from the agents (root, built agent; parts skip with the reason
 * when BIRD, etcd or the CNI plugins are missing):
 *
 *   VXLAN CrossSubnet on two racks (3 nodes): encapsulation only between racks, plain routes inside a rack,
 *     pods through the calico CNI plugin talk across nodes, a missing route makes probes `no-route` and
 *     `sync` name it, relabelling and removal go through the plugin's endpoint, natOutgoing makes pod
 *     traffic to the outside arrive from the node's address.
 *   BGP: BIRD's full mesh establishes, pod blocks are routed `proto bird`, fixed case addresses land on the
 *     node owning their block.
 *   etcd: the datastore is a private etcd on a unix socket, for agents and calicoctl alike.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { waitFor } from '../lib/async.js';
import { netnsRunner } from '../dataplane/exec/command-runner.js';
import { NodeCommandRunner } from '../dataplane/exec/node-runner.js';
import { findEtcdBinary } from '../datastore/etcd/binary.js';
import { runCalicoctlProcess } from './calicoctl.js';
import { LabSyncError } from './cluster-agents.js';
import { LabCluster } from './cluster.js';
import { cniUnavailableReason } from './cni.js';
import { kernelTestSkipReason, runChecked } from './netns.js';
import { defaultAgentEntry } from './paths.js';
import { bestRoute, homeAddress, nodeRoutes } from './routes.js';

const runner = new NodeCommandRunner();
const skip =
  kernelTestSkipReason(['ip', 'nft', 'sysctl', 'conntrack', 'bridge']) ||
  (existsSync(defaultAgentEntry()) ? false : `${defaultAgentEntry()} is missing (npm run build)`);
const birdSkip = skip || kernelTestSkipReason(['bird', 'birdc']);
const cniSkip = skip || cniUnavailableReason();
const etcdSkip = skip || (findEtcdBinary() === undefined ? 'no etcd binary' : false);
/** No periodic resync during a test: a route a test removes stays removed until it puts it back. */
const AGENT_ENV = { FELIX_HEALTHENABLED: 'false', FELIX_NFTABLESREFRESHINTERVAL: '3600s' };

/** A TCP server answering each connection with the peer address it sees (bounded life). */
const PEER_SERVER = `
const s = require('node:net').createServer((c) => { c.on('error', () => {}); c.end(c.remoteAddress + '\\n'); });
s.listen(Number(process.argv[1]), '0.0.0.0');
setTimeout(() => process.exit(0), 60000);
`;
const PEER_CLIENT = `
const c = require('node:net').connect(Number(process.argv[2]), process.argv[1]);
const t = setTimeout(() => process.exit(1), 3000);
let out = '';
c.setEncoding('utf8');
c.on('data', (d) => { out += d; });
c.on('end', () => { clearTimeout(t); process.stdout.write(out.trim()); process.exit(0); });
c.on('error', () => process.exit(2));
`;

/** The source address the outside sees for a connection from `pod` (a natOutgoing check). */
async function seenFromOutside(lab: LabCluster, pod: string, port: number): Promise<string> {
  const outside = netnsRunner(runner, lab.netnsOf('outside'));
  const ac = new AbortController();
  const server = outside
    .run(process.execPath, ['-e', PEER_SERVER, String(port)], { signal: ac.signal })
    .catch(() => undefined);
  let last = '';
  try {
    // Until the server listens (it was just started): each attempt is one bounded connection.
    const seen = await waitFor(
      async () => {
        const r = await netnsRunner(runner, lab.netnsOf(pod)).run(
          process.execPath,
          ['-e', PEER_CLIENT, lab.addressOf('outside'), String(port)],
          { timeoutMs: 10_000 },
        );
        last = `exit ${r.code} ${r.stderr.trim()}`;
        return r.code === 0 ? r.stdout : undefined;
      },
      {
        timeoutMs: 20_000,
        intervalMs: 50,
        what: `${pod} reaching the outside on ${port}`,
        describe: () => last,
      },
    );
    return seen.replace(/^::ffff:/, '');
  } finally {
    ac.abort();
    await server;
  }
}

async function expectReach(lab: LabCluster, from: string, to: string, port = 80): Promise<void> {
  for (const protocol of ['tcp', 'udp'] as const) {
    const o = await lab.probe(from, { to, protocol, port, timeoutMs: 2000 });
    assert.equal(o.verdict, 'allowed', `${from} -> ${to} ${protocol}: ${o.detail}`);
  }
}

describe('lab: VXLAN CrossSubnet over two racks, pods through CNI', { skip: cniSkip }, () => {
  let lab: LabCluster;
  before(async () => {
    lab = await LabCluster.create({ network: 'vxlan-crosssubnet', racks: 2, agentEnv: AGENT_ENV });
    for (const n of ['node-1', 'node-2', 'node-3']) await lab.addNode(n, { startAgent: true });
    await lab.addOutside({ ports: [80] });
    await lab.addPods(
      ['node-1', 'node-2', 'node-3'].map((node, i) => ({
        node,
        spec: { namespace: 'x', name: `p${i + 1}`, labels: { app: 'a' }, ports: [80] },
      })),
      { via: 'cni' },
    );
    await lab.sync();
  });
  after(() => lab.destroy());

  test('racks: node-1 and node-3 share rack 1, node-2 is on rack 2', () => {
    assert.deepEqual(
      lab.nodes().map((n) => [n.name, n.rack, homeAddress(n)]),
      [
        ['node-1', 1, '172.31.1.1'],
        ['node-2', 2, '172.31.2.2'],
        ['node-3', 1, '172.31.1.3'],
      ],
    );
  });

  test('the agents route every pod: VXLAN between racks, plain routes within a rack', async () => {
    assert.deepEqual(await lab.waitRoutes({ timeoutMs: 30_000 }), []);
    const routes = await nodeRoutes(runner, lab.node('node-1').netns);
    const toRack2 = bestRoute(routes, lab.pod('x/p2').ip);
    const toRack1 = bestRoute(routes, lab.pod('x/p3').ip);
    assert.equal(toRack2?.dev, 'vxlan.calico', JSON.stringify(toRack2));
    assert.equal(toRack1?.dev, 'eth0', JSON.stringify(toRack1));
    assert.equal(toRack1.gateway, '172.31.1.3');
    // Block routes from the agent (proto 80), no per-pod routes written by the lab.
    assert.equal(toRack2.protocol, '80');
    assert.ok(toRack2.dst.endsWith('/26'), toRack2.dst);
  });

  test('pods made by the CNI plugin reach each other across nodes and racks', async () => {
    for (const [from, to] of [
      ['x/p1', 'x/p2'],
      ['x/p2', 'x/p3'],
      ['x/p3', 'x/p1'],
    ] as const)
      await expectReach(lab, from, to);
    const { items } = await lab.datastore.list({ kind: 'WorkloadEndpoint', namespace: 'x' });
    const wep = items.find((i) => i.metadata.name === 'node--1-k8s-p1-eth0') as {
      spec?: { containerID?: string };
    };
    assert.equal(wep.spec?.containerID, lab.pod('x/p1').containerId);
  });

  test('a route missing between nodes: the probe says no-route, sync names the route', async () => {
    const node1 = netnsRunner(runner, lab.node('node-1').netns);
    const route = bestRoute(await nodeRoutes(runner, lab.node('node-1').netns), lab.pod('x/p2').ip);
    assert.equal(route?.dev, 'vxlan.calico', JSON.stringify(route));
    // The agents' refresh is an hour away (AGENT_ENV): nothing puts the route back behind the test's back.
    await runChecked(node1, 'ip', ['route', 'del', route.dst]);
    try {
      const o = await lab.probe('x/p1', { to: 'x/p2', protocol: 'tcp', port: 80, timeoutMs: 500 });
      assert.equal(o.verdict, 'no-route', o.detail);
      assert.match(
        o.detail,
        /^node-1 routes \S+ \(x\/p2\) by the default route .*not to node-2 \(172\.31\.2\.2\)/,
      );
      await assert.rejects(lab.sync({ timeoutMs: 2000 }), (e: unknown) => {
        assert.ok(e instanceof LabSyncError, String(e));
        assert.deepEqual(e.down, []);
        assert.ok(e.unrouted.includes(`${route.dst} (node-2) on node-1`), e.unrouted.join(', '));
        return true;
      });
    } finally {
      await runChecked(node1, 'ip', [
        ...['route', 'replace', route.dst, 'via', route.gateway ?? '', 'dev', 'vxlan.calico'],
        ...['onlink', 'proto', '80'],
      ]);
    }
    await lab.sync();
    await expectReach(lab, 'x/p1', 'x/p2');
  });

  test('relabelling a CNI pod changes its endpoint; policy follows', async () => {
    await lab.setPodLabels('x/p2', { app: 'locked' });
    await lab.replaceResources(
      ['KubernetesNetworkPolicy'],
      [
        {
          apiVersion: 'networking.k8s.io/v1',
          kind: 'NetworkPolicy',
          metadata: { namespace: 'x', name: 'lock' },
          spec: { podSelector: { matchLabels: { app: 'locked' } }, policyTypes: ['Ingress'] },
        } as never,
      ],
    );
    await lab.sync();
    await lab.flushConntrack('node-2');
    const o = await lab.probe('x/p1', { to: 'x/p2', protocol: 'tcp', port: 80, timeoutMs: 500 });
    assert.equal(o.verdict, 'denied', o.detail);
    await expectReach(lab, 'x/p1', 'x/p3');
    await lab.replaceResources(['KubernetesNetworkPolicy'], []);
  });

  test('natOutgoing: pod traffic reaches the outside from the node address', async () => {
    assert.equal(await seenFromOutside(lab, 'x/p1', 9001), '172.31.1.1');
    assert.equal(await seenFromOutside(lab, 'x/p2', 9002), '172.31.2.2');
  });

  test('removing a CNI pod deletes its endpoint and frees its address', async () => {
    const ip = lab.pod('x/p3').ip;
    await lab.removePod('x/p3');
    const { items } = await lab.datastore.list({ kind: 'WorkloadEndpoint', namespace: 'x' });
    assert.ok(!items.some((i) => i.metadata.name === 'node--3-k8s-p3-eth0'));
    const again = await lab.addPod('node-3', { namespace: 'x', name: 'p4', ip, ports: [80] }, { via: 'cni' });
    assert.equal(again.ip, ip);
  });
});

describe('lab: BGP full mesh with BIRD', { skip: birdSkip }, () => {
  let lab: LabCluster;
  before(async () => {
    lab = await LabCluster.create({ network: 'bgp', agentEnv: AGENT_ENV });
    for (const n of ['node-1', 'node-2']) await lab.addNode(n, { startAgent: true });
  });
  after(() => lab.destroy());

  test('the mesh establishes and fixed addresses land on the node owning their block', async () => {
    assert.deepEqual(await lab.waitBgpMesh({ timeoutMs: 60_000 }), []);
    const specs = ['10.244.1.10', '10.244.2.10', '10.244.1.11'].map((ip, i) => ({
      namespace: 'x',
      name: `f${i}`,
      ip,
      ports: [80],
    }));
    const placed: { node: string; spec: (typeof specs)[number] }[] = [];
    for (const [i, spec] of specs.entries()) {
      placed.push({ node: await lab.nodeFor(spec.ip, i), spec });
      if (i === 1) await lab.addPods(placed.splice(0));
    }
    await lab.addPods(placed);
    assert.deepEqual(
      lab.pods().map((p) => [p.name, p.node]),
      [
        ['f0', 'node-1'],
        ['f1', 'node-2'],
        ['f2', 'node-1'],
      ],
    );
    await lab.sync();
    assert.deepEqual(await lab.waitRoutes({ timeoutMs: 60_000 }), []);
    const r = bestRoute(await nodeRoutes(runner, lab.node('node-2').netns), '10.244.1.11');
    assert.equal(r?.protocol, 'bird');
    assert.equal(r.gateway, '172.31.1.1');
    await expectReach(lab, 'x/f0', 'x/f1');
    await expectReach(lab, 'x/f1', 'x/f2');
  });
});

describe('lab: etcd datastore on a unix socket', { skip: etcdSkip }, () => {
  let lab: LabCluster;
  before(async () => {
    lab = await LabCluster.create({ network: 'vxlan', racks: 2, datastore: 'etcd', agentEnv: AGENT_ENV });
    for (const n of ['node-1', 'node-2']) await lab.addNode(n, { startAgent: true });
  });
  after(() => lab.destroy());

  test('agents, the lab and calicoctl share the etcd; pods talk across nodes', async () => {
    assert.match(lab.datastoreEnv.ETCD_ENDPOINTS ?? '', /^unix:\/\/\/.*etcd\.sock:2379$/);
    await lab.addPods([
      { node: 'node-1', spec: { namespace: 'x', name: 'a', ports: [80] } },
      { node: 'node-2', spec: { namespace: 'x', name: 'b', ports: [80] } },
    ]);
    await lab.sync();
    assert.deepEqual(await lab.waitRoutes({ timeoutMs: 30_000 }), []);
    await expectReach(lab, 'x/a', 'x/b');
    const r = await runCalicoctlProcess(['get', 'nodes'], lab.datastoreEnv);
    assert.equal(r.code, 0, r.output);
    assert.match(r.output, /node-1[\s\S]*node-2/);
    // Nothing listens on the network: etcd's only listeners are unix sockets.
    const tcp = await runChecked(netnsRunner(runner, lab.netnsOf('fabric')), 'ss', ['-Hltn']);
    assert.equal(tcp.trim(), '');
  });
});
