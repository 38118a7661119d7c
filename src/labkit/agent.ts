/**
 * A node's calico-ts agent as the lab runs it: `ip netns exec <node-ns> node dist/src/agent/main.js` with
 * NODENAME, the datastore settings, the networking mode's settings (topology.ts) and CALICO_RUN_DIR, logging
 * to `<run dir>/agent.log`. The agent reports
 * through `<run dir>/status.json` (written atomically): the lab waits there for it to start, and for the
 * highest datastore revision it has programmed (`appliedRevision`) to reach a revision the lab wrote.
 */
import { existsSync, symlinkSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import {
  type AgentStatus,
  endpointStatusDir,
  endpointStatusPath as statusFilePath,
  readAgentStatus,
} from '../cni/agent-status.js';
import { CalicoError } from '../lib/errors.js';
import { labDatastoreEnv } from './datastore.js';
import { LabProcess, nodeScriptCommand } from './process.js';
import type { LabState, NodeRecord } from './state.js';
import { networkAgentEnv } from './topology.js';
import { ensureDirSync } from '../sys/files.js';

export type { AgentStatus } from '../cni/agent-status.js';

export interface AgentLaunch {
  readonly node: string;
  readonly netns: string;
  /** CALICO_RUN_DIR of this node's agent. */
  readonly runDir: string;
  /** DATASTORE_TYPE and its settings. */
  readonly datastoreEnv: Readonly<Record<string, string>>;
  /** The agent's entry script (absolute path). */
  readonly entry: string;
  /** The Node binary to run it with (default: this process's). */
  readonly nodeBinary?: string;
  /** Extra environment (networking mode, FELIX_* settings and the like). */
  readonly env?: Readonly<Record<string, string>>;
  readonly detached?: boolean;
}

const POLL_MS = 10;

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** The environment the agent reads (see the agent contract). */
export function agentEnv(launch: AgentLaunch): Record<string, string> {
  return {
    NODENAME: launch.node,
    ...launch.datastoreEnv,
    CALICO_RUN_DIR: launch.runDir,
    // Per node, never the host's /var/lib/calico (several nodes share this machine).
    CALICO_NODENAME_FILE: join(launch.runDir, 'nodename'),
    CALICO_MTU_FILE: join(launch.runDir, 'mtu'),
    ...(launch.env ?? {}),
  };
}

export function endpointStatusPath(runDir: string, namespace: string, wepName: string): string {
  return statusFilePath(endpointStatusDir(runDir), namespace, wepName);
}

/**
 * `<run dir>/bin/calico-node`, a symlink to this Node binary: an agent started through it shows as
 * `calico-node` in the process table, where `calicoctl node status` looks for it.
 */
export function calicoNodeBinary(runDir: string): string {
  const link = join(runDir, 'bin', 'calico-node');
  if (existsSync(link)) return link;
  ensureDirSync(dirname(link));
  try {
    symlinkSync(process.execPath, link);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
  }
  return link;
}

/** The agent of a lab node (adopting the process an earlier lab command started, if any). */
export function nodeAgentOf(state: LabState, n: NodeRecord): NodeAgent {
  if (state.agentEntry === undefined) throw new CalicoError('CALICO_ERR_USAGE', 'this lab runs no agents');
  const launch: AgentLaunch = {
    node: n.name,
    netns: n.netns,
    runDir: n.runDir,
    datastoreEnv: labDatastoreEnv(state),
    entry: state.agentEntry,
    nodeBinary: calicoNodeBinary(state.runDir),
    env: { ...networkAgentEnv(state.network ?? 'static'), ...state.agentEnv },
    detached: state.detached,
  };
  return new NodeAgent(launch, n.agentPid);
}

export class NodeAgent {
  readonly launch: AgentLaunch;
  #proc: LabProcess | undefined;

  constructor(launch: AgentLaunch, adoptPid?: number) {
    this.launch = launch;
    if (adoptPid !== undefined) this.#proc = LabProcess.adopt(adoptPid, this.logFile);
  }

  get logFile(): string {
    return join(this.launch.runDir, 'agent.log');
  }

  get pid(): number | undefined {
    return this.#proc?.isRunning() === true ? this.#proc.pid : undefined;
  }

  isRunning(): boolean {
    return this.#proc?.isRunning() === true;
  }

  /** How the agent's process ended (`killed by SIGKILL`, `exited with 1`, `exited`); undefined if running. */
  get exitStatus(): string | undefined {
    return this.#proc === undefined ? 'not started' : this.#proc.exitStatus;
  }

  status(): Promise<AgentStatus | undefined> {
    return readAgentStatus(this.launch.runDir);
  }

  /** Starts the agent and waits (bounded) until it reports itself in sync with a programmed dataplane. */
  async start(options: { readonly timeoutMs?: number; readonly signal?: AbortSignal } = {}): Promise<void> {
    if (this.isRunning())
      throw new CalicoError('CALICO_ERR_USAGE', `agent of ${this.launch.node} runs already`);
    if (!existsSync(this.launch.entry))
      throw new CalicoError(
        'CALICO_ERR_USAGE',
        `agent entry ${this.launch.entry} does not exist (npm run build)`,
      );
    const { command, args } = nodeScriptCommand(pathToFileURL(this.launch.entry));
    const proc = LabProcess.spawn({
      netns: this.launch.netns,
      command: this.launch.nodeBinary ?? command,
      args,
      env: agentEnv(this.launch),
      logFile: this.logFile,
      ...(this.launch.detached !== undefined ? { detached: this.launch.detached } : {}),
    });
    this.#proc = proc;
    try {
      await this.#waitFor(
        (s) => s.pid === proc.pid && s.inSync && s.dataplaneInSync,
        'start (inSync and dataplaneInSync)',
        options,
      );
    } catch (e) {
      await proc.kill();
      throw e;
    }
  }

  /** Waits until the agent has programmed every change up to `revision`. */
  async waitApplied(
    revision: number,
    options: { readonly timeoutMs?: number; readonly signal?: AbortSignal } = {},
  ): Promise<AgentStatus> {
    return this.#waitFor((s) => s.appliedRevision >= revision, `apply revision ${revision}`, options);
  }

  async #waitFor(
    done: (s: AgentStatus) => boolean,
    what: string,
    options: { readonly timeoutMs?: number; readonly signal?: AbortSignal },
  ): Promise<AgentStatus> {
    const proc = this.#proc;
    if (proc === undefined)
      throw new CalicoError('CALICO_ERR_USAGE', `agent of ${this.launch.node} is not running`);
    const timeoutMs = options.timeoutMs ?? 30_000;
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      options.signal?.throwIfAborted();
      const s = await this.status();
      if (s !== undefined && s.pid === proc.pid && done(s)) return s;
      const exited = proc.exitStatus;
      if (exited !== undefined || Date.now() >= deadline) {
        const why = exited !== undefined ? `agent ${exited}` : `timed out after ${timeoutMs} ms`;
        const last = s === undefined ? 'no status.json' : `status ${JSON.stringify(s)}`;
        throw new CalicoError(
          'CALICO_ERR_IO',
          `agent of ${this.launch.node}: ${what}: ${why}; ${last}; log ${this.logFile}:\n${proc.logTail()}`,
        );
      }
      await sleep(POLL_MS);
    }
  }

  /** SIGTERM (the agent leaves kernel state in place), SIGKILL after `graceMs`. */
  async stop(graceMs = 5000): Promise<void> {
    await this.#proc?.stop(graceMs);
    this.#proc = undefined;
  }

  /** SIGKILL: a crash, as far as the agent can tell. */
  async kill(): Promise<void> {
    await this.#proc?.kill();
    this.#proc = undefined;
  }

  async restart(options: { readonly timeoutMs?: number; readonly signal?: AbortSignal } = {}): Promise<void> {
    await this.stop();
    await this.start(options);
  }

  logTail(lines = 20): string {
    return this.#proc?.logTail(lines) ?? '';
  }
}
