/**
 * The process-execution seam (Felix's cmdshim). Drivers never call child_process themselves: they take a
 * CommandRunner, so unit tests can script the kernel tools' answers (FakeCommandRunner) and the lab can run
 * the same driver inside a network namespace (netnsRunner).
 *
 * Contract: `run` resolves with the exit code for every process that started, whatever the code; it rejects
 * only when the process could not be started, or when `signal` aborted / `timeoutMs` expired (the process is
 * killed and the rejection is the signal's reason: an AbortError or a TimeoutError, see isAbortError).
 *
 * `prepare` (optional) starts a command now and gives it its stdin later: the process start, several
 * milliseconds, happens before the input is known (the nftables table keeps one `nft -f -` waiting for its
 * next transaction). A prepared process that is not needed is disposed (killed); one waiting when its owner
 * process exits reads end-of-file. Its `run` has run's contract, the timeout counting from when the input is
 * written, and rejects (PreparedExitedError) when the process ended before it was given its input.
 */
import { CalicoError, UsageError } from '../../lib/errors.js';

export interface RunOptions {
  /** Written to the child's stdin, which is then closed. Without it stdin is closed at once. */
  readonly stdin?: string;
  readonly signal?: AbortSignal;
  /** Kill the child and reject with a TimeoutError after this many milliseconds. */
  readonly timeoutMs?: number;
}

export interface RunResult {
  readonly stdout: string;
  readonly stderr: string;
  /** The exit code; a child killed by a signal reports 128 + the signal number, as a shell would. */
  readonly code: number;
}

/** What a prepared command's run takes: everything run takes except stdin, which is its argument. */
export type PreparedRunOptions = Omit<RunOptions, 'stdin'>;

export interface PreparedCommand {
  /** Started and not ended (nor disposed, nor run): `run` can be called. */
  readonly alive: boolean;
  /** Writes `stdin`, closes it and waits for the process, like CommandRunner.run. At most once. */
  run(stdin: string, opts?: PreparedRunOptions): Promise<RunResult>;
  /** Kills the process unless it was run. */
  dispose(): void;
}

export interface CommandRunner {
  run(cmd: string, args: readonly string[], opts?: RunOptions): Promise<RunResult>;
  prepare?(cmd: string, args: readonly string[]): PreparedCommand;
}

/** A prepared command that had ended (killed, crashed) before it was given its input. */
export class PreparedExitedError extends CalicoError {
  constructor(message: string) {
    super('CALICO_ERR_IO', message);
  }

  static of(cmd: string, args: readonly string[]): PreparedExitedError {
    return new PreparedExitedError(
      `${formatCommand(cmd, args)}: the prepared process ended before it was run`,
    );
  }
}

/** `cmd args…` as one line, for error messages and logs (not for a shell). */
export function formatCommand(cmd: string, args: readonly string[]): string {
  return [cmd, ...args].map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : JSON.stringify(a))).join(' ');
}

/** Names `ip netns` accepts without ambiguity (no path separators, no leading '-' that would read as an option). */
const NETNS_NAME = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,254}$/;

export function isValidNetnsName(name: string): boolean {
  return NETNS_NAME.test(name);
}

/** Runs every command of `base` inside the network namespace `nsName` (through `ip netns exec`). */
export function netnsRunner(base: CommandRunner, nsName: string): CommandRunner {
  if (!isValidNetnsName(nsName))
    throw new UsageError(`invalid network namespace name ${JSON.stringify(nsName)}`);
  const inNs = (cmd: string, args: readonly string[]): string[] => ['netns', 'exec', nsName, cmd, ...args];
  const prepare = base.prepare?.bind(base);
  return {
    run: (cmd, args, opts) => base.run('ip', inNs(cmd, args), opts),
    ...(prepare === undefined ? {} : { prepare: (cmd, args) => prepare('ip', inNs(cmd, args)) }),
  };
}
