import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { applyPatch, jsonPatch, mergePatch } from './patching.js';

describe('merge patch (RFC 7386)', () => {
  it('merges objects, replaces lists and removes nulls', () => {
    const target = { a: 1, b: { c: 2, d: 3 }, l: [1, 2] };
    assert.deepEqual(mergePatch(target, { b: { c: null, e: 4 }, l: [3], n: 'x' }), {
      a: 1,
      b: { d: 3, e: 4 },
      l: [3],
      n: 'x',
    });
    assert.deepEqual(target, { a: 1, b: { c: 2, d: 3 }, l: [1, 2] }, 'the target is not changed');
    assert.deepEqual(applyPatch({ a: 1 }, [1], 'merge'), {
      ok: false,
      error: 'a merge patch must be an object',
    });
  });
});

describe('JSON patch (RFC 6902)', () => {
  const doc = { spec: { ingress: [{ action: 'Allow' }, { action: 'Deny' }], order: 1 }, 'a/b': { '~x': 1 } };

  it('adds, removes, replaces, moves, copies and tests', () => {
    const r = jsonPatch(doc, [
      { op: 'add', path: '/spec/ingress/-', value: { action: 'Pass' } },
      { op: 'remove', path: '/spec/ingress/0' },
      { op: 'replace', path: '/spec/order', value: 5 },
      { op: 'copy', from: '/spec/order', path: '/spec/copy' },
      { op: 'move', from: '/a~1b/~0x', path: '/moved' },
      { op: 'test', path: '/spec/ingress/0/action', value: 'Deny' },
    ]);
    assert.deepEqual(r, {
      ok: true,
      value: {
        spec: { ingress: [{ action: 'Deny' }, { action: 'Pass' }], order: 5, copy: 5 },
        'a/b': {},
        moved: 1,
      },
    });
    assert.equal(doc.spec.ingress.length, 2, 'the target is not changed');
  });

  it('fails on missing paths, bad indexes, failed tests and unknown ops', () => {
    assert.deepEqual(jsonPatch(doc, [{ op: 'remove', path: '/spec/nope' }]), {
      ok: false,
      error: 'path "/spec/nope" does not exist',
    });
    assert.equal(jsonPatch(doc, [{ op: 'add', path: '/spec/ingress/9', value: 1 }]).ok, false);
    assert.deepEqual(jsonPatch(doc, [{ op: 'test', path: '/spec/order', value: 2 }]), {
      ok: false,
      error: 'test failed at "/spec/order"',
    });
    assert.deepEqual(jsonPatch(doc, [{ op: 'frob', path: '/x' }]), {
      ok: false,
      error: 'operation 0: unknown op "frob"',
    });
    assert.equal(jsonPatch(doc, { op: 'add' }).ok, false);
  });
});
