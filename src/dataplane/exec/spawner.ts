/**
 * A CommandRunner for a big, busy process (the agent serving CNI requests). Node starts a child process
 * with fork+exec on its main thread, and fork's cost grows with the process's memory: in the agent each
 * start blocks its event loop for several milliseconds, which at ten concurrent pod starts was most of an
 * ADD's latency. This runner hands each command to a long-lived small helper process (spawner-child.ts,
 * newline-delimited JSON over its stdin/stdout), whose starts are cheap and happen on the other core.
 *
 * Same contract as NodeCommandRunner (command-runner.ts): resolves with the exit code of every command
 * that started; rejects when it could not start, on timeout (TimeoutError) or abort (the signal's reason).
 * A helper that dies fails the commands in flight and is restarted for the next one; a helper that cannot
 * be started, or dies before saying it is ready, leaves the following commands to a direct
 * NodeCommandRunner. Prepared commands (`prepare`) are started by the helper as well; those not run when the
 * helper goes away are disposed by it, and their `run` rejects with PreparedExitedError. Interactive commands
 * (`interactive`, long-lived: one start, not worth a helper round trip on every line) are started directly.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import {
  PreparedExitedError,
  type CommandRunner,
  type InteractiveProcess,
  type PreparedCommand,
  type PreparedRunOptions,
  type RunOptions,
  type RunResult,
} from './command-runner.js';
import { NodeCommandRunner, abortReason } from './node-runner.js';
import { CalicoError } from '../../lib/errors.js';

interface Pending {
  readonly resolve: (r: RunResult) => void;
  readonly reject: (e: Error) => void;
}

interface Answer {
  readonly id: number;
  readonly code?: number;
  readonly stdout?: string;
  readonly stderr?: string;
  readonly error?: { readonly name: string; readonly message: string };
}

function childEntry(): { entry: string; execArgv: string[] } {
  // Under tsx (tests from src/) the helper is TypeScript too.
  const ts = import.meta.url.endsWith('.ts');
  const entry = fileURLToPath(new URL(ts ? './spawner-child.ts' : './spawner-child.js', import.meta.url));
  return { entry, execArgv: ts ? ['--import', 'tsx'] : [] };
}

function errorFrom(a: NonNullable<Answer['error']>): Error {
  if (a.name === 'TimeoutError' || a.name === 'AbortError') return new DOMException(a.message, a.name);
  if (a.name === 'PreparedExitedError') return new PreparedExitedError(a.message);
  return new CalicoError('CALICO_ERR_IO', a.message);
}

export class SpawnerCommandRunner implements CommandRunner, AsyncDisposable {
  readonly #pending = new Map<number, Pending>();
  readonly #direct = new NodeCommandRunner();
  #child: ChildProcessWithoutNullStreams | undefined;
  #ready = false;
  #nextId = 1;
  #closed = false;
  #unavailable = false;

  run(cmd: string, args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
    if (opts.signal?.aborted === true) return Promise.reject(abortReason(opts.signal));
    const child = this.#helper();
    if (child === undefined) return this.#direct.run(cmd, args, opts);
    return this.#request(child, this.#nextId++, { cmd, args }, opts);
  }

  prepare(cmd: string, args: readonly string[]): PreparedCommand {
    const child = this.#helper();
    if (child === undefined) return this.#direct.prepare(cmd, args);
    const id = this.#nextId++;
    child.stdin.write(`${JSON.stringify({ id, cmd, args, prepare: true })}\n`);
    let state: 'waiting' | 'used' | 'disposed' = 'waiting';
    const current = (): boolean => this.#child === child && child.exitCode === null;
    return {
      get alive() {
        return state === 'waiting' && current();
      },
      run: (stdin: string, opts: PreparedRunOptions = {}): Promise<RunResult> => {
        if (state !== 'waiting')
          return Promise.reject(new CalicoError('CALICO_ERR_BUG', 'a prepared command runs at most once'));
        state = 'used';
        if (opts.signal?.aborted === true) {
          child.stdin.write(`${JSON.stringify({ id, cancel: true })}\n`);
          return Promise.reject(abortReason(opts.signal));
        }
        // Its helper is gone, and the process with it.
        if (!current()) return Promise.reject(PreparedExitedError.of(cmd, args));
        return this.#request(child, id, { prepared: true }, { ...opts, stdin });
      },
      dispose: (): void => {
        if (state !== 'waiting') return;
        state = 'disposed';
        if (current()) child.stdin.write(`${JSON.stringify({ id, cancel: true })}\n`);
      },
    };
  }

  interactive(cmd: string, args: readonly string[]): InteractiveProcess {
    return this.#direct.interactive(cmd, args);
  }

  /** Sends one request (a command, or the input of a prepared one) and waits for its answer. */
  #request(
    child: ChildProcessWithoutNullStreams,
    id: number,
    what: { cmd: string; args: readonly string[] } | { prepared: true },
    opts: RunOptions,
  ): Promise<RunResult> {
    return new Promise<RunResult>((resolve, reject) => {
      const onAbort = (): void => {
        child.stdin.write(`${JSON.stringify({ id, cancel: true })}\n`);
      };
      opts.signal?.addEventListener('abort', onAbort, { once: true });
      const done = (): void => {
        opts.signal?.removeEventListener('abort', onAbort);
        this.#pending.delete(id);
        if (this.#pending.size === 0) this.#setRef(false);
      };
      this.#pending.set(id, {
        resolve: (r) => {
          done();
          resolve(r);
        },
        reject: (e) => {
          done();
          reject(opts.signal?.aborted === true ? abortReason(opts.signal) : e);
        },
      });
      this.#setRef(true);
      const req = {
        id,
        ...what,
        ...(opts.stdin === undefined ? {} : { stdin: opts.stdin }),
        ...(opts.timeoutMs === undefined ? {} : { timeoutMs: opts.timeoutMs }),
      };
      child.stdin.write(`${JSON.stringify(req)}\n`);
    });
  }

  /** Stops the helper (commands in flight still answer). */
  async close(): Promise<void> {
    this.#closed = true;
    const child = this.#child;
    this.#child = undefined;
    if (child === undefined || child.exitCode !== null) return;
    const exited = new Promise<void>((r) => {
      child.once('close', () => {
        r();
      });
    });
    child.ref();
    child.stdin.end();
    await exited;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  /** Only commands in flight keep the process alive, not the idle helper. */
  #setRef(on: boolean): void {
    const c = this.#child;
    if (c === undefined) return;
    for (const h of [c, c.stdout, c.stdin] as unknown as { ref(): void; unref(): void }[]) {
      if (on) h.ref();
      else h.unref();
    }
  }

  #helper(): ChildProcessWithoutNullStreams | undefined {
    if (this.#closed || this.#unavailable) return undefined;
    if (this.#child !== undefined) return this.#child;
    const { entry, execArgv } = childEntry();
    let child: ChildProcessWithoutNullStreams;
    try {
      child = spawn(process.execPath, [...execArgv, entry], { stdio: ['pipe', 'pipe', 'pipe'] });
    } catch {
      this.#unavailable = true;
      return undefined;
    }
    this.#child = child;
    this.#ready = false;
    child.stdin.on('error', () => undefined);
    child.stderr.resume();
    createInterface({ input: child.stdout }).on('line', (line) => {
      this.#onAnswer(line);
    });
    child.once('error', () => {
      // Could not start (e.g. no such file): run directly from now on.
      this.#unavailable = true;
    });
    child.once('close', () => {
      if (!this.#ready) this.#unavailable = true;
      if (this.#child === child) this.#child = undefined;
      const lost = [...this.#pending.values()];
      this.#pending.clear();
      for (const p of lost) p.reject(new CalicoError('CALICO_ERR_IO', 'the spawner helper exited'));
    });
    this.#setRef(false);
    return child;
  }

  #onAnswer(line: string): void {
    let a: Answer;
    try {
      a = JSON.parse(line) as Answer;
    } catch {
      return;
    }
    if (a.id === 0) {
      this.#ready = true;
      return;
    }
    const p = this.#pending.get(a.id);
    if (p === undefined) return;
    if (a.error !== undefined) p.reject(errorFrom(a.error));
    else p.resolve({ code: a.code ?? 1, stdout: a.stdout ?? '', stderr: a.stderr ?? '' });
  }
}
