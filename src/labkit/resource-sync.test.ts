import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import type { Resource } from '../datastore/index.js';
import { openSqliteBackend } from '../datastore/sqlite/sqlite-backend.js';
import { comparable, replaceResources, stableJson } from './resource-sync.js';

const knp = (ns: string, name: string, pod: string): Resource =>
  ({
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: { namespace: ns, name },
    spec: { podSelector: { matchLabels: { pod } }, policyTypes: ['Ingress'] },
  }) as Resource;

describe('replaceResources', () => {
  const dir = mkdtempSync(join(tmpdir(), 'calts-test-'));
  after(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  test('deletes what is not wanted, writes what changed, leaves the rest untouched', async () => {
    await using backend = await openSqliteBackend({ path: join(dir, 'a.db'), synchronous: 'normal' });
    const kinds = ['KubernetesNetworkPolicy'];
    assert.deepEqual(await replaceResources(backend, kinds, [knp('x', 'p1', 'a'), knp('x', 'p2', 'b')]), {
      written: 2,
      deleted: 0,
    });
    const before = await backend.get({ kind: 'KubernetesNetworkPolicy', namespace: 'x', name: 'p1' });
    // p1 unchanged, p2 gone, p3 new, and a GlobalNetworkPolicy (another kind) is not ours to delete.
    await backend.create({
      apiVersion: 'projectcalico.org/v3',
      kind: 'GlobalNetworkPolicy',
      metadata: { name: 'g' },
      spec: {},
    } as Resource);
    assert.deepEqual(await replaceResources(backend, kinds, [knp('x', 'p1', 'a'), knp('y', 'p3', 'c')]), {
      written: 1,
      deleted: 1,
    });
    const after1 = await backend.get({ kind: 'KubernetesNetworkPolicy', namespace: 'x', name: 'p1' });
    assert.equal(after1.metadata.resourceVersion, before.metadata.resourceVersion);
    const { items } = await backend.list({ kind: 'KubernetesNetworkPolicy' });
    assert.deepEqual(
      items.map((i) => `${i.metadata.namespace}/${i.metadata.name}`),
      ['x/p1', 'y/p3'],
    );
    assert.equal((await backend.list({ kind: 'GlobalNetworkPolicy' })).items.length, 1);
    // A changed spec is rewritten.
    assert.deepEqual(await replaceResources(backend, kinds, [knp('x', 'p1', 'z'), knp('y', 'p3', 'c')]), {
      written: 1,
      deleted: 0,
    });
  });

  test('comparison ignores key order and store-stamped metadata', () => {
    const a = knp('x', 'p', 'a');
    const stored = { ...a, metadata: { ...a.metadata, uid: 'u', resourceVersion: '7' } } as Resource;
    assert.equal(comparable(a), comparable(stored));
    assert.equal(stableJson({ b: 1, a: [1, { d: undefined, c: 2 }] }), '{"a":[1,{"c":2}],"b":1}');
  });
});
