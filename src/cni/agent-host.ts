/**
 * The plugin host inside the calico-node agent (see host.ts): plugin runs borrow the agent's open datastore
 * backend, queue for the host IPAM lock in process (still taking the lock file, so standalone plugins stay
 * serialised with the agent), run calico-ipam in process, and wait for policy by awaiting the agent's own
 * applied revision instead of polling files (the agent still writes the endpoint-status files, which the
 * standalone plugin and CHECK read).
 *
 * The agent serves only invocations that are its own: from its network namespace (the veth is created
 * where the plugin runs), for its datastore and its node. Anything else gets a fallback reason and the
 * client runs the standalone plugin instead. A config whose `endpoint_status_dir` is not the agent's is
 * waited for through that directory's files, as a standalone plugin would.
 */
import { resolve } from 'node:path';
import type { CommandRunner } from '../dataplane/exec/command-runner.js';
import type { Backend } from '../datastore/api.js';
import type { DatastoreConfig } from '../datastore/config.js';
import type { AgentRequest } from './agent-protocol.js';
import { standaloneHost } from './host.js';
import type { PluginCommands, PluginHost, PolicyWait } from './plugin.js';
import { parseInvocation } from './invocation.js';
import { calicoIpamPlugin } from './ipam-plugin.js';
import { HostLockQueue, type HostLock } from './lock.js';
import { parseNetConf, type NetConf } from './netconf.js';
import { resolveNodename } from './node.js';
import { waitForEndpoint } from './policy-wait.js';

/** What the agent's dataplane tells about what it has programmed. */
export interface AgentPolicyView {
  /** The datastore revision whose effects are all in the kernel. */
  readonly appliedRevision: number;
  /** Resolves true once an apply covering `revision` completed; false on timeout, signal or shutdown. */
  whenApplied(revision: number, opts: { timeoutMs: number; signal?: AbortSignal }): Promise<boolean>;
  /** Whether the dataplane holds this local workload endpoint. */
  hasEndpoint(namespace: string, name: string): boolean;
}

export interface AgentHostOptions {
  readonly backend: Backend;
  readonly datastore: DatastoreConfig;
  readonly nodeName: string;
  /** The agent's run directory (its endpoint-status directory is `<runDir>/endpoint-status`). */
  readonly runDir: string;
  readonly policy: AgentPolicyView;
  /** The agent's network namespace (`net:[inode]`); undefined serves clients of any namespace. */
  readonly netns: string | undefined;
  /** Runs the plumbing's kernel tools (the agent: a SpawnerCommandRunner). */
  readonly runner: CommandRunner;
}

function normalEndpoint(e: string): string {
  const withScheme = /^[a-z]+:\/\//i.test(e) ? e : `http://${e}`;
  return withScheme.toLowerCase().replace(/\/+$/, '');
}

/** Whether two datastore configurations name the same store with the same credentials. */
export function sameDatastore(a: DatastoreConfig, b: DatastoreConfig): boolean {
  if (a.datastoreType === 'embedded' && b.datastoreType === 'embedded')
    return resolve(a.datastorePath) === resolve(b.datastorePath);
  if (a.datastoreType === 'etcdv3' && b.datastoreType === 'etcdv3') {
    const eps = (c: typeof a.etcd): string => [...c.endpoints].map(normalEndpoint).sort().join(',');
    const rest = (c: typeof a.etcd): string =>
      JSON.stringify([c.discoverySrv, c.username, c.password, c.keyFile, c.certFile, c.caCertFile]);
    return eps(a.etcd) === eps(b.etcd) && rest(a.etcd) === rest(b.etcd);
  }
  return false;
}

export class AgentHost implements PluginHost {
  readonly #o: AgentHostOptions;
  readonly #locks = new HostLockQueue();
  readonly #stopping = new AbortController();
  readonly #statusDir: string;
  readonly runner: CommandRunner;

  constructor(o: AgentHostOptions) {
    this.#o = o;
    this.runner = o.runner;
    this.#statusDir = resolve(o.runDir, 'endpoint-status');
  }

  /** Why the agent does not serve this request (the client then runs the standalone plugin), or undefined. */
  fallbackReason(req: AgentRequest): string | undefined {
    if (this.#stopping.signal.aborted) return 'the agent is stopping';
    if (this.#o.netns !== undefined && req.clientNetns !== this.#o.netns)
      return `client network namespace ${req.clientNetns ?? '(not sent)'} is not the agent's ${this.#o.netns}`;
    const inv = parseInvocation(req.env);
    // Invocations that fail before touching anything answer the same wherever they run.
    if (!inv.ok || inv.value.command === 'VERSION') return undefined;
    const conf = parseNetConf(req.stdin, req.env);
    if (!conf.ok) return undefined;
    if (!sameDatastore(conf.value.datastore, this.#o.datastore)) return "datastore differs from the agent's";
    const node = resolveNodename(conf.value, false);
    if (node !== this.#o.nodeName) return `node ${node} is not the agent's ${this.#o.nodeName}`;
    return undefined;
  }

  /** Ends every policy wait (as a timeout would) and serves nothing more. */
  stop(): void {
    this.#stopping.abort();
  }

  withDatastore<T>(conf: NetConf, fn: (backend: Backend) => Promise<T>): Promise<T> {
    // fallbackReason keeps other datastores away; should one get here, it is opened as a plugin would.
    if (!sameDatastore(conf.datastore, this.#o.datastore)) return standaloneHost.withDatastore(conf, fn);
    return fn(this.#o.backend);
  }

  ipamLock(path: string, timeoutMs: number): Promise<HostLock> {
    return this.#locks.acquire(path, timeoutMs);
  }

  inProcessPlugin(type: string): PluginCommands | undefined {
    return type === 'calico-ipam' ? calicoIpamPlugin : undefined;
  }

  async waitForPolicy(w: PolicyWait): Promise<boolean> {
    if (resolve(w.statusDir) !== this.#statusDir) return waitForEndpoint(w);
    const { policy } = this.#o;
    const deadline = performance.now() + w.timeoutMs;
    let want = w.revision;
    for (;;) {
      const left = deadline - performance.now();
      if (left <= 0) return false;
      const applied = await policy.whenApplied(want, { timeoutMs: left, signal: this.#stopping.signal });
      if (!applied) return false;
      if (policy.hasEndpoint(w.namespace, w.wepName)) return true;
      // Applied, but the endpoint is not (or no longer) ours: only a later revision can change that.
      want = Math.max(want, policy.appliedRevision) + 1;
    }
  }
}
