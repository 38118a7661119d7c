/** Conformance across processes: a writer SIGKILLed mid-transaction, a watcher in another process, restarts. */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import type { Backend, Resource, WatchUpdate } from '../api.js';
import { TEST_TIMEOUT_MS, optedOut, type SuiteContext } from './suite.js';
import { keyString } from '../resource.js';
import {
  WatchRecorder,
  gnp,
  snapshot,
  spawnChild,
  startRecordedSyncer,
  viewVersions,
  waitFor,
} from './fixtures.js';

const opts = { timeout: TEST_TIMEOUT_MS };
const BATCH = 50;

async function nextRevision(b: Backend): Promise<number> {
  return (await b.list({ kind: 'Tier' })).revision + 1;
}

/** Folds watch updates into key -> resourceVersion of the good items (what `snapshot` lists). */
function fold(view: Map<string, string>, updates: readonly WatchUpdate[]): Map<string, string> {
  for (const u of updates) {
    switch (u.type) {
      case 'set':
        view.set(keyString(u.key), u.value.metadata.resourceVersion ?? '');
        break;
      case 'deleted':
      case 'invalid': // listed in `invalid`, not among the items
        view.delete(keyString(u.key));
        break;
    }
  }
  return view;
}

function sameMap(a: ReadonlyMap<string, string>, b: ReadonlyMap<string, string>): boolean {
  return a.size === b.size && [...a].every(([k, v]) => b.get(k) === v);
}

export function registerProcessTests(ctx: SuiteContext): void {
  void it(
    'a writer killed mid-transaction loses no acknowledged write and leaves a consistent store',
    opts,
    async (t) => {
      if (optedOut(ctx, t, 'nonAtomicApplyMany')) return;
      const { backend, config, connect } = await ctx.fresh(t);
      const from = await nextRevision(backend);
      const child = spawnChild('writer', config, ['k', String(BATCH)]);
      t.after(() => child.kill());
      const acks = (): number => child.lines.filter((l) => l.startsWith('ack ')).length;
      await waitFor(
        () => acks() >= 8 || child.proc.exitCode !== null,
        'the writer to acknowledge batches',
        40_000,
      );
      assert.equal(child.proc.exitCode, null, `writer died by itself: ${child.stderr()}`);
      // Land the kill at an arbitrary point of a batch, then let stdout drain: an `ack` line printed is a write acked.
      await new Promise((r) => setTimeout(r, Math.floor(Math.random() * 15)));
      await child.kill();
      await new Promise((r) => setTimeout(r, 50));
      const acked = acks();
      const after = await connect();
      const { items } = await after.list({ kind: 'NetworkPolicy', namespace: 'writer' });
      const perBatch = new Map<number, number>();
      for (const item of items) {
        const batch = Number(/^k-(\d+)-\d+$/.exec(item.metadata.name)?.[1] ?? NaN);
        perBatch.set(batch, (perBatch.get(batch) ?? 0) + 1);
      }
      for (let b = 0; b < acked; b++)
        assert.equal(perBatch.get(b), BATCH, `acknowledged batch ${b} is complete`);
      for (const [b, n] of perBatch) assert.ok(n === BATCH, `batch ${b} is all-or-nothing (found ${n})`);
      // The event history replays to exactly the listed state.
      const rec = new WatchRecorder();
      const stop = new AbortController();
      t.after(() => {
        stop.abort();
      });
      await after.watch({ fromRevision: from }, rec.handler, { signal: stop.signal });
      const expected = await snapshot(after, ['NetworkPolicy']);
      await waitFor(
        () => sameMap(fold(new Map(), rec.updates), expected),
        'the replayed history to match the list',
      );
      assert.deepEqual(rec.errors, []);
    },
  );

  void it('a watcher in another process sees every change, in order', opts, async (t) => {
    const { backend, config } = await ctx.fresh(t);
    const child = spawnChild('watcher', config, [String(await nextRevision(backend))]);
    t.after(() => child.kill());
    await waitFor(
      () => child.lines.includes('ready') || child.proc.exitCode !== null,
      'watcher ready',
      20_000,
    );
    assert.ok(child.lines.includes('ready'), `watcher failed: ${child.stderr()}`);
    const expected: string[] = [];
    for (let i = 0; i < 10; i++) {
      const created = await backend.create(gnp(`x${i}`));
      expected.push(`set x${i} ${created.metadata.resourceVersion}`);
      if (i % 3 === 0) {
        const updated: Resource = await backend.update({ ...created, spec: { order: 5 } });
        expected.push(`set x${i} ${updated.metadata.resourceVersion}`);
      }
      if (i % 4 === 0) {
        await backend.delete({ kind: 'GlobalNetworkPolicy', name: `x${i}` });
        expected.push(`deleted x${i}`);
      }
    }
    const events = (): { type: string; name: string; revision: number }[] =>
      child.lines
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as { type: string; name: string; revision: number });
    await waitFor(() => events().length >= expected.length, `${expected.length} events in the child`);
    const got = events().map((e) => (e.type === 'set' ? `set ${e.name} ${e.revision}` : `deleted ${e.name}`));
    assert.deepEqual(got, expected);
    child.proc.stdin.end();
    assert.equal(await child.exited, 0);
  });

  void it(
    'server restart mid-watch: watch and syncer resume without a resync, gaps or duplicates',
    opts,
    async (t) => {
      const server = ctx.target.server;
      if (server === undefined) {
        t.skip('no server process to restart: every client of the embedded store opens the file itself');
        return;
      }
      const { backend } = await ctx.fresh(t);
      const rec = new WatchRecorder();
      const stop = new AbortController();
      t.after(() => {
        stop.abort();
      });
      await backend.watch({ fromRevision: await nextRevision(backend) }, rec.handler, {
        signal: stop.signal,
      });
      const { rec: syncRec } = startRecordedSyncer(t, backend, { kinds: ['GlobalNetworkPolicy'] });
      for (let i = 0; i < 5; i++) await backend.create(gnp(`s${i}`));
      await waitFor(() => rec.updates.length >= 5 && syncRec.view.size >= 5, 'writes before the restart');
      await server.stop();
      await server.start();
      for (let i = 5; i < 10; i++) await backend.create(gnp(`s${i}`));
      const resyncs = ctx.target.limits?.restartResyncs !== undefined;
      await waitFor(
        () => (resyncs ? rec.errors.length > 0 && syncRec.view.size >= 10 : rec.updates.length >= 10),
        'writes after the restart',
      );
      // A crash (SIGKILL) of the server keeps acknowledged writes too.
      await server.kill();
      await server.start();
      await backend.create(gnp('s10'));
      await waitFor(
        () => (resyncs || rec.updates.length >= 11) && syncRec.view.size >= 11,
        'write after the crash',
      );
      assert.deepEqual(viewVersions(syncRec.view), await snapshot(backend, ['GlobalNetworkPolicy']));
      if (ctx.target.limits?.restartResyncs !== undefined) {
        // The store's variant: the watch ended with `compacted` at the first restart, after the five writes
        // before it; the syncer re-listed (once per restart at most) and holds the same state.
        t.diagnostic(`${ctx.target.name}: ${ctx.target.limits.restartResyncs}`);
        assert.deepEqual(
          rec.updates.map((u) => u.key.name),
          Array.from({ length: 5 }, (_, i) => `s${i}`),
        );
        assert.deepEqual(
          rec.errors.map((e) => e.reason),
          ['compacted'],
        );
        const resyncs = syncRec.statuses.filter((s) => s === 'ResyncInProgress').length;
        assert.ok(resyncs >= 2 && resyncs <= 3, `resyncs: ${syncRec.statuses.join(', ')}`);
        assert.equal(syncRec.statuses.at(-1), 'InSync');
        return;
      }
      assert.deepEqual(
        rec.updates.map((u) => u.key.name),
        Array.from({ length: 11 }, (_, i) => `s${i}`),
      );
      for (let i = 1; i < rec.updates.length; i++)
        assert.ok(rec.updates[i]!.revision > rec.updates[i - 1]!.revision);
      assert.deepEqual(syncRec.statuses, ['WaitForDatastore', 'ResyncInProgress', 'InSync']);
      assert.deepEqual(rec.errors, []);
    },
  );
}
