/**
 * Real BGP in network namespaces (BirdLab): three "nodes" on one L2 segment, each running BIRD 2 in the
 * foreground with the configuration rendered for it (node-to-node mesh, AS 64512) and owning one block (a
 * blackhole static) with an address of it on lo. (a) The mesh comes up and every node's kernel gets the
 * other nodes' blocks via their addresses, and nothing else from BIRD (no copy of the connected subnet);
 * BIRD's output is in the log; `calicoctl node status` shows the peers Established. (b) A GoBGP daemon
 * (AS 65001) in its own namespace, added as a global BGPPeer, learns every block, and a route it injects
 * reaches every node's kernel. (c) Stopping a node's BIRD leaves no `proto bird` route in its kernel, and the
 * other nodes withdraw its block. Daemons, namespaces and temp files are removed in `after`, also on
 * failure; every wait polls with a deadline.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Resource } from '../api/decode.js';
import { createNodeStatusCommand } from '../cli/commands/node-status.js';
import { parseCommandArgs } from '../cli/command.js';
import { kernelTestSkipReason } from '../labkit/netns.js';
import { isAbortError } from '../lib/errors.js';
import { procProcesses } from './status.js';
import { decodeOrThrow } from './testing.js';
import { BirdLab, host, nodeResource, poolResource } from './testing/bird-lab.js';

const skip = kernelTestSkipReason(['ip', 'bird', 'birdc', 'ping']);
const gobgpSkip = skip !== false ? skip : kernelTestSkipReason(['gobgpd', 'gobgp']);

const NODES = [1, 2, 3].map((i) => ({
  name: `node${i}`,
  ip: `10.0.0.${i}`,
  block: `10.244.${i}.0/26`,
  podIp: `10.244.${i}.1`,
}));
const EXTERNAL = { name: 'external', ip: '10.0.0.100', as: 65001, injected: '198.51.100.0/24' };
const baseResources: Resource[] = [
  ...NODES.map((n) => nodeResource(n.name, n.ip)),
  poolResource('10.244.0.0/16'),
];

describe('BGP with BIRD and GoBGP in network namespaces', { skip }, () => {
  const lab = new BirdLab('calts-bgp-');
  const stopGobgp = new AbortController();
  let gobgpd: Promise<unknown> | undefined;

  async function applyAll(resources: readonly Resource[]): Promise<string[]> {
    const actions: string[] = [];
    for (const n of NODES)
      actions.push(await lab.apply(n.name, resources, [{ cidr: n.block, state: 'confirmed' }]));
    return actions;
  }

  before(async () => {
    await lab.setup([...NODES, EXTERNAL]);
    for (const n of NODES) await lab.scope.addAddress(lab.node(n.name).ns, 'lo', `${n.podIp}/32`);
  });

  after(async () => {
    stopGobgp.abort();
    await gobgpd;
    await lab[Symbol.asyncDispose]();
  });

  test('(a) the mesh comes up and programs every block into every kernel, and nothing else', async () => {
    assert.deepEqual(await applyAll(baseResources), ['started', 'started', 'started']);
    for (const n of NODES) {
      const others = NODES.filter((o) => o !== n).map((o) => `Mesh_${o.ip.replaceAll('.', '_')}`);
      await lab.eventually(
        `${n.name} to establish its 2 mesh sessions`,
        async () => (await lab.established(n.name)).join() === others.join(),
        () => lab.birdc(n.name, 'show', 'protocols'),
      );
    }
    for (const n of NODES) {
      const expected = [
        `blackhole ${n.block} proto bird`,
        ...NODES.filter((o) => o !== n).map((o) => `${o.block} via ${o.ip} dev eth0 proto bird metric 1024`),
      ];
      await lab.eventually(
        `${n.name} to route exactly the other blocks through BIRD`,
        async () => (await lab.birdRoutes(n.name)).join('|') === expected.sort().join('|'),
        async () => JSON.stringify({ actual: await lab.birdRoutes(n.name), expected }),
      );
      // The connected subnet stays the kernel's alone (BIRD does not add a `proto bird` copy of it).
      assert.equal(
        await lab.routes(n.name, '10.0.0.0/24'),
        '10.0.0.0/24 dev eth0 proto kernel scope link src ' + n.ip,
      );
    }
    // Pod addresses are reachable across nodes through the BGP routes (one bounded ping).
    const ping = await lab
      .runner('node1')
      .run('ping', ['-c', '1', '-W', '2', '-I', NODES[0]!.podIp, NODES[1]!.podIp], { timeoutMs: 10_000 });
    assert.equal(ping.code, 0, ping.stdout + ping.stderr);
    // Re-applying the same configuration changes nothing.
    assert.deepEqual(await applyAll(baseResources), ['unchanged', 'unchanged', 'unchanged']);
    // BIRD's own output is in the log, labelled, with levels from its classes.
    const birdLines = lab.node('node1').log.records.filter((r) => r.fields.source === 'bird');
    assert.ok(
      birdLines.some((r) => r.level === 'info' && /Mesh_10_0_0_2: State changed to up/.test(r.msg)),
      JSON.stringify(birdLines.slice(0, 20)),
    );

    // calicoctl node status, pointed at node1's socket (calico-node itself is not running here).
    const status = createNodeStatusCommand({
      runner: host,
      processes: async () => [['calico-node', '-felix'], ...(await procProcesses())],
    });
    let stdout = '';
    const io = {
      out: (t: string) => (stdout += t),
      err: (t: string) => (stdout += t),
      readStdin: () => Promise.resolve(''),
      env: {},
    };
    const parsed = parseCommandArgs(status, ['--socket', join(lab.node('node1').dir, 'bird.ctl')]);
    assert.equal(await status.run({ ...parsed, io }), 0);
    assert.ok(stdout.startsWith('Calico process is running.\n\nIPv4 BGP status\n'), stdout);
    for (const peer of ['10.0.0.2', '10.0.0.3']) {
      assert.match(
        stdout,
        new RegExp(
          `\\| ${peer.replaceAll('.', '\\.')} +\\| node-to-node mesh \\| up +\\| [0-9:.]+ +\\| Established +\\|`,
        ),
      );
    }
    assert.ok(stdout.includes('IPv6 BGP status\nNo IPv6 peers found.\n'), stdout);
  });

  test(
    '(b) an external GoBGP peer learns every block and its route reaches every node',
    { skip: gobgpSkip },
    async () => {
      const ext = lab.node(EXTERNAL.name).ns;
      const config = join(lab.tmp, 'gobgpd.toml');
      writeFileSync(
        config,
        [
          '[global.config]',
          `  as = ${EXTERNAL.as}`,
          `  router-id = "${EXTERNAL.ip}"`,
          `  local-address-list = ["${EXTERNAL.ip}"]`,
          ...NODES.flatMap((n) => [
            '[[neighbors]]',
            '  [neighbors.config]',
            `    neighbor-address = "${n.ip}"`,
            '    peer-as = 64512',
          ]),
          '',
        ].join('\n'),
      );
      const args = ['-f', config, '-t', 'toml', '--api-hosts', '127.0.0.1:50051', '--pprof-disable'];
      gobgpd = lab.scope
        .runner(ext)
        .run('gobgpd', [...args, '--log-level', 'warn'], { signal: stopGobgp.signal })
        .catch((e: unknown) => {
          if (!isAbortError(e)) throw e;
        });
      const gobgp = (...a: string[]) =>
        lab.scope.runner(ext).run('gobgp', ['-u', '127.0.0.1', '-p', '50051', ...a], { timeoutMs: 5000 });
      await lab.eventually(
        'gobgpd to answer',
        async () => (await gobgp('global')).code === 0,
        async () => (await gobgp('global')).stderr,
      );

      const withPeer = [
        ...baseResources,
        decodeOrThrow({
          apiVersion: 'projectcalico.org/v3',
          kind: 'BGPPeer',
          metadata: { name: 'external' },
          spec: { peerIP: EXTERNAL.ip, asNumber: EXTERNAL.as },
        }),
      ];
      assert.deepEqual(await applyAll(withPeer), ['reconfigured', 'reconfigured', 'reconfigured']);
      const neighbors = async () => (await gobgp('neighbor')).stdout;
      await lab.eventually(
        'GoBGP to establish sessions with the 3 nodes',
        async () =>
          (await neighbors()).split('\n').filter((l) => /\bEstabl\b/.test(l)).length === NODES.length,
        neighbors,
      );
      const rib = async () => (await gobgp('global', 'rib', '-a', 'ipv4')).stdout;
      // Every node advertises its own block (the others re-advertise it too, with themselves as next hop).
      const ownPath = (n: (typeof NODES)[number]): RegExp =>
        new RegExp(`${n.block.replaceAll('.', '\\.')} +${n.ip.replaceAll('.', '\\.')} +64512 `);
      await lab.eventually(
        'GoBGP to learn every block from its node',
        async () => {
          const t = await rib();
          return NODES.every((n) => ownPath(n).test(t));
        },
        rib,
      );
      const add = await gobgp('global', 'rib', 'add', EXTERNAL.injected, '-a', 'ipv4');
      assert.equal(add.code, 0, add.stderr);
      for (const n of NODES) {
        await lab.eventually(
          `${n.name} to route ${EXTERNAL.injected} via GoBGP`,
          async () =>
            (await lab.routes(n.name, EXTERNAL.injected)).includes(`via ${EXTERNAL.ip} dev eth0 proto bird`),
          () => lab.routes(n.name, EXTERNAL.injected),
        );
        await lab.eventually(
          `${n.name} to keep its mesh and add the external session`,
          async () => (await lab.established(n.name)).length === 3,
          () => lab.birdc(n.name, 'show', 'protocols'),
        );
      }
    },
  );

  test('(c) a stopped BIRD leaves no route it programmed, and its block is withdrawn elsewhere', async () => {
    const node3 = NODES[2]!;
    assert.notDeepEqual(await lab.birdRoutes(node3.name), [], 'BIRD routes before the stop');
    const r = await lab.stop(node3.name);
    assert.equal(r.stopped, true);
    assert.ok(r.removedRoutes >= 3, `removed ${r.removedRoutes}`);
    assert.deepEqual(await lab.birdRoutes(node3.name), []);
    assert.ok(!(await lab.routes(node3.name)).includes(node3.block), 'not even the blackhole of its block');
    for (const n of NODES.slice(0, 2)) {
      await lab.eventually(
        `${n.name} to withdraw ${node3.block}`,
        async () => !(await lab.birdRoutes(n.name)).some((l) => l.startsWith(node3.block)),
        () => lab.routes(n.name),
      );
    }
  });
});
