/**
 * Runs an async job after a quiet period, never two at once: a request during a run schedules exactly one
 * more run afterwards; a failed run is retried with backoff (1 s doubling to 30 s) until one succeeds or a new
 * request comes in. Timers are unref'ed; `dispose()` stops everything and waits for a running job.
 */
export interface SerialDebouncerOptions {
  readonly delayMs: number;
  readonly onError: (e: unknown) => void;
  readonly retryMinMs?: number;
  readonly retryMaxMs?: number;
}

export class SerialDebouncer {
  readonly #job: () => Promise<void>;
  readonly #opts: SerialDebouncerOptions;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;
  #again = false;
  #disposed = false;
  #retryMs: number;

  constructor(job: () => Promise<void>, opts: SerialDebouncerOptions) {
    this.#job = job;
    this.#opts = opts;
    this.#retryMs = opts.retryMinMs ?? 1000;
  }

  /** Requests a run after the quiet period. */
  schedule(delayMs = this.#opts.delayMs): void {
    if (this.#disposed) return;
    if (this.#running !== undefined) {
      this.#again = true;
      return;
    }
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#run();
    }, delayMs);
    this.#timer.unref();
  }

  #run(): void {
    this.#running = this.#job().then(
      () => {
        this.#retryMs = this.#opts.retryMinMs ?? 1000;
      },
      (e: unknown) => {
        this.#opts.onError(e);
        if (!this.#again) {
          const wait = this.#retryMs;
          this.#retryMs = Math.min(this.#retryMs * 2, this.#opts.retryMaxMs ?? 30_000);
          this.#running = undefined;
          this.schedule(wait);
        }
      },
    );
    void this.#running.finally(() => {
      this.#running = undefined;
      if (this.#again) {
        this.#again = false;
        this.schedule();
      }
    });
  }

  /** Resolves when no run is in progress. */
  async idle(): Promise<void> {
    while (this.#running !== undefined) await this.#running;
  }

  async dispose(): Promise<void> {
    this.#disposed = true;
    clearTimeout(this.#timer);
    await this.idle();
  }
}
