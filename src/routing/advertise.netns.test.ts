/**
 * What a node advertises, on the real kernel (BirdLab, two BIRD nodes in a mesh). node1 owns block
 * 10.244.1.0/26 and has workload routes on a `cali` interface, programmed by the agent's RouteManager at
 * Felix's normal priority (metric 1024, replacing a CNI-style metric-0 route): one for a pod in its own
 * block and one for an address borrowed from node2's block 10.244.2.0/26; and one pod route at the elevated
 * priority (metric 512, as during a live migration). node2 must learn the block, the borrowed /32 and the
 * elevated /32 (at metric 512) from node1, and not the pod /32 inside node1's block: blocks plus borrowed
 * addresses only, as Calico advertises. Bounded waits; namespaces and daemons removed after.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { RouteManager } from '../dataplane/managers/routes.js';
import { kernelTestSkipReason, runChecked } from '../labkit/netns.js';
import { BirdLab, nodeResource, poolResource } from './testing/bird-lab.js';

const skip = kernelTestSkipReason(['ip', 'bird', 'birdc', 'sysctl']);

const NODES = [1, 2].map((i) => ({ name: `node${i}`, ip: `10.0.0.${i}`, block: `10.244.${i}.0/26` }));
const resources = [...NODES.map((n) => nodeResource(n.name, n.ip)), poolResource('10.244.0.0/16')];
const POD = '10.244.1.5';
const ELEVATED = '10.244.1.6';
const BORROWED = '10.244.2.9';

describe('BGP advertises blocks and borrowed addresses, not pod routes inside a block', { skip }, () => {
  const lab = new BirdLab('calts-adv-');
  before(async () => {
    await lab.setup(NODES);
  });
  after(() => lab[Symbol.asyncDispose]());

  test('node2 learns the block, the borrowed /32 and the elevated /32 of node1, not its pod /32', async () => {
    const runner = lab.runner('node1');
    const ip = (...args: string[]) => runChecked(runner, 'ip', args);
    // The workload interface: a veth whose other end stays in node1 (no dummy devices here).
    await ip('link', 'add', 'calia1', 'type', 'veth', 'peer', 'name', 'pod1');
    await ip('link', 'set', 'pod1', 'up');
    await ip('link', 'set', 'calia1', 'up');
    // The CNI plugin's host route has no metric (0); the agent replaces it with one at 1024.
    await ip('route', 'add', `${POD}/32`, 'dev', 'calia1', 'scope', 'link');
    const routes = new RouteManager(runner, () => ['cali']);
    routes.setDesired([{ interfaceName: 'calia1', nets: [`${POD}/32`, `${BORROWED}/32`] }]);
    await routes.apply();
    assert.deepEqual((await lab.routes('node1', 'dev', 'calia1')).split('\n'), [
      `${POD} scope link metric 1024`,
      `${BORROWED} scope link metric 1024`,
    ]);
    await ip('route', 'add', `${ELEVATED}/32`, 'dev', 'calia1', 'scope', 'link', 'metric', '512');

    for (const n of NODES) {
      assert.equal(await lab.apply(n.name, resources, [{ cidr: n.block, state: 'confirmed' }]), 'started');
    }
    const expected = [
      `blackhole ${NODES[1]!.block} proto bird`,
      `${NODES[0]!.block} via 10.0.0.1 dev eth0 proto bird metric 1024`,
      `${BORROWED} via 10.0.0.1 dev eth0 proto bird metric 1024`,
      `${ELEVATED} via 10.0.0.1 dev eth0 proto bird metric 512`,
    ].sort();
    await lab.eventually(
      "node2 to route node1's block, borrowed and elevated addresses (and nothing more) through BIRD",
      async () => (await lab.birdRoutes('node2')).join('|') === expected.join('|'),
      async () => JSON.stringify({ node2: await lab.birdRoutes('node2'), expected }),
    );
    // node1's BIRD knows the pod route (learned from the kernel) and does not export it.
    assert.match(await lab.birdc('node1', 'show', 'route', `${POD}/32`), /kernel4/);
    const exported = await lab.birdc('node1', 'show', 'route', 'export', 'Mesh_10_0_0_2');
    for (const net of [NODES[0]!.block, `${BORROWED}/32`, `${ELEVATED}/32`])
      assert.ok(exported.includes(net), exported);
    assert.ok(!exported.includes(`${POD}/32`), exported);
    // Nothing of node2's comes back into node1 for these addresses; node1 keeps its own routes.
    assert.equal(
      await lab.routes('node1', `${BORROWED}/32`),
      `${BORROWED} dev calia1 scope link metric 1024`,
    );
  });
});
