/**
 * Real BGP in network namespaces: three "nodes" (one namespace each) on one L2 segment (a bridge in a
 * fabric namespace), each running BIRD 2 with the configuration rendered for it (node-to-node mesh, AS
 * 64512) and owning one block (a blackhole static) with an address of it on lo. (a) The mesh comes up and
 * every node's kernel gets the other nodes' blocks via their addresses; `calicoctl node status` shows the
 * peers Established. (b) A GoBGP daemon (AS 65001) in its own namespace, added as a global BGPPeer, learns
 * every block, and a route it injects reaches every node's kernel. Daemons, namespaces and temp files are
 * removed in `after`, also on failure; every wait polls with a deadline.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Resource } from '../api/decode.js';
import { createNodeStatusCommand } from '../cli/commands/node-status.js';
import { parseCommandArgs } from '../cli/command.js';
import type { CommandRunner } from '../dataplane/exec/command-runner.js';
import { NodeCommandRunner } from '../dataplane/exec/node-runner.js';
import { kernelTestSkipReason, NetnsScope, runChecked, sweepStaleNamespaces } from '../labkit/netns.js';
import { isAbortError } from '../lib/errors.js';
import { computeBgpView } from './model.js';
import { BirdReloader } from './reloader.js';
import { renderBirdConfig } from './render.js';
import { parseBirdProtocols, procProcesses } from './status.js';
import { decodeOrThrow, routingInput } from './testing.js';

const skip = kernelTestSkipReason(['ip', 'bird', 'birdc', 'ping']);
const gobgpSkip = skip !== false ? skip : kernelTestSkipReason(['gobgpd', 'gobgp']);
const host = new NodeCommandRunner();
/** Our own prefix: sweeping it never touches namespaces of other suites running in parallel. */
const PREFIX = 'calts-bgp-';

const NODES = [1, 2, 3].map((i) => ({
  name: `node${i}`,
  ip: `10.0.0.${i}`,
  block: `10.244.${i}.0/26`,
  podIp: `10.244.${i}.1`,
}));
const EXTERNAL = { ip: '10.0.0.100', as: 65001, injected: '198.51.100.0/24' };
const api = 'projectcalico.org/v3';
const baseResources: Resource[] = [
  ...NODES.map((n) =>
    decodeOrThrow({
      apiVersion: api,
      kind: 'Node',
      metadata: { name: n.name },
      spec: { bgp: { ipv4Address: `${n.ip}/24` } },
    }),
  ),
  decodeOrThrow({
    apiVersion: api,
    kind: 'IPPool',
    metadata: { name: 'pods' },
    spec: { cidr: '10.244.0.0/16' },
  }),
];

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls `check` until it returns true, failing with `describe()` after `timeoutMs`. */
async function eventually(
  what: string,
  check: () => Promise<boolean>,
  describeState: () => Promise<string>,
  timeoutMs = 45_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}:\n${await describeState()}`);
    await sleep(250);
  }
}

describe('BGP with BIRD and GoBGP in network namespaces', { skip }, () => {
  const scope = new NetnsScope(host, { prefix: PREFIX });
  const tmp = mkdtempSync(join(tmpdir(), 'calts-bgp-'));
  const ns = new Map<string, string>();
  const reloaders = new Map<string, BirdReloader>();
  const stopGobgp = new AbortController();
  let gobgpd: Promise<unknown> | undefined;

  const nodeRunner = (name: string): CommandRunner => scope.runner(ns.get(name) ?? '');

  async function applyAll(resources: readonly Resource[]): Promise<string[]> {
    const actions: string[] = [];
    for (const n of NODES) {
      const view = computeBgpView(
        routingInput(n.name, resources, { blocks: [{ cidr: n.block, state: 'confirmed' }] }),
      );
      assert.ok(view.ok, view.ok ? '' : view.error);
      const r = reloaders.get(n.name);
      assert.ok(r !== undefined);
      actions.push((await r.apply(renderBirdConfig(view.value))).action);
    }
    return actions;
  }

  async function protocols(name: string): Promise<string> {
    const r = await nodeRunner(name).run('birdc', ['-s', join(tmp, name, 'bird.ctl'), 'show', 'protocols'], {
      timeoutMs: 5000,
    });
    return r.stdout;
  }

  async function established(name: string, count: number): Promise<boolean> {
    const parsed = parseBirdProtocols(await protocols(name));
    return (
      parsed.ok &&
      parsed.value.filter((p) => p.proto === 'BGP' && p.info.startsWith('Established')).length === count
    );
  }

  async function route(name: string, dest: string): Promise<string> {
    return (await runChecked(host, 'ip', ['-n', ns.get(name) ?? '', 'route', 'show', dest])).trim();
  }

  before(async () => {
    // Best effort: leftovers of a crashed run of this suite (another process may delete them first).
    await sweepStaleNamespaces(host, PREFIX).catch(() => []);
    const fabric = await scope.namespace();
    await runChecked(scope.runner(fabric), 'ip', ['link', 'add', 'br0', 'type', 'bridge']);
    await runChecked(scope.runner(fabric), 'ip', ['link', 'set', 'br0', 'up']);
    const attach = async (name: string, ip: string, port: string): Promise<string> => {
      const n = await scope.namespace();
      ns.set(name, n);
      await scope.veth({ ns: n, name: 'eth0', address: `${ip}/24` }, { ns: fabric, name: port });
      await runChecked(scope.runner(fabric), 'ip', ['link', 'set', port, 'master', 'br0']);
      return n;
    };
    for (const [i, n] of NODES.entries()) {
      const nsName = await attach(n.name, n.ip, `p${i + 1}`);
      await scope.addAddress(nsName, 'lo', `${n.podIp}/32`);
      reloaders.set(
        n.name,
        new BirdReloader({
          runner: scope.runner(nsName),
          configPath: join(tmp, n.name, 'bird.cfg'),
          socketPath: join(tmp, n.name, 'bird.ctl'),
          pidFile: join(tmp, n.name, 'bird.pid'),
        }),
      );
    }
    await attach('external', EXTERNAL.ip, 'pext');
  });

  after(async () => {
    stopGobgp.abort();
    await gobgpd;
    for (const r of reloaders.values()) await r.stop().catch(() => undefined);
    try {
      await scope[Symbol.asyncDispose]();
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  });

  test('(a) the node-to-node mesh comes up and programs every block into every kernel', async () => {
    assert.deepEqual(await applyAll(baseResources), ['started', 'started', 'started']);
    for (const n of NODES) {
      await eventually(
        `${n.name} to establish 2 mesh sessions`,
        () => established(n.name, 2),
        () => protocols(n.name),
      );
    }
    for (const n of NODES) {
      assert.match(await route(n.name, n.block), /^blackhole 10\.244\.\d\.0\/26 proto bird/);
      for (const other of NODES.filter((o) => o !== n)) {
        await eventually(
          `${n.name} to route ${other.block} via ${other.ip}`,
          async () => (await route(n.name, other.block)).includes(`via ${other.ip} dev eth0 proto bird`),
          () => route(n.name, other.block),
        );
      }
    }
    // Pod addresses are reachable across nodes through the BGP routes (one bounded ping).
    const ping = await nodeRunner('node1').run(
      'ping',
      ['-c', '1', '-W', '2', '-I', NODES[0]!.podIp, NODES[1]!.podIp],
      { timeoutMs: 10_000 },
    );
    assert.equal(ping.code, 0, ping.stdout + ping.stderr);
    // Re-applying the same configuration changes nothing.
    assert.deepEqual(await applyAll(baseResources), ['unchanged', 'unchanged', 'unchanged']);

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
    const parsed = parseCommandArgs(status, ['--socket', join(tmp, 'node1', 'bird.ctl')]);
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
      const ext = ns.get('external') ?? '';
      const config = join(tmp, 'gobgpd.toml');
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
      gobgpd = scope
        .runner(ext)
        .run(
          'gobgpd',
          [
            '-f',
            config,
            '-t',
            'toml',
            '--api-hosts',
            '127.0.0.1:50051',
            '--pprof-disable',
            '--log-level',
            'warn',
          ],
          {
            signal: stopGobgp.signal,
          },
        )
        .catch((e: unknown) => {
          if (!isAbortError(e)) throw e;
        });
      const gobgp = (...args: string[]) =>
        scope.runner(ext).run('gobgp', ['-u', '127.0.0.1', '-p', '50051', ...args], { timeoutMs: 5000 });
      await eventually(
        'gobgpd to answer',
        async () => (await gobgp('global')).code === 0,
        async () => (await gobgp('global')).stderr,
      );

      const withPeer = [
        ...baseResources,
        decodeOrThrow({
          apiVersion: api,
          kind: 'BGPPeer',
          metadata: { name: 'external' },
          spec: { peerIP: EXTERNAL.ip, asNumber: EXTERNAL.as },
        }),
      ];
      assert.deepEqual(await applyAll(withPeer), ['reconfigured', 'reconfigured', 'reconfigured']);
      const neighbors = async () => (await gobgp('neighbor')).stdout;
      await eventually(
        'GoBGP to establish sessions with the 3 nodes',
        async () =>
          (await neighbors()).split('\n').filter((l) => /\bEstabl\b/.test(l)).length === NODES.length,
        neighbors,
      );
      const rib = async () => (await gobgp('global', 'rib', '-a', 'ipv4')).stdout;
      // Every node advertises its own block (the others re-advertise it too, with themselves as next hop).
      const ownPath = (n: (typeof NODES)[number]): RegExp =>
        new RegExp(`${n.block.replaceAll('.', '\\.')} +${n.ip.replaceAll('.', '\\.')} +64512 `);
      await eventually(
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
        await eventually(
          `${n.name} to route ${EXTERNAL.injected} via GoBGP`,
          async () =>
            (await route(n.name, EXTERNAL.injected)).includes(`via ${EXTERNAL.ip} dev eth0 proto bird`),
          () => route(n.name, EXTERNAL.injected),
        );
        await eventually(
          `${n.name} to keep its mesh and add the external session`,
          () => established(n.name, 3),
          () => protocols(n.name),
        );
      }
    },
  );
});
