import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ValidationError } from '../../lib/errors.js';
import { FakeCommandRunner } from '../exec/fake-runner.js';
import { parseNftJson } from './kernel-state.js';
import { checkLearned, Coalescer, learnedOps, MAX_LEARNED_TIMEOUT_S } from './learned.js';
import type { TableSpec } from './model.js';
import { NftTable } from './table.js';
import { FakeNft } from './testing/fake-nft.js';
import { nftJson } from './testing/nft-json.js';

const SPEC: TableSpec = {
  sets: [
    { name: 'cali40d-x', type: 'ipv4_addr', interval: false, timeout: true, elements: [] },
    { name: 'cali60d-x', type: 'ipv6_addr', interval: false, timeout: true, elements: [] },
    { name: 'cali40s-plain', type: 'ipv4_addr', interval: true, elements: [] },
  ],
  maps: [],
  chains: [
    { name: 'filter-cali-po-x', rules: ['ip daddr @cali40d-x accept', 'ip6 daddr @cali60d-x accept'] },
  ],
};

function setup() {
  const runner = new FakeCommandRunner();
  const nft = new FakeNft().install(runner);
  const table = new NftTable({ runner });
  const scripts = () => runner.callsMatching({ cmd: 'nft', args: ['-f', '-'] }).map((c) => c.stdin ?? '');
  const resets: string[][] = [];
  table.onLearnedSetsReset((names) => resets.push([...names]));
  return { runner, nft, table, scripts, resets };
}

describe('checkLearned and learnedOps', () => {
  test('timeouts are whole seconds, at most 2^32-1 ms; expired entries are dropped; addresses canonical', () => {
    assert.deepEqual(
      checkLearned([
        { set: 'cali40d-x', addr: '10.0.0.1', timeoutS: 0.2 },
        { set: 'cali60d-x', addr: '2001:DB8:0::1', timeoutS: 30 },
        { set: 'cali40d-x', addr: '10.0.0.2', timeoutS: 1e12 },
        { set: 'cali40d-x', addr: '10.0.0.3', timeoutS: 0 },
        { set: 'cali40d-x', addr: '10.0.0.4', timeoutS: -5 },
      ]),
      [
        { set: 'cali40d-x', addr: '10.0.0.1', timeoutS: 1 },
        { set: 'cali60d-x', addr: '2001:db8::1', timeoutS: 30 },
        { set: 'cali40d-x', addr: '10.0.0.2', timeoutS: MAX_LEARNED_TIMEOUT_S },
      ],
    );
  });

  test('bad entries are a ValidationError naming each field', () => {
    assert.throws(
      () =>
        checkLearned([
          { set: 'cali40d-x', addr: '10.0.0.0/8', timeoutS: 5 },
          { set: 'x; flush ruleset', addr: '10.0.0.1', timeoutS: 5 },
          { set: 'cali40d-x', addr: '10.0.0.1', timeoutS: NaN },
        ]),
      (e: unknown) =>
        e instanceof ValidationError &&
        /learned\[0\]\.addr/.test(e.message) &&
        /learned\[1\]\.set/.test(e.message) &&
        /learned\[2\]\.timeoutS/.test(e.message),
    );
  });

  test('only timeout sets the kernel holds, of the address family; the longest timeout of duplicates', () => {
    const parsed = parseNftJson(
      nftJson({
        sets: {
          'cali40d-x': { type: 'ipv4_addr', flags: ['timeout'] },
          'cali60d-x': { type: 'ipv6_addr', flags: ['timeout'] },
          'cali40s-plain': { type: 'ipv4_addr', flags: ['interval'] },
        },
      }),
    );
    assert.ok(parsed.ok);
    const ops = learnedOps(
      [
        { set: 'cali40d-x', addr: '10.0.0.1', timeoutS: 30 },
        { set: 'cali40d-x', addr: '10.0.0.1', timeoutS: 300 },
        { set: 'cali40d-x', addr: '10.0.0.1', timeoutS: 60 },
        { set: 'cali40d-x', addr: 'fd00::1', timeoutS: 60 },
        { set: 'cali60d-x', addr: 'fd00::1', timeoutS: 60 },
        { set: 'cali40s-plain', addr: '10.0.0.2', timeoutS: 60 },
        { set: 'cali40d-nope', addr: '10.0.0.3', timeoutS: 60 },
      ],
      parsed.value,
    );
    assert.deepEqual(ops, [
      { kind: 'addTimedElements', set: 'cali40d-x', elements: [{ element: '10.0.0.1', timeoutS: 300 }] },
      { kind: 'addTimedElements', set: 'cali60d-x', elements: [{ element: 'fd00::1', timeoutS: 60 }] },
    ]);
  });
});

describe('Coalescer', () => {
  test('adds before the batch is taken share it; later adds start another', async () => {
    const taken: number[][] = [];
    const c = new Coalescer<number>(async (take) => {
      await Promise.resolve();
      taken.push([...take()]);
    });
    const first = [c.add([1]), c.add([2, 3])];
    await Promise.all(first);
    await c.add([4]);
    assert.deepEqual(taken, [[1, 2, 3], [4]]);
  });
});

describe('NftTable.programLearned', () => {
  test('writes one transaction of timed elements after the apply that declared the sets', async () => {
    const { nft, table, scripts, resets } = setup();
    table.setDesired(SPEC);
    await table.apply();
    assert.deepEqual(resets, [['cali40d-x', 'cali60d-x']]);
    const before = scripts().length;
    await table.programLearned([
      { set: 'cali40d-x', addr: '10.0.0.1', timeoutS: 30 },
      { set: 'cali60d-x', addr: 'fd00::1', timeoutS: 9.5 },
    ]);
    assert.deepEqual(scripts().slice(before), [
      'add element inet calico cali40d-x { 10.0.0.1 timeout 30s expires 30s }\n' +
        'add element inet calico cali60d-x { fd00::1 timeout 10s expires 10s }\n',
    ]);
    assert.deepEqual(nft.state.sets.get('cali40d-x')?.timeouts, new Map([['10.0.0.1', 30]]));
    // Learned elements are not drift, and the next apply leaves them alone.
    assert.deepEqual((await table.refresh()).outOfSync, []);
    assert.deepEqual(await table.apply(), { transactions: 0, ops: 0, changed: 0 });
    assert.deepEqual([...(nft.state.sets.get('cali40d-x')?.elements ?? [])], ['10.0.0.1']);
    assert.equal(table.stats().learnedWrites, 1);
    assert.equal(table.stats().learnedElements, 2);
    assert.deepEqual(resets, [['cali40d-x', 'cali60d-x']], 'nothing was recreated');
  });

  test('entries for sets not declared in the kernel are skipped without running nft', async () => {
    const { table, scripts } = setup();
    await table.programLearned([{ set: 'cali40d-x', addr: '10.0.0.1', timeoutS: 30 }]);
    table.setDesired(SPEC);
    await table.apply();
    const before = scripts().length;
    await table.programLearned([{ set: 'cali40s-plain', addr: '10.0.0.1', timeoutS: 30 }]);
    assert.equal(scripts().length, before);
  });

  test('never runs beside an apply; callers arriving meanwhile share one nft run', async () => {
    const { runner, nft, table, scripts } = setup();
    table.setDesired(SPEC);
    await table.apply();
    let inFlight = 0;
    let maxInFlight = 0;
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => (release = resolve));
    runner.on({ cmd: 'nft', args: ['-f', '-'] }, async (call) => {
      maxInFlight = Math.max(maxInFlight, ++inFlight);
      if ((call.stdin ?? '').includes('add rule')) await gate;
      inFlight--;
      return nft.run(call.stdin ?? '');
    });
    const before = scripts().length;
    table.updateChain('filter-cali-po-x', ['ip daddr @cali40d-x tcp dport 443 accept']);
    const apply = table.apply();
    const learned = [1, 2, 3].map((i) =>
      table.programLearned([{ set: 'cali40d-x', addr: `10.0.0.${i}`, timeoutS: 10 * i }]),
    );
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(scripts().length, before + 1, 'only the apply has started');
    release();
    await Promise.all([apply, ...learned]);
    assert.equal(maxInFlight, 1);
    assert.deepEqual(scripts().slice(before + 1), [
      'add element inet calico cali40d-x { 10.0.0.1 timeout 10s expires 10s, 10.0.0.2 timeout 20s expires 20s, 10.0.0.3 timeout 30s expires 30s }\n',
    ]);
  });

  test('a rebuilt table or a recreated set is announced after its apply; an element that never expires is removed', async () => {
    const { nft, table, resets } = setup();
    table.setDesired(SPEC);
    await table.apply();
    resets.length = 0;
    await table.deleteTable();
    await table.apply();
    assert.deepEqual(resets, [['cali40d-x', 'cali60d-x']]);
    // Someone adds an element without a timeout: the next apply after a refresh deletes it, nothing else.
    nft.state.sets.get('cali40d-x')!.elements.add('10.9.9.9');
    await table.programLearned([{ set: 'cali40d-x', addr: '10.0.0.1', timeoutS: 30 }]);
    assert.deepEqual((await table.refresh()).outOfSync, ['set cali40d-x']);
    await table.apply();
    assert.deepEqual([...nft.state.sets.get('cali40d-x')!.elements], ['10.0.0.1']);
    // The set replaced by a plain one behind our back: recreated (empty) with its rules, and announced.
    nft.state.sets.set('cali40d-x', { type: 'ipv4_addr', interval: false, elements: new Set() });
    resets.length = 0;
    await table.refresh();
    await table.apply();
    assert.equal(nft.state.sets.get('cali40d-x')?.timeout, true);
    assert.deepEqual(resets, [['cali40d-x']]);
  });

  test('a rejected write is retried once after re-reading the kernel; what is gone is skipped', async () => {
    const { runner, nft, table } = setup();
    table.setDesired(SPEC);
    await table.apply();
    nft.state.sets.delete('cali40d-x'); // behind our back (and unreferenced in the simulation's eyes)
    await table.programLearned([
      { set: 'cali40d-x', addr: '10.0.0.1', timeoutS: 30 },
      { set: 'cali60d-x', addr: 'fd00::1', timeoutS: 30 },
    ]);
    assert.deepEqual([...nft.state.sets.get('cali60d-x')!.elements], ['fd00::1']);
    runner.failNext({ cmd: 'nft', args: ['-f', '-'] }, {}, { times: 2 });
    await assert.rejects(
      table.programLearned([{ set: 'cali60d-x', addr: 'fd00::2', timeoutS: 30 }]),
      /failed to program learned set elements/,
    );
  });
});
