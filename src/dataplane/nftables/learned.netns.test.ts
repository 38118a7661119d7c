/**
 * Learned addresses in timeout sets (DNS policy) against the real kernel, in network namespaces of the test's
 * own (root only; skipped with the reason otherwise): the table declares the sets with the rules that use
 * them, programLearned fills them, the reconciler leaves the elements alone, the kernel expires them, and a
 * rebuilt table is announced. Prints the time of one programLearned of 1 and of 100 elements.
 */
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { waitFor } from '../../lib/async.js';
import { NetnsScope, kernelTestSkipReason } from '../../labkit/netns.js';
import { NodeCommandRunner } from '../exec/node-runner.js';
import type { TableSpec } from './model.js';
import { NftTable } from './table.js';
import { learnedElements as learned } from './testing/kernel.js';

const skip = kernelTestSkipReason(['ip', 'nft', 'socat']);

const V4 = 'cali40d-learned';
const V6 = 'cali60d-learned';
const TARGET = { protocol: 'tcp', address: '10.96.0.2', port: 8080 } as const;

/** The client's egress: TCP 8080 only to addresses in the domain set. */
const SPEC: TableSpec = {
  sets: [
    { name: V4, type: 'ipv4_addr', interval: false, timeout: true, elements: [] },
    { name: V6, type: 'ipv6_addr', interval: false, timeout: true, elements: [] },
  ],
  maps: [],
  chains: [
    {
      name: 'filter-OUTPUT',
      hook: { type: 'filter', hook: 'output', priority: 0 },
      rules: ['jump filter-cali-po-domains'],
    },
    {
      name: 'filter-cali-po-domains',
      rules: [
        `tcp dport 8080 ip daddr @${V4} accept`,
        `tcp dport 8080 ip6 daddr @${V6} accept`,
        'tcp dport 8080 drop',
      ],
    },
  ],
};

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

describe('learned addresses on the real kernel', { skip }, () => {
  const scope = new NetnsScope(new NodeCommandRunner());
  after(() => scope[Symbol.asyncDispose]());

  test('declared with their rules, filled, kept by applies/refresh/restart, expired by the kernel, announced on rebuild', async () => {
    const client = await scope.namespace();
    const server = await scope.namespace();
    await scope.veth(
      { ns: client, name: 'eth0', address: '10.96.0.1/24' },
      { ns: server, name: 'eth0', address: '10.96.0.2/24' },
    );
    await scope.listen(server, TARGET);
    const runner = scope.runner(client);
    const table = new NftTable({ runner });
    const resets: string[][] = [];
    table.onLearnedSetsReset((names) => resets.push([...names]));
    table.setDesired(SPEC);
    assert.equal((await table.apply()).transactions, 1, 'sets and the rules naming them in one transaction');
    assert.deepEqual(resets, [[V4, V6]]);
    assert.equal((await scope.probe(client, TARGET, { timeoutMs: 500 })).connected, false, 'nothing learned');

    await table.programLearned([
      { set: V4, addr: '10.96.0.2', timeoutS: 300 },
      { set: V4, addr: '10.96.0.77', timeoutS: 2 },
      { set: V6, addr: 'fd00::2', timeoutS: 300 },
    ]);
    assert.equal((await scope.probe(client, TARGET)).connected, true, 'allowed once learned');
    assert.deepEqual([...(await learned(runner, V4)).keys()].sort(), ['10.96.0.2', '10.96.0.77']);

    // The reconciler leaves learned elements alone: refresh, a changed chain, a resync, a restarted agent.
    assert.deepEqual((await table.refresh()).outOfSync, []);
    assert.deepEqual(await table.apply(), { transactions: 0, ops: 0, changed: 0 });
    table.updateChain('filter-cali-po-domains', [...SPEC.chains[1]!.rules, 'udp dport 53 accept']);
    await table.apply();
    table.reset();
    table.setDesired(SPEC);
    await table.apply();
    const restarted = new NftTable({ runner });
    restarted.setDesired(SPEC);
    await restarted.apply();
    restarted.close();
    assert.equal((await learned(runner, V4)).get('10.96.0.2'), 300);
    assert.equal((await learned(runner, V6)).get('fd00::2'), 300);
    assert.deepEqual(resets, [[V4, V6]], 'nothing was recreated');

    // Re-adding with the same timeout restarts the element's clock (its `expires`), as a renewed answer must.
    const expires = async (addr: string): Promise<number> => {
      const r = await runner.run('nft', ['-j', 'list', 'set', 'inet', 'calico', V4]);
      const doc = JSON.parse(r.stdout) as {
        nftables: { set?: { elem?: { elem?: { val: string; expires?: number } }[] } }[];
      };
      const e = doc.nftables.flatMap((i) => i.set?.elem ?? []).find((x) => x.elem?.val === addr);
      return e?.elem?.expires ?? -1;
    };
    await table.programLearned([{ set: V4, addr: '10.96.0.5', timeoutS: 30 }]);
    await waitFor(async () => (await expires('10.96.0.5')) <= 28, {
      timeoutMs: 10_000,
      intervalMs: 200,
      what: 'two seconds to pass on the element',
    });
    await table.programLearned([{ set: V4, addr: '10.96.0.5', timeoutS: 30 }]);
    assert.ok((await expires('10.96.0.5')) >= 29, 'renewed');

    // Re-adding extends the timeout; the 2 s element expires by itself.
    await table.programLearned([{ set: V4, addr: '10.96.0.2', timeoutS: 600 }]);
    assert.equal((await learned(runner, V4)).get('10.96.0.2'), 600);
    await waitFor(async () => !(await learned(runner, V4)).has('10.96.0.77'), {
      timeoutMs: 15_000,
      intervalMs: 200,
      what: 'the 2 s element to expire',
    });
    assert.ok((await learned(runner, V4)).has('10.96.0.2'));

    // A rebuilt table: the sets come back empty, traffic is denied again, and the owner is told.
    await table.deleteTable();
    await table.apply();
    assert.deepEqual(resets, [
      [V4, V6],
      [V4, V6],
    ]);
    assert.equal((await learned(runner, V4)).size, 0);
    assert.equal(
      (await scope.probe(client, TARGET, { timeoutMs: 500 })).connected,
      false,
      'denied when emptied',
    );
    table.close();
  });

  test('time of one programLearned of 1 and of 100 elements', async (t) => {
    const ns = await scope.namespace();
    const table = new NftTable({ runner: scope.runner(ns) });
    table.setDesired(SPEC);
    await table.apply();
    const time = async (n: number, round: number): Promise<number> => {
      const entries = Array.from({ length: n }, (_, i) => ({
        set: V4,
        addr: `10.${round}.${Math.floor(i / 250)}.${(i % 250) + 1}`,
        timeoutS: 300,
      }));
      const start = performance.now();
      await table.programLearned(entries);
      return performance.now() - start;
    };
    const rounds = 15;
    const one: number[] = [];
    const hundred: number[] = [];
    for (let r = 0; r < rounds; r++) {
      one.push(await time(1, r));
      hundred.push(await time(100, 100 + r));
    }
    const stats = table.stats();
    assert.equal(stats.learnedWrites, 2 * rounds);
    assert.equal(stats.learnedElements, rounds * 101);
    // All through the resident nft in the namespace (resident.ts), none given up.
    assert.equal(stats.learnedResidentWrites, 2 * rounds);
    assert.equal(stats.learnedResidentFallbacks, 0);
    const fmt = (xs: number[]) => `median ${median(xs).toFixed(1)} ms, max ${Math.max(...xs).toFixed(1)} ms`;
    t.diagnostic(`programLearned of 1 element: ${fmt(one)} (${rounds} runs)`);
    t.diagnostic(`programLearned of 100 elements: ${fmt(hundred)} (${rounds} runs)`);
    table.close();
  });
});
