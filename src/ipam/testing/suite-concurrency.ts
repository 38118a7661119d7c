/**
 * The allocator behaviour suite, part 2: many allocations at once through several clients (each with its own
 * datastore connection) for one node and for three nodes, then check and release; and an allocating process
 * SIGKILLed at an arbitrary moment, whose debris `ipam check` must see and `ipam release` must clear.
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import type { IpamClient } from '../allocator.js';
import { type IpOwner, checkIpam } from '../check.js';
import { sleep, waitFor } from '../../lib/async.js';
import type { StoreTarget } from '../../datastore/testing/targets.js';
import { releaseFromReports } from '../release-report.js';
import { type Env, TEST_TIMEOUT_MS, addPools, freshEnv, pool, spawnAllocator } from './fixtures.js';

const opts = { timeout: TEST_TIMEOUT_MS };
const VERSION = 'test-version';

async function clients(env: Env, n: number): Promise<IpamClient[]> {
  const out = [env.ipam];
  while (out.length < n) out.push(await env.connect());
  return out;
}

async function problems(env: Env, owners: readonly IpOwner[] = []): Promise<number> {
  const r = await checkIpam(env.backend, { version: VERSION, listOwners: () => Promise.resolve(owners) });
  return r.problems;
}

function workloads(ips: readonly string[]): IpOwner[] {
  return ips.map((ip, i) => ({ ip, owner: `Workload(default/pod-${i})`, kind: 'Workload' as const }));
}

async function assertClean(env: Env): Promise<void> {
  assert.equal(await problems(env), 0, 'ipam check finds no problem');
  const { items: blocks } = await env.ipam.store.listBlocks();
  for (const b of blocks)
    assert.ok(
      b.spec.allocations.every((a) => a === null),
      `block ${b.spec.cidr} is empty`,
    );
  assert.deepEqual((await env.ipam.store.listHandles()).items, []);
  const states = (await env.ipam.store.listAffinities()).items.map((a) => a.spec.state);
  assert.ok(
    states.every((s) => s === 'confirmed'),
    `affinities: ${states.join(', ')}`,
  );
}

export function registerConcurrencyTests(target: StoreTarget): void {
  void it(
    '100 parallel allocations for one node through 4 connections give 100 distinct addresses',
    opts,
    async (t) => {
      const env = await freshEnv(target, t);
      await addPools(env.backend, pool('p', { cidr: '10.100.0.0/22' }));
      const cs = await clients(env, 4);
      const results = await Promise.all(
        Array.from({ length: 100 }, (_, i) =>
          cs[i % cs.length]!.autoAssign({
            num4: 1,
            num6: 0,
            hostname: 'busy',
            handleId: `h-${i}`,
            attrs: { node: 'busy' },
          }),
        ),
      );
      const ips = results.map((r) => r.ipv4[0]?.ip ?? '');
      assert.equal(new Set(ips).size, 100, 'no address handed out twice');
      const { items: blocks } = await env.ipam.store.listBlocks();
      assert.ok(blocks.every((b) => b.spec.affinity === 'host:busy'));
      assert.equal(
        blocks.reduce((n, b) => n + b.spec.allocations.filter((a) => a !== null).length, 0),
        100,
      );
      assert.equal(await problems(env, workloads(ips)), 0, 'every allocation owned, nothing else wrong');
      await Promise.all(Array.from({ length: 100 }, (_, i) => cs[i % cs.length]!.releaseByHandle(`h-${i}`)));
      await assertClean(env);
    },
  );

  void it('three nodes allocating at the same time never share an address', opts, async (t) => {
    const env = await freshEnv(target, t);
    await addPools(env.backend, pool('p', { cidr: '10.101.0.0/22' }));
    const cs = await clients(env, 3);
    const nodes = ['n1', 'n2', 'n3'];
    const jobs = nodes.flatMap((node, k) =>
      Array.from({ length: 40 }, (_, i) =>
        cs[k]!.autoAssign({
          num4: 1,
          num6: 0,
          hostname: node,
          handleId: `${node}-${i}`,
          attrs: { node },
        }).then((r) => ({
          node,
          ip: r.ipv4[0]?.ip ?? '',
          block: r.ipv4[0]?.block ?? '',
        })),
      ),
    );
    const got = await Promise.all(jobs);
    assert.equal(new Set(got.map((g) => g.ip)).size, 120);
    const { items: blocks } = await env.ipam.store.listBlocks();
    const owner = new Map(blocks.map((b) => [b.spec.cidr, b.spec.affinity]));
    // Each block has exactly one owner; a node only borrows when its own claim lost a race.
    assert.equal(new Set(blocks.map((b) => b.spec.cidr)).size, blocks.length);
    assert.ok(got.filter((g) => owner.get(g.block) === `host:${g.node}`).length >= 100);
    assert.equal(await problems(env, workloads(got.map((g) => g.ip))), 0);
    await Promise.all(
      got.map((g, i) =>
        cs[i % 3]!.releaseByHandle(`${g.node}-${got.filter((x) => x.node === g.node).indexOf(g)}`),
      ),
    );
    await assertClean(env);
  });

  void it(
    'a process killed mid-allocation leaves nothing that check misses and release cannot fix',
    opts,
    async (t) => {
      const env = await freshEnv(target, t);
      await addPools(env.backend, pool('p', { cidr: '10.102.0.0/20' }));
      const child = spawnAllocator([JSON.stringify(env.config), 'doomed', 'crash']);
      t.after(() => child.kill());
      const acks = (): number => child.lines.filter((l) => l.startsWith('ack ')).length;
      await waitFor(() => acks() >= 12 || child.proc.exitCode !== null, {
        timeoutMs: 60_000,
        intervalMs: 10,
        what: 'the allocator to make progress (12 acks)',
        describe: () => `${acks()} acks; ${child.stderr()}`,
      });
      assert.equal(child.proc.exitCode, null, `allocator died by itself: ${child.stderr()}`);
      // An arbitrary moment for the kill, within an allocation or between two (the test's subject).
      await sleep(Math.floor(Math.random() * 20));
      await child.kill();
      // Nothing owns the child's addresses any more: all of them are leaked, plus whatever the kill interrupted.
      const first = await checkIpam(env.backend, { version: VERSION, listOwners: () => Promise.resolve([]) });
      assert.ok(first.problems >= acks() - Math.floor(acks() / 3), `found ${first.problems} problems`);
      const lines: string[] = [];
      const result = await releaseFromReports(env.ipam, [first.report], {
        force: true,
        version: VERSION,
        print: (l) => lines.push(l),
      });
      assert.equal(result.errors, 0, lines.join('\n'));
      await assertClean(env);
      // The node can go on allocating from what is left.
      const again = await env.ipam.autoAssign({ num4: 1, num6: 0, hostname: 'doomed' });
      assert.equal(again.ipv4.length, 1);
    },
  );
}
