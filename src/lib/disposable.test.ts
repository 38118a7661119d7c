import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AsyncDisposableStore } from './disposable.js';

describe('AsyncDisposableStore', () => {
  it('undoes in reverse order, keeps going after a failing undo and rethrows the first failure', async () => {
    const done: string[] = [];
    const store = new AsyncDisposableStore();
    store.add('a', (v) => done.push(v));
    store.defer(() => {
      throw new Error('b failed');
    });
    store.add('c', async (v) => {
      await Promise.resolve();
      done.push(v);
    });
    await assert.rejects(store[Symbol.asyncDispose](), /b failed/);
    assert.deepEqual(done, ['c', 'a']);
    assert.throws(() => {
      store.defer(() => undefined);
    }, /after dispose/);
  });

  it('releases everything opened before a step that throws (await using), and nothing after move()', async () => {
    const closed: string[] = [];
    async function start(failAt: number): Promise<AsyncDisposableStore> {
      await using store = new AsyncDisposableStore();
      for (let i = 0; i < 3; i++) {
        if (i === failAt) throw new Error(`step ${i} failed`);
        store.add(`r${i}`, (r) => closed.push(r));
      }
      return store.move();
    }
    await assert.rejects(start(2), /step 2 failed/);
    assert.deepEqual(closed, ['r1', 'r0']);
    closed.length = 0;
    const owned = await start(-1);
    assert.deepEqual(closed, []);
    await owned[Symbol.asyncDispose]();
    assert.deepEqual(closed, ['r2', 'r1', 'r0']);
  });
});
