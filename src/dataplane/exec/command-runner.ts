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
 *
 * `interactive` (optional) starts a long-lived command that is given input and read from line by line while it
 * runs (the nftables table keeps one `nft -i` for learned elements, resident.ts). Its owner bounds every wait,
 * kills it, and must not rely on its stderr (merge it into stdout in the command). It does not keep this
 * process alive; one still running when this process exits reads end-of-file.
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

/** A running command that takes input and answers line by line (CommandRunner.interactive). */
export interface InteractiveProcess {
  /** Started and not ended (nor killed). */
  readonly alive: boolean;
  /** Writes `text` to its stdin as is (add the newlines); ignored once it has ended. */
  write(text: string): void;
  /** Calls `listener` with each line of its stdout, without the line break. */
  onLine(listener: (line: string) => void): void;
  /**
   * Calls `listener` once when it has ended: its exit code (128 + signal number when killed), -1 when it could
   * not be started. A listener added after the end is called at once.
   */
  onExit(listener: (code: number) => void): void;
  /** Kills it (SIGKILL); nothing when it has ended. */
  kill(): void;
}

export interface CommandRunner {
  run(cmd: string, args: readonly string[], opts?: RunOptions): Promise<RunResult>;
  prepare?(cmd: string, args: readonly string[]): PreparedCommand;
  interactive?(cmd: string, args: readonly string[]): InteractiveProcess;
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
  const interactive = base.interactive?.bind(base);
  return {
    run: (cmd, args, opts) => base.run('ip', inNs(cmd, args), opts),
    ...(prepare === undefined ? {} : { prepare: (cmd, args) => prepare('ip', inNs(cmd, args)) }),
    ...(interactive === undefined ? {} : { interactive: (cmd, args) => interactive('ip', inNs(cmd, args)) }),
  };
}
