/**
 * Long-lived lab processes (node agents, probe agents): started inside a network namespace with
 * `ip netns exec`, which execs the command, so the pid we get is the program's own. Output goes to a log
 * file in the run dir. A process is tracked by pid, so the CLI can adopt processes an earlier invocation
 * started (`detached`: they survive the process that started them, in a session of their own).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { sleep } from '../lib/async.js';
import { CalicoError } from '../lib/errors.js';
import { PRIVATE_FILE_MODE } from '../sys/files.js';
import { processExists } from '../sys/process.js';

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

/** `node <script>`, with tsx loaded when the script is TypeScript (tests run from src/ under tsx). */
export function nodeScriptCommand(script: URL): { command: string; args: string[] } {
  const path = fileURLToPath(script);
  const loader = path.endsWith('.ts') ? ['--import', import.meta.resolve('tsx')] : [];
  return { command: process.execPath, args: [...loader, path] };
}

/** The script next to this module: `probe-agent.ts` under tsx, `probe-agent.js` once built. */
export function siblingScript(base: string, from: string = import.meta.url): URL {
  return new URL(`./${base}${from.endsWith('.ts') ? '.ts' : '.js'}`, from);
}

export class LabProcess {
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

  static spawn(spec: LaunchSpec): LabProcess {
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
      return new LabProcess(child.pid, child, spec.logFile);
    } finally {
      closeSync(fd);
      if (out !== fd) closeSync(out);
    }
  }

  /** A process started by an earlier invocation (tracked by pid only). */
  static adopt(pid: number, logFile?: string): LabProcess {
    return new LabProcess(pid, undefined, logFile);
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
