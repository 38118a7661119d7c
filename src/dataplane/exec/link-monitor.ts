/**
 * Link events for the dataplane loop (Felix subscribes to netlink link updates for the same purpose): `ip -o
 * monitor link` runs for as long as the loop, and each line it prints (a link added, changed or removed)
 * wakes the loop's pending work (loop.ts `kernelChanged`: a workload interface that appeared or came up gets
 * its routes at once instead of at the next retry). It runs where the agent runs, i.e. in the node's network
 * namespace; `ipArgs` (`-n <ns>`) puts it in another one. It is started directly, once per run (not per
 * event), and does not keep the process alive. A monitor that ends is restarted with backoff (1 s doubling to
 * 60 s, reset once it prints), and each restart wakes the loop once, since events may have been missed.
 */
import { spawn, type ChildProcessByStdio } from 'node:child_process';
import type { Readable } from 'node:stream';
import { createInterface } from 'node:readline';
import { Backoff, realClock, type Clock, type TimerHandle } from '../../lib/async.js';

export interface LinkMonitorExit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  /** It could not be started (e.g. no `ip`). */
  readonly error?: Error;
  /** The end of its stderr. */
  readonly stderr: string;
  /** When it is started again. */
  readonly retryMs: number;
}

export interface LinkMonitorOptions {
  /** `ip`'s global options before `-o monitor link` (e.g. `-n <namespace>`). */
  readonly ipArgs?: readonly string[];
  readonly ip?: string;
  readonly clock?: Clock;
  readonly restartMinMs?: number;
  readonly restartMaxMs?: number;
  /** The monitor ended while it should run (for the log); it is restarted after `retryMs`. */
  readonly onExit?: (exit: LinkMonitorExit) => void;
}

export class IpLinkMonitor {
  readonly #o: LinkMonitorOptions;
  readonly #clock: Clock;
  readonly #backoff: Backoff;
  #child: ChildProcessByStdio<null, Readable, Readable> | undefined;
  #restart: TimerHandle | undefined;
  #wakeQueued = false;

  constructor(options: LinkMonitorOptions = {}) {
    this.#o = options;
    this.#clock = options.clock ?? realClock;
    this.#backoff = new Backoff(options.restartMinMs ?? 1000, options.restartMaxMs ?? 60_000);
  }

  /** The running monitor's process id (for tests and diagnostics). */
  get pid(): number | undefined {
    return this.#child?.pid;
  }

  start(onEvent: () => void, signal: AbortSignal): void {
    if (signal.aborted) return;
    signal.addEventListener(
      'abort',
      () => {
        this.#clock.clearTimeout(this.#restart);
        this.#restart = undefined;
        this.#child?.kill('SIGTERM');
        this.#child = undefined;
      },
      { once: true },
    );
    this.#run(onEvent, signal);
  }

  #run(onEvent: () => void, signal: AbortSignal): void {
    const args = [...(this.#o.ipArgs ?? []), '-o', 'monitor', 'link'];
    const child = spawn(this.#o.ip ?? 'ip', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    this.#child = child;
    let stderr = '';
    let startError: Error | undefined;
    child.stderr.on('data', (d: Buffer) => {
      stderr = (stderr + d.toString('utf8')).slice(-1000);
    });
    createInterface({ input: child.stdout }).on('line', () => {
      this.#backoff.reset();
      this.#wake(onEvent);
    });
    child.on('error', (e) => {
      startError = e;
    });
    child.on('close', (code, sig) => {
      if (this.#child === child) this.#child = undefined;
      if (signal.aborted) return;
      const retryMs = this.#backoff.next();
      this.#o.onExit?.({
        code,
        signal: sig,
        ...(startError === undefined ? {} : { error: startError }),
        stderr: stderr.trim(),
        retryMs,
      });
      this.#restart = this.#clock.setTimeout(
        () => {
          this.#restart = undefined;
          if (signal.aborted) return;
          this.#run(onEvent, signal);
          this.#wake(onEvent);
        },
        retryMs,
        { unref: true },
      );
    });
    for (const h of [child, child.stdout, child.stderr] as unknown as { unref(): void }[]) h.unref();
  }

  /** Calls onEvent once for a burst of lines (a pod start changes several links at once). */
  #wake(onEvent: () => void): void {
    if (this.#wakeQueued) return;
    this.#wakeQueued = true;
    setImmediate(() => {
      this.#wakeQueued = false;
      onEvent();
    });
  }
}
