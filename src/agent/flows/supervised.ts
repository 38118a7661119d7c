/**
 * A long-running reader process of the flow collector (tcpdump on an NFLOG group, `conntrack -E`), started
 * directly once per run in the agent's network namespace, its stdout handed over chunk by chunk. One that ends
 * while it should run is started again after a backoff (1 s doubling to 30 s, reset once it has delivered
 * output); `stop()` ends it and resolves once it has exited. A handler that throws (bad output) has the
 * process restarted, since its stream can no longer be read in step.
 */
import { spawn, type ChildProcessByStdio } from 'node:child_process';
import type { Readable } from 'node:stream';
import { Backoff, realClock, type Clock, type TimerHandle } from '../../lib/async.js';
import { errorMessage } from '../../lib/errors.js';

export interface ReaderExit {
  readonly command: string;
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  /** Why it was stopped or could not start (a handler error, no such program). */
  readonly error?: string;
  /** The end of its stderr. */
  readonly stderr: string;
  readonly retryMs: number;
}

export interface SupervisedOptions {
  readonly command: string;
  readonly args: readonly string[];
  /** Each chunk of stdout, in order. */
  readonly onData: (chunk: Buffer) => void;
  /** A new process is running (its state starts fresh: parsers reset here). */
  readonly onStart?: () => void;
  readonly onExit?: (e: ReaderExit) => void;
  readonly clock?: Clock;
  readonly restartMinMs?: number;
  readonly restartMaxMs?: number;
}

export class SupervisedProcess {
  readonly #o: SupervisedOptions;
  readonly #clock: Clock;
  readonly #backoff: Backoff;
  #child: ChildProcessByStdio<null, Readable, Readable> | undefined;
  #exited: Promise<void> = Promise.resolve();
  #restart: TimerHandle | undefined;
  #stopped = false;
  #starts = 0;

  constructor(o: SupervisedOptions) {
    this.#o = o;
    this.#clock = o.clock ?? realClock;
    this.#backoff = new Backoff(o.restartMinMs ?? 1000, o.restartMaxMs ?? 30_000);
  }

  get pid(): number | undefined {
    return this.#child?.pid;
  }

  /** How many times a process was started (restarts + 1). */
  get starts(): number {
    return this.#starts;
  }

  start(): void {
    if (this.#stopped || this.#child !== undefined) return;
    const child = spawn(this.#o.command, this.#o.args, { stdio: ['ignore', 'pipe', 'pipe'] });
    this.#child = child;
    this.#starts++;
    this.#o.onStart?.();
    let stderr = '';
    let error: string | undefined;
    child.stderr.on('data', (d: Buffer) => {
      stderr = (stderr + d.toString('utf8')).slice(-1000);
    });
    child.stdout.on('data', (d: Buffer) => {
      if (this.#child !== child) return;
      try {
        this.#o.onData(d);
        this.#backoff.reset();
      } catch (e) {
        error = errorMessage(e);
        child.kill('SIGTERM');
      }
    });
    child.on('error', (e) => {
      error = e.message;
    });
    this.#exited = new Promise((resolve) => {
      child.on('close', (code, signal) => {
        resolve();
        if (this.#child === child) this.#child = undefined;
        if (this.#stopped) return;
        const retryMs = this.#backoff.next();
        this.#o.onExit?.({
          command: this.#o.command,
          code,
          signal,
          ...(error !== undefined ? { error } : {}),
          stderr: stderr.trim(),
          retryMs,
        });
        this.#restart = this.#clock.setTimeout(
          () => {
            this.#restart = undefined;
            this.start();
          },
          retryMs,
          { unref: true },
        );
      });
    });
  }

  /** Ends the process (SIGTERM) and resolves once it has exited; no restart follows. */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.#clock.clearTimeout(this.#restart);
    this.#restart = undefined;
    this.#child?.kill('SIGTERM');
    await this.#exited;
  }
}
