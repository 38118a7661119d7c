/**
 * CommandRunner backed by child_process.spawn (never a shell: arguments are passed as a vector, so nothing in
 * them is interpreted). Output is collected as UTF-8. Abort and timeout kill the child with SIGKILL and reject
 * with the signal's reason (AbortError) or a TimeoutError; a child that exits by itself always resolves.
 * `prepare` starts the child at once and gives it its stdin when run (command-runner.ts); until then it does
 * not keep this process alive, and it reads end-of-file if this process exits first. `interactive` starts a
 * long-lived child read line by line (its stderr is dropped), which never keeps this process alive.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { constants } from 'node:os';
import { createInterface } from 'node:readline';
import { CalicoError } from '../../lib/errors.js';
import {
  formatCommand,
  PreparedExitedError,
  type CommandRunner,
  type InteractiveProcess,
  type PreparedCommand,
  type PreparedRunOptions,
  type RunOptions,
  type RunResult,
} from './command-runner.js';

export interface NodeCommandRunnerOptions {
  /** Extra environment variables, merged over the parent's environment. */
  readonly env?: Readonly<Record<string, string>>;
}

/** What to reject with when aborted: the signal's reason when it is an Error, else a plain AbortError. */
export function abortReason(signal: AbortSignal | undefined): Error {
  const reason: unknown = signal?.reason;
  return reason instanceof Error ? reason : new DOMException('The operation was aborted', 'AbortError');
}

function signalExitCode(signal: NodeJS.Signals | null): number {
  if (signal === null) return 128;
  return 128 + constants.signals[signal];
}

type Handle = { ref(): void; unref(): void };

/** One child process, started at construction, given its stdin by `run`. */
class NodeProcess implements PreparedCommand {
  readonly #cmd: string;
  readonly #args: readonly string[];
  readonly #child: ChildProcessWithoutNullStreams;
  readonly #stdout: Buffer[] = [];
  readonly #stderr: Buffer[] = [];
  #killReason: Error | undefined;
  #spawnError: Error | undefined;
  #ended = false;
  #used = false;
  #disposed = false;
  /** Set by run: how the child's end settles it. */
  #settle: ((outcome: { error: Error } | { result: RunResult }) => void) | undefined;

  constructor(cmd: string, args: readonly string[], env: NodeJS.ProcessEnv) {
    this.#cmd = cmd;
    this.#args = args;
    const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'], env });
    this.#child = child;
    child.stdout.on('data', (chunk: Buffer) => this.#stdout.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => this.#stderr.push(chunk));
    // A child that exits without reading its input makes the pipe fail with EPIPE; its exit code tells the story.
    child.stdin.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code !== 'EPIPE') this.#kill(e);
    });
    child.on('error', (e) => {
      this.#ended = true;
      this.#spawnError ??= e;
      this.#finish({
        error:
          this.#killReason ??
          new CalicoError('CALICO_ERR_IO', `cannot run ${formatCommand(cmd, args)}: ${e.message}`, {
            cause: e,
          }),
      });
    });
    // Once killed, do not wait for the pipes: a grandchild (e.g. a forked server) may hold them open.
    child.on('exit', () => {
      this.#ended = true;
      if (this.#killReason === undefined) return;
      child.stdout.destroy();
      child.stderr.destroy();
      this.#finish({ error: this.#killReason });
    });
    child.on('close', (code, sig) => {
      this.#ended = true;
      if (this.#killReason !== undefined) {
        this.#finish({ error: this.#killReason });
        return;
      }
      this.#finish({
        result: {
          stdout: Buffer.concat(this.#stdout).toString('utf8'),
          stderr: Buffer.concat(this.#stderr).toString('utf8'),
          code: code ?? signalExitCode(sig),
        },
      });
    });
  }

  get alive(): boolean {
    return !this.#ended && !this.#used && !this.#disposed;
  }

  /** The process is waiting for its input: it does not keep this process alive meanwhile. */
  idle(): this {
    this.#setRef(false);
    return this;
  }

  run(stdin: string, opts: PreparedRunOptions = {}): Promise<RunResult> {
    const { signal, timeoutMs } = opts;
    if (this.#used || this.#disposed) {
      return Promise.reject(new CalicoError('CALICO_ERR_BUG', 'a prepared command runs at most once'));
    }
    this.#used = true;
    if (signal?.aborted === true) {
      this.#kill(abortReason(signal));
      return Promise.reject(abortReason(signal));
    }
    if (this.#ended && this.#spawnError === undefined) {
      return Promise.reject(PreparedExitedError.of(this.#cmd, this.#args));
    }
    this.#setRef(true);
    return new Promise<RunResult>((resolve, reject) => {
      const onAbort = (): void => {
        this.#kill(abortReason(signal));
      };
      const timer =
        timeoutMs === undefined
          ? undefined
          : setTimeout(() => {
              this.#kill(
                new DOMException(
                  `${formatCommand(this.#cmd, this.#args)}: timed out after ${timeoutMs} ms`,
                  'TimeoutError',
                ),
              );
            }, timeoutMs);
      signal?.addEventListener('abort', onAbort, { once: true });
      this.#settle = (outcome) => {
        this.#settle = undefined;
        signal?.removeEventListener('abort', onAbort);
        if (timer !== undefined) clearTimeout(timer);
        if ('error' in outcome) reject(outcome.error);
        else resolve(outcome.result);
      };
      if (this.#spawnError !== undefined) {
        // It could not be started at all: report it as run does.
        this.#finish({
          error: new CalicoError(
            'CALICO_ERR_IO',
            `cannot run ${formatCommand(this.#cmd, this.#args)}: ${this.#spawnError.message}`,
            { cause: this.#spawnError },
          ),
        });
        return;
      }
      this.#child.stdin.end(stdin);
    });
  }

  dispose(): void {
    if (this.#used || this.#disposed) return;
    this.#disposed = true;
    if (!this.#ended) this.#child.kill('SIGKILL');
  }

  #kill(reason: Error): void {
    this.#killReason ??= reason;
    this.#child.kill('SIGKILL');
  }

  #finish(outcome: { error: Error } | { result: RunResult }): void {
    this.#settle?.(outcome);
  }

  #setRef(on: boolean): void {
    const c = this.#child;
    for (const h of [c, c.stdin, c.stdout, c.stderr] as unknown as Handle[]) {
      if (on) h.ref();
      else h.unref();
    }
  }
}

/** A long-lived child given input and read line by line (CommandRunner.interactive). */
class NodeInteractive implements InteractiveProcess {
  readonly #child: ChildProcessWithoutNullStreams;
  readonly #lines = new Set<(line: string) => void>();
  readonly #exits = new Set<(code: number) => void>();
  #code: number | undefined;

  constructor(cmd: string, args: readonly string[], env: NodeJS.ProcessEnv) {
    const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'], env });
    this.#child = child;
    child.stdin.on('error', () => undefined);
    child.stderr.resume();
    createInterface({ input: child.stdout, crlfDelay: Infinity }).on('line', (line) => {
      for (const l of this.#lines) l(line);
    });
    child.once('error', () => {
      this.#end(-1);
    });
    child.once('exit', (code, sig) => {
      this.#end(code ?? signalExitCode(sig));
    });
    for (const h of [child, child.stdin, child.stdout, child.stderr] as unknown as Handle[]) h.unref();
  }

  get alive(): boolean {
    return this.#code === undefined;
  }

  write(text: string): void {
    if (this.#code === undefined) this.#child.stdin.write(text);
  }

  onLine(listener: (line: string) => void): void {
    this.#lines.add(listener);
  }

  onExit(listener: (code: number) => void): void {
    if (this.#code === undefined) this.#exits.add(listener);
    else listener(this.#code);
  }

  kill(): void {
    if (this.#code === undefined) this.#child.kill('SIGKILL');
  }

  #end(code: number): void {
    if (this.#code !== undefined) return;
    this.#code = code;
    this.#child.stdin.destroy();
    for (const l of this.#exits) l(code);
    this.#exits.clear();
  }
}

export class NodeCommandRunner implements CommandRunner {
  readonly #env: NodeJS.ProcessEnv | undefined;

  constructor(options: NodeCommandRunnerOptions = {}) {
    this.#env = options.env === undefined ? undefined : { ...process.env, ...options.env };
  }

  run(cmd: string, args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
    const { stdin, ...rest } = opts;
    if (opts.signal?.aborted === true) return Promise.reject(abortReason(opts.signal));
    return new NodeProcess(cmd, args, this.#env ?? process.env).run(stdin ?? '', rest);
  }

  prepare(cmd: string, args: readonly string[]): PreparedCommand {
    return new NodeProcess(cmd, args, this.#env ?? process.env).idle();
  }

  interactive(cmd: string, args: readonly string[]): InteractiveProcess {
    return new NodeInteractive(cmd, args, this.#env ?? process.env);
  }
}
