/** Small async helpers for the lab: bounded parallel map, a concurrency limiter, and a bounded wait. */
import { TimeoutError, waitFor } from '../lib/async.js';

/**
 * Checks `missing()` until it returns nothing or `timeoutMs` passes (lib/async waitFor), and returns what
 * is still missing then: for waits whose callers report the stragglers rather than fail outright. An
 * aborted `signal` throws its reason.
 */
export async function waitUntilNoneMissing(
  missing: () => readonly string[] | Promise<readonly string[]>,
  options: {
    readonly timeoutMs: number;
    readonly intervalMs?: number;
    readonly signal?: AbortSignal;
    readonly what: string;
  },
): Promise<string[]> {
  let last: readonly string[] = [];
  try {
    await waitFor(async () => {
      last = await missing();
      return last.length === 0;
    }, options);
  } catch (e) {
    options.signal?.throwIfAborted();
    if (!(e instanceof TimeoutError)) throw e;
  }
  return [...last];
}

/**
 * Maps `items` with at most `limit` calls in flight; results keep the input order. The first failure is
 * thrown once every started call has settled (nothing keeps running behind the caller's back).
 */
export async function mapLimit<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  let failure: { error: unknown } | undefined;
  const worker = async (): Promise<void> => {
    while (failure === undefined && next < items.length) {
      const i = next++;
      try {
        results[i] = await fn(items[i]!, i);
      } catch (e) {
        failure ??= { error: e };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
  if (failure !== undefined) throw failure.error;
  return results;
}

/** A function that runs tasks with at most `limit` in flight, the rest queued in call order. */
export function limiter(limit: number): <T>(task: () => Promise<T>) => Promise<T> {
  let active = 0;
  const queue: (() => void)[] = [];
  const release = (): void => {
    active--;
    queue.shift()?.();
  };
  return <T>(task: () => Promise<T>): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      const run = (): void => {
        active++;
        void task().then(resolve, reject).finally(release);
      };
      if (active < limit) run();
      else queue.push(run);
    });
}
