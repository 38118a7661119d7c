/**
 * CommandRunner backed by child_process.spawn (never a shell: arguments are passed as a vector, so nothing in
 * them is interpreted). Output is collected as UTF-8. Abort and timeout kill the child with SIGKILL and reject
 * with the signal's reason (AbortError) or a TimeoutError; a child that exits by itself always resolves.
 */
import { spawn } from 'node:child_process';
import { constants } from 'node:os';
import { CalicoError } from '../../lib/errors.js';
import { formatCommand, type CommandRunner, type RunOptions, type RunResult } from './command-runner.js';

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

export class NodeCommandRunner implements CommandRunner {
  readonly #env: NodeJS.ProcessEnv | undefined;

  constructor(options: NodeCommandRunnerOptions = {}) {
    this.#env = options.env === undefined ? undefined : { ...process.env, ...options.env };
  }

  run(cmd: string, args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
    const { signal, timeoutMs, stdin } = opts;
    return new Promise<RunResult>((resolve, reject) => {
      if (signal?.aborted === true) {
        reject(abortReason(signal));
        return;
      }
      const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'], env: this.#env ?? process.env });
      const stdout: Buffer[] = [];
      const stderr: Buffer[] = [];
      let killReason: Error | undefined;
      let settled = false;
      const kill = (reason: Error): void => {
        killReason ??= reason;
        child.kill('SIGKILL');
      };
      const onAbort = (): void => {
        kill(abortReason(signal));
      };
      const timer =
        timeoutMs === undefined
          ? undefined
          : setTimeout(() => {
              kill(
                new DOMException(
                  `${formatCommand(cmd, args)}: timed out after ${timeoutMs} ms`,
                  'TimeoutError',
                ),
              );
            }, timeoutMs);
      signal?.addEventListener('abort', onAbort, { once: true });
      const settle = (action: () => void): void => {
        if (settled) return;
        settled = true;
        signal?.removeEventListener('abort', onAbort);
        if (timer !== undefined) clearTimeout(timer);
        action();
      };
      child.stdout.on('data', (chunk: Buffer) => stdout.push(chunk));
      child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));
      // A child that exits without reading its input makes the pipe fail with EPIPE; its exit code tells the story.
      child.stdin.on('error', (e: NodeJS.ErrnoException) => {
        if (e.code !== 'EPIPE') kill(e);
      });
      child.on('error', (e) => {
        settle(() => {
          reject(
            killReason ??
              new CalicoError('CALICO_ERR_IO', `cannot run ${formatCommand(cmd, args)}: ${e.message}`, {
                cause: e,
              }),
          );
        });
      });
      // Once killed, do not wait for the pipes: a grandchild (e.g. a forked server) may hold them open.
      child.on('exit', () => {
        if (killReason === undefined) return;
        child.stdout.destroy();
        child.stderr.destroy();
        const reason = killReason;
        settle(() => {
          reject(reason);
        });
      });
      child.on('close', (code, sig) => {
        settle(() => {
          if (killReason !== undefined) {
            reject(killReason);
            return;
          }
          resolve({
            stdout: Buffer.concat(stdout).toString('utf8'),
            stderr: Buffer.concat(stderr).toString('utf8'),
            code: code ?? signalExitCode(sig),
          });
        });
      });
      child.stdin.end(stdin ?? '');
    });
  }
}
