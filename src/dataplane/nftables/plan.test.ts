import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { compileTable, type DesiredState } from './compile.js';
import { emptyKernelState, parseNftJson, type KernelState } from './kernel-state.js';
import type { TableSpec } from './model.js';
import { planTransaction, transactionOps } from './plan.js';
import { describeProgrammed, nftJson, type KernelTableJson } from './testing/nft-json.js';

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
