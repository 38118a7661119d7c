/**
 * An owner of async resources (VS Code's DisposableStore on `Symbol.asyncDispose`): each step of a start-up
 * registers how to undo it as soon as it succeeded; disposing undoes everything in reverse order, and keeps
 * going when one undo fails (the first failure is rethrown at the end). A composition root that fails
 * half-way disposes its store, so nothing it opened stays open.
 *
 *   await using store = new AsyncDisposableStore();
 *   const backend = store.add(await openBackend(cfg), (b) => b.close());
 *   store.defer(() => controller.abort());
 *   return store.move();   // success: the caller owns everything now
 */
import { BugError } from './errors.js';

export class AsyncDisposableStore implements AsyncDisposable {
  #undo: (() => Promise<void> | void)[] = [];
  #disposed = false;

  /** Registers `dispose(value)` and returns `value`. */
  add<T>(value: T, dispose: (value: T) => unknown): T {
    this.defer(async () => {
      await dispose(value);
    });
    return value;
  }

  /** Registers an undo step. A disposed store takes nothing more (that would leak): it throws. */
  defer(undo: () => Promise<void> | void): void {
    if (this.#disposed) throw new BugError('AsyncDisposableStore: add after dispose');
    this.#undo.push(undo);
  }

  /** A new store holding everything this one held; this one is left empty. */
  move(): AsyncDisposableStore {
    const next = new AsyncDisposableStore();
    next.#undo = this.#undo;
    this.#undo = [];
    return next;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    this.#disposed = true;
    const steps = this.#undo.reverse();
    this.#undo = [];
    let first: { error: unknown } | undefined;
    for (const undo of steps) {
      try {
        await undo();
      } catch (e) {
        first ??= { error: e };
      }
    }
    if (first !== undefined) throw first.error;
  }
}
