/**
 * A Kubernetes control plane on loopback from the built upstream programs (binaries.ts): Debian's etcd (its
 * own data dir), kube-apiserver with TLS and RBAC, and optionally kube-controller-manager and kube-scheduler,
 * each on a free 127.0.0.1 port, all files in one 0700 directory (PKI, etcd data, logs, kubeconfigs). The one
 * starter of the lab (`calico-lab up --kubernetes`, src/labkit/kube/lab.ts) and of the Kubernetes datastore's
 * tests (../testing/control-plane.ts). `start` waits (bounded) for etcd's /health, the API server's /readyz,
 * the two leader leases, and Calico's CRDs Established and served; a failure stops what was started and names
 * the program with the end of its log. `stopApiServer`/`startApiServer` restart the API server alone (same
 * port, same etcd). `stop` ends the programs in reverse order (SIGTERM, bounded wait, SIGKILL), then sweeps
 * any process of the directory still there (sweep.ts), so nothing is left. The record (ports, then each pid)
 * is handed to `onRecord` before the first program starts and after each start, so a lab can save it and a
 * later command can adopt or clean up (and the sweep finds a program whose pid was not saved yet).
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { createServer, type Server } from 'node:net';
import { waitFor } from '../../../lib/async.js';
import { CalicoError, errorMessage } from '../../../lib/errors.js';
import { findEtcdBinary } from '../../etcd/binary.js';
import { PRIVATE_DIR_MODE, ensureDirSync } from '../../../sys/files.js';
import { ManagedProcess } from '../../../sys/process.js';
import { KubeApi } from './api.js';
import {
  apiserverArgs,
  controllerManagerArgs,
  etcdArgs,
  schedulerArgs,
  type ControlPlaneFiles,
  type ControlPlanePorts,
} from './args.js';
import { requireKubeBinaries, type KubeBinaries } from './binaries.js';
import { installCalicoCrds, waitCrdsServed } from './crds.js';
import { writeKubeconfig } from './kubeconfig.js';
import { ensurePki, pkiPaths } from './pki.js';
import { controlPlaneProgramOf, stopControlPlaneProcesses, type ControlPlaneProgram } from './sweep.js';

/** What a later process needs to find, use or clean up a control plane (kept in the lab's state). */
export interface ControlPlaneRecord {
  readonly dir: string;
  /** The admin kubeconfig. */
  readonly kubeconfig: string;
  readonly release: string;
  /** `https://127.0.0.1:<port>`. */
  readonly server: string;
  readonly ports: ControlPlanePorts;
  /** Whether the controller manager and scheduler run. */
  readonly controllers: boolean;
  readonly pids: Partial<Record<ControlPlaneProgram, number>>;
}

export interface ControlPlaneOptions {
  /** Working directory (created 0700): PKI, etcd data, logs, the components' kubeconfigs. */
  readonly dir: string;
  /** The admin kubeconfig; default `<dir>/kubeconfig`. */
  readonly kubeconfig?: string;
  /** Start kube-controller-manager and kube-scheduler (default true). */
  readonly controllers?: boolean;
  /** Processes outlive the process that started them (the lab CLI). */
  readonly detached?: boolean;
  /** Default admission plugins the API server runs without (e.g. `NamespaceLifecycle` for the KDD tests). */
  readonly disableAdmissionPlugins?: readonly string[];
  /** kube-apiserver feature gates (`--feature-gates`), e.g. `{ StrictIPCIDRValidation: false }`. */
  readonly featureGates?: Readonly<Record<string, boolean>>;
  /** Bound on each wait (etcd, /readyz, leaders, CRDs); default 120 s (a busy 2-core machine). */
  readonly timeoutMs?: number;
  readonly signal?: AbortSignal;
  /** Called whenever the record changes (before the first program starts, after each start, after stop). */
  readonly onRecord?: (record: ControlPlaneRecord) => void;
}

/** Free loopback ports, all held open at once so they differ. */
async function freeLoopbackPorts(n: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from(
      { length: n },
      () =>
        new Promise<Server>((resolve, reject) => {
          const s = createServer();
          s.once('error', reject);
          s.listen(0, '127.0.0.1', () => {
            resolve(s);
          });
        }),
    ),
  );
  const ports = servers.map((s) => (s.address() as { port: number }).port);
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  return ports;
}

function filesOf(dir: string): ControlPlaneFiles {
  return {
    dir,
    pki: pkiPaths(join(dir, 'pki')),
    kcmKubeconfig: join(dir, 'kube-controller-manager.kubeconfig'),
    schedKubeconfig: join(dir, 'kube-scheduler.kubeconfig'),
  };
}

export class KubeControlPlane implements AsyncDisposable {
  readonly #record: ControlPlaneRecord & { pids: Partial<Record<ControlPlaneProgram, number>> };
  readonly #procs: { program: ControlPlaneProgram; proc: ManagedProcess }[] = [];
  readonly #onRecord: ((r: ControlPlaneRecord) => void) | undefined;
  readonly #options: ControlPlaneOptions | undefined;
  readonly api: KubeApi;
  #stopped = false;

  private constructor(record: ControlPlaneRecord, options?: ControlPlaneOptions) {
    this.#record = { ...record, pids: { ...record.pids } };
    this.#options = options;
    this.#onRecord = options?.onRecord;
    this.api = new KubeApi(record.server, filesOf(record.dir).pki);
  }

  /** Starts a control plane in `options.dir` (PKI kept when it is there already) and waits until it serves. */
  static async start(options: ControlPlaneOptions): Promise<KubeControlPlane> {
    const binaries = requireKubeBinaries();
    const etcd = findEtcdBinary();
    if (etcd === undefined)
      throw new CalicoError('CALICO_ERR_USAGE', 'no etcd binary (apt-get install etcd-server)');
    ensureDirSync(options.dir, { mode: PRIVATE_DIR_MODE });
    const files = filesOf(options.dir);
    ensureDirSync(files.pki.dir, { mode: PRIVATE_DIR_MODE });
    // What an earlier start in this directory left running would hold its etcd data.
    await stopControlPlaneProcesses(options.dir);
    await ensurePki(files.pki.dir);
    const [etcdPort, etcdPeer, apiserver, controllerManager, scheduler] = await freeLoopbackPorts(5);
    const ports = {
      etcd: etcdPort!,
      etcdPeer: etcdPeer!,
      apiserver: apiserver!,
      controllerManager: controllerManager!,
      scheduler: scheduler!,
    };
    const server = `https://127.0.0.1:${ports.apiserver}`;
    const kubeconfig = options.kubeconfig ?? join(options.dir, 'kubeconfig');
    writeKubeconfig(kubeconfig, files.pki, 'admin', server);
    writeKubeconfig(files.kcmKubeconfig, files.pki, 'kcm', server);
    writeKubeconfig(files.schedKubeconfig, files.pki, 'sched', server);
    const cp = new KubeControlPlane(
      {
        dir: options.dir,
        kubeconfig,
        release: binaries.release,
        server,
        ports,
        controllers: options.controllers !== false,
        pids: {},
      },
      options,
    );
    try {
      await cp.#bringUp(binaries, etcd, files, options);
    } catch (e) {
      await cp.stop().catch(() => undefined);
      throw e;
    }
    return cp;
  }

  /** A control plane an earlier process started (its processes found by pid and command line). */
  static attach(record: ControlPlaneRecord): KubeControlPlane {
    const cp = new KubeControlPlane(record);
    for (const [program, pid] of Object.entries(record.pids) as [ControlPlaneProgram, number][])
      if (controlPlaneProgramOf(pid, record.dir) === program)
        cp.#procs.push({ program, proc: ManagedProcess.adopt(pid, join(record.dir, `${program}.log`)) });
    return cp;
  }

  get record(): ControlPlaneRecord {
    return { ...this.#record, pids: { ...this.#record.pids } };
  }

  /** The PKI directory (`ca.crt`/`ca.key`, `admin.crt`/`admin.key`, ...). */
  get pkiDir(): string {
    return filesOf(this.#record.dir).pki.dir;
  }

  /** etcd's client URL (`http://127.0.0.1:<port>`): the API server keeps its objects under `/registry/`. */
  get etcdEndpoint(): string {
    return `http://127.0.0.1:${this.#record.ports.etcd}`;
  }

  #wait(options: ControlPlaneOptions | undefined): { timeoutMs: number; signal?: AbortSignal } {
    return {
      timeoutMs: options?.timeoutMs ?? 120_000,
      ...(options?.signal ? { signal: options.signal } : {}),
    };
  }

  #startApiServerProcess(binaries: KubeBinaries, detached: boolean): void {
    const disable = this.#options?.disableAdmissionPlugins;
    const gates = this.#options?.featureGates;
    const args = apiserverArgs(filesOf(this.#record.dir), this.#record.ports, {
      ...(disable !== undefined ? { disableAdmissionPlugins: disable } : {}),
      ...(gates !== undefined ? { featureGates: gates } : {}),
    });
    this.#spawn('kube-apiserver', binaries.path('kube-apiserver'), args, detached);
  }

  async #bringUp(
    binaries: KubeBinaries,
    etcd: string,
    files: ControlPlaneFiles,
    options: ControlPlaneOptions,
  ): Promise<void> {
    const { ports } = this.#record;
    const wait = this.#wait(options);
    const detached = options.detached === true;
    this.#onRecord?.(this.record);
    this.#spawn('etcd', etcd, etcdArgs(files, ports), detached);
    await this.#waitUp('etcd /health', wait, async () => {
      const r = await fetch(`http://127.0.0.1:${ports.etcd}/health`, { signal: AbortSignal.timeout(2000) });
      return r.ok && ((await r.json()) as { health?: unknown }).health === 'true';
    });
    this.#startApiServerProcess(binaries, detached);
    await this.#waitUp('kube-apiserver /readyz', wait, () => this.api.ready());
    // A restart on kept etcd data finds the leases of the controllers that ran before: the new ones must
    // take over (at the latest when the old lease expires, 15 s), not merely find a holder.
    const leases = ['kube-controller-manager', 'kube-scheduler'] as const;
    const before = await Promise.all(leases.map((l) => this.api.leaseHolder(l)));
    if (this.#record.controllers) {
      const kcm = controllerManagerArgs(files, ports);
      this.#spawn('kube-controller-manager', binaries.path('kube-controller-manager'), kcm, detached);
      this.#spawn('kube-scheduler', binaries.path('kube-scheduler'), schedulerArgs(files, ports), detached);
    }
    await installCalicoCrds(this.api, wait);
    if (this.#record.controllers)
      for (const [i, lease] of leases.entries())
        await this.#waitUp(`${lease} leader lease`, wait, async () => {
          const holder = await this.api.leaseHolder(lease);
          return holder !== undefined && holder !== before[i];
        });
    this.#onRecord?.(this.record);
  }

  #spawn(program: ControlPlaneProgram, command: string, args: string[], detached: boolean): void {
    const proc = ManagedProcess.spawn({
      command,
      args,
      cwd: this.#record.dir,
      logFile: join(this.#record.dir, `${program}.log`),
      detached,
    });
    this.#procs.push({ program, proc });
    this.#record.pids[program] = proc.pid;
    this.#onRecord?.(this.record);
  }

  /** Waits for `cond`; fails at once, with the end of its log, when one of the programs has exited. */
  async #waitUp(
    what: string,
    wait: { readonly timeoutMs: number; readonly signal?: AbortSignal },
    cond: () => Promise<boolean>,
  ): Promise<void> {
    let last = '';
    await waitFor(
      async () => {
        const dead = this.#procs.find((p) => !p.proc.isRunning());
        if (dead !== undefined)
          throw new CalicoError(
            'CALICO_ERR_IO',
            `${dead.program} ${dead.proc.exitStatus ?? 'exited'} while waiting for ${what}; ` +
              `end of ${dead.proc.logFile ?? 'its log'}:\n${dead.proc.logTail(15)}`,
          );
        return cond().catch((e: unknown) => {
          last = errorMessage(e);
          return false;
        });
      },
      { ...wait, intervalMs: 200, what, describe: () => last || 'not yet' },
    );
  }

  /**
   * Stops the API server alone (etcd and the controllers keep running): SIGTERM, then SIGKILL after `graceMs`
   * (open watches keep a terminating API server draining for long). No-op when it is not running.
   */
  async stopApiServer(graceMs = 3000): Promise<void> {
    const i = this.#procs.findIndex((p) => p.program === 'kube-apiserver');
    if (i < 0) return;
    const { proc } = this.#procs[i]!;
    this.#procs.splice(i, 1);
    await proc.stop(graceMs);
    delete this.#record.pids['kube-apiserver'];
    this.#onRecord?.(this.record);
  }

  /** Starts the API server again (same port, etcd and files) and waits until it serves Calico's CRDs. */
  async startApiServer(): Promise<void> {
    if (this.#stopped)
      throw new CalicoError('CALICO_ERR_USAGE', `the control plane in ${this.#record.dir} is stopped`);
    if (this.#procs.some((p) => p.program === 'kube-apiserver')) return;
    const wait = this.#wait(this.#options);
    this.#startApiServerProcess(requireKubeBinaries(), this.#options?.detached === true);
    await this.#waitUp('kube-apiserver /readyz', wait, () => this.api.ready());
    await waitCrdsServed(this.api, wait);
  }

  /** Which programs run, and whether the API server answers /readyz. */
  async status(): Promise<{
    running: ControlPlaneProgram[];
    stopped: ControlPlaneProgram[];
    ready: boolean;
  }> {
    const running = this.#procs.filter((p) => p.proc.isRunning()).map((p) => p.program);
    const wanted: ControlPlaneProgram[] = this.#record.controllers
      ? ['etcd', 'kube-apiserver', 'kube-controller-manager', 'kube-scheduler']
      : ['etcd', 'kube-apiserver'];
    const stopped = wanted.filter((p) => !running.includes(p));
    return { running, stopped, ready: running.includes('kube-apiserver') && (await this.api.ready()) };
  }

  /** kubectl of the same release with the admin kubeconfig (for tests and the lab's own checks). */
  kubectl(args: readonly string[], input?: string): { code: number; stdout: string; stderr: string } {
    const r = spawnSync(
      requireKubeBinaries().path('kubectl'),
      ['--kubeconfig', this.#record.kubeconfig, ...args],
      {
        encoding: 'utf8',
        timeout: 60_000,
        ...(input !== undefined ? { input } : {}),
      },
    );
    return { code: r.status ?? -1, stdout: r.stdout, stderr: r.error?.message ?? r.stderr };
  }

  /** Stops every program (reverse order of start), then any process of the directory left; idempotent. */
  async stop(graceMs = 10_000): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    for (const { proc } of [...this.#procs].reverse()) await proc.stop(graceMs);
    await stopControlPlaneProcesses(this.#record.dir, graceMs);
    this.#record.pids = {};
    this.#onRecord?.(this.record);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }
}
