/**
 * The agents of a lab's nodes (agent.ts runs one each): started, stopped and killed, recorded in the lab state
 * by pid (so a later lab command adopts them), and checked together for `sync`. An agent is down when the
 * lab has none running for the node (never started, stopped, crashed) or when its status.json was written by
 * another process than the one the lab started (a stale file): `sync` names such nodes instead of waiting
 * for them, or (as it did before) silently leaving them out.
 */
import { CalicoError, errorMessage } from '../lib/errors.js';
import { nodeAgentOf, type AgentStatus, type NodeAgent } from './agent.js';
import { sig } from './cluster-options.js';
import { saveState, type LabState } from './state.js';

type Timing = { readonly timeoutMs?: number; readonly signal?: AbortSignal };

/** A node whose agent is not serving: why, and where its log is. */
export interface AgentDown {
  readonly node: string;
  readonly why: string;
  readonly logFile: string;
}

/**
 * `sync` could not confirm that every node programmed the datastore's state: agents down, agents that did not
 * apply the revision in time (with their last status), or pod routes still missing between nodes.
 */
export class LabSyncError extends CalicoError {
  readonly revision: number;
  readonly down: readonly AgentDown[];
  /** Agents that were up but did not apply `revision`: the node and what went wrong. */
  readonly failed: readonly { readonly node: string; readonly message: string }[];
  /** `<destination> (<home node>) on <node>` for every route still missing. */
  readonly unrouted: readonly string[];

  constructor(o: {
    readonly revision: number;
    readonly down?: readonly AgentDown[];
    readonly failed?: readonly { readonly node: string; readonly message: string }[];
    readonly unrouted?: readonly string[];
  }) {
    const down = o.down ?? [];
    const failed = o.failed ?? [];
    const unrouted = o.unrouted ?? [];
    const parts = [
      ...down.map((d) => `calico-node on ${d.node} is down (${d.why}; log ${d.logFile})`),
      ...failed.map((f) => f.message),
      ...(unrouted.length > 0 ? [`routes missing: ${unrouted.join(', ')}`] : []),
    ];
    super('CALICO_ERR_IO', `not in sync at revision ${o.revision}: ${parts.join('; ')}`);
    this.revision = o.revision;
    this.down = down;
    this.failed = failed;
    this.unrouted = unrouted;
  }
}

export class LabAgents {
  readonly #state: LabState;
  readonly #startTimeoutMs: number;
  readonly #agents = new Map<string, NodeAgent>();

  constructor(state: LabState, options: { readonly startTimeoutMs?: number } = {}) {
    this.#state = state;
    this.#startTimeoutMs = options.startTimeoutMs ?? 30_000;
  }

  /** Whether the lab's nodes run agents at all. */
  get enabled(): boolean {
    return this.#state.agentEntry !== undefined;
  }

  of(node: string): NodeAgent {
    let agent = this.#agents.get(node);
    if (agent === undefined) {
      const n = this.#state.nodes.find((x) => x.name === node);
      if (n === undefined) throw new CalicoError('CALICO_ERR_NOT_FOUND', `no lab node ${node}`);
      agent = nodeAgentOf(this.#state, n);
      this.#agents.set(node, agent);
    }
    return agent;
  }

  #record(node: string): void {
    const n = this.#state.nodes.find((x) => x.name === node);
    if (n === undefined) return;
    const pid = this.of(node).pid;
    if (pid === undefined) delete n.agentPid;
    else n.agentPid = pid;
    saveState(this.#state);
  }

  /** Starts the node's agent and waits (bounded) until it reports in sync. */
  async start(node: string, options: Timing = {}): Promise<void> {
    try {
      await this.of(node).start({ timeoutMs: options.timeoutMs ?? this.#startTimeoutMs, ...sig(options) });
    } finally {
      this.#record(node);
    }
  }

  /** SIGTERM: the agent exits and leaves its kernel state (policy stays enforced). */
  async stop(node: string): Promise<void> {
    await this.of(node).stop();
    this.#record(node);
  }

  /** SIGKILL, as in a crash. */
  async kill(node: string): Promise<void> {
    await this.of(node).kill();
    this.#record(node);
  }

  running(node: string): boolean {
    return this.enabled && this.of(node).isRunning();
  }

  status(node: string): Promise<AgentStatus | undefined> {
    return this.of(node).status();
  }

  logFile(node: string): string {
    return this.of(node).logFile;
  }

  /** The nodes whose agent is down, and why (empty in a lab without agents). */
  async down(): Promise<AgentDown[]> {
    if (!this.enabled) return [];
    const out: AgentDown[] = [];
    for (const n of this.#state.nodes) {
      const agent = this.of(n.name);
      const why = await agentDownReason(n.agentPid, agent);
      if (why !== undefined) out.push({ node: n.name, why, logFile: agent.logFile });
    }
    return out;
  }

  /**
   * Waits (bounded) until every agent has applied `revision`; throws a LabSyncError naming the nodes whose
   * agent is down or did not get there.
   */
  async waitApplied(revision: number, options: Timing = {}): Promise<void> {
    const down = await this.down();
    const up = this.#state.nodes.filter((n) => !down.some((d) => d.node === n.name));
    const results = await Promise.allSettled(up.map((n) => this.of(n.name).waitApplied(revision, options)));
    options.signal?.throwIfAborted();
    const failed = results.flatMap((r, i) =>
      r.status === 'rejected' ? [{ node: up[i]!.name, message: errorMessage(r.reason) }] : [],
    );
    if (down.length > 0 || failed.length > 0) throw new LabSyncError({ revision, down, failed });
  }
}

/** Why the node's agent is not serving, or undefined when it runs and its status file is its own. */
async function agentDownReason(pid: number | undefined, agent: NodeAgent): Promise<string | undefined> {
  if (pid === undefined) return 'not running: never started, or stopped';
  if (!agent.isRunning()) return `pid ${pid} ${agent.exitStatus ?? 'exited'}`;
  const s = await agent.status();
  if (s === undefined) return `pid ${pid} runs but wrote no status.json`;
  if (s.pid !== pid)
    return `status.json is stale: written by pid ${s.pid} at ${s.updatedAt}, not by pid ${pid}`;
  return undefined;
}
