/**
 * Multi-node networking with real agents in network namespaces (network-testing.ts): two nodes on different
 * subnets of a routed fabric that knows nothing about pods, one shared embedded datastore.
 *
 * (a) VXLAN (backend `vxlan`, default pool VXLAN Always, created by the first agent's startup): each node
 *     registers, gets a tunnel address and VTEP MAC, `vxlan.calico` has VNI 4096 / port 4789 / local node IP,
 *     FDB and neighbour entries point at the other node, pods talk across nodes over TCP; an agent killed and
 *     restarted keeps connectivity and sweeps stale entries on its device.
 * (c) natOutgoing: a pod's connection to a host outside the cluster arrives from the node IP; pod to pod
 *     keeps the pod address.
 * (b) BGP (backend `bird`, no encapsulation): the agents run BIRD, the mesh exchanges the pod blocks, pods
 *     talk across nodes; pod routes are at metric 1024 and only blocks are advertised; BIRD's output is in
 *     the agent log; an agent stopped with SIGTERM leaves no `proto bird` route.
 * Each part prints the time from starting a node's agent to its routes being on the other node.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { kernelTestSkipReason } from '../labkit/netns.js';
import { repoRoot } from '../test-support/repo.js';
import { eventually, namespaceObject, NetworkCluster, type ClusterPod } from './testing/network.js';

const built = existsSync(join(repoRoot(), 'dist', 'src', 'agent', 'main.js'));
const skip =
  kernelTestSkipReason(['ip', 'nft', 'bridge', 'ss']) || (built ? false : 'dist/src/agent/main.js not built');
const birdSkip = skip !== false ? skip : kernelTestSkipReason(['bird', 'birdc']);

const POOL_ENV = {
  CALICO_IPV4POOL_CIDR: '10.244.0.0/16',
  IP: 'autodetect',
  IP_AUTODETECTION_METHOD: 'interface=eth0',
};

interface NodeView {
  spec?: { ipv4VXLANTunnelAddr?: string; vxlanTunnelMACAddr?: string; bgp?: { ipv4Address?: string } };
}

async function nodeSpec(c: NetworkCluster, name: string): Promise<NodeView['spec']> {
  try {
    return ((await c.backend.get({ kind: 'Node', name })) as NodeView).spec;
  } catch {
    return undefined;
  }
}

/** The block of `node` that holds `ip` (its /26), as the other nodes should route it. */
function blockOf(ip: string): string {
  const [a, b, c, d] = ip.split('.').map(Number);
  return `${a}.${b}.${c}.${(d ?? 0) & 0xc0}/26`;
}

describe('multi-node networking', { skip }, () => {
  describe('VXLAN overlay and natOutgoing', () => {
    const c = new NetworkCluster();
    let a: ClusterPod;
    let b: ClusterPod;
    let outside = { ns: '', ip: '' };
    const env = { ...POOL_ENV, CALICO_NETWORKING_BACKEND: 'vxlan', CALICO_IPV4POOL_VXLAN: 'Always' };
    const logs = (): Promise<string> =>
      Promise.resolve(`node-a:\n${c.log('node-a')}\nnode-b:\n${c.log('node-b')}`);

    before(async () => {
      await c.setup();
      await c.addNode('node-a', 1, 1);
      await c.addNode('node-b', 2, 1);
      outside = await c.attach(9, 1);
      await c.put(namespaceObject('default'));
    });

    after(async () => {
      await c[Symbol.asyncDispose]();
    });

    it('(a) registers both nodes with VTEPs and programs routes through vxlan.calico', async () => {
      c.startAgent('node-a', env);
      await eventually(
        'node-a to get a VXLAN tunnel address',
        async () => {
          return (await nodeSpec(c, 'node-a'))?.ipv4VXLANTunnelAddr !== undefined;
        },
        logs,
      );
      const t0 = Date.now();
      c.startAgent('node-b', env);
      await eventually(
        'node-b to get a VXLAN tunnel address',
        async () => {
          return (await nodeSpec(c, 'node-b'))?.ipv4VXLANTunnelAddr !== undefined;
        },
        logs,
      );
      const specB = await nodeSpec(c, 'node-b');
      const vtepB = specB?.ipv4VXLANTunnelAddr ?? '';
      const blockB = blockOf(vtepB);
      const nodeA = c.node('node-a');
      await eventually(
        `node-a to route node-b's block ${blockB} through its VTEP`,
        async () => (await c.ip(nodeA.ns, 'route', 'show', blockB)).includes(`via ${vtepB} dev vxlan.calico`),
        async () => `${await c.ip(nodeA.ns, 'route')}\n${await logs()}`,
      );
      const joinMs = Date.now() - t0;
      process.stdout.write(`# node join -> routes on the other node (VXLAN): ${joinMs} ms\n`);

      assert.equal(specB?.bgp?.ipv4Address, '10.0.2.1/24');
      const macB = specB.vxlanTunnelMACAddr ?? '';
      assert.match(macB, /^66(:[0-9a-f]{2}){5}$/);
      const link = JSON.parse(await c.ip(nodeA.ns, '-d', '-j', 'link', 'show', 'dev', 'vxlan.calico')) as {
        mtu: number;
        address: string;
        linkinfo: { info_data: { id: number; port: number; local: string; learning: boolean } };
      }[];
      const d = link[0]?.linkinfo.info_data;
      assert.deepEqual(
        { id: d?.id, port: d?.port, local: d?.local, learning: d?.learning, mtu: link[0]?.mtu },
        { id: 4096, port: 4789, local: '10.0.1.1', learning: false, mtu: 1450 },
      );
      const specA = await nodeSpec(c, 'node-a');
      assert.equal(link[0]?.address, specA?.vxlanTunnelMACAddr);
      assert.match(
        await c.ip(nodeA.ns, '-4', 'addr', 'show', 'dev', 'vxlan.calico'),
        new RegExp(`inet ${specA?.ipv4VXLANTunnelAddr ?? '?'}/32`),
      );
      // The FDB and neighbour entries come from the same apply as the route; a CI run once caught the
      // route without them, so they are awaited too (with the kernel state and agent logs if they never come).
      const fdbShow = async (): Promise<string> =>
        (await c.scope.runner(nodeA.ns).run('bridge', ['fdb', 'show', 'dev', 'vxlan.calico'])).stdout;
      await eventually(
        `node-a to have the FDB entry ${macB} dst 10.0.2.1`,
        async () => (await fdbShow()).includes(`${macB} dst 10.0.2.1 self permanent`),
        async () => `fdb:\n${await fdbShow()}\nroutes:\n${await c.ip(nodeA.ns, 'route')}\n${await logs()}`,
      );
      await eventually(
        `node-a to have the neighbour entry ${vtepB} lladdr ${macB}`,
        async () =>
          new RegExp(`${vtepB} lladdr ${macB} PERMANENT`).test(
            await c.ip(nodeA.ns, 'neigh', 'show', 'dev', 'vxlan.calico'),
          ),
        logs,
      );
    });

    it('(a) carries pod-to-pod TCP across nodes', async () => {
      a = await c.addPod('node-a', 'default', 'pod-a');
      b = await c.addPod('node-b', 'default', 'pod-b');
      await c.peerServer(b.ns, b.ip, 8080);
      await c.peerServer(a.ns, a.ip, 8080);
      await eventually(
        'pod-a to reach pod-b',
        async () => (await c.peerSeen(a.ns, b.ip, 8080)) !== undefined,
        async () => `${await c.ip(c.node('node-a').ns, 'route')}\n${await logs()}`,
      );
      // Between pods the source address is kept (no natOutgoing inside the pools).
      assert.equal(await c.peerSeen(a.ns, b.ip, 8080), a.ip);
      assert.equal(await c.peerSeen(b.ns, a.ip, 8080), b.ip);
    });

    it('(c) masquerades pod traffic to the outside as the node IP', async () => {
      await c.peerServer(outside.ns, outside.ip, 9000);
      await eventually(
        'pod-a to reach the outside host',
        async () => (await c.peerSeen(a.ns, outside.ip, 9000)) !== undefined,
        logs,
      );
      assert.equal(await c.peerSeen(a.ns, outside.ip, 9000), '10.0.1.1');
      assert.equal(await c.peerSeen(b.ns, outside.ip, 9000), '10.0.2.1');
      const nat = await c.scope
        .runner(c.node('node-a').ns)
        .run('nft', ['list', 'chain', 'inet', 'calico', 'nat-cali-nat-outgoing']);
      // The masquerade rule counted the connections it translated.
      assert.match(
        nat.stdout,
        /ip saddr @cali40masq-ipam-pools ip daddr != @cali40all-ipam-pools counter packets [1-9]\d* bytes \d+ masquerade/,
      );
      // Without natOutgoing the outside host cannot answer the pod (it has no route to pods).
      await c.put({
        apiVersion: 'projectcalico.org/v3',
        kind: 'IPPool',
        metadata: { name: 'default-ipv4-ippool' },
        spec: { cidr: '10.244.0.0/16', vxlanMode: 'Always', natOutgoing: false },
      } as never);
      await eventually(
        'the outside host to become unreachable for pod-a',
        async () => (await c.peerSeen(a.ns, outside.ip, 9000, 500)) === undefined,
        logs,
      );
      assert.equal(await c.peerSeen(a.ns, b.ip, 8080), a.ip);
    });

    it('(a) survives an agent restart and sweeps stale VXLAN entries', async () => {
      const nodeA = c.node('node-a');
      await c.stopAgent('node-a', 'SIGKILL');
      // Leftovers of a node that went away while the agent was down.
      await c.ip(
        nodeA.ns,
        'neigh',
        'replace',
        '10.244.250.1',
        'lladdr',
        '66:00:00:00:00:01',
        'dev',
        'vxlan.calico',
        'nud',
        'permanent',
      );
      await c.scope
        .runner(nodeA.ns)
        .run('bridge', [
          'fdb',
          'replace',
          '66:00:00:00:00:01',
          'dev',
          'vxlan.calico',
          'dst',
          '10.0.3.1',
          'self',
          'permanent',
        ]);
      await c.ip(
        nodeA.ns,
        'route',
        'replace',
        '10.244.250.0/26',
        'via',
        '10.244.250.1',
        'dev',
        'vxlan.calico',
        'onlink',
        'proto',
        '80',
      );
      // While the agent is down, the overlay keeps working.
      assert.equal(await c.peerSeen(a.ns, b.ip, 8080), a.ip);
      c.startAgent('node-a', env);
      await eventually(
        'the restarted agent to sweep the stale entries',
        async () =>
          !(await c.ip(nodeA.ns, 'neigh', 'show', 'dev', 'vxlan.calico')).includes('10.244.250.1') &&
          !(await c.ip(nodeA.ns, 'route')).includes('10.244.250.0/26') &&
          !(
            await c.scope.runner(nodeA.ns).run('bridge', ['fdb', 'show', 'dev', 'vxlan.calico'])
          ).stdout.includes('66:00:00:00:00:01'),
        async () => `${await c.ip(nodeA.ns, 'route')}\n${await logs()}`,
      );
      assert.equal(await c.peerSeen(a.ns, b.ip, 8080), a.ip);
      assert.equal(await c.peerSeen(b.ns, a.ip, 8080), b.ip);
    });

    it('(a) keeps the overlay under a default-deny `*` host endpoint (VXLAN admitted from nodes)', async () => {
      const nodeA = c.node('node-a');
      const nodeIps = ['10.0.1.1', '10.0.2.1'];
      await c.peerServer(nodeA.ns, '10.0.1.1', 7000);
      await c.peerServer(c.node('node-b').ns, '10.0.2.1', 7000);
      for (const ip of nodeIps)
        await eventually(
          `the outside host to reach ${ip} before any host endpoint`,
          async () => (await c.peerSeen(outside.ns, ip, 7000)) !== undefined,
          logs,
        );
      // No profile, no policy: host traffic is denied except the failsafe ports, on every interface.
      for (const node of ['node-a', 'node-b'])
        await c.put({
          apiVersion: 'projectcalico.org/v3',
          kind: 'HostEndpoint',
          metadata: { name: `${node}-all`, labels: { role: 'node' } },
          spec: { node, interfaceName: '*' },
        } as never);
      for (const ip of nodeIps)
        await eventually(
          `the host endpoint to cut the outside host off ${ip}`,
          async () => (await c.peerSeen(outside.ns, ip, 7000, 500)) === undefined,
          logs,
        );
      // New connections between pods still cross the overlay, both ways.
      assert.equal(await c.peerSeen(a.ns, b.ip, 8080), a.ip);
      assert.equal(await c.peerSeen(b.ns, a.ip, 8080), b.ip);
      const ruleset = await c.scope.runner(nodeA.ns).run('nft', ['-s', 'list', 'table', 'inet', 'calico']);
      assert.match(
        ruleset.stdout,
        /udp dport 4789 ip saddr @cali40all-vxlan-net fib daddr type local counter accept/,
      );
      const vxlanHosts = /set cali40all-vxlan-net \{[^}]*elements = \{([^}]*)\}/.exec(ruleset.stdout)?.[1];
      assert.deepEqual(
        vxlanHosts
          ?.split(',')
          .map((x) => x.trim())
          .sort(),
        ['10.0.1.1', '10.0.2.1'],
      );
    });
  });

  describe('BGP with BIRD', { skip: birdSkip }, () => {
    const c = new NetworkCluster();
    const env = { ...POOL_ENV, CALICO_NETWORKING_BACKEND: 'bird' };
    const logs = (): Promise<string> =>
      Promise.resolve(`node-a:\n${c.log('node-a')}\nnode-b:\n${c.log('node-b')}`);

    before(async () => {
      await c.setup();
      // One L2 segment: BGP next hops are the node addresses.
      await c.addNode('node-a', 1, 1);
      await c.addNode('node-b', 1, 2);
      await c.put(namespaceObject('default'));
    });

    after(async () => {
      await c[Symbol.asyncDispose]();
    });

    it('(b) exchanges pod blocks over the BIRD mesh and carries pod-to-pod TCP', async () => {
      c.startAgent('node-a', env);
      await eventually(
        'node-a to register and create the default pool',
        async () =>
          (await nodeSpec(c, 'node-a'))?.bgp?.ipv4Address !== undefined &&
          (await c.backend.list({ kind: 'IPPool' })).items.length > 0,
        logs,
      );
      const a = await c.addPod('node-a', 'default', 'pod-a');
      // node-b's pod address is allocated before its agent starts: the block exists when node-b joins.
      const ipB = await c.allocate('node-b', 'default', 'pod-b');
      const t0 = Date.now();
      c.startAgent('node-b', env);
      const nodeA = c.node('node-a');
      await eventually(
        `node-a to learn node-b's block ${blockOf(ipB)} from BIRD`,
        async () =>
          (await c.ip(nodeA.ns, 'route', 'show', blockOf(ipB))).includes('via 10.0.1.2 dev eth0 proto bird'),
        async () => `${await c.ip(nodeA.ns, 'route')}\n${await logs()}`,
        60_000,
      );
      process.stdout.write(`# node join -> routes on the other node (BGP): ${Date.now() - t0} ms\n`);
      const b = await c.addPod('node-b', 'default', 'pod-b', ipB);
      await eventually(
        `node-b to learn node-a's block ${blockOf(a.ip)}`,
        async () => (await c.ip(c.node('node-b').ns, 'route', 'show', blockOf(a.ip))).includes('proto bird'),
        logs,
        60_000,
      );
      await c.peerServer(b.ns, b.ip, 8080);
      await eventually(
        'pod-a to reach pod-b over BGP routes',
        async () => (await c.peerSeen(a.ns, b.ip, 8080)) === a.ip,
        logs,
      );
      // BIRD owns these routes: the agent programs none of its own for a no-encap pool.
      assert.equal(await c.ip(nodeA.ns, 'route', 'show', 'proto', '80'), '');
      assert.ok(!(await c.ip(nodeA.ns, 'link')).includes('vxlan.calico'));
      // The pod's host route is at Felix's normal priority (the agent replaced the CNI-style metric-0
      // one), so node-a advertises its block and not the pod's /32: node-b routes the pod by the block.
      await eventually(
        `node-a's route to ${a.ip} at metric 1024 only, and no /32 for it on node-b`,
        async () =>
          (await c.ip(nodeA.ns, 'route', 'show', `${a.ip}/32`)) ===
            `${a.ip} dev ${a.iface} scope link metric 1024` &&
          (await c.ip(c.node('node-b').ns, 'route', 'show', `${a.ip}/32`)) === '',
        async () => `${await c.ip(nodeA.ns, 'route')}\n${await c.ip(c.node('node-b').ns, 'route')}`,
      );
      // One copy of the connected subnet (the kernel's), and BIRD's own output in the agent's log.
      assert.equal(
        await c.ip(nodeA.ns, 'route', 'show', '10.0.1.0/24'),
        '10.0.1.0/24 dev eth0 proto kernel scope link src 10.0.1.1',
      );
      assert.match(c.log('node-a'), /"source":"bird"/);

      // A stopped agent stops its BIRD and leaves no route BIRD programmed.
      await c.stopAgent('node-a', 'SIGTERM');
      assert.equal(await c.ip(nodeA.ns, 'route', 'show', 'proto', 'bird'), '');
      assert.equal(await c.ip(nodeA.ns, '-6', 'route', 'show', 'proto', 'bird'), '');
      assert.match(c.log('node-a'), /"msg":"BIRD stopped"/);
    });
  });
});
