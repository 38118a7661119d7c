/** Conformance: CRUD, errors, compare-and-swap under concurrency, delete preconditions, list, applyMany. */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import type { Backend, Resource } from '../api.js';
import { TEST_TIMEOUT_MS, type SuiteContext } from './suite.js';
import { gnp, np, specOf } from './fixtures.js';

const opts = { timeout: TEST_TIMEOUT_MS };

function hasCode(code: string): (e: unknown) => boolean {
  return (e) => {
    assert.ok(e instanceof Error && 'code' in e, `expected a CalicoError, got ${String(e)}`);
    assert.equal(e.code, code);
    return true;
  };
}

export function registerCrudTests(ctx: SuiteContext): void {
  void it(
    'create stamps metadata; get returns it; duplicates and missing keys fail with codes',
    opts,
    async (t) => {
      const { backend } = await ctx.fresh(t);
      const input = gnp('p1', 5);
      const created = await backend.create(input);
      assert.equal(input.metadata.resourceVersion, undefined, 'input must not be mutated');
      assert.match(created.metadata.resourceVersion ?? '', /^[1-9]\d*$/);
      assert.match(
        created.metadata.uid ?? '',
        /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/,
      );
      assert.match(created.metadata.creationTimestamp ?? '', /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
      assert.deepEqual(created.spec, { order: 5 });
      assert.deepEqual(await backend.get({ kind: 'GlobalNetworkPolicy', name: 'p1' }), created);
      await assert.rejects(backend.create(gnp('p1', 6)), hasCode('CALICO_ERR_ALREADY_EXISTS'));
      await assert.rejects(
        backend.get({ kind: 'GlobalNetworkPolicy', name: 'nope' }),
        hasCode('CALICO_ERR_NOT_FOUND'),
      );
      const other = await backend.create(gnp('p2'));
      assert.notEqual(other.metadata.uid, created.metadata.uid);
      assert.ok(Number(other.metadata.resourceVersion) > Number(created.metadata.resourceVersion));
    },
  );

  void it(
    'update is a CAS on resourceVersion, unconditional without it, and keeps uid/creationTimestamp',
    opts,
    async (t) => {
      const { backend } = await ctx.fresh(t);
      const v1 = await backend.create(np('ns1', 'a', 1));
      const v2 = await backend.update({
        ...v1,
        metadata: { ...v1.metadata, uid: 'forged' },
        spec: { order: 2 },
      });
      assert.ok(Number(v2.metadata.resourceVersion) > Number(v1.metadata.resourceVersion));
      assert.equal(v2.metadata.uid, v1.metadata.uid);
      assert.equal(v2.metadata.creationTimestamp, v1.metadata.creationTimestamp);
      await assert.rejects(backend.update({ ...v1, spec: { order: 3 } }), hasCode('CALICO_ERR_CONFLICT'));
      await assert.rejects(
        backend.update({ ...v1, metadata: { ...v1.metadata, resourceVersion: 'garbage' } }),
        hasCode('CALICO_ERR_CONFLICT'),
      );
      const noRv = { ...v1.metadata };
      delete noRv.resourceVersion;
      const v3: Resource = await backend.update({ ...v1, metadata: noRv, spec: { order: 4 } });
      assert.deepEqual(specOf(await backend.get({ kind: 'NetworkPolicy', namespace: 'ns1', name: 'a' })), {
        order: 4,
      });
      assert.ok(Number(v3.metadata.resourceVersion) > Number(v2.metadata.resourceVersion));
      await assert.rejects(backend.update(np('ns1', 'missing')), hasCode('CALICO_ERR_NOT_FOUND'));
    },
  );

  void it(
    'delete honours resourceVersion and uid preconditions and returns the last value',
    opts,
    async (t) => {
      const { backend } = await ctx.fresh(t);
      const key = { kind: 'NetworkPolicy', namespace: 'ns1', name: 'd' };
      const v1 = await backend.create(np('ns1', 'd'));
      const v2 = await backend.update({ ...v1, spec: { order: 9 } });
      await assert.rejects(
        backend.delete(key, { resourceVersion: v1.metadata.resourceVersion! }),
        hasCode('CALICO_ERR_CONFLICT'),
      );
      await assert.rejects(backend.delete(key, { uid: 'not-the-uid' }), hasCode('CALICO_ERR_CONFLICT'));
      const gone = await backend.delete(key, {
        resourceVersion: v2.metadata.resourceVersion!,
        uid: v1.metadata.uid!,
      });
      assert.deepEqual(gone, v2);
      await assert.rejects(backend.get(key), hasCode('CALICO_ERR_NOT_FOUND'));
      await assert.rejects(backend.delete(key), hasCode('CALICO_ERR_NOT_FOUND'));
      // Re-created under the same name: a new uid, so a stale uid precondition no longer matches.
      const again = await backend.create(np('ns1', 'd'));
      assert.notEqual(again.metadata.uid, v1.metadata.uid);
      await assert.rejects(backend.delete(key, { uid: v1.metadata.uid! }), hasCode('CALICO_ERR_CONFLICT'));
      await backend.delete(key);
    },
  );

  void it(
    'list filters by kind and namespace, sorts by namespace/name and reports its revision',
    opts,
    async (t) => {
      const { backend } = await ctx.fresh(t);
      for (const [ns, name] of [
        ['b', 'x'],
        ['a', 'y'],
        ['a-b', 'z'],
        ['a', 'x'],
      ] as const)
        await backend.create(np(ns, name));
      await backend.create(gnp('g1'));
      const knp = await backend.create({
        apiVersion: 'networking.k8s.io/v1',
        kind: 'NetworkPolicy',
        metadata: { namespace: 'a', name: 'x' },
        spec: { podSelector: {} },
      } as Resource);
      const all = await backend.list({ kind: 'NetworkPolicy' });
      assert.deepEqual(
        all.items.map((i) => `${i.metadata.namespace}/${i.metadata.name}`),
        ['a-b/z', 'a/x', 'a/y', 'b/x'],
      );
      assert.ok(all.revision >= Math.max(...all.items.map((i) => Number(i.metadata.resourceVersion))));
      const inA = await backend.list({ kind: 'NetworkPolicy', namespace: 'a' });
      assert.deepEqual(
        inA.items.map((i) => i.metadata.name),
        ['x', 'y'],
      );
      assert.deepEqual((await backend.list({ kind: 'NetworkPolicy', namespace: 'zzz' })).items, []);
      assert.deepEqual(
        (await backend.list({ kind: 'GlobalNetworkPolicy' })).items.map((i) => i.metadata.name),
        ['g1'],
      );
      const knps = await backend.list({ kind: 'KubernetesNetworkPolicy' });
      assert.deepEqual(knps.items, [knp], 'k8s NetworkPolicy is stored under its internal kind');
      assert.equal(knps.items[0]?.kind, 'NetworkPolicy');
      assert.deepEqual(
        await backend.get({ kind: 'KubernetesNetworkPolicy', namespace: 'a', name: 'x' }),
        knp,
      );
    },
  );

  void it('rejects bad keys: unknown kind, missing or superfluous namespace', opts, async (t) => {
    const { backend } = await ctx.fresh(t);
    const validation = hasCode('CALICO_ERR_VALIDATION');
    await assert.rejects(backend.get({ kind: 'NoSuchKind', name: 'x' }), validation);
    await assert.rejects(
      backend.create({ apiVersion: 'projectcalico.org/v3', kind: 'NetworkPolicy', metadata: { name: 'x' } }),
      validation,
    );
    await assert.rejects(
      backend.get({ kind: 'GlobalNetworkPolicy', namespace: 'ns', name: 'x' }),
      validation,
    );
    await assert.rejects(backend.list({ kind: 'GlobalNetworkPolicy', namespace: 'ns' }), validation);
    await assert.rejects(backend.get({ kind: 'GlobalNetworkPolicy', name: 'a/b' }), validation);
  });

  void it('concurrent CAS updates from several clients: exactly one wins per revision', opts, async (t) => {
    const { backend, connect } = await ctx.fresh(t);
    const clients = [backend, await connect(), await connect()];
    let current = await backend.create(gnp('cas', 0));
    for (let round = 1; round <= 10; round++) {
      const base = current;
      const attempts = Array.from({ length: 9 }, (_, i) =>
        clients[i % clients.length]!.update({ ...base, spec: { order: round * 100 + i } }),
      );
      const results = await Promise.allSettled(attempts);
      const won = results.filter((r) => r.status === 'fulfilled');
      assert.equal(won.length, 1, `round ${round}: exactly one writer must win`);
      for (const r of results) if (r.status === 'rejected') hasCode('CALICO_ERR_CONFLICT')(r.reason);
      current = won[0]!.value;
      assert.deepEqual(await backend.get({ kind: 'GlobalNetworkPolicy', name: 'cas' }), current);
    }
  });

  void it('read-modify-CAS loops from concurrent clients lose no increment', opts, async (t) => {
    const { backend, connect } = await ctx.fresh(t);
    const clients = [backend, await connect()];
    await backend.create(gnp('counter', 0));
    const key = { kind: 'GlobalNetworkPolicy', name: 'counter' };
    const winners: string[] = [];
    const increment = async (c: Backend): Promise<void> => {
      for (;;) {
        const cur = (await c.get(key)) as Resource & { spec: { order: number } };
        try {
          const next = await c.update({ ...cur, spec: { order: cur.spec.order + 1 } });
          winners.push(next.metadata.resourceVersion!);
          return;
        } catch (e) {
          hasCode('CALICO_ERR_CONFLICT')(e);
        }
      }
    };
    await Promise.all(
      Array.from({ length: 6 }, async (_, w) => {
        for (let i = 0; i < 10; i++) await increment(clients[w % 2]!);
      }),
    );
    assert.deepEqual(specOf(await backend.get(key)), { order: 60 });
    assert.equal(new Set(winners).size, 60, 'every successful update has its own revision');
  });

  void it(
    'applyMany creates and replaces in chunks, keeping identities, last duplicate wins',
    opts,
    async (t) => {
      const { backend } = await ctx.fresh(t);
      const existing = await backend.create(np('bulk', 'n0', 1));
      const objs = Array.from({ length: 300 }, (_, i) => np('bulk', `n${i}`, i + 1000));
      objs.push(np('bulk', 'n1', 42));
      const stored = await backend.applyMany(objs);
      assert.equal(stored.length, objs.length);
      stored.forEach((s, i) => {
        assert.equal(s.metadata.name, objs[i]!.metadata.name);
        assert.match(s.metadata.resourceVersion ?? '', /^\d+$/);
      });
      assert.equal(stored[0]!.metadata.uid, existing.metadata.uid, 'replacing keeps the uid');
      assert.equal(stored[0]!.metadata.creationTimestamp, existing.metadata.creationTimestamp);
      assert.equal(stored.at(-1)!.metadata.uid, stored[1]!.metadata.uid, 'same object, same uid');
      const listed = await backend.list({ kind: 'NetworkPolicy', namespace: 'bulk' });
      assert.equal(listed.items.length, 300);
      assert.deepEqual(specOf(await backend.get({ kind: 'NetworkPolicy', namespace: 'bulk', name: 'n1' })), {
        order: 42,
      });
      assert.deepEqual(await backend.applyMany([]), []);
    },
  );

  void it('an aborted signal rejects the call', opts, async (t) => {
    const { backend } = await ctx.fresh(t);
    const signal = AbortSignal.abort();
    await assert.rejects(backend.get({ kind: 'GlobalNetworkPolicy', name: 'x' }, { signal }), {
      name: 'AbortError',
    });
    await assert.rejects(backend.create(gnp('x'), { signal }), { name: 'AbortError' });
    await assert.rejects(
      backend.get({ kind: 'GlobalNetworkPolicy', name: 'x' }),
      hasCode('CALICO_ERR_NOT_FOUND'),
    );
  });
}
