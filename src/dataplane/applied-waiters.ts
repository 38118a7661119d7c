/**
 * Waiting for an apply (the loop's `whenApplied`): callers wait for the revision whose effects must be in the
 * kernel; each wait ends with true once an apply covering it has completed, or false at its timeout, when its
 * signal aborts, or when the loop stops. Timeouts run on the loop's Clock.
 */
import type { Clock } from '../lib/async.js';

interface Waiter {
  readonly revision: number;
  settle(applied: boolean): void;
}

export class AppliedWaiters {
  readonly #clock: Clock;
  readonly #waiters = new Set<Waiter>();
  /** The revision of the last apply that completed (-1: none yet). */
  #applied = -1;
  #stopped = false;

  constructor(clock: Clock) {
    this.#clock = clock;
  }

  wait(revision: number, opts: { timeoutMs: number; signal?: AbortSignal }): Promise<boolean> {
    if (this.#applied >= revision) return Promise.resolve(true);
    if (this.#stopped || opts.signal?.aborted === true) return Promise.resolve(false);
    return new Promise<boolean>((resolve) => {
      const onAbort = (): void => {
        w.settle(false);
      };
      // A caller is awaiting it: the timer keeps the process alive, as Node's own timers do.
      const timer = this.#clock.setTimeout(onAbort, opts.timeoutMs);
      const w: Waiter = {
        revision,
        settle: (applied) => {
          this.#clock.clearTimeout(timer);
          opts.signal?.removeEventListener('abort', onAbort);
          this.#waiters.delete(w);
          resolve(applied);
        },
      };
      opts.signal?.addEventListener('abort', onAbort, { once: true });
      this.#waiters.add(w);
    });
  }

  /** An apply covering `revision` has completed. */
  applied(revision: number): void {
    this.#applied = Math.max(this.#applied, revision);
    for (const w of [...this.#waiters]) if (w.revision <= this.#applied) w.settle(true);
  }

  /** The loop stopped: every wait ends with false, and so does every later one not already covered. */
  stop(): void {
    this.#stopped = true;
    for (const w of [...this.#waiters]) w.settle(false);
  }
}
