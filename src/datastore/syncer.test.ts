/**
 * The syncer's reachability probe against a fake backend whose probe answers, fails, or hangs (a hung
 * connection: no error, no answer). Real servers going away are covered by the conformance suite.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { waitFor } from '../lib/async.js';
import { DatastoreUnavailableError } from '../lib/errors.js';
import type { Backend, CallOptions, ListResult, WatchHandler } from './api.js';
import { SyncerRecorder, startRecordedSyncer } from './testing/fixtures.js';

type ProbeMode = 'answer' | 'fail' | 'hang';

/** A backend with one empty kind and a watch that stays silent; its probe does what `mode` says. */
class FakeBackend implements Backend {
  readonly type = 'etcdv3';
  mode: ProbeMode = 'answer';
  probes = 0;
  watches: WatchHandler[] = [];
  list(): Promise<ListResult> {
    return Promise.resolve({ items: [], invalid: [], revision: 5 });
  }
  watch(_f: unknown, handler: WatchHandler): Promise<void> {
    this.watches.push(handler);
    return Promise.resolve();
  }
  currentRevision(opts?: CallOptions): Promise<number> {
    this.probes++;
    switch (this.mode) {
      case 'answer':
        return Promise.resolve(5);
      case 'fail':
        return Promise.reject(new DatastoreUnavailableError('etcd: connect ECONNREFUSED 127.0.0.1:2379'));
      case 'hang':
        return new Promise((_resolve, reject) => {
          opts?.signal?.addEventListener('abort', () => {
            reject(new Error('aborted'));
          });
        });
    }
  }
  get = (): never => {
    throw new Error('unused');
  };
  create = this.get;
  update = this.get;
  delete = this.get;
  applyMany = this.get;
  valueAt = this.get;
  compact = this.get;
  close = (): Promise<void> => Promise.resolve();
  [Symbol.asyncDispose] = this.close;
}

function connections(rec: SyncerRecorder): string[] {
  return rec.events.flatMap((e) => (e.type === 'connection' ? [`${e.connected} ${e.detail}`.trim()] : []));
}

describe('syncer reachability', () => {
  it('reports a failing and a hung datastore, and its recovery, without touching what was delivered', async (t) => {
    const backend = new FakeBackend();
    const { rec, syncer } = startRecordedSyncer(t, backend, {
      kinds: ['GlobalNetworkPolicy'],
      probeIntervalMs: 30,
      probeTimeoutMs: 150,
    });
    await waitFor(() => rec.statuses.includes('InSync'), { timeoutMs: 5000, what: 'InSync' });
    assert.deepEqual(connections(rec), ['true']);
    await waitFor(() => backend.probes >= 2, { timeoutMs: 5000, what: 'idle probes' });

    backend.mode = 'fail';
    await waitFor(() => syncer.connected() === false, { timeoutMs: 5000, what: 'the failure' });
    assert.deepEqual(connections(rec), ['true', 'false etcd: connect ECONNREFUSED 127.0.0.1:2379']);
    backend.mode = 'answer';
    await waitFor(() => syncer.connected() === true, { timeoutMs: 5000, what: 'the recovery' });

    backend.mode = 'hang';
    const hungAt = performance.now();
    await waitFor(() => syncer.connected() === false, { timeoutMs: 5000, what: 'the hang noticed' });
    const noticedMs = performance.now() - hungAt;
    assert.ok(noticedMs >= 140 && noticedMs < 2000, `hang noticed after ${Math.round(noticedMs)} ms`);
    assert.equal(connections(rec).at(-1), 'false no answer within 150 ms');
    backend.mode = 'answer';
    await waitFor(() => syncer.connected() === true, { timeoutMs: 5000, what: 'the recovery' });

    assert.deepEqual(connections(rec), [
      'true',
      'false etcd: connect ECONNREFUSED 127.0.0.1:2379',
      'true',
      'false no answer within 150 ms',
      'true',
    ]);
    assert.deepEqual(rec.statuses, ['WaitForDatastore', 'ResyncInProgress', 'InSync']);
    assert.equal(rec.updates.length, 0);
    assert.equal(backend.watches.length, 1, 'the watch is not restarted');
  });

  it('does not probe while the watch keeps delivering', async (t) => {
    const backend = new FakeBackend();
    startRecordedSyncer(t, backend, {
      kinds: ['GlobalNetworkPolicy'],
      probeIntervalMs: 200,
      probeTimeoutMs: 500,
    });
    await waitFor(() => backend.watches.length === 1, { timeoutMs: 5000, what: 'the watch' });
    const before = backend.probes;
    // An empty batch every 20 ms (e.g. events of other kinds) is proof enough that the datastore answers.
    const until = performance.now() + 700;
    while (performance.now() < until) {
      backend.watches[0]?.onUpdates([]);
      await new Promise((r) => setTimeout(r, 20));
    }
    assert.equal(backend.probes, before);
  });
});
