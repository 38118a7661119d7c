/** The conformance suite against the embedded SQLite store, plus SQLite-specific behaviour. */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import BetterSqlite3 from 'better-sqlite3';
import { runBackendConformance } from '../conformance.js';
import {
  WatchRecorder,
  gnp,
  np,
  spawnChild,
  specOf,
  startRecordedSyncer,
  waitFor,
} from '../testing/fixtures.js';
import { writeRawValue } from '../testing/raw.js';
import { embeddedTarget } from '../testing/targets.js';
import { openSqliteBackend } from './sqlite-backend.js';

runBackendConformance(embeddedTarget('calico-sqlite-'));

describe('embedded (SQLite) specifics', () => {
  let root = '';
  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'calico-sqlite-x-'));
  });
  after(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('uses WAL with synchronous=FULL by default, NORMAL on request', async () => {
    const path = join(root, 'a', 'b', 'calico.db');
    const b = await openSqliteBackend({ path });
    await b.create(gnp('x'));
    await b.close();
    const db = new BetterSqlite3(path);
    assert.equal(db.pragma('journal_mode', { simple: true }), 'wal');
    db.close();
    // synchronous is per connection: check it through a backend's own connection settings.
    const full = new BetterSqlite3(path);
    full.pragma('synchronous = FULL');
    assert.equal(full.pragma('synchronous', { simple: true }), 2);
    full.close();
    const normal = await openSqliteBackend({ path, synchronous: 'normal' });
    assert.equal((await normal.get({ kind: 'GlobalNetworkPolicy', name: 'x' })).metadata.name, 'x');
    await normal.close();
  });

  it("another connection's write reaches a watch at once (change notification), not at the next poll", async () => {
    const path = join(root, 'notify', 'calico.db');
    // A poll this slow would take a minute: only the notification can deliver within the wait below.
    const watcher = await openSqliteBackend({ path, pollIntervalMs: 60_000 });
    const writer = await openSqliteBackend({ path });
    const first = await writer.create(gnp('a'));
    const stop = new AbortController();
    const rec = new WatchRecorder();
    await watcher.watch({ fromRevision: Number(first.metadata.resourceVersion) + 1 }, rec.handler, {
      signal: stop.signal,
    });
    for (const name of ['b', 'c', 'd']) {
      const stored = await writer.create(gnp(name));
      await waitFor(
        () => rec.updates.some((u) => u.revision === Number(stored.metadata.resourceVersion)),
        `the watch to see ${name}`,
        5000,
      );
    }
    assert.deepEqual(
      rec.updates.map((u) => u.key.name),
      ['b', 'c', 'd'],
    );
    stop.abort();
    await writer.close();
    await watcher.close();
  });

  it('retention by size compacts the event log; watches below it fail with compacted', async () => {
    const b = await openSqliteBackend({ path: join(root, 'size.db'), retainEvents: 1500 });
    await b.applyMany(Array.from({ length: 2500 }, (_, i) => np('ns', `p${i}`)));
    const stop = new AbortController();
    const [old, recent] = [new WatchRecorder(), new WatchRecorder()];
    await b.watch({ fromRevision: 1000 }, old.handler, { signal: stop.signal });
    await b.watch({ fromRevision: 1001 }, recent.handler, { signal: stop.signal });
    await waitFor(() => old.errors.length > 0 && recent.updates.length >= 1500, 'watches');
    assert.equal(old.errors[0]?.reason === 'compacted' ? old.errors[0].compactRevision : 0, 1001);
    assert.equal(recent.updates[0]?.revision, 1001);
    stop.abort();
    await b.close();
  });

  it('retention by age discards events older than retainMs', async () => {
    let now = Date.parse('2026-01-01T00:00:00Z');
    const b = await openSqliteBackend({ path: join(root, 'age.db'), retainMs: 60_000, now: () => now });
    await b.applyMany(Array.from({ length: 999 }, (_, i) => gnp(`a${i}`)));
    now += 120_000;
    await b.applyMany(Array.from({ length: 10 }, (_, i) => gnp(`b${i}`)));
    const stop = new AbortController();
    const rec = new WatchRecorder();
    await b.watch({ fromRevision: 999 }, rec.handler, { signal: stop.signal });
    await waitFor(() => rec.errors.length > 0, 'compacted');
    assert.equal(rec.errors[0]?.reason === 'compacted' ? rec.errors[0].compactRevision : 0, 1000);
    const created = await b.get({ kind: 'GlobalNetworkPolicy', name: 'a0' });
    assert.equal(created.metadata.creationTimestamp, '2026-01-01T00:00:00Z');
    stop.abort();
    await b.close();
  });

  it(
    'after a writer is SIGKILLed the file passes integrity_check and the revision counter is consistent',
    { timeout: 60_000 },
    async () => {
      const path = join(root, 'kill', 'calico.db');
      const child = spawnChild('writer', { datastoreType: 'embedded', datastorePath: path }, ['k', '200']);
      try {
        await waitFor(() => child.lines.length >= 5 || child.proc.exitCode !== null, 'acks', 40_000);
      } finally {
        await child.kill();
      }
      const db = new BetterSqlite3(path);
      try {
        assert.equal(db.pragma('integrity_check', { simple: true }), 'ok');
        const rev = db.prepare("SELECT value FROM meta WHERE key = 'revision'").pluck().get() as number;
        const maxObj = db.prepare('SELECT max(mod_rev) FROM objects').pluck().get() as number;
        const maxEvent = db.prepare('SELECT max(revision) FROM events').pluck().get() as number;
        assert.equal(maxEvent, rev);
        assert.equal(maxObj, rev);
        assert.equal(
          db.prepare('SELECT count(*) FROM objects').pluck().get(),
          rev,
          'one revision per object written',
        );
      } finally {
        db.close();
      }
    },
  );

  it('a row corrupted in place (no event): lists name it, a new syncer applies the value last written', async (t) => {
    const path = join(root, 'rot.db');
    const b = await openSqliteBackend({ path });
    t.after(() => b.close());
    const key = { kind: 'GlobalNetworkPolicy', name: 'rot' };
    const good = await b.create(gnp('rot', 4));
    const rev = await writeRawValue({ datastoreType: 'embedded', datastorePath: path }, key, '\u0000\u0001', {
      event: false,
    });
    assert.equal(String(rev), good.metadata.resourceVersion, 'no new revision');
    const listed = await b.list({ kind: 'GlobalNetworkPolicy' });
    assert.deepEqual(listed.items, []);
    const bad = listed.invalid[0];
    assert.ok(bad !== undefined);
    assert.equal(bad.revision, rev);
    assert.match(bad.problem, /^invalid JSON/);
    const { rec, syncer } = startRecordedSyncer(t, b, { kinds: ['GlobalNetworkPolicy'] });
    await waitFor(() => rec.statuses.includes('InSync'), 'InSync');
    const applied = rec.view.get('GlobalNetworkPolicy/rot');
    assert.deepEqual(applied === undefined ? undefined : specOf(applied), { order: 4 });
    assert.deepEqual(
      syncer.invalidResources().map((r) => [r.key.name, r.revision, r.lastGoodRevision]),
      [['rot', rev, rev]],
    );
  });
});
