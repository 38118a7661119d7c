import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { FakeClock } from '../lib/async.js';
import { Aggregator, type CompletedBucket } from './aggregator.js';
import { FlowLogFile } from './flowlog-file.js';
import { TEST_EPOCH, testFlow } from './testing.js';

describe('Aggregator', () => {
  it('rolls over at each bucket boundary on its clock and hands head-2 to listeners', () => {
    const clock = new FakeClock();
    const now = (): number => TEST_EPOCH + 5 + clock.now() / 1000;
    const agg = new Aggregator({ clock, nowUnix: now });
    const seen: number[] = [];
    agg.onBucket((b) => seen.push(b.start));
    agg.ingest(testFlow());
    agg.start();
    clock.advance(9_999);
    assert.deepEqual(seen, [], 'no rollover before the head starts (10 s away)');
    clock.advance(1);
    assert.deepEqual(seen, [TEST_EPOCH - 15]);
    clock.advance(15_000);
    assert.deepEqual(seen, [TEST_EPOCH - 15, TEST_EPOCH]);
    agg.dispose();
    clock.advance(60_000);
    assert.equal(seen.length, 2, 'no rollover after dispose');
  });

  it('refuses a window that is not whole seconds', () => {
    assert.throws(() => new Aggregator({ bucketSeconds: 0.5 }), /whole number of seconds/);
  });
});

describe('FlowLogFile', () => {
  it('writes one JSON line per flow of a bucket and rotates past its size bound', () => {
    const dir = mkdtempSync(join(tmpdir(), 'flowlogs-'));
    try {
      const agg = new Aggregator({ nowUnix: () => TEST_EPOCH + 1 });
      for (let i = 0; i < 30; i++) agg.ingest(testFlow({ source_name: `c-${i}` }));
      const buckets: CompletedBucket[] = [];
      agg.onBucket((b) => buckets.push(b));
      agg.rollover();
      agg.rollover();
      const file = new FlowLogFile({ dir: join(dir, 'sub'), maxBytes: 4_000, maxFiles: 2 });
      const bucket = buckets[1]!;
      assert.equal(bucket.start, TEST_EPOCH);
      for (let i = 0; i < 4; i++) file.write(bucket);
      assert.equal(file.written, 120);
      const files = readdirSync(join(dir, 'sub')).sort();
      assert.deepEqual(files, ['flows.log', 'flows.log.1', 'flows.log.2']);
      const lines = readFileSync(file.path, 'utf8').trimEnd().split('\n');
      const first = JSON.parse(lines[0]!) as {
        Key: { source_name: string };
        start_time: number;
        end_time: number;
      };
      assert.match(first.Key.source_name, /^c-\d+$/);
      assert.deepEqual([first.start_time, first.end_time], [TEST_EPOCH, TEST_EPOCH + 15]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
