/**
 * Processes: whether one exists by id, and `ManagedProcess`, a long-lived child program started with its output
 * appended to a log file (optionally inside a network namespace with `ip netns exec`, which execs the command,
 * so the pid is the program's own). A process is tracked by pid, so a later invocation can adopt one an earlier
 * one started (`detached`: it survives the process that started it, in a session of its own). Used by the lab
 * kit (`LabProcess`) and by the servers the datastore layer starts (the Kubernetes control plane).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { sleep } from '../lib/async.js';
import { CalicoError } from '../lib/errors.js';
import { PRIVATE_FILE_MODE } from './files.js';

/** True when `pid` names a live process, also one of another user (EPERM: it exists, we may not signal it). */
export function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export interface LaunchSpec {
  /** Network namespace to run in; absent = the current one. */
  readonly netns?: string;
  readonly command: string;
  readonly args: readonly string[];
  /** Merged over this process's environment. */
  readonly env?: Readonly<Record<string, string>>;
  /** Working directory; absent: this process's. */
  readonly cwd?: string;
  /** stdout and stderr are appended here. */
  readonly logFile: string;
  /** stdout goes here instead (the file is truncated first), e.g. a capture written to stdout. */
  readonly stdoutFile?: string;
  readonly detached?: boolean;
}

const POLL_MS = 20;

export class ManagedProcess {
  readonly pid: number;
  readonly logFile: string | undefined;
  readonly #child: ChildProcess | undefined;
  #exit: string | undefined;

  private constructor(pid: number, child: ChildProcess | undefined, logFile: string | undefined) {
    this.pid = pid;
    this.#child = child;
    this.logFile = logFile;
    child?.once('exit', (code, signal) => {
      this.#exit = signal !== null ? `killed by ${signal}` : `exited with ${code ?? '?'}`;
    });
  }

  static spawn(spec: LaunchSpec): ManagedProcess {
    const [cmd, args] =
      spec.netns === undefined
        ? [spec.command, spec.args]
        : ['ip', ['netns', 'exec', spec.netns, spec.command, ...spec.args]];
    const fd = openSync(spec.logFile, 'a', PRIVATE_FILE_MODE);
    const out = spec.stdoutFile === undefined ? fd : openSync(spec.stdoutFile, 'w', PRIVATE_FILE_MODE);
    try {
      const child = spawn(cmd, args, {
        stdio: ['ignore', out, fd],
        env: { ...process.env, ...(spec.env ?? {}) },
        detached: spec.detached === true,
        ...(spec.cwd !== undefined ? { cwd: spec.cwd } : {}),
      });
      if (child.pid === undefined)
        throw new CalicoError('CALICO_ERR_IO', `cannot start ${cmd}: no pid (see ${spec.logFile})`);
      child.on('error', () => {
        // Reported through the exit status; 'error' without a listener would crash the lab.
      });
      if (spec.detached === true) child.unref();
      return new ManagedProcess(child.pid, child, spec.logFile);
    } finally {
      closeSync(fd);
      if (out !== fd) closeSync(out);
    }
  }

  /** A process started by an earlier invocation (tracked by pid only). */
  static adopt(pid: number, logFile?: string): ManagedProcess {
    return new ManagedProcess(pid, undefined, logFile);
  }

  /** Undefined while running; how it ended otherwise. */
  get exitStatus(): string | undefined {
    if (this.#child !== undefined) return this.#exit;
    return processExists(this.pid) ? undefined : 'exited';
  }

  isRunning(): boolean {
    return this.exitStatus === undefined;
  }

  /** Waits (bounded) for the process to end; true when it did. */
  async waitExit(timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (this.isRunning()) {
      if (Date.now() >= deadline) return false;
      await sleep(POLL_MS);
    }
    return true;
  }

  signal(sig: NodeJS.Signals): void {
    if (!this.isRunning()) return;
    try {
      process.kill(this.pid, sig);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ESRCH') throw e;
    }
  }

  /** SIGTERM, then SIGKILL after `graceMs`; resolves once it is gone. */
  async stop(graceMs = 5000): Promise<void> {
    this.signal('SIGTERM');
    if (await this.waitExit(graceMs)) return;
    await this.kill();
  }

  async kill(): Promise<void> {
    this.signal('SIGKILL');
    if (!(await this.waitExit(5000)))
      throw new CalicoError('CALICO_ERR_IO', `process ${this.pid} survived SIGKILL for 5 s`);
  }

  /** The last lines of the log file, for error messages. */
  logTail(lines = 20): string {
    if (this.logFile === undefined) return '';
    try {
      return readFileSync(this.logFile, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
    } catch {
      return '';
    }
  }
}
