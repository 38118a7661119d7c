import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { KernelProgrammingError, ValidationError } from '../../lib/errors.js';
import { FakeCommandRunner } from '../exec/fake-runner.js';
import type { TableSpec } from './model.js';
import { ruleComment } from './syntax.js';
import { renderTable } from './render.js';
import { NftApplyError, NftTable } from './table.js';
import { FakeNft, type SimState } from './testing/fake-nft.js';
import { describeProgrammed } from './testing/nft-json.js';

const SPEC: TableSpec = {
  sets: [
    { name: 'cali40s-web', type: 'ipv4_addr', interval: true, elements: ['10.1.0.0/16', '192.168.0.1'] },
    { name: 'cali40-ports', type: 'inet_service', interval: false, elements: ['80', '443'] },
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
  ],
  chains: [
    {
      name: 'filter-FORWARD',
      hook: { type: 'filter', hook: 'forward', priority: 0 },
      rules: ['jump filter-cali-FORWARD'],
    },
    { name: 'filter-cali-FORWARD', rules: ['oifname vmap @filter-cali-to-wl-dispatch'] },
    {
      name: 'filter-cali-tw-cali1',
      rules: [{ rule: 'ip saddr @cali40s-web tcp dport @cali40-ports accept', comment: 'web' }, 'drop'],
    },
    { name: 'filter-cali-tw-cali2', rules: ['drop'] },
  ],
};

function setup(options: { readonly kernel?: TableSpec } = {}) {
  const runner = new FakeCommandRunner();
  const nft = new FakeNft().install(runner);
  if (options.kernel) nft.load(describeProgrammed(options.kernel));
  const table = new NftTable({ runner, isolationBatchSize: 2 });
  const scripts = () => runner.callsMatching({ cmd: 'nft', args: ['-f', '-'] }).map((c) => c.stdin ?? '');
  return { runner, nft, table, scripts };
}

/** Order-independent view of the simulated kernel, for comparing end states. */
function snapshot(s: SimState) {
  return {
    chains: [...s.chains].sort(([a], [b]) => a.localeCompare(b)),
    sets: [...s.sets].map(([n, v]) => [n, v.type, v.interval, [...v.elements].sort()] as const).sort(),
    maps: [...s.maps].map(([n, m]) => [n, [...m].sort()] as const).sort(),
    foreign: s.foreign,
  };
}

function expected(spec: TableSpec) {
  return snapshot(new FakeNft().load(describeProgrammed(spec)).state);
}

const c = (chain: string, text: string, note?: string) => ruleComment(chain, text, note);

describe('NftTable: programming', () => {
  test('first apply on a machine without the table creates it in one transaction; a second apply sends nothing', async () => {
    const { runner, table, nft } = setup();
    table.setDesired(SPEC);
    const r = await table.apply();
    const rendered = renderTable(SPEC);
    assert.ok(rendered.ok);
    assert.deepEqual(
      runner.calls.map((call) => [call.args.join(' '), call.stdin]),
      [
        ['-j -p list table inet calico', undefined],
        ['-j list tables inet', undefined],
        ['-f -', rendered.value],
      ],
    );
    assert.deepEqual(r, { transactions: 1, ops: rendered.value.trim().split('\n').length, changed: 7 });
    assert.deepEqual(snapshot(nft.state), expected(SPEC));
    runner.clearCalls();
    assert.deepEqual(await table.apply(), { transactions: 0, ops: 0, changed: 0 });
    assert.equal(runner.calls.length, 0);
    assert.equal(table.hasPendingChanges(), false);
    const stats = table.stats();
    assert.deepEqual(
      [
        stats.chains,
        stats.rules,
        stats.sets,
        stats.setElements,
        stats.maps,
        stats.mapElements,
        stats.nftCalls,
      ],
      [4, 5, 2, 4, 1, 2, 3],
    );
  });

  test('a changed chain is flushed and refilled; nothing else is sent', async () => {
    const { table, scripts } = setup({ kernel: SPEC });
    table.setDesired(SPEC);
    await table.apply();
    table.updateChain('filter-cali-tw-cali2', ['tcp dport 22 drop', 'accept']);
    await table.apply();
    assert.equal(
      scripts().at(-1),
      [
        'add table inet calico',
        'flush chain inet calico filter-cali-tw-cali2',
        `add rule inet calico filter-cali-tw-cali2 tcp dport 22 counter drop comment "${c('filter-cali-tw-cali2', 'tcp dport 22 counter drop')}"`,
        `add rule inet calico filter-cali-tw-cali2 counter accept comment "${c('filter-cali-tw-cali2', 'counter accept')}"`,
        '',
      ].join('\n'),
    );
  });

  test('set member changes become element deltas; overlapping intervals are normalised', async () => {
    const { table, scripts, nft } = setup({ kernel: SPEC });
    table.setDesired(SPEC);
    await table.apply();
    table.addSetMembers('cali40-ports', ['8080']);
    table.removeSetMembers('cali40-ports', ['443']);
    await table.apply();
    assert.equal(
      scripts().at(-1),
      'add table inet calico\ndelete element inet calico cali40-ports { 443 }\nadd element inet calico cali40-ports { 8080 }\n',
    );
    table.addSetMembers('cali40s-web', ['10.0.0.0/8']);
    await table.apply();
    assert.equal(
      scripts().at(-1),
      'add table inet calico\ndelete element inet calico cali40s-web { 10.1.0.0/16 }\nadd element inet calico cali40s-web { 10.0.0.0/8 }\n',
    );
    table.removeSetMembers('cali40s-web', ['10.0.0.0/8']);
    await table.apply();
    assert.equal(
      scripts().at(-1),
      'add table inet calico\ndelete element inet calico cali40s-web { 10.0.0.0/8 }\nadd element inet calico cali40s-web { 10.1.0.0/16 }\n',
    );
    assert.deepEqual([...(nft.state.sets.get('cali40s-web')?.elements ?? [])].sort(), [
      '10.1.0.0/16',
      '192.168.0.1',
    ]);
  });

  test('removing a chain: referrers and map entries go first, the chain is deleted last, all in one transaction', async () => {
    const { table, scripts, nft } = setup({ kernel: SPEC });
    table.setDesired(SPEC);
    await table.apply();
    table.removeMapElements('filter-cali-to-wl-dispatch', ['cali2']);
    table.removeChain('filter-cali-tw-cali2');
    table.updateChain('filter-cali-FORWARD', ['oifname vmap @filter-cali-to-wl-dispatch', 'accept']);
    await table.apply();
    const fwd = 'filter-cali-FORWARD';
    assert.equal(
      scripts().at(-1),
      [
        'add table inet calico',
        `flush chain inet calico ${fwd}`,
        'delete element inet calico filter-cali-to-wl-dispatch { "cali2" }',
        'flush chain inet calico filter-cali-tw-cali2',
        `add rule inet calico ${fwd} counter oifname vmap @filter-cali-to-wl-dispatch comment "${c(fwd, 'counter oifname vmap @filter-cali-to-wl-dispatch')}"`,
        `add rule inet calico ${fwd} counter accept comment "${c(fwd, 'counter accept')}"`,
        'delete chain inet calico filter-cali-tw-cali2',
        '',
      ].join('\n'),
    );
    assert.equal(nft.state.chains.has('filter-cali-tw-cali2'), false);
  });

  test('a map entry whose verdict changes is deleted and re-added', async () => {
    const { table, scripts } = setup({ kernel: SPEC });
    table.setDesired(SPEC);
    await table.apply();
    table.updateMapElements('filter-cali-to-wl-dispatch', [['cali2', 'goto filter-cali-tw-cali1']]);
    await table.apply();
    assert.equal(
      scripts().at(-1),
      [
        'add table inet calico',
        'delete element inet calico filter-cali-to-wl-dispatch { "cali2" }',
        'add element inet calico filter-cali-to-wl-dispatch { "cali2" : goto filter-cali-tw-cali1 }',
        '',
      ].join('\n'),
    );
  });

  test('a set whose type changes is recreated with the chains that use it, in the right order', async () => {
    const { table, scripts, nft } = setup({ kernel: SPEC });
    table.setDesired(SPEC);
    await table.apply();
    table.updateSet({ name: 'cali40-ports', type: 'inet_service', interval: true, elements: ['80-90'] });
    await table.apply();
    const tw1 = 'filter-cali-tw-cali1';
    const text = 'ip saddr @cali40s-web tcp dport @cali40-ports counter accept';
    assert.equal(
      scripts().at(-1),
      [
        'add table inet calico',
        `flush chain inet calico ${tw1}`,
        'delete set inet calico cali40-ports',
        'add set inet calico cali40-ports { type inet_service; flags interval; }',
        'add element inet calico cali40-ports { 80-90 }',
        `add rule inet calico ${tw1} ${text} comment "${c(tw1, text, 'web')}"`,
        `add rule inet calico ${tw1} counter drop comment "${c(tw1, 'counter drop')}"`,
        '',
      ].join('\n'),
    );
    assert.equal(nft.state.sets.get('cali40-ports')?.interval, true);
  });

  test('base chains: a policy change is made in place, a priority change recreates the chain', async () => {
    const { table, scripts } = setup({ kernel: SPEC });
    table.setDesired(SPEC);
    await table.apply();
    const hook = { type: 'filter', hook: 'forward', priority: 0, policy: 'drop' } as const;
    table.updateChain('filter-FORWARD', ['jump filter-cali-FORWARD'], { hook });
    await table.apply();
    assert.equal(
      scripts().at(-1),
      'add table inet calico\nadd chain inet calico filter-FORWARD { type filter hook forward priority 0; policy drop; }\n',
    );
    table.updateChain('filter-FORWARD', ['jump filter-cali-FORWARD'], { hook: { ...hook, priority: 10 } });
    await table.apply();
    assert.equal(
      scripts().at(-1),
      [
        'add table inet calico',
        'flush chain inet calico filter-FORWARD',
        'delete chain inet calico filter-FORWARD',
        'add chain inet calico filter-FORWARD { type filter hook forward priority 10; policy drop; }',
        `add rule inet calico filter-FORWARD counter jump filter-cali-FORWARD comment "${c('filter-FORWARD', 'counter jump filter-cali-FORWARD')}"`,
        '',
      ].join('\n'),
    );
  });
});

describe('NftTable: failures', () => {
  test('a transient failure is retried once after re-reading the kernel', async () => {
    const { runner, table, nft } = setup();
    table.setDesired(SPEC);
    runner.failNext(
      { args: ['-f', '-'] },
      { stderr: 'Error: Could not process rule: Device or resource busy' },
    );
    const r = await table.apply();
    assert.equal(r.transactions, 2);
    assert.deepEqual(snapshot(nft.state), expected(SPEC));
    assert.equal(table.stats().nftErrors, 1); // the failed transaction; an absent table is not an error
  });

  test('one bad rule is isolated: the rest is programmed, the bad chain stays dirty and is retried alone', async () => {
    const { runner, table, nft, scripts } = setup();
    nft.rejectLine = (line) => line.includes('meta mark 0x99');
    table.setDesired({
      ...SPEC,
      chains: [...SPEC.chains, { name: 'filter-cali-bad', rules: ['meta mark 0x99 drop'] }],
    });
    const failure = await table.apply().then(
      () => assert.fail('apply should fail'),
      (e: unknown) => e,
    );
    assert.ok(failure instanceof NftApplyError);
    assert.ok(failure instanceof KernelProgrammingError);
    assert.equal(failure.code, 'CALICO_ERR_KERNEL');
    assert.deepEqual(
      failure.failed.map((f) => f.label),
      ['chain filter-cali-bad'],
    );
    assert.match(failure.stderr, /Invalid argument/);
    assert.deepEqual(snapshot(nft.state), expected(SPEC));
    assert.equal(table.stats().dirty, 1);

    runner.clearCalls();
    await assert.rejects(table.apply(), NftApplyError);
    assert.ok(scripts().length > 0);
    for (const s of scripts()) {
      assert.match(s, /filter-cali-bad/);
      assert.doesNotMatch(s, /tw-cali/);
    }

    table.updateChain('filter-cali-bad', ['meta mark 0x98 drop']);
    await table.apply();
    assert.equal(nft.state.chains.get('filter-cali-bad')?.rules[0]?.text, 'meta mark 0x98 counter drop');
    assert.equal(table.hasPendingChanges(), false);
    assert.equal(table.stats().failedApplies, 2);
  });

  test('an aborted apply rejects with the abort reason and re-reads the kernel next time', async () => {
    const { runner, table } = setup({ kernel: SPEC });
    table.setDesired(SPEC);
    await assert.rejects(table.apply({ signal: AbortSignal.abort() }), { name: 'AbortError' });
    runner.clearCalls();
    await table.apply();
    assert.deepEqual(runner.calls[0]?.args, ['-j', '-p', 'list', 'table', 'inet', 'calico']);
  });

  test('after a failed read of the kernel, the next apply re-reads it and repairs everything it finds', async () => {
    const { runner, table, nft } = setup();
    table.setDesired(SPEC);
    await table.apply();
    nft.state.chains.set('stray-chain', { rules: [] });
    table.addSetMembers('cali40-ports', ['22']);
    await table.apply({ signal: AbortSignal.abort() }).catch(() => undefined);
    runner.failNext({ args: ['-j', '-p', 'list', 'table', 'inet', 'calico'] }, { code: 1, stderr: 'EPERM' });
    await assert.rejects(table.apply(), /cannot list table inet calico: EPERM/);
    await table.apply();
    assert.equal(nft.state.chains.has('stray-chain'), false);
    assert.ok(nft.state.sets.get('cali40-ports')?.elements.has('22'));
  });

  test('nft that cannot be started is a KernelProgrammingError and leaves the work dirty', async () => {
    const { runner, table, nft } = setup();
    table.setDesired(SPEC);
    runner.throwNext(
      { args: ['-j', '-p', 'list', 'table', 'inet', 'calico'] },
      new Error('spawn nft ENOENT'),
    );
    await assert.rejects(table.apply(), KernelProgrammingError);
    assert.equal(table.hasPendingChanges(), true);
    await table.apply();
    assert.deepEqual(snapshot(nft.state), expected(SPEC));
  });

  test('invalid intent throws a ValidationError and changes nothing', () => {
    const { table } = setup();
    table.setDesired(SPEC);
    assert.throws(() => {
      table.updateChain('filter-cali-x', ['accept; flush ruleset']);
    }, ValidationError);
    assert.equal(table.hasChain('filter-cali-x'), false);
    assert.throws(() => {
      table.addSetMembers('cali40s-nope', ['10.0.0.1']);
    }, ValidationError);
    assert.throws(() => {
      table.addSetMembers('cali40s-web', ['2001:db8::1']);
    }, ValidationError);
    assert.throws(() => {
      table.updateSet({ name: 'filter-cali-to-wl-dispatch', type: 'ifname', interval: false, elements: [] });
    }, ValidationError);
    assert.throws(() => {
      table.setDesired({ ...SPEC, chains: [{ name: 'counter', rules: [] }] });
    }, ValidationError);
    // Timeout sets: address sets only, not interval, declared empty; members are learned, not desired.
    const timed = {
      name: 'cali40d-x',
      type: 'ipv4_addr',
      interval: false,
      timeout: true,
      elements: [],
    } as const;
    for (const bad of [
      { ...timed, interval: true },
      { ...timed, type: 'inet_service' as const },
      { ...timed, elements: ['10.0.0.1'] },
    ]) {
      assert.throws(
        () => {
          table.updateSet(bad);
        },
        (e: unknown) =>
          e instanceof ValidationError && /sets\[cali40d-x\]\.(timeout|elements)/.test(e.message),
      );
    }
    table.updateSet(timed);
    assert.throws(() => {
      table.addSetMembers('cali40d-x', ['10.0.0.1']);
    }, ValidationError);
    assert.equal(table.hasChain('filter-FORWARD'), true);
  });
});

describe('NftTable: drift and restart', () => {
  test('refresh finds deleted, edited and foreign rules, missing and extra elements, extra objects; apply repairs them', async () => {
    const { table, nft, scripts } = setup();
    table.setDesired(SPEC);
    await table.apply();
    assert.deepEqual((await table.refresh()).outOfSync, []); // also learns the rules' expressions
    const s = nft.state;
    s.chains.get('filter-cali-tw-cali2')!.rules.length = 0; // a rule deleted
    s.chains.get('filter-cali-tw-cali1')!.rules[1]!.text = 'accept'; // edited in place, comment kept
    s.chains.get('filter-FORWARD')!.rules.push({ text: 'accept' }); // a foreign rule
    s.sets.get('cali40-ports')!.elements.delete('80');
    s.sets.get('cali40s-web')!.elements.add('172.16.0.0/12');
    s.maps.get('filter-cali-to-wl-dispatch')!.set('cali9', 'drop');
    s.chains.set('stray-chain', { rules: [{ text: 'drop' }] });
    s.sets.set('stray-set', { type: 'ipv4_addr', interval: false, elements: new Set(['10.0.0.1']) });
    s.foreign.push({ kind: 'counter', name: 'stray-counter' });

    const found = await table.refresh();
    assert.deepEqual([...found.outOfSync].sort(), [
      'chain filter-FORWARD',
      'chain filter-cali-tw-cali1',
      'chain filter-cali-tw-cali2',
      'chain stray-chain',
      'foreign counter stray-counter',
      'map filter-cali-to-wl-dispatch',
      'set cali40-ports',
      'set cali40s-web',
      'set stray-set',
    ]);
    const before = scripts().length;
    const r = await table.apply();
    assert.equal(r.transactions, 1);
    assert.equal(scripts().length, before + 1);
    assert.deepEqual(snapshot(nft.state), expected(SPEC));
    assert.deepEqual((await table.refresh()).outOfSync, []);
  });

  test('restart: a fresh instance adopts a matching table without sending anything', async () => {
    const { table, runner, scripts } = setup({ kernel: SPEC });
    table.setDesired(SPEC);
    assert.deepEqual(await table.apply(), { transactions: 0, ops: 0, changed: 0 });
    assert.equal(scripts().length, 0);
    assert.equal(runner.calls.length, 1);
    assert.equal(table.stats().rules, 5);
  });

  test('restart with a different desired state converges in one transaction and sweeps leftovers, never deleting the table', async () => {
    const { table, nft, scripts } = setup({ kernel: SPEC });
    nft.state.foreign.push({ kind: 'quota', name: 'old-quota' });
    const next: TableSpec = {
      sets: [
        { name: 'cali40s-web', type: 'ipv4_addr', interval: true, elements: ['10.1.0.0/16', '10.2.0.0/16'] },
      ],
      maps: [
        {
          name: 'filter-cali-to-wl-dispatch',
          keyType: 'ifname',
          elements: new Map([['cali3', 'goto filter-cali-tw-cali3']]),
        },
      ],
      chains: [
        SPEC.chains[0]!,
        SPEC.chains[1]!,
        { name: 'filter-cali-tw-cali3', rules: ['ip saddr @cali40s-web accept', 'drop'] },
      ],
    };
    table.setDesired(next);
    await table.apply();
    assert.equal(scripts().length, 1);
    assert.doesNotMatch(scripts()[0]!, /delete table|flush ruleset|flush table/);
    assert.doesNotMatch(scripts()[0]!, /filter-FORWARD|filter-cali-FORWARD /); // adopted unchanged
    assert.deepEqual(snapshot(nft.state), expected(next));
  });

  test('objects nft text cannot name force an atomic rebuild of the table', async () => {
    const { table, nft, scripts } = setup({ kernel: SPEC });
    nft.state.chains.set('we ird', { rules: [] });
    table.setDesired(SPEC);
    await table.apply();
    assert.match(scripts()[0]!, /^add table inet calico\ndelete table inet calico\nadd table inet calico\n/);
    assert.deepEqual(snapshot(nft.state), expected(SPEC));
  });

  test('deleteTable removes the table; the next apply recreates it', async () => {
    const { table, nft } = setup({ kernel: SPEC });
    table.setDesired(SPEC);
    await table.deleteTable();
    assert.equal(nft.state.exists, false);
    await table.apply();
    assert.deepEqual(snapshot(nft.state), expected(SPEC));
  });

  test('concurrent applies are serialised', async () => {
    const { table, scripts } = setup();
    table.setDesired(SPEC);
    const [a, b] = await Promise.all([table.apply(), table.apply()]);
    assert.equal(a.transactions, 1);
    assert.equal(b.transactions, 0);
    assert.equal(scripts().length, 1);
  });
});
