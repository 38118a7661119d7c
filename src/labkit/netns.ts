/**
 * Network-namespace helpers for real-kernel tests and the lab. Everything happens inside namespaces created
 * here (never in the root namespace: no root addresses, routes or firewall changes), through a CommandRunner
 * (`ip netns …`, `ip -n <ns> …`, `ip netns exec <ns> …`), and every probe is bounded in time.
 *
 * Names are `calts-<pid base36>-<random>`: recognisable as ours, and the creating process's pid lets
 * sweepStaleNamespaces() remove leftovers of crashed runs without touching those of a run still alive (node
 * --test runs test files in parallel processes). NetnsScope records what it creates and removes it on dispose,
 * even after failures: listeners are stopped, processes left in its namespaces are killed, namespaces deleted.
 */
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { sleep } from '../lib/async.js';
import { CalicoError, isAbortError } from '../lib/errors.js';
import { parseCidr } from '../lib/net/ip.js';
import {
  formatCommand,
  isValidNetnsName,
  netnsRunner,
  type CommandRunner,
} from '../dataplane/exec/command-runner.js';
import { processExists } from '../sys/process.js';

export const NETNS_PREFIX = 'calts-';
const IFNAME = /^[A-Za-z0-9_.-]{1,15}$/;
const READY_POLL_MS = 20;

type Signal = { readonly signal?: AbortSignal };

/** Runs a command and throws a CalicoError (with the command's stderr) unless it exits with 0. */
export async function runChecked(
  runner: CommandRunner,
  cmd: string,
  args: readonly string[],
  options: Signal & { readonly stdin?: string; readonly timeoutMs?: number } = {},
): Promise<string> {
  const r = await runner.run(cmd, args, { timeoutMs: 30_000, ...options });
  if (r.code !== 0) {
    throw new CalicoError(
      'CALICO_ERR_IO',
      `${formatCommand(cmd, args)} exited with ${r.code}: ${r.stderr.trim()}`,
    );
  }
  return r.stdout;
}

/**
 * Why real-kernel tests cannot run here (not root, or a tool missing), or false when they can. Tests pass it
 * as `skip` so that the reason is printed.
 */
export function kernelTestSkipReason(
  tools: readonly string[] = ['ip', 'nft', 'socat', 'ss'],
): string | false {
  if (process.getuid?.() !== 0) return 'needs root (creates network namespaces)';
  const path = (process.env.PATH ?? '').split(delimiter).filter((d) => d !== '');
  const missing = tools.filter((t) => !path.some((d) => existsSync(join(d, t))));
  return missing.length > 0 ? `missing tools: ${missing.join(', ')}` : false;
}

/**
 * A fresh namespace name: `<prefix><pid base36>-<6 hex>`. `ownerPid` is the process whose death makes the
 * namespace stale (the lab CLI passes a keeper process that outlives each command).
 */
export function uniqueNamespaceName(prefix = NETNS_PREFIX, ownerPid = process.pid): string {
  return `${prefix}${ownerPid.toString(36)}-${randomBytes(3).toString('hex')}`;
}

/** The pid encoded in a name made by uniqueNamespaceName, or undefined. */
export function namespaceOwnerPid(name: string, prefix = NETNS_PREFIX): number | undefined {
  if (!name.startsWith(prefix)) return undefined;
  const m = /^([0-9a-z]+)-[0-9a-f]+$/.exec(name.slice(prefix.length));
  return m ? parseInt(m[1]!, 36) : undefined;
}

export async function listNamespaces(runner: CommandRunner, options: Signal = {}): Promise<string[]> {
  const out = (await runChecked(runner, 'ip', ['-j', 'netns', 'list'], options)).trim();
  if (out === '') return [];
  const parsed: unknown = JSON.parse(out);
  if (!Array.isArray(parsed)) return [];
  return parsed.flatMap((e: unknown) =>
    typeof e === 'object' && e !== null && 'name' in e && typeof e.name === 'string' ? [e.name] : [],
  );
}

/** Creates a namespace and brings its loopback up. */
export async function createNamespace(
  runner: CommandRunner,
  name: string,
  options: Signal = {},
): Promise<void> {
  if (!isValidNetnsName(name)) throw new CalicoError('CALICO_ERR_USAGE', `invalid namespace name ${name}`);
  await runChecked(runner, 'ip', ['netns', 'add', name], options);
  await runChecked(runner, 'ip', ['-n', name, 'link', 'set', 'lo', 'up'], options);
}

/** Kills the processes still running in the namespace, then deletes it. */
export async function deleteNamespace(
  runner: CommandRunner,
  name: string,
  options: Signal = {},
): Promise<void> {
  const pids = (await runChecked(runner, 'ip', ['netns', 'pids', name], options))
    .split(/\s+/)
    .filter((p) => p !== '');
  if (pids.length > 0) await runner.run('kill', ['-KILL', ...pids], options);
  await runChecked(runner, 'ip', ['netns', 'del', name], options);
}

/**
 * Deletes namespaces named `<prefix>…` whose creating process is gone (or whose name carries no pid).
 * Returns the names deleted.
 */
export async function sweepStaleNamespaces(
  runner: CommandRunner,
  prefix = NETNS_PREFIX,
  options: Signal & { readonly isAlive?: (pid: number) => boolean } = {},
): Promise<string[]> {
  const isAlive = options.isAlive ?? processExists;
  const stale = (await listNamespaces(runner, options)).filter((name) => {
    if (!name.startsWith(prefix)) return false;
    const pid = namespaceOwnerPid(name, prefix);
    return pid === undefined || !isAlive(pid);
  });
  for (const name of stale) await deleteNamespace(runner, name, options);
  return stale;
}

export interface VethEnd {
  readonly ns: string;
  readonly name: string;
  /** Address with prefix length (`10.0.0.1/24`), added to this end when given. */
  readonly address?: string;
}

export interface RouteVia {
  readonly dev?: string;
  readonly via?: string;
}

export type Protocol = 'tcp' | 'udp';

export interface ProbeTarget {
  readonly protocol: Protocol;
  readonly address: string;
  readonly port: number;
}

/** A socat echo server inside a namespace. */
export interface Listener extends AsyncDisposable {
  readonly ns: string;
  readonly target: ProbeTarget;
  stop(): Promise<void>;
}

function socatAddress(t: ProbeTarget, listen: boolean): string {
  const v6 = parseCidr(t.address)?.family === 6;
  const proto = `${t.protocol.toUpperCase()}${v6 ? '6' : '4'}`;
  const host = v6 ? `[${t.address}]` : t.address;
  return listen ? `${proto}-LISTEN:${t.port},bind=${host},reuseaddr,fork` : `${proto}:${host}:${t.port}`;
}

function checkTarget(t: ProbeTarget): void {
  const ip = parseCidr(t.address);
  if (
    ip === undefined ||
    t.address.includes('/') ||
    !Number.isInteger(t.port) ||
    t.port < 1 ||
    t.port > 65535
  ) {
    throw new CalicoError('CALICO_ERR_USAGE', `invalid probe target ${t.address}:${t.port}`);
  }
}

/**
 * Starts an echo server (`socat … PIPE`) in `ns` and waits (bounded) until it listens. Forked children give up
 * after 5 s of silence; stop() kills the server.
 */
export async function startListener(
  runner: CommandRunner,
  ns: string,
  target: ProbeTarget,
  options: { readonly readyTimeoutMs?: number } = {},
): Promise<Listener> {
  checkTarget(target);
  const ac = new AbortController();
  let exited: string | undefined;
  const run = netnsRunner(runner, ns)
    .run('socat', ['-T', '5', socatAddress(target, true), 'PIPE'], { signal: ac.signal })
    .then(
      (r) => {
        exited = `socat exited with ${r.code}: ${r.stderr.trim()}`;
      },
      (e: unknown) => {
        if (!isAbortError(e)) exited = `socat failed: ${e instanceof Error ? e.message : String(e)}`;
      },
    );
  const stop = async (): Promise<void> => {
    ac.abort();
    await run;
  };
  const ssFlag = target.protocol === 'tcp' ? '-Hltn' : '-Hlun';
  const attempts = Math.ceil((options.readyTimeoutMs ?? 5000) / READY_POLL_MS);
  for (let attempt = 1; ; attempt++) {
    const ss = await netnsRunner(runner, ns).run('ss', [ssFlag, `sport = :${target.port}`], {
      timeoutMs: 5000,
    });
    if (ss.code === 0 && ss.stdout.trim() !== '') break;
    if (exited !== undefined || attempt >= attempts) {
      await stop();
      throw new CalicoError(
        'CALICO_ERR_IO',
        `listener ${ns} ${target.protocol}/${target.port} not ready: ${exited ?? 'timed out'}`,
      );
    }
    await sleep(READY_POLL_MS);
  }
  return { ns, target, stop, [Symbol.asyncDispose]: stop };
}

export interface ProbeResult {
  /** True when the echo server answered with our payload. */
  readonly connected: boolean;
  readonly detail: string;
}

/** A UDP client in Node: one datagram out, the first reply printed, bounded by a timer (socat would linger). */
const UDP_CLIENT = `
const [host, port, payload, ms] = process.argv.slice(1);
const s = require('node:dgram').createSocket(host.includes(':') ? 'udp6' : 'udp4');
const t = setTimeout(() => process.exit(1), Number(ms));
s.on('message', (m) => { process.stdout.write(m); clearTimeout(t); s.close(); });
s.on('error', (e) => { process.stderr.write(String(e)); process.exit(2); });
// Connected, so an ICMP port-unreachable surfaces at once as an error instead of a timeout.
s.connect(Number(port), host, () => s.send(payload));
`;

/**
 * Connects from `fromNs` to an echo server and checks that the payload comes back, within `timeoutMs`
 * (default 1 s; the command is killed after twice that). A dropped SYN or datagram reads as not connected.
 */
export async function probe(
  runner: CommandRunner,
  fromNs: string,
  target: ProbeTarget,
  options: { readonly timeoutMs?: number } = {},
): Promise<ProbeResult> {
  checkTarget(target);
  const ms = options.timeoutMs ?? 1000;
  const seconds = (ms / 1000).toFixed(3);
  const payload = `calts-probe-${randomBytes(4).toString('hex')}\n`;
  const ns = netnsRunner(runner, fromNs);
  const limit = { timeoutMs: 2 * ms + 1000 };
  const r =
    target.protocol === 'tcp'
      ? await ns.run(
          'socat',
          ['-t', seconds, '-T', seconds, '-', `${socatAddress(target, false)},connect-timeout=${seconds}`],
          {
            stdin: payload,
            ...limit,
          },
        )
      : await ns.run(
          process.execPath,
          ['-e', UDP_CLIENT, target.address, String(target.port), payload, String(ms)],
          limit,
        );
  const connected = r.stdout.includes(payload.trim());
  return { connected, detail: connected ? 'echoed' : `no echo (exit ${r.code}) ${r.stderr.trim()}`.trim() };
}

/** Creates namespaces, links and listeners, and removes all of them on dispose (in reverse order). */
export class NetnsScope implements AsyncDisposable {
  readonly #runner: CommandRunner;
  readonly #prefix: string;
  readonly #namespaces: string[] = [];
  readonly #listeners: Listener[] = [];

  constructor(runner: CommandRunner, options: { readonly prefix?: string } = {}) {
    this.#runner = runner;
    this.#prefix = options.prefix ?? NETNS_PREFIX;
  }

  get namespaces(): readonly string[] {
    return this.#namespaces;
  }

  /** A runner whose commands execute inside `ns` (one of this scope's namespaces). */
  runner(ns: string): CommandRunner {
    this.#own(ns);
    return netnsRunner(this.#runner, ns);
  }

  /** Creates a namespace (loopback up) and returns its name. */
  async namespace(options: Signal = {}): Promise<string> {
    const name = uniqueNamespaceName(this.#prefix);
    // Recorded before creation: a half-created namespace is still cleaned up.
    this.#namespaces.push(name);
    await createNamespace(this.#runner, name, options);
    return name;
  }

  /** A veth pair with one end in each namespace, both up, with optional addresses. */
  async veth(a: VethEnd, b: VethEnd, options: Signal = {}): Promise<void> {
    for (const end of [a, b]) {
      this.#own(end.ns);
      if (!IFNAME.test(end.name))
        throw new CalicoError('CALICO_ERR_USAGE', `invalid interface name ${end.name}`);
    }
    const ip = (ns: string, ...args: string[]) =>
      runChecked(this.#runner, 'ip', ['-n', ns, ...args], options);
    await ip(a.ns, 'link', 'add', a.name, 'type', 'veth', 'peer', 'name', b.name, 'netns', b.ns);
    for (const end of [a, b]) {
      if (end.address !== undefined) await this.addAddress(end.ns, end.name, end.address, options);
      await ip(end.ns, 'link', 'set', end.name, 'up');
    }
  }

  async addAddress(ns: string, dev: string, cidr: string, options: Signal = {}): Promise<void> {
    this.#own(ns);
    await runChecked(this.#runner, 'ip', ['-n', ns, 'addr', 'add', cidr, 'dev', dev], options);
  }

  async addRoute(ns: string, dest: string, via: RouteVia, options: Signal = {}): Promise<void> {
    this.#own(ns);
    const args = ['-n', ns, 'route', 'add', dest];
    if (via.via !== undefined) args.push('via', via.via);
    if (via.dev !== undefined) args.push('dev', via.dev);
    await runChecked(this.#runner, 'ip', args, options);
  }

  /** Sets a sysctl inside `ns` (e.g. `net.ipv4.ip_forward`, `1`); per-namespace keys only. */
  async sysctl(ns: string, key: string, value: string, options: Signal = {}): Promise<void> {
    await runChecked(this.runner(ns), 'sysctl', ['-q', '-w', `${key}=${value}`], options);
  }

  /** Starts an echo server in `ns`; it is stopped on dispose. */
  async listen(ns: string, target: ProbeTarget): Promise<Listener> {
    this.#own(ns);
    const listener = await startListener(this.#runner, ns, target);
    this.#listeners.push(listener);
    return listener;
  }

  probe(
    fromNs: string,
    target: ProbeTarget,
    options: { readonly timeoutMs?: number } = {},
  ): Promise<ProbeResult> {
    this.#own(fromNs);
    return probe(this.#runner, fromNs, target, options);
  }

  /** A scope works only in namespaces it created: never in the root namespace or anyone else's. */
  #own(ns: string): void {
    if (!this.#namespaces.includes(ns))
      throw new CalicoError('CALICO_ERR_USAGE', `${ns} is not in this scope`);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    const errors: unknown[] = [];
    for (const l of this.#listeners.splice(0).reverse()) await l.stop().catch((e: unknown) => errors.push(e));
    for (const ns of this.#namespaces.splice(0).reverse()) {
      const present = await listNamespaces(this.#runner).then(
        (names) => names.includes(ns),
        (e: unknown) => {
          errors.push(e);
          return true;
        },
      );
      if (present) await deleteNamespace(this.#runner, ns).catch((e: unknown) => errors.push(e));
    }
    if (errors.length > 0) throw new AggregateError(errors, 'NetnsScope: cleanup failed');
  }
}
