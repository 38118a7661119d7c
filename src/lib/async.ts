/**
 * Time and waiting, in one place (house style §4: `lib/async` + `lib/clock`): a `Clock` that production code
 * takes as a parameter (real timers by default) so that retry, backoff, refresh and debounce logic can be
 * unit-tested with `FakeClock`; an abortable `sleep`; `waitFor`, the bounded wait on a condition that tests
 * and tools use instead of fixed sleeps; and `Backoff`, doubling delays with a cap.
 *
 *   const clock = new FakeClock();
 *   const t = clock.setTimeout(fire, 100);   clock.advance(100);   // fire() ran
 *   await waitFor(() => ready(), { timeoutMs: 5_000, what: 'agent ready' });   // TimeoutError on expiry
 */

/** A cancellable timer handle (opaque). */
export interface TimerHandle {
  readonly id: number;
}

/** The clock production code reads and schedules on. */
export interface Clock {
  /** Milliseconds, monotonic (performance.now() for the real clock). */
  now(): number;
  /**
   * Schedules `fn` once after `ms`. `unref`: a background timer that must not hold the process open (the
   * agent's retry and refresh timers); by default a pending timer keeps the process alive, as Node's does.
   */
  setTimeout(fn: () => void, ms: number, opts?: { readonly unref?: boolean }): TimerHandle;
  clearTimeout(handle: TimerHandle | undefined): void;
}

class RealClock implements Clock {
  #next = 1;
  readonly #timers = new Map<number, NodeJS.Timeout>();

  now(): number {
    return performance.now();
  }

  setTimeout(fn: () => void, ms: number, opts?: { readonly unref?: boolean }): TimerHandle {
    const id = this.#next++;
    const t = setTimeout(() => {
      this.#timers.delete(id);
      fn();
    }, ms);
    if (opts?.unref === true) t.unref();
    this.#timers.set(id, t);
    return { id };
  }

  clearTimeout(handle: TimerHandle | undefined): void {
    if (handle === undefined) return;
    clearTimeout(this.#timers.get(handle.id));
    this.#timers.delete(handle.id);
  }
}

/** The process's real clock. */
export const realClock: Clock = new RealClock();

interface FakeTimer {
  readonly id: number;
  readonly at: number;
  readonly fn: () => void;
}

/** A clock that only moves when told to: `advance(ms)` runs every timer that falls due, in time order. */
export class FakeClock implements Clock {
  #now: number;
  #next = 1;
  #timers: FakeTimer[] = [];

  constructor(start = 0) {
    this.#now = start;
  }

  now(): number {
    return this.#now;
  }

  setTimeout(fn: () => void, ms: number): TimerHandle {
    const id = this.#next++;
    this.#timers.push({ id, at: this.#now + Math.max(0, ms), fn });
    return { id };
  }

  clearTimeout(handle: TimerHandle | undefined): void {
    if (handle === undefined) return;
    this.#timers = this.#timers.filter((t) => t.id !== handle.id);
  }

  /** Timers still scheduled. */
  get pending(): number {
    return this.#timers.length;
  }

  /** When the next timer falls due, or undefined. */
  nextDue(): number | undefined {
    let min: number | undefined;
    for (const t of this.#timers) if (min === undefined || t.at < min) min = t.at;
    return min;
  }

  /** Moves time forward by `ms`, running due timers in order (timers they schedule run too if due). */
  advance(ms: number): void {
    const end = this.#now + ms;
    for (;;) {
      let due: FakeTimer | undefined;
      for (const t of this.#timers) if (t.at <= end && (due === undefined || t.at < due.at)) due = t;
      if (due === undefined) break;
      const fired = due;
      this.#timers = this.#timers.filter((t) => t !== fired);
      this.#now = Math.max(this.#now, fired.at);
      fired.fn();
    }
    this.#now = end;
  }
}

/** Resolves after `ms`, or at once when `signal` aborts (it never rejects). */
export function sleep(
  ms: number,
  opts: { signal?: AbortSignal; clock?: Clock; unref?: boolean } = {},
): Promise<void> {
  const clock = opts.clock ?? realClock;
  const signal = opts.signal;
  return new Promise((resolve) => {
    if (signal?.aborted === true) {
      resolve();
      return;
    }
    const done = (): void => {
      clock.clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = clock.setTimeout(done, ms, { unref: opts.unref === true });
    signal?.addEventListener('abort', done, { once: true });
  });
}

/** A bounded wait that ran out. */
export class TimeoutError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TimeoutError';
  }
}

export interface WaitForOptions {
  /** Upper bound on the whole wait. */
  readonly timeoutMs: number;
  /** Between checks; default 20 ms. */
  readonly intervalMs?: number;
  /** Names the condition in the timeout message. */
  readonly what?: string;
  readonly signal?: AbortSignal;
  /** Adds context to the timeout message (e.g. the last observed state). */
  readonly describe?: () => string | Promise<string>;
}

/**
 * Checks `cond` until it returns a truthy value (returned), at most `timeoutMs` in all; throws TimeoutError
 * naming `what` otherwise. `cond` may be async; an exception from it propagates at once.
 */
export async function waitFor<T>(
  cond: () => T | undefined | null | false | Promise<T | undefined | null | false>,
  opts: WaitForOptions,
): Promise<T> {
  const deadline = performance.now() + opts.timeoutMs;
  const interval = opts.intervalMs ?? 20;
  for (;;) {
    const v = await cond();
    if (v !== undefined && v !== null && v !== false) return v;
    if (opts.signal?.aborted === true)
      throw new TimeoutError(`aborted while waiting for ${opts.what ?? 'condition'}`);
    if (performance.now() >= deadline) {
      const detail = opts.describe !== undefined ? `: ${await opts.describe()}` : '';
      throw new TimeoutError(
        `timed out after ${opts.timeoutMs} ms waiting for ${opts.what ?? 'condition'}${detail}`,
      );
    }
    await sleep(
      Math.min(interval, Math.max(1, deadline - performance.now())),
      opts.signal ? { signal: opts.signal } : {},
    );
  }
}

/** Doubling delays between `minMs` and `maxMs`; `reset()` after a success. */
export class Backoff {
  readonly #min: number;
  readonly #max: number;
  #current: number;

  constructor(minMs: number, maxMs: number) {
    this.#min = minMs;
    this.#max = maxMs;
    this.#current = minMs;
  }

  /** The delay to wait now; the next one doubles (up to the cap). */
  next(): number {
    const d = this.#current;
    this.#current = Math.min(this.#current * 2, this.#max);
    return d;
  }

  /** The delay `next()` would return, without advancing. */
  peek(): number {
    return this.#current;
  }

  reset(): void {
    this.#current = this.#min;
  }
}
