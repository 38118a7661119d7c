/**
 * Conformance: the syncer over bad stored values (its validation filter, keep-last-good) and over a datastore
 * that goes away. Consumers keep the last good version of a key whose value turns bad, never see a key that
 * was never good, see fixes and deletes; a resync never turns a bad key into a delete; a new syncer finds a
 * bad key's last good version in the history; losing the server is reported and changes nothing delivered.
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import type { ResourceKey } from '../api.js';
import { keyString } from '../resource.js';
import { type DatastoreEvent, type InvalidResource } from '../syncer.js';
import { GatedBackend } from './conformance-watch.js';
import {
  STATUSES_AFTER_ONE_RESYNC,
  SyncerRecorder,
  gnp,
  snapshot,
  specOf,
  startRecordedSyncer,
  viewVersions,
  waitFor,
} from './fixtures.js';
import { writeRawValue } from './raw.js';
import { TEST_TIMEOUT_MS, optedOut, type SuiteContext } from './suite.js';

const opts = { timeout: TEST_TIMEOUT_MS };
const GNP = 'GlobalNetworkPolicy';
const gnpKey = (name: string): ResourceKey => ({ kind: GNP, name });

function invalidEvents(events: readonly DatastoreEvent[], name?: string): InvalidResource[] {
  return events.flatMap((e) =>
    e.type === 'invalid' && (name === undefined || e.resource.key.name === name) ? [e.resource] : [],
  );
}

function resolved(events: readonly DatastoreEvent[], name: string): string[] {
  return events.flatMap((e) => (e.type === 'resolved' && e.key.name === name ? [e.reason] : []));
}

function orderOf(rec: SyncerRecorder, name: string): unknown {
  const v = rec.view.get(keyString(gnpKey(name)));
  return v === undefined ? undefined : (specOf(v) as { order?: unknown }).order;
}

export function registerHeldTests(ctx: SuiteContext): void {
  void it(
    'syncer: a value turned bad keeps its last good version, a never-good key is not applied, fixes and deletes pass',
    opts,
    async (t) => {
      if (optedOut(ctx, t, 'noRawValues')) return;
      const { backend, config } = await ctx.fresh(t);
      const { rec, syncer } = startRecordedSyncer(t, backend, { kinds: [GNP] });
      const good = Number((await backend.create(gnp('keep', 1))).metadata.resourceVersion);
      await waitFor(() => orderOf(rec, 'keep') === 1, 'the good version');

      const badJson = await writeRawValue(config, gnpKey('keep'), '{"apiVersion": truncated');
      await waitFor(() => invalidEvents(rec.events, 'keep').length === 1, 'the bad JSON reported');
      // A value that is JSON and a resource, but does not validate (the backend stores it as given).
      const badSpec = Number(
        (await backend.update({ ...gnp('keep'), spec: { order: 'high', selector: 'a ==' } })).metadata
          .resourceVersion,
      );
      await waitFor(() => invalidEvents(rec.events, 'keep').length === 2, 'the invalid spec reported');
      const [first, second] = invalidEvents(rec.events, 'keep');
      assert.deepEqual(
        { revision: first?.revision, lastGood: first?.lastGoodRevision },
        { revision: badJson, lastGood: good },
      );
      assert.match(first?.problem ?? '', /^invalid JSON/);
      assert.deepEqual(
        { revision: second?.revision, lastGood: second?.lastGoodRevision },
        { revision: badSpec, lastGood: good },
      );
      assert.match(second?.problem ?? '', /^invalid GlobalNetworkPolicy: spec\.order: .*; spec\.selector: /);
      assert.equal(orderOf(rec, 'keep'), 1, 'consumers keep the last good version');

      await writeRawValue(config, gnpKey('never'), 'null');
      await waitFor(() => invalidEvents(rec.events, 'never').length === 1, 'the never-good key reported');
      assert.equal(invalidEvents(rec.events, 'never')[0]?.lastGoodRevision, undefined);
      assert.deepEqual(
        syncer.invalidResources().map((r) => [r.key.name, r.revision]),
        [
          ['keep', badSpec],
          ['never', invalidEvents(rec.events, 'never')[0]?.revision],
        ],
      );

      await backend.update(gnp('keep', 3));
      await waitFor(() => orderOf(rec, 'keep') === 3, 'the fix');
      assert.deepEqual(resolved(rec.events, 'keep'), ['valid']);
      await backend.delete(gnpKey('never'));
      await waitFor(() => resolved(rec.events, 'never').length === 1, 'the bad key deleted');
      assert.deepEqual(resolved(rec.events, 'never'), ['deleted']);

      await writeRawValue(config, gnpKey('keep'), '"just a string"');
      await waitFor(() => invalidEvents(rec.events, 'keep').length === 3, 'bad again');
      await backend.delete(gnpKey('keep'));
      await waitFor(() => !rec.view.has(keyString(gnpKey('keep'))), 'the delete of a held key');
      assert.deepEqual(resolved(rec.events, 'keep'), ['valid', 'deleted']);
      assert.deepEqual(syncer.invalidResources(), []);
      // Consumers never saw anything of `never`, and every update they got validates.
      assert.equal(
        rec.updates.some((u) => u.key.name === 'never'),
        false,
      );
      const reported = invalidEvents(rec.events).map((r) => `${r.key.name}@${r.revision}`);
      assert.equal(new Set(reported).size, reported.length, 'each bad (key, revision) reported once');
    },
  );

  void it('syncer: a resync keeps a bad key held instead of deleting it', opts, async (t) => {
    if (optedOut(ctx, t, 'noRawValues')) return;
    const { backend, config } = await ctx.fresh(t);
    const held = Number((await backend.create(gnp('held', 1))).metadata.resourceVersion);
    const gated = new GatedBackend(backend);
    const { rec } = startRecordedSyncer(t, gated, {
      kinds: [GNP],
      retryDelayMs: { min: 10, max: 100 },
    });
    await waitFor(() => rec.statuses.includes('InSync') && gated.watchCalls === 1, 'first InSync');
    // While the watch is held back: corrupt the key, add another, compact the history the watch needs.
    const bad = await writeRawValue(config, gnpKey('held'), '{');
    await backend.create(gnp('other'));
    await backend.compact(await backend.currentRevision());
    gated.release();
    await waitFor(() => rec.inSyncAt.length >= 2, 'the resync');
    const resync = rec.updates.slice(rec.inSyncAt[0], rec.inSyncAt[1]);
    assert.deepEqual(
      resync.map((u) => `${u.type} ${u.key.name}`),
      ['set other'],
    );
    assert.equal(orderOf(rec, 'held'), 1);
    assert.deepEqual(
      invalidEvents(rec.events).map((r) => [r.key.name, r.revision, r.lastGoodRevision]),
      [['held', bad, held]],
    );
  });

  void it(
    'a new syncer over a store with bad keys: the last good version from the history, never-good ones not at all',
    opts,
    async (t) => {
      if (optedOut(ctx, t, 'noRawValues')) return;
      const { backend, config } = await ctx.fresh(t);
      const good = Number((await backend.create(gnp('was-good', 7))).metadata.resourceVersion);
      await backend.update({ ...gnp('was-good'), spec: { order: [] } }); // invalid spec
      await writeRawValue(config, gnpKey('was-good'), '{"broken": ');
      await writeRawValue(config, gnpKey('never'), '{}');
      await backend.create(gnp('fine', 2));

      const { rec, syncer } = startRecordedSyncer(t, backend, { kinds: [GNP] });
      await waitFor(() => rec.statuses.includes('InSync'), 'InSync');
      assert.equal(orderOf(rec, 'was-good'), 7, 'the last good version, two versions back');
      assert.equal(rec.view.get(keyString(gnpKey('was-good')))?.metadata.resourceVersion, String(good));
      assert.equal(orderOf(rec, 'fine'), 2);
      assert.equal(rec.view.has(keyString(gnpKey('never'))), false);
      assert.deepEqual(
        syncer.invalidResources().map((r) => [r.key.name, r.lastGoodRevision]),
        [
          ['never', undefined],
          ['was-good', good],
        ],
      );
      await syncer.stop();

      // Once the history is compacted away, there is no last good version to find: not applied, reported.
      await backend.compact(await backend.currentRevision());
      const { rec: rec2, syncer: again } = startRecordedSyncer(t, backend, { kinds: [GNP] });
      await waitFor(() => rec2.statuses.includes('InSync'), 'InSync after compaction');
      assert.deepEqual([...rec2.view.keys()], [keyString(gnpKey('fine'))]);
      assert.deepEqual(
        again.invalidResources().map((r) => [r.key.name, r.lastGoodRevision]),
        [
          ['never', undefined],
          ['was-good', undefined],
        ],
      );
    },
  );

  void it(
    'syncer: losing the datastore is reported within seconds and changes nothing delivered',
    opts,
    async (t) => {
      const server = ctx.target.server;
      if (server === undefined) {
        t.skip('the embedded store is a local file: there is no server to lose');
        return;
      }
      const { backend } = await ctx.fresh(t);
      for (const name of ['p1', 'p2']) await backend.create(gnp(name));
      const { rec, syncer } = startRecordedSyncer(t, backend, {
        kinds: [GNP],
        probeIntervalMs: 200,
        probeTimeoutMs: 1000,
      });
      await waitFor(() => rec.statuses.includes('InSync'), 'InSync');
      const connection = (): boolean[] =>
        rec.events.flatMap((e) => (e.type === 'connection' ? [e.connected] : []));
      assert.deepEqual(connection(), [true]);
      const delivered = rec.updates.length;
      const stoppedAt = performance.now();
      await server.stop();
      await waitFor(() => connection().at(-1) === false, 'the loss reported', 10_000);
      const detectMs = performance.now() - stoppedAt;
      assert.ok(detectMs < 5000, `loss noticed after ${Math.round(detectMs)} ms`);
      assert.equal(syncer.connected(), false);
      await server.start();
      await waitFor(() => connection().at(-1) === true, 'the recovery reported', 15_000);
      assert.equal(rec.updates.length, delivered, 'nothing delivered while the datastore was away');
      if (ctx.target.limits?.restartResyncs === undefined) {
        assert.deepEqual(rec.statuses, ['WaitForDatastore', 'ResyncInProgress', 'InSync'], 'no resync');
      } else {
        // The store's variant: one resync that found no difference (nothing was delivered, above).
        await waitFor(() => rec.statuses.length === 5 && rec.statuses.at(-1) === 'InSync', 'the resync');
        assert.deepEqual(rec.statuses, STATUSES_AFTER_ONE_RESYNC);
        assert.equal(rec.updates.length, delivered, 'the resync found no difference');
      }
      await backend.create(gnp('p3'));
      await waitFor(() => rec.view.has(keyString(gnpKey('p3'))), 'live after the recovery');
      assert.deepEqual(viewVersions(rec.view), await snapshot(backend, [GNP]));
    },
  );
}
