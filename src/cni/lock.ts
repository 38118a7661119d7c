/**
 * Calico's host-wide IPAM lock (`ipam_lock_file`, default `/var/run/calico/ipam.lock`): an exclusive
 * `flock(2)` on the file, so it interoperates with any other holder of the same lock and the kernel drops it
 * when the holder dies, even by SIGKILL. Node has no flock binding, so the lock is held by a child process:
 * `flock -x -w <timeout> <file> cat`. `cat` starts only once the lock is ours and echoes a token to say so; it
 * exits when our end of its stdin closes, which happens on release or when this process dies for any reason.
 * This module talks to a long-lived interactive child, which the CommandRunner seam does not model.
 *
 * A process serving many plugin runs (the agent's CNI server) queues them in process first (`HostLockQueue`):
 * one waiter at a time takes the `flock`, and hands it straight to the next queued waiter, or keeps it
 * LINGER_MS for the next request of a burst (a bounded number of times in a row, so that a plugin process
 * waiting on the same file is not starved). That saves a `flock` child per IPAM call (a process start from
 * a big process is costly) and keeps the host-wide exclusion with plugin processes.
 *
 * The lock file is created 0600 (as Calico's) before `flock` opens it, which would create it 0666 less the
 * umask; its directory 0755. A symlink at the lock's path is refused.
 */
import { spawn } from 'node:child_process';
import { dirname } from 'node:path';
import { ensureDirSync, ensurePrivateFileSync } from '../sys/files.js';
import { errorMessage } from '../lib/errors.js';
import { CniCode, CniError } from './spec.js';

export interface HostLock extends AsyncDisposable {
  release(): Promise<void>;
}

const TOKEN = 'calico-ts-lock\n';

export async function acquireHostLock(path: string, timeoutMs: number): Promise<HostLock> {
  try {
    ensureDirSync(dirname(path));
    ensurePrivateFileSync(path);
  } catch (e) {
    throw new CniError(CniCode.ioFailure, `cannot prepare the IPAM lock ${path}`, errorMessage(e));
  }
  const seconds = Math.max(1, Math.ceil(timeoutMs / 1000));
  const child = spawn('flock', ['-x', '-w', String(seconds), path, 'cat'], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const exited = new Promise<number>((resolve) => {
    child.once('close', (code) => {
      resolve(code ?? 1);
    });
    child.once('error', () => {
      resolve(127);
    });
  });
  let stderr = '';
  child.stderr.on('data', (c: Buffer) => {
    stderr += c.toString('utf8');
  });
  child.stdin.on('error', () => undefined);
  const acquired = new Promise<boolean>((resolve) => {
    let out = '';
    child.stdout.on('data', (c: Buffer) => {
      out += c.toString('utf8');
      if (out.includes(TOKEN)) resolve(true);
    });
    void exited.then(() => {
      resolve(false);
    });
  });
  child.stdin.write(TOKEN);
  if (!(await acquired)) {
    const code = await exited;
    throw new CniError(
      CniCode.tryAgainLater,
      `could not acquire the IPAM lock ${path}`,
      code === 1 ? `timed out after ${seconds} s` : `flock exited with ${code}: ${stderr.trim()}`,
    );
  }
  let released: Promise<void> | undefined;
  const release = (): Promise<void> => {
    released ??= (async () => {
      child.stdin.end();
      await exited;
    })();
    return released;
  };
  return { release, [Symbol.asyncDispose]: release };
}

/** Consecutive in-process uses of a held `flock` before it is released for other processes. */
const MAX_HANDOVERS = 8;
/** How long a `flock` with nobody queued is kept for the next in-process request of a burst. */
const LINGER_MS = 50;

interface Waiter {
  readonly wake: () => void;
}

/** The in-process queue in front of one lock file. */
class FileLockQueue {
  readonly #path: string;
  #busy = false;
  #flock: HostLock | undefined;
  #handovers = 0;
  #linger: NodeJS.Timeout | undefined;
  readonly #waiters: Waiter[] = [];

  constructor(path: string) {
    this.#path = path;
  }

  async acquire(timeoutMs: number): Promise<HostLock> {
    const deadline = performance.now() + timeoutMs;
    if (this.#busy) await this.#queue(timeoutMs);
    else this.#busy = true;
    clearTimeout(this.#linger);
    this.#linger = undefined;
    try {
      this.#flock ??= await acquireHostLock(this.#path, Math.max(1, deadline - performance.now()));
    } catch (e) {
      this.#next();
      throw e;
    }
    let released: Promise<void> | undefined;
    const release = (): Promise<void> => (released ??= this.#release());
    return { release, [Symbol.asyncDispose]: release };
  }

  #queue(timeoutMs: number): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        const i = this.#waiters.indexOf(w);
        if (i >= 0) this.#waiters.splice(i, 1);
        reject(
          new CniError(
            CniCode.tryAgainLater,
            `could not acquire the IPAM lock ${this.#path}`,
            `timed out after ${Math.ceil(timeoutMs / 1000)} s in the queue`,
          ),
        );
      }, timeoutMs);
      const w: Waiter = {
        wake: () => {
          clearTimeout(timer);
          resolve();
        },
      };
      this.#waiters.push(w);
    });
  }

  async #release(): Promise<void> {
    if (this.#handovers < MAX_HANDOVERS) {
      this.#handovers++;
      if (this.#waiters.length > 0) {
        this.#next();
        return;
      }
      this.#busy = false;
      this.#linger = setTimeout(() => {
        this.#dropLingering();
      }, LINGER_MS);
      this.#linger.unref();
      return;
    }
    // Enough in a row: let processes waiting on the file have it before the next in-process holder.
    this.#handovers = 0;
    const held = this.#flock;
    this.#flock = undefined;
    try {
      await held?.release();
    } finally {
      this.#next();
    }
  }

  #dropLingering(): void {
    this.#linger = undefined;
    if (this.#busy) return;
    const held = this.#flock;
    this.#flock = undefined;
    this.#handovers = 0;
    void held?.release();
  }

  /** Gives the lock (with the flock when held) to the next waiter, or marks it free. */
  #next(): void {
    const w = this.#waiters.shift();
    if (w === undefined) this.#busy = false;
    else w.wake();
  }
}

/** The host IPAM lock for a process that runs many plugin invocations at once (see the module comment). */
export class HostLockQueue {
  readonly #queues = new Map<string, FileLockQueue>();

  acquire(path: string, timeoutMs: number): Promise<HostLock> {
    let q = this.#queues.get(path);
    if (q === undefined) {
      q = new FileLockQueue(path);
      this.#queues.set(path, q);
    }
    return q.acquire(timeoutMs);
  }
}
