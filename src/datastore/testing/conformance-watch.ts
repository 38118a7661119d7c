/** Conformance: watches (order, gaps, duplicates, filters, resume, compaction) and the syncer on top of them. */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import type { Backend, WatchFilter, WatchHandler, WatchOptions, WatchUpdate } from '../api.js';
import { TEST_TIMEOUT_MS, optedOut, type SuiteContext } from './suite.js';
import { createSyncer } from '../syncer.js';
import {
  STATUSES_AFTER_ONE_RESYNC,
  SyncerRecorder,
  WatchRecorder,
  gnp,
  np,
  snapshot,
  startRecordedSyncer,
  viewVersions,
  waitFor,
} from './fixtures.js';

const opts = { timeout: TEST_TIMEOUT_MS };

/** The revision a watch must start from to see every change made after this call. */
async function nextRevision(b: Backend): Promise<number> {
  return (await b.list({ kind: 'Tier' })).revision + 1;
}

function describeUpdate(u: WatchUpdate): string {
  return `${u.type} ${u.key.kind}/${u.key.namespace ?? ''}/${u.key.name}`;
}

function assertStrictlyIncreasing(updates: readonly WatchUpdate[]): void {
  for (let i = 1; i < updates.length; i++) {
    assert.ok(
      updates[i]!.revision > updates[i - 1]!.revision,
      `revision order at ${i}: ${updates.map((u) => u.revision).join(',')}`,
    );
  }
}

/**
 * The updates in the order the store promises to compare them: as delivered, or, where a watch orders per
 * kind only (`limits.watchOrderPerKind`), checked per kind and then merged by revision.
 */
export function inStoreOrder(ctx: SuiteContext, updates: readonly WatchUpdate[]): WatchUpdate[] {
  if (ctx.target.limits?.watchOrderPerKind === undefined) return [...updates];
  const kinds = new Set(updates.map((u) => u.key.kind));
  for (const kind of kinds) assertStrictlyIncreasing(updates.filter((u) => u.key.kind === kind));
  return [...updates].sort((a, b) => a.revision - b.revision);
}

/** A Backend whose first watch() call is held until `release()`: makes a syncer fall behind on purpose. */
export class GatedBackend implements Backend {
  readonly type: Backend['type'];
  readonly #inner: Backend;
  #release: () => void = () => undefined;
  readonly #gate = new Promise<void>((resolve) => {
    this.#release = resolve;
  });
  #gated = true;
  watchCalls = 0;

  constructor(inner: Backend) {
    this.#inner = inner;
    this.type = inner.type;
  }
  release(): void {
    this.#release();
  }
  get: Backend['get'] = (k, o) => this.#inner.get(k, o);
  list: Backend['list'] = (f, o) => this.#inner.list(f, o);
  create: Backend['create'] = (x, o) => this.#inner.create(x, o);
  update: Backend['update'] = (x, o) => this.#inner.update(x, o);
  delete: Backend['delete'] = (k, o) => this.#inner.delete(k, o);
  applyMany: Backend['applyMany'] = (x, o) => this.#inner.applyMany(x, o);
  compact: Backend['compact'] = (r, o) => this.#inner.compact(r, o);
  valueAt: Backend['valueAt'] = (k, r, o) => this.#inner.valueAt(k, r, o);
  currentRevision: Backend['currentRevision'] = (o) => this.#inner.currentRevision(o);
  close: Backend['close'] = () => this.#inner.close();
  [Symbol.asyncDispose] = (): Promise<void> => this.#inner.close();
  watch = async (f: WatchFilter, h: WatchHandler, o: WatchOptions): Promise<void> => {
    this.watchCalls++;
    if (this.#gated) {
      this.#gated = false;
      await this.#gate;
    }
    return this.#inner.watch(f, h, o);
  };
}

export function registerWatchTests(ctx: SuiteContext): void {
  void it('watch from a revision delivers exactly the later changes, in revision order', opts, async (t) => {
    const { backend } = await ctx.fresh(t);
    await backend.create(gnp('a'));
    const b = await backend.create(gnp('b'));
    const a2 = await backend.update({ ...gnp('a', 2) });
    await backend.delete({ kind: 'GlobalNetworkPolicy', name: 'b' });
    const c = await backend.create(gnp('c'));
    const x = await backend.create(np('ns1', 'x'));
    const rec = new WatchRecorder();
    const stop = new AbortController();
    t.after(() => {
      stop.abort();
    });
    await backend.watch({ fromRevision: Number(a2.metadata.resourceVersion) }, rec.handler, {
      signal: stop.signal,
    });
    await waitFor(() => rec.updates.length >= 4, '4 updates');
    const updates = inStoreOrder(ctx, rec.updates);
    assert.deepEqual(updates.map(describeUpdate), [
      'set GlobalNetworkPolicy//a',
      'deleted GlobalNetworkPolicy//b',
      'set GlobalNetworkPolicy//c',
      'set NetworkPolicy/ns1/x',
    ]);
    assertStrictlyIncreasing(updates);
    for (const u of updates)
      if (u.type === 'set') assert.equal(u.value.metadata.resourceVersion, String(u.revision));
    assert.deepEqual(updates[0]?.type === 'set' ? updates[0].value : undefined, a2);
    assert.ok(updates[1]!.revision > Number(b.metadata.resourceVersion));
    assert.deepEqual(
      updates.slice(2).map((u) => u.revision),
      [c, x].map((o) => Number(o.metadata.resourceVersion)),
    );
    assert.deepEqual(rec.errors, []);
  });

  void it('a live watch sees concurrent writers exactly once each, in revision order', opts, async (t) => {
    const { backend, connect } = await ctx.fresh(t);
    const other = await connect();
    const rec = new WatchRecorder();
    const stop = new AbortController();
    t.after(() => {
      stop.abort();
    });
    await backend.watch({ fromRevision: await nextRevision(backend) }, rec.handler, { signal: stop.signal });
    const revisions: number[] = [];
    await Promise.all(
      [backend, other].map(async (client, w) => {
        for (let i = 0; i < 15; i++) {
          const created = await client.create(np(`w${w}`, `o${i}`));
          revisions.push(Number(created.metadata.resourceVersion));
          const updated = await client.update({ ...created, spec: { order: 7 } });
          revisions.push(Number(updated.metadata.resourceVersion));
        }
      }),
    );
    await waitFor(() => rec.updates.length >= revisions.length, `${revisions.length} updates`);
    assertStrictlyIncreasing(rec.updates);
    assert.deepEqual(
      rec.updates.map((u) => u.revision),
      [...revisions].sort((p, q) => p - q),
    );
  });

  void it('watch filters by kind and by namespace', opts, async (t) => {
    const { backend } = await ctx.fresh(t);
    const from = await nextRevision(backend);
    const stop = new AbortController();
    t.after(() => {
      stop.abort();
    });
    const [all, nps, inA] = [new WatchRecorder(), new WatchRecorder(), new WatchRecorder()];
    await backend.watch({ fromRevision: from }, all.handler, { signal: stop.signal });
    await backend.watch({ kind: 'NetworkPolicy', fromRevision: from }, nps.handler, { signal: stop.signal });
    await backend.watch({ kind: 'NetworkPolicy', namespace: 'a', fromRevision: from }, inA.handler, {
      signal: stop.signal,
    });
    await backend.create(np('a', 'one'));
    await backend.create(np('b', 'two'));
    await backend.create(gnp('three'));
    await backend.create(np('ab', 'four'));
    await backend.create(np('a', 'last'));
    await waitFor(
      () => inA.updates.length >= 2 && nps.updates.length >= 4 && all.updates.length >= 5,
      'all updates',
    );
    assert.deepEqual(
      inA.updates.map((u) => u.key.name),
      ['one', 'last'],
    );
    assert.deepEqual(
      nps.updates.map((u) => u.key.name),
      ['one', 'two', 'four', 'last'],
    );
    assert.deepEqual(
      inStoreOrder(ctx, all.updates).map((u) => u.key.name),
      ['one', 'two', 'three', 'four', 'last'],
    );
  });

  void it('a stopped watch resumes from last revision + 1 without gaps or duplicates', opts, async (t) => {
    const { backend } = await ctx.fresh(t);
    const first = new WatchRecorder();
    const stop1 = new AbortController();
    await backend.watch({ fromRevision: await nextRevision(backend) }, first.handler, {
      signal: stop1.signal,
    });
    for (let i = 0; i < 10; i++) await backend.create(gnp(`r${i}`));
    await waitFor(() => first.updates.length >= 10, 'first 10');
    stop1.abort();
    for (let i = 10; i < 20; i++) await backend.create(gnp(`r${i}`));
    const second = new WatchRecorder();
    const stop2 = new AbortController();
    t.after(() => {
      stop2.abort();
    });
    const resumeAt = first.updates.at(-1)!.revision + 1;
    await backend.watch({ fromRevision: resumeAt }, second.handler, { signal: stop2.signal });
    await waitFor(() => second.updates.length >= 10, 'next 10');
    const names = [...first.updates, ...second.updates].map((u) => u.key.name);
    assert.deepEqual(
      names,
      Array.from({ length: 20 }, (_, i) => `r${i}`),
    );
    assertStrictlyIncreasing([...first.updates, ...second.updates]);
    assert.equal(first.updates.length, 10, 'no delivery after abort');
  });

  void it(
    'watching below the compaction revision fails with compacted; from it onwards works',
    opts,
    async (t) => {
      if (optedOut(ctx, t, 'noCompaction')) return;
      const { backend } = await ctx.fresh(t);
      const revs: number[] = [];
      for (let i = 0; i < 5; i++)
        revs.push(Number((await backend.create(gnp(`c${i}`))).metadata.resourceVersion));
      await backend.compact(revs[3]!);
      await backend.compact(revs[1]!); // below the current compaction: a no-op
      const stop = new AbortController();
      t.after(() => {
        stop.abort();
      });
      const old = new WatchRecorder();
      await backend.watch({ fromRevision: revs[0]! }, old.handler, { signal: stop.signal });
      await waitFor(() => old.errors.length > 0, 'compacted error');
      const [error] = old.errors;
      assert.ok(error?.reason === 'compacted', `expected a compacted error, got ${JSON.stringify(error)}`);
      assert.equal(error.compactRevision, revs[3]);
      assert.deepEqual(old.updates, []);
      const ok = new WatchRecorder();
      await backend.watch({ fromRevision: revs[3]! }, ok.handler, { signal: stop.signal });
      await waitFor(() => ok.updates.length >= 2, 'updates after compaction');
      assert.deepEqual(
        ok.updates.map((u) => u.key.name),
        ['c3', 'c4'],
      );
      assert.equal(
        (await backend.list({ kind: 'GlobalNetworkPolicy' })).items.length,
        5,
        'state survives compaction',
      );
    },
  );

  void it(
    'syncer: WaitForDatastore -> ResyncInProgress -> InSync, snapshot first, then ordered updates',
    opts,
    async (t) => {
      const { backend } = await ctx.fresh(t);
      const kinds = ['GlobalNetworkPolicy', 'NetworkPolicy'];
      for (const name of ['g1', 'g2', 'g3']) await backend.create(gnp(name));
      await backend.create(np('a', 'n1'));
      const n2 = await backend.create(np('b', 'n2'));
      await backend.create({
        apiVersion: 'projectcalico.org/v3',
        kind: 'Tier',
        metadata: { name: 't1' },
        spec: {},
      });
      const { rec } = startRecordedSyncer(t, backend, { kinds, maxBatchSize: 2 });
      await waitFor(() => rec.statuses.includes('InSync'), 'InSync');
      assert.deepEqual(rec.statuses, ['WaitForDatastore', 'ResyncInProgress', 'InSync']);
      assert.equal(rec.inSyncAt[0], 5, 'the whole snapshot precedes InSync');
      await backend.update({ ...n2, spec: { order: 3 } });
      await backend.delete({ kind: 'GlobalNetworkPolicy', name: 'g2' });
      await backend.create(np('a', 'n3'));
      await backend.create({
        apiVersion: 'projectcalico.org/v3',
        kind: 'Tier',
        metadata: { name: 't2' },
        spec: {},
      });
      const last = await backend.create(gnp('g4'));
      await waitFor(() => rec.view.get('GlobalNetworkPolicy/g4') !== undefined, 'last update');
      const streamed = rec.updates.slice(rec.inSyncAt[0]);
      assert.deepEqual(streamed.map(describeUpdate), [
        'set NetworkPolicy/b/n2',
        'deleted GlobalNetworkPolicy//g2',
        'set NetworkPolicy/a/n3',
        'set GlobalNetworkPolicy//g4',
      ]);
      assertStrictlyIncreasing(streamed);
      assert.equal(streamed.at(-1)?.revision, Number(last.metadata.resourceVersion));
      assert.deepEqual(viewVersions(rec.view), await snapshot(backend, kinds));
    },
  );

  void it(
    'syncer resyncs after its watch falls behind a compaction, emitting only differences',
    opts,
    async (t) => {
      if (optedOut(ctx, t, 'noCompaction')) return;
      const { backend } = await ctx.fresh(t);
      const kinds = ['GlobalNetworkPolicy', 'NetworkPolicy'];
      const a = await backend.create(gnp('a'));
      await backend.create(gnp('b'));
      await backend.create(np('ns', 'c'));
      const gated = new GatedBackend(backend);
      const { rec } = startRecordedSyncer(t, gated, { kinds, retryDelayMs: { min: 10, max: 100 } });
      await waitFor(() => rec.statuses.includes('InSync') && gated.watchCalls === 1, 'first InSync');
      // While the syncer's watch is held back: change things and compact the history it needs.
      await backend.update({ ...a, spec: { order: 2 } });
      await backend.delete({ kind: 'GlobalNetworkPolicy', name: 'b' });
      const d = await backend.create(np('ns', 'd'));
      await backend.compact(Number(d.metadata.resourceVersion));
      gated.release();
      await waitFor(() => rec.inSyncAt.length >= 2, 'second InSync');
      assert.deepEqual(rec.statuses, STATUSES_AFTER_ONE_RESYNC);
      const resync = rec.updates.slice(rec.inSyncAt[0], rec.inSyncAt[1]).map(describeUpdate).sort();
      assert.deepEqual(resync, [
        'deleted GlobalNetworkPolicy//b',
        'set GlobalNetworkPolicy//a',
        'set NetworkPolicy/ns/d',
      ]);
      assert.deepEqual(viewVersions(rec.view), await snapshot(backend, kinds));
      await backend.create(gnp('e'));
      await waitFor(() => rec.view.has('GlobalNetworkPolicy/e'), 'live after resync');
      assert.deepEqual(viewVersions(rec.view), await snapshot(backend, kinds));
    },
  );

  void it('syncer delivers nothing after stop()', opts, async (t) => {
    const { backend } = await ctx.fresh(t);
    const rec = new SyncerRecorder();
    const syncer = createSyncer(backend, { kinds: ['GlobalNetworkPolicy'] }, rec);
    syncer.start();
    await waitFor(() => rec.statuses.includes('InSync'), 'InSync');
    await syncer.stop();
    const probe = new WatchRecorder();
    const stop = new AbortController();
    t.after(() => {
      stop.abort();
    });
    await backend.watch({ fromRevision: await nextRevision(backend) }, probe.handler, {
      signal: stop.signal,
    });
    await backend.create(gnp('after-stop'));
    await waitFor(() => probe.updates.length > 0, 'probe watch');
    assert.equal(rec.updates.length, 0);
    assert.deepEqual(rec.statuses, ['WaitForDatastore', 'ResyncInProgress', 'InSync']);
  });
}
