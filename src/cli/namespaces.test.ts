import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { resolveNamespace } from './namespaces.js';

const none = { namespace: undefined, allNamespaces: false };

describe("calicoctl's namespace rules", () => {
  it('defaults namespaced kinds to the document, then -n, then default', () => {
    assert.deepEqual(resolveNamespace('NetworkPolicy', true, undefined, none), {
      ok: true,
      value: 'default',
    });
    assert.deepEqual(resolveNamespace('NetworkPolicy', true, 'a', none), { ok: true, value: 'a' });
    assert.deepEqual(resolveNamespace('NetworkPolicy', true, undefined, { ...none, namespace: 'b' }), {
      ok: true,
      value: 'b',
    });
    assert.deepEqual(resolveNamespace('NetworkPolicy', true, 'b', { ...none, namespace: 'b' }), {
      ok: true,
      value: 'b',
    });
    assert.deepEqual(resolveNamespace('NetworkPolicy', true, 'a', { ...none, allNamespaces: true }), {
      ok: true,
      value: undefined,
    });
  });

  it('rejects a mismatch, -n with -A, and namespaces on cluster-scoped kinds', () => {
    assert.deepEqual(resolveNamespace('NetworkPolicy', true, 'a', { ...none, namespace: 'b' }), {
      ok: false,
      error: 'resource namespace does not match client namespace. a != b',
    });
    assert.deepEqual(
      resolveNamespace('NetworkPolicy', true, undefined, { namespace: 'b', allNamespaces: true }),
      {
        ok: false,
        error: 'cannot use both --namespace and --all-namespaces flags at the same time',
      },
    );
    assert.deepEqual(resolveNamespace('Tier', false, undefined, { ...none, namespace: 'b' }), {
      ok: false,
      error: 'Tier is not namespaced',
    });
    assert.deepEqual(resolveNamespace('Tier', false, 'x', none), {
      ok: false,
      error:
        'namespace should not be specified for a non-namespaced resource. Tier is not a namespaced resource',
    });
    assert.deepEqual(resolveNamespace('Tier', false, undefined, none), { ok: true, value: undefined });
  });
});
