/**
 * The lab kubelet: one per lab node, run in the root namespace beside the control plane (it reaches the API
 * server on 127.0.0.1 directly, drives `ip netns` for the pod namespaces, and runs the CNI plugin inside the
 * node's namespace with `ip netns exec`, where an API relay (relay.ts) gives the plugin the API server on the
 * same address). It
 *   - keeps the Node Ready: a heartbeat (Node status Ready condition and capacity, the kube-node-lease Lease)
 *     at start and every `heartbeatMs`;
 *   - lists and watches the pods bound to its node (fieldSelector spec.nodeName), re-listing on 410 Gone;
 *   - runs each new pod as a sandbox (sandbox.ts: namespace, CNI ADD, probe agent on every containerPort) and
 *     reports it Running and Ready with its podIP; a sandbox that fails is retried (bounded) and the pod shows
 *     Ready=False with the error;
 *   - when a pod is being deleted (deletionTimestamp): CNI DEL, namespace removed, then the Pod deleted with
 *     grace period 0; a pod gone from the API loses its sandbox too;
 *   - on start adopts the sandboxes a previous kubelet left whose pod still exists and namespace is whole, and
 *     removes the rest.
 * Per pod, work is serialised; pods are independent of each other.
 */
import { setMaxListeners } from 'node:events';
import { readFileSync } from 'node:fs';
import type { Server } from 'node:net';
import { join } from 'node:path';
import type { CommandRunner } from '../../dataplane/exec/command-runner.js';
import { KubeTransport } from '../../datastore/kubernetes/transport.js';
import { Backoff, sleep, waitFor } from '../../lib/async.js';
import { errorMessage } from '../../lib/errors.js';
import { PRIVATE_DIR_MODE, ensureDirSync } from '../../sys/files.js';
import { calicoNetconf } from '../cni.js';
import { listNamespaces } from '../netns.js';
import { LabProcess, nodeScriptCommand, siblingScript } from '../process.js';
import { KubeletApi } from './api.js';
import { serveUnixRelay } from './relay.js';
import { Sandbox, type SandboxEnv } from './sandbox.js';
import { failedPodStatus, podName, runningPodStatus, type KubePod } from './status.js';

export interface LabKubeletOptions {
  readonly runner: CommandRunner;
  /** Kubeconfig the kubelet and the CNI plugin use (the lab's admin kubeconfig). */
  readonly kubeconfig: string;
  readonly node: {
    readonly name: string;
    readonly netns: string;
    readonly runDir: string;
    /** Reported as the Node's InternalIP and each pod's hostIP. */
    readonly ip?: string;
  };
  /** The installed `calico` and `calico-ipam` (cni.ts installLabCni). */
  readonly cniBinDir: string;
  /** The kubelet's own files: sandbox records, probe sockets, logs, the API relay's socket. */
  readonly dir: string;
  readonly mtu?: number;
  /** The CNI plugin's wait for the node agent (0 when no agent runs). Default 30. */
  readonly policySetupTimeoutSeconds?: number;
  readonly heartbeatMs?: number;
  readonly detached?: boolean;
  /** Pod namespaces carry this pid for the lab's stale-namespace sweep; default this process. */
  readonly netnsOwnerPid?: number;
  /** Pod namespaces are named `<prefix><owner pid base36>-<hex>`; default `calts-` (netns.ts). */
  readonly netnsPrefix?: string;
  readonly log?: (line: string) => void;
}

const SETUP_ATTEMPTS = 5;

export class LabKubelet implements AsyncDisposable {
  readonly #o: LabKubeletOptions;
  readonly #api: KubeletApi;
  readonly #transport: KubeTransport;
  readonly #env: SandboxEnv;
  readonly #abort = new AbortController();
  readonly #pods = new Map<string, KubePod>();
  readonly #sandboxes = new Map<string, Sandbox>();
  readonly #reported = new Set<string>();
  readonly #failures = new Map<string, number>();
  readonly #queues = new Map<string, Promise<void>>();
  readonly #loops: Promise<void>[] = [];
  readonly #since = new Date();
  #relay: { server: Server; process: LabProcess } | undefined;

  private constructor(o: LabKubeletOptions) {
    this.#o = o;
    // Every pod's setup commands listen on the one stop signal.
    setMaxListeners(0, this.#abort.signal);
    this.#transport = KubeTransport.fromFile(o.kubeconfig);
    this.#api = new KubeletApi(this.#transport, o.node.name);
    const datastore = { datastore_type: 'kubernetes', kubernetes: { kubeconfig: o.kubeconfig } };
    this.#env = {
      runner: o.runner,
      dir: join(o.dir, 'pods'),
      cniBinDir: o.cniBinDir,
      nodeNs: o.node.netns,
      nodeRunDir: o.node.runDir,
      netconf: calicoNetconf(o.node, datastore, {
        mtu: o.mtu ?? 1500,
        ...(o.policySetupTimeoutSeconds !== undefined
          ? { policySetupTimeoutSeconds: o.policySetupTimeoutSeconds }
          : {}),
      }),
      netnsOwnerPid: o.netnsOwnerPid ?? process.pid,
      ...(o.netnsPrefix !== undefined ? { netnsPrefix: o.netnsPrefix } : {}),
      detached: o.detached ?? false,
    };
  }

  /** Starts the kubelet: relay, first heartbeat, adoption and sweep, then the watch and heartbeat loops. */
  static async start(o: LabKubeletOptions): Promise<LabKubelet> {
    const k = new LabKubelet(o);
    try {
      await k.#start();
      return k;
    } catch (e) {
      await k.stop();
      throw e;
    }
  }

  #log(line: string): void {
    (this.#o.log ?? ((l: string) => process.stderr.write(`${l}\n`)))(
      `lab-kubelet ${this.#o.node.name}: ${line}`,
    );
  }

  async #start(): Promise<void> {
    ensureDirSync(this.#o.dir, { mode: PRIVATE_DIR_MODE });
    await this.#startRelay();
    await this.#api.heartbeat(new Date(), this.#since, this.#o.node.ip);
    const { items, resourceVersion } = await this.#api.listPods(this.#abort.signal);
    for (const p of items) this.#pods.set(p.metadata.uid, p);
    await this.#adoptOrSweep();
    for (const uid of this.#pods.keys()) this.#enqueue(uid);
    this.#loops.push(this.#watchLoop(resourceVersion), this.#heartbeatLoop());
  }

  /** The node namespace's way to the API server (only for a server on 127.0.0.1, the lab's). */
  async #startRelay(): Promise<void> {
    const url = new URL(this.#api.server);
    if (url.hostname !== '127.0.0.1') return;
    const port = Number(url.port || '443');
    const socket = join(this.#o.dir, 'api.sock');
    const server = await serveUnixRelay(socket, { kind: 'tcp', host: '127.0.0.1', port });
    const { command, args } = nodeScriptCommand(siblingScript('api-relay', import.meta.url));
    // stdout (truncated at each start) says `listening`; the log keeps stderr across restarts.
    const readyFile = join(this.#o.dir, 'api-relay.out');
    const proc = LabProcess.spawn({
      netns: this.#o.node.netns,
      command,
      args: [...args, '--listen', `127.0.0.1:${port}`, '--to-unix', socket],
      logFile: join(this.#o.dir, 'api-relay.log'),
      stdoutFile: readyFile,
      detached: this.#o.detached ?? false,
    });
    this.#relay = { server, process: proc };
    await waitFor(
      () => {
        if (!proc.isRunning())
          throw new Error(`api-relay in ${this.#o.node.netns} ${proc.exitStatus}: ${proc.logTail(5)}`);
        return readFileSync(readyFile, 'utf8').includes('listening');
      },
      { timeoutMs: 15_000, what: `the API relay in ${this.#o.node.netns}` },
    );
  }

  async #adoptOrSweep(): Promise<void> {
    const namespaces = await listNamespaces(this.#o.runner);
    for (const sb of Sandbox.load(this.#env, (m) => {
      this.#log(m);
    })) {
      const pod = this.#pods.get(sb.record.uid);
      const keep = pod !== undefined && pod.metadata.deletionTimestamp === undefined;
      if (keep && (await sb.adopt(namespaces).catch(() => false))) {
        this.#sandboxes.set(sb.record.uid, sb);
        this.#log(`adopted the sandbox of ${podName(pod)} (${sb.record.netns}, ${sb.record.ip ?? ''})`);
        continue;
      }
      this.#log(`removing the sandbox of ${sb.record.namespace}/${sb.record.name} (${sb.record.netns})`);
      await sb.remove().catch((e: unknown) => {
        this.#log(`removing it failed: ${errorMessage(e)}`);
      });
    }
  }

  async #watchLoop(fromVersion: string): Promise<void> {
    const signal = this.#abort.signal;
    const backoff = new Backoff(200, 5000);
    let rv = fromVersion;
    while (!signal.aborted) {
      const ended = await this.#api.watchPods(
        rv,
        (e) => {
          const pod = e.object as KubePod;
          const v = (pod.metadata as { resourceVersion?: string } | undefined)?.resourceVersion;
          if (v !== undefined) rv = v;
          if (e.type === 'BOOKMARK') return;
          if (e.type === 'DELETED') this.#pods.delete(pod.metadata.uid);
          else this.#pods.set(pod.metadata.uid, pod);
          this.#enqueue(pod.metadata.uid);
        },
        signal,
      );
      if (this.#stopped()) return;
      if (ended === 'closed') {
        backoff.reset();
        continue;
      }
      if (ended !== 'expired') {
        this.#log(`watch ended: ${errorMessage(ended)}`);
        await sleep(backoff.next(), { signal });
      }
      rv = await this.#relist().catch((e: unknown) => {
        this.#log(`list failed: ${errorMessage(e)}`);
        return rv;
      });
    }
  }

  /** Lists again (after 410 or an error): pods gone meanwhile are dropped, the rest reconciled. */
  async #relist(): Promise<string> {
    const { items, resourceVersion } = await this.#api.listPods(this.#abort.signal);
    const seen = new Set(items.map((p) => p.metadata.uid));
    for (const uid of [...this.#pods.keys()]) if (!seen.has(uid)) this.#pods.delete(uid);
    for (const p of items) this.#pods.set(p.metadata.uid, p);
    for (const uid of new Set([...seen, ...this.#sandboxes.keys()])) this.#enqueue(uid);
    return resourceVersion;
  }

  async #heartbeatLoop(): Promise<void> {
    const signal = this.#abort.signal;
    const every = this.#o.heartbeatMs ?? 10_000;
    while (!signal.aborted) {
      await sleep(every, { signal });
      if (this.#stopped()) return;
      await this.#api.heartbeat(new Date(), this.#since, this.#o.node.ip).catch((e: unknown) => {
        this.#log(`heartbeat failed: ${errorMessage(e)}`);
      });
    }
  }

  #stopped(): boolean {
    return this.#abort.signal.aborted;
  }

  #enqueue(uid: string): void {
    const prev = this.#queues.get(uid) ?? Promise.resolve();
    const next = prev
      .then(() => this.#reconcile(uid))
      .catch((e: unknown) => {
        this.#log(`pod ${uid}: ${errorMessage(e)}`);
      });
    this.#queues.set(uid, next);
    void next.then(() => {
      if (this.#queues.get(uid) === next) this.#queues.delete(uid);
    });
  }

  async #reconcile(uid: string): Promise<void> {
    if (this.#abort.signal.aborted) return;
    const pod = this.#pods.get(uid);
    const sb = this.#sandboxes.get(uid);
    if (pod === undefined || pod.metadata.deletionTimestamp !== undefined) {
      if (sb !== undefined) {
        await sb.remove();
        this.#sandboxes.delete(uid);
        this.#reported.delete(uid);
        this.#log(`pod ${sb.record.namespace}/${sb.record.name}: sandbox removed (CNI DEL)`);
      }
      this.#failures.delete(uid);
      if (pod !== undefined) await this.#api.deletePodNow(pod);
      return;
    }
    if (pod.spec?.hostNetwork === true) {
      this.#log(`pod ${podName(pod)}: hostNetwork pods are not run by the lab kubelet`);
      return;
    }
    if (sb === undefined) {
      await this.#runPod(pod);
      return;
    }
    if (!this.#reported.has(uid)) await this.#report(pod, sb);
  }

  async #runPod(pod: KubePod): Promise<void> {
    const uid = pod.metadata.uid;
    const sb = Sandbox.create(this.#env, pod);
    this.#log(`pod ${podName(pod)}: starting its sandbox ${sb.record.netns}`);
    const t0 = performance.now();
    try {
      await sb.start(this.#abort.signal);
    } catch (e) {
      const n = (this.#failures.get(uid) ?? 0) + 1;
      this.#failures.set(uid, n);
      const msg = errorMessage(e);
      this.#log(`pod ${podName(pod)}: sandbox failed (attempt ${n} of ${SETUP_ATTEMPTS}): ${msg}`);
      await this.#api.patchPodStatus(pod, failedPodStatus(msg, new Date())).catch(() => undefined);
      if (n < SETUP_ATTEMPTS)
        void sleep(1000 * 2 ** (n - 1), { signal: this.#abort.signal }).then(() => {
          this.#enqueue(uid);
        });
      return;
    }
    this.#failures.delete(uid);
    this.#sandboxes.set(uid, sb);
    const took = ((performance.now() - t0) / 1000).toFixed(1);
    this.#log(
      `pod ${podName(pod)}: running in ${sb.record.netns} at ${sb.record.ip ?? '?'} (sandbox ${took} s)`,
    );
    await this.#report(pod, sb);
  }

  async #report(pod: KubePod, sb: Sandbox): Promise<void> {
    const ip = sb.record.ip;
    if (ip === undefined) return;
    await this.#api.patchPodStatus(
      pod,
      runningPodStatus(pod, {
        ip,
        containerId: sb.record.containerId,
        hostIp: this.#o.node.ip ?? '127.0.0.1',
        started: new Date(sb.record.started ?? Date.now()),
      }),
    );
    this.#reported.add(pod.metadata.uid);
  }

  /** The sandboxes running now (namespace/name -> record), for tests and status. */
  sandboxes(): Sandbox[] {
    return [...this.#sandboxes.values()];
  }

  /** Waits (bounded) until no pod work is queued. */
  async idle(timeoutMs = 60_000): Promise<void> {
    await waitFor(() => this.#queues.size === 0, { timeoutMs, what: 'the lab kubelet to be idle' });
  }

  /**
   * Stops watching and heartbeats, and the relay. Sandboxes stay (a kubelet restart adopts them) unless
   * `removePods`, which removes every sandbox (CNI DEL, namespace) as cleanup does.
   */
  async stop(options: { readonly removePods?: boolean } = {}): Promise<void> {
    this.#abort.abort();
    await Promise.allSettled([...this.#loops, ...this.#queues.values()]);
    if (options.removePods === true) {
      const all = new Map(Sandbox.load(this.#env, () => undefined).map((s) => [s.record.uid, s]));
      for (const [uid, s] of this.#sandboxes) all.set(uid, s);
      for (const sb of all.values())
        await sb.remove().catch((e: unknown) => {
          this.#log(`removing the sandbox of ${sb.record.namespace}/${sb.record.name}: ${errorMessage(e)}`);
        });
      this.#sandboxes.clear();
    }
    if (this.#relay !== undefined) {
      this.#relay.server.close();
      await this.#relay.process.stop();
      this.#relay = undefined;
    }
    this.#transport.close();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop({ removePods: true });
  }
}
