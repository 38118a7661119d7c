/**
 * BGP passwords on the real kernel (TCP-MD5, TCP_MD5SIG): three BIRD nodes in network namespaces with a
 * node-to-node mesh protected by BGPConfiguration `nodeMeshPassword`, each node reading the secret from its
 * own secrets directory (`<dir>/bgp-secrets/mesh`), as the agent does. The right password establishes; a
 * wrong one does not (the kernel drops the segments: its TCPMD5Failure counter rises); a missing one refuses
 * the sessions (no BGP protocol in BIRD at all, never a session without TCP-MD5); once the secret is
 * right, the sessions come up. Every wait is bounded; namespaces, daemons and files are removed after.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Resource } from '../api/decode.js';
import { kernelTestSkipReason } from '../labkit/netns.js';
import { decodeOrThrow } from './testing.js';
import { BirdLab, nodeResource, poolResource } from './testing/bird-lab.js';

const skip = kernelTestSkipReason(['ip', 'bird', 'birdc']);

const NODES = [1, 2, 3].map((i) => ({ name: `node${i}`, ip: `10.0.0.${i}`, block: `10.244.${i}.0/26` }));
const resources: Resource[] = [
  ...NODES.map((n) => nodeResource(n.name, n.ip)),
  poolResource('10.244.0.0/16'),
  decodeOrThrow({
    apiVersion: 'projectcalico.org/v3',
    kind: 'BGPConfiguration',
    metadata: { name: 'default' },
    spec: { nodeMeshPassword: { secretKeyRef: { name: 'bgp-secrets', key: 'mesh' } } },
  }),
];
const mesh = (ip: string): string => `Mesh_${ip.replaceAll('.', '_')}`;

describe('BGP passwords (TCP-MD5) between BIRD nodes', { skip }, () => {
  const lab = new BirdLab('calts-md5-');
  const apply = (name: string): Promise<string> => {
    const n = NODES.find((x) => x.name === name)!;
    return lab.apply(name, resources, [{ cidr: n.block, state: 'confirmed' }]);
  };
  const state = async (): Promise<string> =>
    (
      await Promise.all(NODES.map(async (n) => `${n.name}:\n${await lab.birdc(n.name, 'show', 'protocols')}`))
    ).join('\n');

  before(async () => {
    await lab.setup(NODES);
  });
  after(() => lab[Symbol.asyncDispose]());

  test('the right password establishes, a wrong or missing one does not', async () => {
    lab.setSecret('node1', 'bgp-secrets', 'mesh', 'Right-Pass-1');
    lab.setSecret('node2', 'bgp-secrets', 'mesh', 'Right-Pass-1');
    lab.setSecret('node3', 'bgp-secrets', 'mesh', 'Wrong-Pass-9');
    for (const n of NODES) assert.equal(await apply(n.name), 'started');
    // The password reaches BIRD's file (readable by its owner only), and the sessions carry it.
    const cfg = join(lab.node('node1').dir, 'bird.cfg');
    assert.match(readFileSync(cfg, 'utf8'), /protocol bgp Mesh_10_0_0_2 [^}]*password "Right-Pass-1";/);

    await lab.eventually(
      'node1 and node2 to establish their session',
      async () =>
        (await lab.established('node1')).join() === mesh('10.0.0.2') &&
        (await lab.established('node2')).join() === mesh('10.0.0.1'),
      state,
    );
    // node3 (the highest address) connects to the others (the lower side is passive); their kernels drop
    // its segments, signed with another password.
    await lab.eventually(
      'node1 to reject segments signed with another password',
      async () => (await lab.tcpExt('node1', 'TCPMD5Failure')) > 0,
      state,
    );
    assert.deepEqual(await lab.established('node3'), []);
    assert.deepEqual(await lab.established('node1'), [mesh('10.0.0.2')]);

    // No secret on node3: its mesh sessions are refused (not configured without a password).
    lab.setSecret('node3', 'bgp-secrets', 'mesh', undefined);
    const view = lab.view('node3', resources);
    assert.deepEqual(
      view.v4?.passwordProblems.map((p) => [p.outcome, p.peer, p.secret]),
      [
        ['refused', mesh('10.0.0.1'), 'bgp-secrets/mesh'],
        ['refused', mesh('10.0.0.2'), 'bgp-secrets/mesh'],
      ],
    );
    assert.equal(await apply('node3'), 'reconfigured');
    assert.deepEqual(await lab.protocols('node3'), [], 'node3 runs no BGP session at all');
    assert.deepEqual(await lab.established('node1'), [mesh('10.0.0.2')]);

    // The right password on node3: the whole mesh comes up.
    lab.setSecret('node3', 'bgp-secrets', 'mesh', 'Right-Pass-1');
    assert.equal(await apply('node3'), 'reconfigured');
    for (const n of NODES) {
      const others = NODES.filter((o) => o !== n).map((o) => mesh(o.ip));
      await lab.eventually(
        `${n.name} to establish both mesh sessions`,
        async () => (await lab.established(n.name)).join() === others.join(),
        state,
      );
    }
  });
});
