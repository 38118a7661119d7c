/**
 * Installs a rendered BIRD configuration and keeps BIRD running on it: confd's check_cmd + reload_cmd for
 * bird.cfg, and runit's service for BIRD in calico-node. `apply(text)` writes the file only when the text
 * changed: to a temp file next to it (mode 0600: it may hold BGP passwords), checked with `bird -p -c`, then
 * renamed over the old one, so BIRD never reads a half-written or invalid file. If no BIRD answers on the
 * control socket, one is started in the foreground as calico-node starts it (`bird -R -s <socket> -d -c
 * <file>`: graceful-restart recovery, so routes a previous BIRD left are kept until its peers have
 * converged), with `-P <pidfile>`; each line it prints goes to the log with `source: bird`. A running BIRD is
 * asked to reload (`birdc configure`). A BIRD that answers but was not started here (left by a previous
 * agent) is adopted: reloaded, not restarted; its output is not ours to read.
 *
 * `stop()` shuts BIRD down (`birdc down`: peers are told), waits for it to exit (escalating to SIGTERM and
 * SIGKILL, bounded), then deletes the routes it programmed (`proto bird`, both families), which its
 * `persist` option leaves in the kernel: nothing BIRD installed outlives it. `detach()` instead leaves BIRD
 * running when the agent exits. Commands go through an injected runner and BIRD through an injected
 * launcher, so the same code drives BIRD in a network namespace or a scripted fake. Calls are serialised.
 */
import { randomBytes } from 'node:crypto';
import { readFile, rename, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { CalicoError } from '../lib/errors.js';
import { sleep, waitFor } from '../lib/async.js';
import { ensureDirSync } from '../sys/files.js';
import { parseBirdLogLine } from './bird-log.js';
import type { DaemonHandle, DaemonLauncher } from './daemon.js';
import type { RoutingLogger } from './types.js';

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
  /** Starts BIRD in the foreground (spawnLauncher() in production). */
  readonly launcher: DaemonLauncher;
  /** Where BIRD's output and the reloader's own events go. */
  readonly log: RoutingLogger;
  readonly configPath?: string;
  readonly socketPath?: string;
  readonly pidFile?: string;
  readonly birdBinary?: string;
  readonly birdcBinary?: string;
  /** Limit for each command (default 10 s). */
  readonly timeoutMs?: number;
  /** How long to wait for a started BIRD to answer on its socket (default 5 s). */
  readonly startTimeoutMs?: number;
  /** How long `birdc down` may take before BIRD is signalled (default 10 s). */
  readonly stopTimeoutMs?: number;
}

export type ReloadAction = 'unchanged' | 'reconfigured' | 'started';

export interface ReloadResult {
  /** True when the file was (re)written. */
  readonly changed: boolean;
  readonly action: ReloadAction;
}

export interface StopResult {
  /** True when a BIRD was running and was stopped. */
  readonly stopped: boolean;
  /** How many `proto bird` routes were left in the kernel and have been deleted. */
  readonly removedRoutes: number;
}

const POLL_MS = 50;
/** Output lines kept to explain a failed start. */
const RECENT_LINES = 10;

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

/** Resolves true when `p` settles within `ms`, false otherwise. */
async function within(p: Promise<unknown>, ms: number): Promise<boolean> {
  const ac = new AbortController();
  const done = await Promise.race([p.then(() => true), sleep(ms, { signal: ac.signal }).then(() => false)]);
  ac.abort();
  return done;
}

export class BirdReloader {
  readonly configPath: string;
  readonly socketPath: string;
  readonly pidFile: string;
  readonly #opts: BirdReloaderOptions;
  readonly #bird: string;
  readonly #birdc: string;
  readonly #timeoutMs: number;
  #queue: Promise<unknown> = Promise.resolve();
  #child: DaemonHandle | undefined;
  #stopping = false;
  readonly #recent: string[] = [];
  readonly #exitListeners = new Set<(code: number) => void>();

  constructor(options: BirdReloaderOptions) {
    this.#opts = options;
    this.configPath = options.configPath ?? DEFAULT_BIRD_CONFIG;
    this.socketPath = options.socketPath ?? DEFAULT_BIRD_SOCKET;
    this.pidFile = options.pidFile ?? DEFAULT_BIRD_PIDFILE;
    this.#bird = options.birdBinary ?? 'bird';
    this.#birdc = options.birdcBinary ?? 'birdc';
    this.#timeoutMs = options.timeoutMs ?? 10_000;
  }

  /** Installs `text` if it changed, and starts or reloads BIRD as needed. */
  apply(text: string): Promise<ReloadResult> {
    return this.#serial(() => this.#apply(text));
  }

  /** Calls `listener` with the exit code whenever a BIRD started here exits without being stopped. */
  onUnexpectedExit(listener: (code: number) => void): () => void {
    this.#exitListeners.add(listener);
    return () => this.#exitListeners.delete(listener);
  }

  /** True when a BIRD answers on the control socket. */
  async isRunning(): Promise<boolean> {
    const r = await this.#ctl(['show', 'status']);
    return r.code === 0;
  }

  /** Shuts BIRD down and deletes the routes it programmed; a BIRD that is not running is fine. */
  stop(): Promise<StopResult> {
    return this.#serial(() => this.#stop());
  }

  /** Leaves a BIRD started here running when the agent exits (its output is no longer read). */
  detach(): void {
    this.#stopping = true;
    this.#child?.detach();
    this.#child = undefined;
  }

  #serial<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.#queue.then(fn);
    this.#queue = next.catch(() => undefined);
    return next;
  }

  #ctl(args: readonly string[]): ReturnType<RoutingCommandRunner['run']> {
    return this.#opts.runner.run(this.#birdc, ['-s', this.socketPath, ...args], {
      timeoutMs: this.#timeoutMs,
    });
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
    await writeFile(tmp, text, { mode: 0o600 });
    try {
      const check = await this.#opts.runner.run(this.#bird, ['-p', '-c', tmp], {
        timeoutMs: this.#timeoutMs,
      });
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

  #onLine(line: string): void {
    this.#recent.push(line);
    if (this.#recent.length > RECENT_LINES) this.#recent.shift();
    const l = parseBirdLogLine(line);
    this.#opts.log[l.level](l.msg, {
      source: 'bird',
      ...(l.birdClass !== undefined ? { birdClass: l.birdClass } : {}),
    });
  }

  async #start(): Promise<void> {
    ensureDirSync(dirname(this.socketPath));
    ensureDirSync(dirname(this.pidFile));
    const args = ['-R', '-s', this.socketPath, '-d', '-c', this.configPath, '-P', this.pidFile];
    this.#recent.length = 0;
    this.#stopping = false;
    const child = this.#opts.launcher.launch(this.#bird, args, (l) => {
      this.#onLine(l);
    });
    this.#child = child;
    void child.exited.then((code) => {
      if (this.#child !== child) return;
      this.#child = undefined;
      if (this.#stopping) return;
      this.#opts.log.error('BIRD exited', { code, pid: child.pid ?? null });
      for (const l of this.#exitListeners) l(code);
    });
    const state = await waitFor(
      async () => (!child.running ? 'exited' : (await this.isRunning()) ? 'up' : false),
      { timeoutMs: this.#opts.startTimeoutMs ?? 5_000, intervalMs: POLL_MS },
    ).catch(() => 'silent' as const);
    if (state === 'up') {
      this.#opts.log.info('BIRD started', { pid: child.pid ?? null, config: this.configPath });
      return;
    }
    const cmd = `${this.#bird} ${args.join(' ')}`;
    if (state === 'exited') {
      throw new CalicoError(
        'CALICO_ERR_IO',
        `cannot start BIRD (${cmd}): it exited with code ${await child.exited}: ${this.#recent.join(' | ')}`,
      );
    }
    this.#stopping = true;
    child.kill('SIGKILL');
    throw new CalicoError('CALICO_ERR_IO', `BIRD started but does not answer on ${this.socketPath}`);
  }

  async #configure(): Promise<void> {
    const r = await this.#ctl(['configure', `"${this.configPath}"`]);
    if (r.code !== 0) {
      throw new CalicoError('CALICO_ERR_IO', `BIRD did not reload ${this.configPath}: ${output(r)}`);
    }
  }

  async #stop(): Promise<StopResult> {
    this.#stopping = true;
    const child = this.#child;
    const wasRunning = await this.isRunning();
    const adoptedPid = child === undefined && wasRunning ? await this.#pidFromFile() : undefined;
    if (wasRunning) await this.#ctl(['down']);
    // Without a `down` (BIRD not answering) there is nothing to wait for before signalling it.
    const stopMs = wasRunning ? (this.#opts.stopTimeoutMs ?? 10_000) : 0;
    if (child !== undefined) {
      for (const [signal, ms] of [
        [undefined, stopMs],
        ['SIGTERM', 2_000],
        ['SIGKILL', 2_000],
      ] as const) {
        if (signal !== undefined) child.kill(signal);
        if (await within(child.exited, ms)) break;
      }
    } else if (adoptedPid !== undefined) {
      await this.#waitGone(adoptedPid, stopMs);
    }
    this.#child = undefined;
    return { stopped: wasRunning || child !== undefined, removedRoutes: await this.#flushRoutes() };
  }

  async #pidFromFile(): Promise<number | undefined> {
    const text = await readIfExists(this.pidFile).catch(() => undefined);
    const pid = Number(text?.trim());
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  }

  /** Waits (bounded) for an adopted BIRD to exit after `birdc down`, then signals it by pid. */
  async #waitGone(pid: number, ms: number): Promise<void> {
    const alive = (): boolean => {
      try {
        process.kill(pid, 0);
        return true;
      } catch {
        return false;
      }
    };
    for (const [signal, wait] of [
      [undefined, ms],
      ['SIGTERM', 2_000],
      ['SIGKILL', 2_000],
    ] as const) {
      if (signal !== undefined && alive()) process.kill(pid, signal);
      const gone = await waitFor(() => !alive(), { timeoutMs: wait, intervalMs: POLL_MS }).catch(() => false);
      if (gone) return;
    }
  }

  /** Deletes every `proto bird` route of the main table (both families); returns how many there were. */
  async #flushRoutes(): Promise<number> {
    let removed = 0;
    for (const family of ['-4', '-6']) {
      const shown = await this.#opts.runner.run('ip', [family, '-j', 'route', 'show', 'proto', 'bird'], {
        timeoutMs: this.#timeoutMs,
      });
      const count =
        shown.code === 0 && shown.stdout.trim() !== '' ? (JSON.parse(shown.stdout) as unknown[]).length : 0;
      if (count === 0) continue;
      const r = await this.#opts.runner.run('ip', [family, 'route', 'flush', 'proto', 'bird'], {
        timeoutMs: this.#timeoutMs,
      });
      if (r.code !== 0) {
        throw new CalicoError(
          'CALICO_ERR_IO',
          `cannot delete BIRD's routes (ip ${family} route flush proto bird): ${output(r)}`,
        );
      }
      removed += count;
    }
    if (removed > 0) this.#opts.log.info('removed the routes BIRD programmed', { routes: removed });
    return removed;
  }
}
