import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { compileTable, type DesiredState } from './compile.js';
import { emptyKernelState, parseNftJson, type KernelState } from './kernel-state.js';
import type { TableSpec } from './model.js';
import { planTransaction, transactionOps } from './plan.js';
import { describeProgrammed, nftJson, type KernelTableJson } from './testing/nft-json.js';

const NONE = { chains: new Set<string>(), sets: new Set<string>(), maps: new Set<string>() };

function desired(spec: TableSpec): DesiredState {
  const r = compileTable(spec);
  assert.ok(r.ok);
  return r.value;
}

function kernelOf(t: KernelTableJson): KernelState {
  const r = parseNftJson(nftJson(t));
  assert.ok(r.ok);
  return r.value;
}

const BASE: TableSpec = {
  sets: [{ name: 'cali40s-a', type: 'ipv4_addr', interval: false, elements: ['10.0.0.1'] }],
  maps: [{ name: 'disp-map', keyType: 'ifname', elements: new Map([['cali1', 'goto c-target']]) }],
  chains: [
    { name: 'a-referrer', rules: ['jump c-target', 'ip saddr @cali40s-a accept'] },
    { name: 'c-target', rules: ['drop'] },
    { name: 'b-other', rules: ['accept'] },
  ],
};

describe('planTransaction', () => {
  test('units come in dependency order: sets, chains (targets first), maps, then removals', () => {
    const kernel = kernelOf({
      chains: { 'z-old': { rules: [] } },
      sets: { 'old-set': { type: 'ipv4_addr' } },
      foreign: [{ kind: 'counter', name: 'c-1' }],
    });
    const plan = planTransaction(desired(BASE), kernel, 'all');
    assert.deepEqual(
      plan.units.map((u) => u.label),
      [
        'set cali40s-a',
        'chain c-target',
        'chain a-referrer',
        'chain b-other',
        'map disp-map',
        'chain z-old',
        'set old-set',
        'foreign counter c-1',
      ],
    );
    assert.equal(plan.rebuild, false);
  });

  test('a transaction orders operations by phase across units', () => {
    const kernel = kernelOf(describeProgrammed(BASE));
    const next: TableSpec = {
      ...BASE,
      chains: [BASE.chains[1]!, BASE.chains[2]!, { name: 'a-referrer', rules: ['accept'] }],
      maps: [],
    };
    const kinds = transactionOps(planTransaction(desired(next), kernel, 'all')).map(
      (op) => `${op.kind}${'name' in op ? ` ${op.name}` : 'chain' in op ? ` ${op.chain}` : ''}`,
    );
    assert.deepEqual(kinds, [
      'addTable',
      'flushChain a-referrer',
      'addRule a-referrer',
      'deleteMap disp-map',
    ]);
  });

  test('recreating a set pulls the chains that use it into its unit', () => {
    const kernel = kernelOf(describeProgrammed(BASE));
    const next: TableSpec = {
      ...BASE,
      sets: [{ name: 'cali40s-a', type: 'ipv4_addr', interval: true, elements: ['10.0.0.0/8'] }],
    };
    const plan = planTransaction(desired(next), kernel, 'all');
    assert.deepEqual(
      plan.units.map((u) => u.label),
      ['set cali40s-a + chain a-referrer'],
    );
    assert.deepEqual(
      plan.units[0]!.objects.map((o) => `${o.kind} ${o.name}`),
      ['set cali40s-a', 'chain a-referrer'],
    );
  });

  test('with a dirty scope only those objects are compared', () => {
    const kernel = kernelOf({ ...describeProgrammed(BASE), chains: {} });
    const plan = planTransaction(desired(BASE), kernel, {
      chains: new Set(['b-other']),
      sets: new Set(),
      maps: new Set(),
    });
    assert.deepEqual(
      plan.units.map((u) => u.label),
      ['chain b-other'],
    );
  });

  test('nothing to do against an identical kernel; everything to do against an empty one', () => {
    assert.deepEqual(planTransaction(desired(BASE), kernelOf(describeProgrammed(BASE)), 'all').units, []);
    assert.equal(planTransaction(desired(BASE), emptyKernelState(), 'all').units.length, 5);
  });

  test('a timeout set is declared with the rules that use it; its learned elements are never diffed', () => {
    const spec: TableSpec = {
      sets: [{ name: 'cali40d-x', type: 'ipv4_addr', interval: false, timeout: true, elements: [] }],
      maps: [],
      chains: [{ name: 'filter-cali-po-p', rules: ['ip daddr @cali40d-x accept'] }],
    };
    const ops = transactionOps(planTransaction(desired(spec), emptyKernelState(), 'all'));
    assert.deepEqual(ops.slice(0, 3), [
      { kind: 'addTable' },
      { kind: 'addSet', name: 'cali40d-x', type: 'ipv4_addr', interval: false, timeout: true },
      { kind: 'addChain', name: 'filter-cali-po-p', hook: undefined },
    ]);
    const learned = (val: string, t: number) => ({ elem: { val, timeout: t, expires: t - 1 } });
    const programmed = describeProgrammed(spec);
    const withLearned = (elem: unknown[]): KernelTableJson => ({
      ...programmed,
      sets: { 'cali40d-x': { type: 'ipv4_addr', flags: ['timeout'], elem } },
    });
    // Learned elements: in sync, whatever they are.
    const kernel = kernelOf(withLearned([learned('10.0.0.1', 30), learned('10.0.0.2', 5)]));
    assert.deepEqual(planTransaction(desired(spec), kernel, 'all').units, []);
    assert.deepEqual(
      planTransaction(desired(spec), kernel, { ...NONE, sets: new Set(['cali40d-x']) }).units,
      [],
    );
    // An element that would never expire is not ours: deleted, and nothing else.
    const leak = kernelOf(withLearned([learned('10.0.0.1', 30), '10.0.0.9']));
    const plan = planTransaction(desired(spec), leak, 'all');
    assert.deepEqual(transactionOps(plan), [
      { kind: 'addTable' },
      { kind: 'deleteElements', set: 'cali40d-x', type: 'ipv4_addr', elements: ['10.0.0.9'] },
    ]);
    // A plain set of that name (another type of set) is recreated, with the chains using it.
    const plain = kernelOf({
      ...programmed,
      sets: { 'cali40d-x': { type: 'ipv4_addr', elem: ['10.0.0.1'] } },
    });
    const recreate = planTransaction(desired(spec), plain, 'all');
    assert.deepEqual(
      recreate.units.map((u) => u.label),
      ['set cali40d-x + chain filter-cali-po-p'],
    );
    assert.ok(
      transactionOps(recreate).some((op) => op.kind === 'addSet' && op.timeout && op.name === 'cali40d-x'),
    );
    // ... and the other way round.
    const plainSpec: TableSpec = {
      ...spec,
      sets: [{ ...spec.sets[0]!, timeout: false, elements: ['10.0.0.1'] }],
    };
    assert.deepEqual(
      planTransaction(desired(plainSpec), kernel, 'all').units.map((u) => u.label),
      ['set cali40d-x + chain filter-cali-po-p'],
    );
    // A timeout set nobody wants any more is swept like any set.
    const gone: TableSpec = { ...spec, sets: [], chains: [] };
    assert.deepEqual(
      planTransaction(desired(gone), kernel, 'all').units.map((u) => u.label),
      ['chain filter-cali-po-p', 'set cali40d-x'],
    );
  });

  test('an object nft text cannot name makes the plan a rebuild from scratch', () => {
    const kernel = kernelOf({ ...describeProgrammed(BASE), chains: { 'we ird': { rules: [] } } });
    const plan = planTransaction(desired(BASE), kernel, 'all');
    assert.equal(plan.rebuild, true);
    assert.deepEqual(transactionOps(plan).slice(0, 3), [
      { kind: 'addTable' },
      { kind: 'deleteTable' },
      { kind: 'addTable' },
    ]);
  });
});
