/**
 * Installs a rendered BIRD configuration and makes BIRD use it (confd's check_cmd + reload_cmd for
 * bird.cfg). `apply(text)` writes the file only when the text changed: to a temp file next to it, checked
 * with `bird -p -c`, then renamed over the old one (so BIRD never reads a half-written or invalid file).
 * Then, if BIRD is not running, it is started (`bird -c <file> -s <socket> -P <pidfile>`); if it is and the
 * file changed, it is asked to reload (`birdc -s <socket> configure "<file>"`). Commands go through an
 * injected runner, so the same code drives a BIRD inside a network namespace or a scripted fake. Calls are
 * serialised.
 */
import { randomBytes } from 'node:crypto';
import { readFile, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join, basename } from 'node:path';
import { CalicoError } from '../lib/errors.js';
import { ensureDirSync } from '../sys/files.js';

/** The process-execution seam (structurally the dataplane's CommandRunner). */
export interface RoutingCommandRunner {
  run(
    cmd: string,
    args: readonly string[],
    opts?: { readonly timeoutMs?: number; readonly signal?: AbortSignal },
  ): Promise<{ readonly stdout: string; readonly stderr: string; readonly code: number }>;
}

export const DEFAULT_BIRD_CONFIG = '/etc/calico/confd/config/bird.cfg';
export const DEFAULT_BIRD_SOCKET = '/var/run/calico/bird.ctl';
export const DEFAULT_BIRD_PIDFILE = '/var/run/calico/bird.pid';

export interface BirdReloaderOptions {
  readonly runner: RoutingCommandRunner;
  readonly configPath?: string;
  readonly socketPath?: string;
  readonly pidFile?: string;
  readonly birdBinary?: string;
  readonly birdcBinary?: string;
  /** Limit for each command (default 10 s). */
  readonly timeoutMs?: number;
  /** How long to wait for a started BIRD to answer on its socket (default 5 s). */
  readonly startTimeoutMs?: number;
}

export type ReloadAction = 'unchanged' | 'reconfigured' | 'started';

export interface ReloadResult {
  /** True when the file was (re)written. */
  readonly changed: boolean;
  readonly action: ReloadAction;
}

const POLL_MS = 50;

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function readIfExists(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
}

function output(r: { stdout: string; stderr: string }): string {
  return `${r.stdout}${r.stderr}`.trim();
}

export class BirdReloader {
  readonly configPath: string;
  readonly socketPath: string;
  readonly pidFile: string;
  readonly #runner: RoutingCommandRunner;
  readonly #bird: string;
  readonly #birdc: string;
  readonly #timeoutMs: number;
  readonly #startTimeoutMs: number;
  #queue: Promise<unknown> = Promise.resolve();

  constructor(options: BirdReloaderOptions) {
    this.#runner = options.runner;
    this.configPath = options.configPath ?? DEFAULT_BIRD_CONFIG;
    this.socketPath = options.socketPath ?? DEFAULT_BIRD_SOCKET;
    this.pidFile = options.pidFile ?? DEFAULT_BIRD_PIDFILE;
    this.#bird = options.birdBinary ?? 'bird';
    this.#birdc = options.birdcBinary ?? 'birdc';
    this.#timeoutMs = options.timeoutMs ?? 10_000;
    this.#startTimeoutMs = options.startTimeoutMs ?? 5_000;
  }

  /** Installs `text` if it changed, and starts or reloads BIRD as needed. */
  apply(text: string): Promise<ReloadResult> {
    const next = this.#queue.then(() => this.#apply(text));
    this.#queue = next.catch(() => undefined);
    return next;
  }

  /** True when a BIRD answers on the control socket. */
  async isRunning(): Promise<boolean> {
    const r = await this.#runner.run(this.#birdc, ['-s', this.socketPath, 'show', 'status'], {
      timeoutMs: this.#timeoutMs,
    });
    return r.code === 0;
  }

  /** Asks BIRD to shut down (`birdc down`); a BIRD that is not running is fine. */
  async stop(): Promise<void> {
    if (!(await this.isRunning())) return;
    await this.#runner.run(this.#birdc, ['-s', this.socketPath, 'down'], { timeoutMs: this.#timeoutMs });
  }

  async #apply(text: string): Promise<ReloadResult> {
    const changed = (await readIfExists(this.configPath)) !== text;
    if (changed) await this.#install(text);
    if (!(await this.isRunning())) {
      await this.#start();
      return { changed, action: 'started' };
    }
    if (!changed) return { changed, action: 'unchanged' };
    await this.#configure();
    return { changed, action: 'reconfigured' };
  }

  async #install(text: string): Promise<void> {
    const dir = dirname(this.configPath);
    ensureDirSync(dir);
    const tmp = join(
      dir,
      `.${basename(this.configPath)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`,
    );
    await writeFile(tmp, text, { mode: 0o644 });
    try {
      const check = await this.#runner.run(this.#bird, ['-p', '-c', tmp], { timeoutMs: this.#timeoutMs });
      if (check.code !== 0) {
        throw new CalicoError(
          'CALICO_ERR_PARSE',
          `BIRD rejected the new configuration for ${this.configPath}: ${output(check).replaceAll(tmp, this.configPath)}`,
        );
      }
      await rename(tmp, this.configPath);
    } finally {
      await rm(tmp, { force: true });
    }
  }

  async #start(): Promise<void> {
    ensureDirSync(dirname(this.socketPath));
    ensureDirSync(dirname(this.pidFile));
    const args = ['-c', this.configPath, '-s', this.socketPath, '-P', this.pidFile];
    const r = await this.#runner.run(this.#bird, args, { timeoutMs: this.#timeoutMs });
    if (r.code !== 0) {
      throw new CalicoError(
        'CALICO_ERR_IO',
        `cannot start BIRD (${this.#bird} ${args.join(' ')}): ${output(r)}`,
      );
    }
    // bird returns once it has daemonised; wait (bounded) until its control socket answers.
    const deadline = Date.now() + this.#startTimeoutMs;
    while (!(await this.isRunning())) {
      if (Date.now() >= deadline) {
        throw new CalicoError('CALICO_ERR_IO', `BIRD started but does not answer on ${this.socketPath}`);
      }
      await sleep(POLL_MS);
    }
  }

  async #configure(): Promise<void> {
    const r = await this.#runner.run(
      this.#birdc,
      ['-s', this.socketPath, 'configure', `"${this.configPath}"`],
      {
        timeoutMs: this.#timeoutMs,
      },
    );
    if (r.code !== 0) {
      throw new CalicoError('CALICO_ERR_IO', `BIRD did not reload ${this.configPath}: ${output(r)}`);
    }
  }
}
