/**
 * NftTable against the real kernel, each test inside network namespaces of its own (root only; skipped with the
 * reason otherwise). Nothing touches the root namespace.
 */
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { NetnsScope, kernelTestSkipReason } from '../../labkit/netns.js';
import type { CommandRunner } from '../exec/command-runner.js';
import { RecordingCommandRunner } from '../exec/fake-runner.js';
import { NodeCommandRunner } from '../exec/node-runner.js';
import { parseNftJson, type KernelState } from './kernel-state.js';
import type { TableSpec } from './model.js';
import { ruleComment } from './syntax.js';
import { NftApplyError, NftTable } from './table.js';

const skip = kernelTestSkipReason(['ip', 'nft', 'socat', 'ss']);

const SPEC: TableSpec = {
  sets: [
    {
      name: 'cali40s-web',
      type: 'ipv4_addr',
      interval: true,
      elements: ['10.1.0.0/16', '10.0.0.0/8', '192.168.0.1'],
    },
    { name: 'cali60s-web', type: 'ipv6_addr', interval: true, elements: ['2001:db8::/32', 'fd00::1'] },
    {
      name: 'cali40-ports',
      type: 'inet_service',
      interval: true,
      elements: ['80', '8080-8090', '8085-8100'],
    },
    {
      name: 'cali40n-named',
      type: 'ipv4_addr . inet_proto . inet_service',
      interval: false,
      elements: ['10.0.0.1 . tcp . 80', '10.0.0.2 . 17 . 53'],
    },
  ],
  maps: [
    {
      name: 'filter-cali-to-wl-dispatch',
      keyType: 'ifname',
      elements: new Map([
        ['cali1', 'goto filter-cali-tw-cali1'],
        ['cali2', 'goto filter-cali-tw-cali2'],
      ]),
    },
    {
      name: 'filter-cali-ports',
      keyType: 'inet_service',
      elements: new Map([
        ['80', 'goto filter-cali-tw-cali1'],
        ['8000-8010', 'goto filter-cali-tw-cali2'],
      ]),
    },
  ],
  chains: [
    {
      name: 'filter-FORWARD',
      hook: { type: 'filter', hook: 'forward', priority: 0, policy: 'accept' },
      rules: ['jump filter-cali-FORWARD'],
    },
    {
      name: 'filter-cali-FORWARD',
      rules: [
        'oifname vmap @filter-cali-to-wl-dispatch',
        'meta l4proto tcp th dport vmap @filter-cali-ports',
      ],
    },
    {
      name: 'filter-cali-tw-cali1',
      rules: [
        { rule: 'ip saddr @cali40s-web tcp dport @cali40-ports counter accept', comment: 'policy "web"' },
        'ip6 saddr @cali60s-web accept',
        'ip daddr . meta l4proto . th dport @cali40n-named accept',
        'drop',
      ],
    },
    { name: 'filter-cali-tw-cali2', rules: ['drop'] },
  ],
};

/** Order-independent summary of a kernel table, for comparing two namespaces. */
function summary(k: KernelState) {
  return {
    chains: [...k.chains].map(([n, c]) => [n, c.hook, c.rules.map((r) => r.comment)] as const).sort(),
    sets: [...k.sets].map(([n, s]) => [n, s.type, s.interval, [...s.elements].sort()] as const).sort(),
    maps: [...k.maps].map(([n, m]) => [n, [...m.elements].sort()] as const).sort(),
    foreign: k.foreign,
  };
}

async function nft(runner: CommandRunner, ...args: string[]): Promise<string> {
  const r = await runner.run('nft', args, { timeoutMs: 30_000 });
  assert.equal(r.code, 0, `nft ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

async function kernel(runner: CommandRunner): Promise<KernelState> {
  const parsed = parseNftJson(await nft(runner, '-j', '-p', 'list', 'table', 'inet', 'calico'));
  assert.ok(parsed.ok);
  return parsed.value;
}

function ruleHandle(listing: string, chain: string, index: number): number {
  const doc = JSON.parse(listing) as { nftables: { rule?: { chain: string; handle: number } }[] };
  const rules = doc.nftables.flatMap((i) => (i.rule?.chain === chain ? [i.rule] : []));
  return rules[index]!.handle;
}

describe('NftTable on the real kernel', { skip }, () => {
  const scope = new NetnsScope(new NodeCommandRunner());
  after(() => scope[Symbol.asyncDispose]());

  async function fresh() {
    const ns = await scope.namespace();
    const runner = new RecordingCommandRunner(scope.runner(ns));
    const table = new NftTable({ runner });
    const scripts = () => runner.runs.filter((r) => r.args[0] === '-f').map((r) => r.stdin ?? '');
    return { ns, runner, table, scripts };
  }

  test('applies a table, reads it back, and finds it in sync', async () => {
    const { runner, table } = await fresh();
    table.setDesired(SPEC);
    const r = await table.apply();
    assert.equal(r.transactions, 1);
    const k = await kernel(runner);
    assert.deepEqual([...(k.sets.get('cali40s-web')?.elements ?? [])].sort(), ['10.0.0.0/8', '192.168.0.1']);
    assert.deepEqual([...(k.sets.get('cali40-ports')?.elements ?? [])].sort(), ['80', '8080-8100']);
    assert.deepEqual([...(k.sets.get('cali40n-named')?.elements ?? [])].sort(), [
      '10.0.0.1 . 6 . 80',
      '10.0.0.2 . 17 . 53',
    ]);
    assert.deepEqual(
      k.chains.get('filter-cali-tw-cali1')?.rules.map((x) => x.comment),
      [
        ruleComment(
          'filter-cali-tw-cali1',
          'ip saddr @cali40s-web tcp dport @cali40-ports counter accept',
          'policy "web"',
        ),
        ruleComment('filter-cali-tw-cali1', 'ip6 saddr @cali60s-web counter accept'),
        ruleComment(
          'filter-cali-tw-cali1',
          'ip daddr . meta l4proto . th dport @cali40n-named counter accept',
        ),
        ruleComment('filter-cali-tw-cali1', 'counter drop'),
      ],
    );
    assert.deepEqual(
      [...(k.maps.get('filter-cali-ports')?.elements ?? [])],
      [
        ['80', 'goto filter-cali-tw-cali1'],
        ['8000-8010', 'goto filter-cali-tw-cali2'],
      ],
    );
    const text = await nft(runner, 'list', 'chain', 'inet', 'calico', 'filter-FORWARD');
    assert.match(text, /type filter hook forward priority filter; policy accept;/);
    assert.deepEqual((await table.refresh()).outOfSync, []);
    assert.deepEqual(await table.apply(), { transactions: 0, ops: 0, changed: 0 });
  });

  test('incremental changes send only the deltas', async () => {
    const { runner, table, scripts } = await fresh();
    table.setDesired(SPEC);
    await table.apply();
    runner.clear();
    table.addSetMembers('cali40s-web', ['172.16.0.0/12', '10.2.0.0/16']);
    table.removeSetMembers('cali40s-web', ['192.168.0.1']);
    await table.apply();
    assert.deepEqual(scripts(), [
      'add table inet calico\n' +
        'delete element inet calico cali40s-web { 192.168.0.1 }\n' +
        'add element inet calico cali40s-web { 172.16.0.0/12 }\n',
    ]);
    runner.clear();
    table.updateChain('filter-cali-tw-cali2', ['tcp dport 22 drop', 'accept']);
    table.updateMapElements('filter-cali-to-wl-dispatch', [['cali3', 'goto filter-cali-tw-cali2']]);
    await table.apply();
    assert.equal(scripts().length, 1);
    assert.deepEqual(
      scripts()[0]!
        .split('\n')
        .map((l) => l.replace(/ comment ".*"$/, '')),
      [
        'add table inet calico',
        'flush chain inet calico filter-cali-tw-cali2',
        'add rule inet calico filter-cali-tw-cali2 tcp dport 22 counter drop',
        'add rule inet calico filter-cali-tw-cali2 counter accept',
        'add element inet calico filter-cali-to-wl-dispatch { "cali3" : goto filter-cali-tw-cali2 }',
        '',
      ],
    );
    runner.clear();
    table.addSetMembers('cali40s-web', ['10.0.0.0/7']); // covers 10.0.0.0/8, which must go in the same transaction
    await table.apply();
    assert.deepEqual(scripts(), [
      'add table inet calico\n' +
        'delete element inet calico cali40s-web { 10.0.0.0/8 }\n' +
        'add element inet calico cali40s-web { 10.0.0.0/7 }\n',
    ]);
    const k = await kernel(runner);
    assert.deepEqual([...(k.sets.get('cali40s-web')?.elements ?? [])].sort(), [
      '10.0.0.0/7',
      '172.16.0.0/12',
    ]);
    assert.equal(k.chains.get('filter-cali-tw-cali2')?.rules.length, 2);
    assert.equal(
      k.maps.get('filter-cali-to-wl-dispatch')?.elements.get('cali3'),
      'goto filter-cali-tw-cali2',
    );
    assert.ok(k.sets.get('cali40s-web')?.elements.has('172.16.0.0/12'));
    assert.deepEqual((await table.refresh()).outOfSync, []);
  });

  test('a port verdict map changes element by element', async () => {
    const { runner, table, scripts } = await fresh();
    table.setDesired(SPEC);
    await table.apply();
    runner.clear();
    table.updateMapElements('filter-cali-ports', [
      ['80', 'goto filter-cali-tw-cali2'],
      ['9000-9001', 'goto filter-cali-tw-cali1'],
    ]);
    table.removeMapElements('filter-cali-ports', ['8000-8010']);
    await table.apply();
    assert.deepEqual(scripts(), [
      'add table inet calico\n' +
        'delete element inet calico filter-cali-ports { 80, 8000-8010 }\n' +
        'add element inet calico filter-cali-ports { 80 : goto filter-cali-tw-cali2, 9000-9001 : goto filter-cali-tw-cali1 }\n',
    ]);
    const k = await kernel(runner);
    assert.deepEqual([...(k.maps.get('filter-cali-ports')?.elements ?? [])].sort(), [
      ['80', 'goto filter-cali-tw-cali2'],
      ['9000-9001', 'goto filter-cali-tw-cali1'],
    ]);
    assert.deepEqual((await table.refresh()).outOfSync, []);
  });

  test('drift made with nft directly is found by refresh and repaired by the next apply', async () => {
    const { runner, table } = await fresh();
    table.setDesired(SPEC);
    await table.apply();
    await table.refresh(); // learns each rule's expression
    const listing = await nft(runner, '-a', '-j', 'list', 'table', 'inet', 'calico');
    const edited = ruleComment('filter-cali-tw-cali1', 'drop');
    const drop = ruleHandle(listing, 'filter-cali-tw-cali1', 3);
    await nft(
      runner,
      'replace',
      'rule',
      'inet',
      'calico',
      'filter-cali-tw-cali1',
      'handle',
      String(drop),
      'accept',
      'comment',
      `"${edited}"`,
    );
    await nft(
      runner,
      'delete',
      'rule',
      'inet',
      'calico',
      'filter-cali-tw-cali2',
      'handle',
      String(ruleHandle(listing, 'filter-cali-tw-cali2', 0)),
    );
    await nft(runner, 'delete', 'element', 'inet', 'calico', 'cali40s-web', '{ 192.168.0.1 }');
    await nft(runner, 'add', 'element', 'inet', 'calico', 'cali40-ports', '{ 22 }');
    await nft(runner, 'add', 'chain', 'inet', 'calico', 'stray-chain');
    await nft(runner, 'add', 'rule', 'inet', 'calico', 'stray-chain', 'ip saddr @cali40s-web drop');
    await nft(runner, 'add', 'counter', 'inet', 'calico', 'stray-counter');
    const found = await table.refresh();
    assert.deepEqual([...found.outOfSync].sort(), [
      'chain filter-cali-tw-cali1',
      'chain filter-cali-tw-cali2',
      'chain stray-chain',
      'foreign counter stray-counter',
      'set cali40-ports',
      'set cali40s-web',
    ]);
    assert.equal((await table.apply()).transactions, 1);
    assert.deepEqual((await table.refresh()).outOfSync, []);
    const k = await kernel(runner);
    assert.equal(k.chains.has('stray-chain'), false);
    assert.deepEqual(k.foreign, []);
  });

  test('restart: a fresh instance with another desired state converges in one transaction and leaves nothing stale', async () => {
    const first = await fresh();
    first.table.setDesired(SPEC);
    await first.table.apply();
    const next: TableSpec = {
      sets: [{ name: 'cali40s-web', type: 'ipv4_addr', interval: false, elements: ['10.0.0.9'] }],
      maps: [
        {
          name: 'filter-cali-to-wl-dispatch',
          keyType: 'ifname',
          elements: new Map([['cali9', 'goto filter-cali-tw-cali9']]),
        },
      ],
      chains: [
        {
          name: 'filter-FORWARD',
          hook: { type: 'filter', hook: 'forward', priority: 0, policy: 'drop' },
          rules: ['jump filter-cali-FORWARD'],
        },
        {
          name: 'filter-cali-FORWARD',
          rules: ['oifname vmap @filter-cali-to-wl-dispatch', 'ct state established accept'],
        },
        { name: 'filter-cali-tw-cali9', rules: ['ip saddr @cali40s-web accept', 'drop'] },
      ],
    };
    const restarted = new RecordingCommandRunner(first.runner);
    const table = new NftTable({ runner: restarted });
    table.setDesired(next);
    assert.equal((await table.apply()).transactions, 1);
    const sent = restarted.runs.filter((r) => r.args[0] === '-f');
    assert.equal(sent.length, 1);
    assert.doesNotMatch(sent[0]!.stdin ?? '', /delete table|flush (table|ruleset)/);

    const reference = await fresh();
    reference.table.setDesired(next);
    await reference.table.apply();
    assert.deepEqual(summary(await kernel(first.runner)), summary(await kernel(reference.runner)));
  });

  test('a rule the kernel rejects is isolated; everything else is programmed', async () => {
    const { runner, table } = await fresh();
    table.setDesired({
      ...SPEC,
      chains: [...SPEC.chains, { name: 'filter-cali-bad', rules: ['ip saddr @cali40s-missing accept'] }],
    });
    const err = await table.apply().then(
      () => assert.fail('apply should fail'),
      (e: unknown) => e,
    );
    assert.ok(err instanceof NftApplyError);
    assert.deepEqual(
      err.failed.map((f) => f.label),
      ['chain filter-cali-bad'],
    );
    const k = await kernel(runner);
    assert.equal(k.chains.get('filter-cali-tw-cali1')?.rules.length, 4);
    assert.equal(k.chains.has('filter-cali-bad'), false);
    table.updateSet({ name: 'cali40s-missing', type: 'ipv4_addr', interval: false, elements: [] });
    await table.apply();
    assert.equal((await kernel(runner)).chains.get('filter-cali-bad')?.rules.length, 1);
  });

  test('a set element in an input chain really filters traffic', async () => {
    const client = await scope.namespace();
    const server = await scope.namespace();
    await scope.veth(
      { ns: client, name: 'eth0', address: '10.96.0.1/24' },
      { ns: server, name: 'eth0', address: '10.96.0.2/24' },
    );
    const target = { protocol: 'tcp', address: '10.96.0.2', port: 8080 } as const;
    await scope.listen(server, target);
    const table = new NftTable({ runner: scope.runner(server) });
    table.setDesired({
      sets: [{ name: 'cali40-blocked', type: 'inet_service', interval: false, elements: ['8080'] }],
      maps: [],
      chains: [
        {
          name: 'filter-INPUT',
          hook: { type: 'filter', hook: 'input', priority: 0 },
          rules: ['jump filter-cali-INPUT'],
        },
        { name: 'filter-cali-INPUT', rules: ['tcp dport @cali40-blocked drop'] },
      ],
    });
    await table.apply();
    assert.equal((await scope.probe(client, target, { timeoutMs: 500 })).connected, false);
    table.removeSetMembers('cali40-blocked', ['8080']);
    await table.apply();
    assert.equal((await scope.probe(client, target)).connected, true);
    table.addSetMembers('cali40-blocked', ['8080']);
    await table.apply();
    assert.equal((await scope.probe(client, target, { timeoutMs: 500 })).connected, false);
  });
});
