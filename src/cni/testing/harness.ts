/**
 * Test support for the CNI plugins against the real kernel: a "node" network namespace (with an uplink and
 * a default route, which proxy ARP for 169.254.1.1 needs), the agent running inside it (`ip netns exec
 * <node> node dist/src/agent/main.js`) against a datastore in a temp dir (or a shared etcd), the plugins
 * installed into a temp bin dir, and helpers to run CNI commands as a runtime on that node would.
 *
 * Two ways to run the `calico` plugin (`CniMode`): `agent`, through the agent's CNI socket as the installed
 * wrapper does when the agent serves it, and `standalone`, the wrapper told not to forward
 * (`CALICO_CNI_SOCKET=`), so the plugin runs as its own Node process as without an agent socket. The
 * agent runs (and serves its socket) in both.
 *
 * Namespaces come from the caller's scope (the lab's `NetnsScope` satisfies `NamespaceScope`), so they are
 * removed even when a test fails; `dispose()` stops the agent and removes the temp dir.
 */
import { spawn, type ChildProcess, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { connect, createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CommandRunner } from '../../dataplane/exec/command-runner.js';
import { NodeCommandRunner } from '../../dataplane/exec/node-runner.js';
import { openBackend } from '../../datastore/config.js';
import type { Backend, Resource } from '../../datastore/api.js';
import { checkIpam } from '../../ipam/check.js';
import { waitFor } from '../../lib/async.js';
import { repoRoot } from '../../test-support/repo.js';
import { installCni } from '../install.js';
import { readAgentStatusSync, type AgentStatus } from '../agent-status.js';
import { conflistAdd, conflistDel, type Conflist, type RuntimeOptions } from '../runtime.js';

export const runner: CommandRunner = new NodeCommandRunner();

/** What the harness needs from a namespace scope (the lab's NetnsScope provides it). */
export interface NamespaceScope {
  namespace(): Promise<string>;
}

async function ip(ns: string, ...args: string[]): Promise<string> {
  const r = await runner.run('ip', ['-n', ns, ...args], { timeoutMs: 30_000 });
  if (r.code !== 0) throw new Error(`ip -n ${ns} ${args.join(' ')}: ${r.stderr.trim()}`);
  return r.stdout;
}

export async function inNs(ns: string, cmd: string, args: readonly string[]): Promise<string> {
  const r = await runner.run('ip', ['netns', 'exec', ns, cmd, ...args], { timeoutMs: 30_000 });
  if (r.code !== 0) throw new Error(`${ns}: ${cmd} ${args.join(' ')}: ${r.stderr.trim()}`);
  return r.stdout;
}

/**
 * The datastore of a node. For etcd, `endpoint` is etcd as this test process reaches it (root namespace
 * loopback); processes inside the node namespace reach it through a relay (see `startEtcdRelay`).
 */
export type DatastoreSpec =
  { readonly type: 'embedded' } | { readonly type: 'etcdv3'; readonly endpoint: string };

/** Where processes inside a node namespace find etcd (the relay's listener on the node's loopback). */
export const NODE_ETCD_ENDPOINT = 'http://127.0.0.1:2379';

/** How the `calico` wrapper runs the plugin (see the module comment). */
export type CniMode = 'agent' | 'standalone';
export const CNI_MODES: readonly CniMode[] = ['agent', 'standalone'];

export interface NodeOptions {
  readonly nodeName: string;
  /** Default `agent`. */
  readonly mode?: CniMode;
  readonly datastore: DatastoreSpec;
  /** The uplink's /24 inside 192.0.2.0/24-like test ranges (distinct per node when several run). */
  readonly uplinkIndex?: number;
  /** More environment for the agent (FELIX_* settings and the like). */
  readonly agentEnv?: Readonly<Record<string, string>>;
}

export interface CniOutput {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export class CniNode implements AsyncDisposable {
  readonly dir = mkdtempSync(join(tmpdir(), 'calts-cni-'));
  readonly binDir = join(this.dir, 'bin');
  readonly runDir = join(this.dir, 'run');
  readonly statusDir = join(this.runDir, 'endpoint-status');
  readonly logFile = join(this.dir, 'cni.log');
  readonly lockFile = join(this.dir, 'ipam.lock');
  readonly socketPath = join(this.runDir, 'cni.sock');
  readonly dbPath: string;
  readonly opts: NodeOptions;
  ns = '';
  backend!: Backend;
  /** How the next plugin runs go (may be switched between runs). */
  mode: CniMode;
  #agent: ChildProcess | undefined;
  #agentErr = '';
  #relay: { [Symbol.asyncDispose](): Promise<void> } | undefined;

  constructor(opts: NodeOptions, sharedDbPath?: string) {
    this.opts = opts;
    this.mode = opts.mode ?? 'agent';
    this.dbPath = sharedDbPath ?? join(this.dir, 'calico.db');
  }

  get nodeName(): string {
    return this.opts.nodeName;
  }

  /** setup(), the given resources (pools, namespaces ...), then the agent, ready to serve the plugin. */
  async boot(scope: NamespaceScope, resources: readonly Resource[]): Promise<void> {
    await this.setup(scope);
    for (const r of resources) await this.put(r);
    this.startAgent();
    await this.agentReady();
  }

  /** Creates the node namespace, opens the datastore and installs the plugins. */
  async setup(scope: NamespaceScope): Promise<void> {
    this.ns = await scope.namespace();
    const i = this.opts.uplinkIndex ?? 1;
    await ip(this.ns, 'link', 'add', 'uplink', 'type', 'veth', 'peer', 'name', 'uplinkp');
    await ip(this.ns, 'link', 'set', 'uplink', 'up');
    await ip(this.ns, 'link', 'set', 'uplinkp', 'up');
    await ip(this.ns, 'addr', 'add', `198.18.${i}.1/24`, 'dev', 'uplink');
    await ip(this.ns, 'route', 'add', 'default', 'via', `198.18.${i}.254`, 'dev', 'uplink', 'onlink');
    await inNs(this.ns, 'sysctl', ['-q', '-w', 'net.ipv4.ip_forward=1', 'net.ipv6.conf.all.forwarding=1']);
    if (this.opts.datastore.type === 'etcdv3') {
      this.#relay = await startEtcdRelay(this.opts.datastore.endpoint, this.ns, join(this.dir, 'etcd.sock'));
    }
    this.backend = await openBackend(this.datastoreConfig());
    installCni({
      binDir: this.binDir,
      distDir: join(repoRoot(), 'dist', 'src', 'cni'),
      agentSocket: this.socketPath,
    });
  }

  datastoreConfig(): Parameters<typeof openBackend>[0] {
    const ds = this.opts.datastore;
    return ds.type === 'embedded'
      ? { datastoreType: 'embedded', datastorePath: this.dbPath }
      : { datastoreType: 'etcdv3', etcd: { endpoints: [ds.endpoint] } };
  }

  /** The plugin entry of the netconf used by the tests. */
  pluginConf(overrides: Record<string, unknown> = {}): Record<string, unknown> {
    const ds = this.opts.datastore;
    return {
      type: 'calico',
      log_level: 'debug',
      log_file_path: this.logFile,
      nodename: this.nodeName,
      ...(ds.type === 'embedded'
        ? { datastore_type: 'embedded', datastore_path: this.dbPath }
        : { datastore_type: 'etcdv3', etcd_endpoints: NODE_ETCD_ENDPOINT }),
      mtu: 1500,
      // The agent's files, never the host's /var/lib/calico.
      mtu_file: join(this.runDir, 'mtu'),
      nodename_file: join(this.runDir, 'nodename'),
      ipam: { type: 'calico-ipam' },
      ipam_lock_file: this.lockFile,
      // Generous: tests share the machine's two cores with other suites.
      policy_setup_timeout_seconds: 120,
      endpoint_status_dir: this.statusDir,
      ...overrides,
    };
  }

  /** A single-plugin network config (as a runtime would pass it). */
  netconf(overrides: Record<string, unknown> = {}, cniVersion = '1.1.0'): Record<string, unknown> {
    return { cniVersion, name: 'k8s-pod-network', ...this.pluginConf(overrides) };
  }

  conflist(plugins: readonly Record<string, unknown>[], cniVersion = '1.0.0'): Conflist {
    return { name: 'k8s-pod-network', cniVersion, plugins };
  }

  runtime(extraBinDirs: readonly string[] = []): RuntimeOptions {
    return { binDirs: [this.binDir, ...extraBinDirs], netnsName: this.ns, env: this.modeEnv() };
  }

  /** The wrapper's environment for the current mode. */
  modeEnv(): Record<string, string> {
    return this.mode === 'standalone' ? { CALICO_CNI_SOCKET: '' } : {};
  }

  /** Runs one plugin command in the node namespace (the plugin sees only the CNI variables and PATH). */
  cni(
    command: string,
    conf: Record<string, unknown>,
    env: Record<string, string> = {},
    plugin = 'calico',
  ): Promise<CniOutput> {
    return this.cniSpawn(command, conf, env, { plugin }).done;
  }

  /**
   * Starts one plugin command in the node namespace (the plugin sees only the CNI variables and PATH).
   * With `group`, the plugin leads its own process group, so a test can kill it with everything it started.
   */
  cniSpawn(
    command: string,
    conf: Record<string, unknown>,
    env: Record<string, string>,
    opts: { plugin?: string; group?: boolean } = {},
  ): { child: ChildProcessWithoutNullStreams; done: Promise<CniOutput> } {
    // nsenter (network namespace only) execs the plugin in place, as a runtime on the node would run it.
    const plugin = join(this.binDir, opts.plugin ?? 'calico');
    const child = spawn('nsenter', [`--net=/var/run/netns/${this.ns}`, plugin], {
      env: {
        PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin',
        CNI_COMMAND: command,
        CNI_PATH: this.binDir,
        ...this.modeEnv(),
        ...env,
      },
      stdio: ['pipe', 'pipe', 'pipe'],
      detached: opts.group === true,
    });
    const done = new Promise<CniOutput>((resolve, reject) => {
      const out: Buffer[] = [];
      const err: Buffer[] = [];
      const timer = setTimeout(() => child.kill('SIGKILL'), 180_000);
      child.stdout.on('data', (c: Buffer) => out.push(c));
      child.stderr.on('data', (c: Buffer) => err.push(c));
      child.once('error', (e) => {
        clearTimeout(timer);
        reject(e);
      });
      child.once('close', (code, signal) => {
        clearTimeout(timer);
        resolve({
          code: code ?? (signal === null ? 128 : 137),
          stdout: Buffer.concat(out).toString(),
          stderr: Buffer.concat(err).toString(),
        });
      });
      child.stdin.on('error', () => undefined);
      child.stdin.end(JSON.stringify(conf));
    });
    return { child, done };
  }

  /** CNI_* variables for a pod. */
  podEnv(p: {
    containerId: string;
    netns: string;
    namespace?: string;
    pod?: string;
    ifname?: string;
  }): Record<string, string> {
    return {
      CNI_CONTAINERID: p.containerId,
      CNI_NETNS: p.netns,
      CNI_IFNAME: p.ifname ?? 'eth0',
      ...(p.pod === undefined
        ? {}
        : {
            CNI_ARGS: `IgnoreUnknown=1;K8S_POD_NAMESPACE=${p.namespace ?? 'default'};K8S_POD_NAME=${p.pod}`,
          }),
    };
  }

  startAgent(): void {
    const main = join(repoRoot(), 'dist', 'src', 'agent', 'main.js');
    const ds = this.opts.datastore;
    this.#agent = spawn('ip', ['netns', 'exec', this.ns, process.execPath, main], {
      env: {
        PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin',
        NODENAME: this.nodeName,
        CALICO_RUN_DIR: this.runDir,
        // Never the host's /var/lib/calico.
        CALICO_NODENAME_FILE: join(this.runDir, 'nodename'),
        CALICO_MTU_FILE: join(this.runDir, 'mtu'),
        FELIX_HEALTHENABLED: 'false',
        ...(ds.type === 'embedded'
          ? { DATASTORE_TYPE: 'embedded', CALICO_DATASTORE_PATH: this.dbPath }
          : { DATASTORE_TYPE: 'etcdv3', ETCD_ENDPOINTS: NODE_ETCD_ENDPOINT }),
        ...this.opts.agentEnv,
      },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    this.#agent.stderr?.on('data', (c: Buffer) => {
      this.#agentErr = (this.#agentErr + c.toString()).slice(-4000);
    });
  }

  /** The agent's process id (`ip netns exec` execs it in place), while it runs. */
  get agentPid(): number | undefined {
    return this.#agent?.pid;
  }

  agentStatus(): AgentStatus | undefined {
    return readAgentStatusSync(this.runDir);
  }

  /** Waits (bounded) until the agent reports an in-sync dataplane and serves its CNI socket. */
  async agentReady(timeoutMs = 30_000): Promise<void> {
    const exited = (): boolean => this.#agent?.exitCode !== null && this.#agent?.exitCode !== undefined;
    await waitFor(
      () => (this.agentStatus()?.dataplaneInSync === true && existsSync(this.socketPath)) || exited(),
      {
        timeoutMs,
        intervalMs: 25,
        what: `the agent on ${this.nodeName} to be ready`,
        describe: () => this.#agentErr,
      },
    );
    if (exited()) throw new Error(`agent on ${this.nodeName} exited before it was ready: ${this.#agentErr}`);
  }

  async stopAgent(): Promise<void> {
    const a = this.#agent;
    this.#agent = undefined;
    if (a === undefined || a.exitCode !== null) return;
    const exited = new Promise<void>((r) =>
      a.once('exit', () => {
        r();
      }),
    );
    a.kill('SIGTERM');
    const t = setTimeout(() => a.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(t);
  }

  async put(obj: Resource): Promise<Resource> {
    const [stored] = await this.backend.applyMany([obj]);
    if (stored === undefined) throw new Error('applyMany returned nothing');
    return stored;
  }

  /** `calicoctl ipam check`'s problem count (leaked, unallocated in-use, outside pools, leaked handles…). */
  async ipamProblems(): Promise<{ problems: number; summary: string }> {
    const r = await checkIpam(this.backend, { version: 'test' });
    const stale = r.report.staleAffinities ?? [];
    const summary = JSON.stringify({
      leaked: r.leaked,
      notAllocated: r.notAllocated,
      notInPools: r.notInPools,
      leakedHandles: r.leakedHandles,
      staleAffinities: stale,
    });
    return { problems: r.problems, summary };
  }

  /** The process ids that logged a finished `calico` ADD or a calico-ipam assignment (who ran the plugins). */
  addPids(): Set<number> {
    const lines = this.log().matchAll(/\[INFO\]\[(\d+)\] calico(?:: done cmd=ADD|-ipam: assigned)/g);
    return new Set([...lines].map((m) => Number(m[1])));
  }

  log(): string {
    try {
      return readFileSync(this.logFile, 'utf8');
    } catch {
      return '';
    }
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stopAgent().catch(() => undefined);
    await this.backend.close().catch(() => undefined);
    if (this.#relay !== undefined)
      await Promise.resolve(this.#relay[Symbol.asyncDispose]()).catch(() => undefined);
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/**
 * Lets processes in a node namespace reach an etcd that listens on the root namespace's loopback, without
 * touching the root namespace's network: `socat` in the node listens on the node's 127.0.0.1:2379 and
 * connects to a unix socket (the filesystem is shared), which this test process forwards to etcd.
 */
export async function startEtcdRelay(
  etcdEndpoint: string,
  nodeNs: string,
  socketPath: string,
): Promise<{ [Symbol.asyncDispose](): Promise<void> }> {
  const target = new URL(etcdEndpoint);
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    const upstream = connect(Number(target.port), target.hostname);
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('error', () => {
        client.destroy();
        upstream.destroy();
      });
      s.on('close', () => sockets.delete(s));
    }
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(socketPath, resolve);
  });
  const socat = spawn(
    'ip',
    [
      'netns',
      'exec',
      nodeNs,
      'socat',
      'TCP-LISTEN:2379,bind=127.0.0.1,reuseaddr,fork',
      `UNIX-CONNECT:${socketPath}`,
    ],
    { stdio: 'ignore' },
  );
  const relay = {
    async [Symbol.asyncDispose]() {
      socat.kill('SIGKILL');
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) =>
        server.close(() => {
          resolve();
        }),
      );
    },
  };
  try {
    await waitFor(
      async () => {
        const r = await runner.run('ip', ['netns', 'exec', nodeNs, 'ss', '-Hltn', 'sport = :2379'], {
          timeoutMs: 5000,
        });
        return r.stdout.trim() !== '';
      },
      {
        timeoutMs: 10_000,
        intervalMs: 25,
        what: `the etcd relay (socat) to listen on 127.0.0.1:2379 in ${nodeNs}`,
      },
    );
  } catch (e) {
    await relay[Symbol.asyncDispose]();
    throw e;
  }
  return relay;
}

/** An IPv4 pool (and optionally IPv6) in the datastore. */
export function ipPool(name: string, cidr: string, blockSize?: number): Resource {
  return {
    apiVersion: 'projectcalico.org/v3',
    kind: 'IPPool',
    metadata: { name },
    spec: { cidr, natOutgoing: false, ...(blockSize === undefined ? {} : { blockSize }) },
  } as Resource;
}

export function namespaceObject(name: string, labels: Record<string, string> = {}): Resource {
  return {
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: { name, labels: { 'kubernetes.io/metadata.name': name, ...labels } },
  };
}

export function podObject(
  namespace: string,
  name: string,
  labels: Record<string, string>,
  extra: {
    serviceAccountName?: string;
    ports?: { name: string; containerPort: number; protocol?: string }[];
    annotations?: Record<string, string>;
  } = {},
): Resource {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name,
      namespace,
      labels,
      ...(extra.annotations === undefined ? {} : { annotations: extra.annotations }),
    },
    spec: {
      ...(extra.serviceAccountName === undefined ? {} : { serviceAccountName: extra.serviceAccountName }),
      containers: [{ name: 'c', ...(extra.ports === undefined ? {} : { ports: extra.ports }) }],
    },
  } as Resource;
}

export { conflistAdd, conflistDel };
