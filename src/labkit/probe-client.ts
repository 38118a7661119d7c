/**
 * The lab's side of a pod's probe agent: starts the agent in the pod namespace and talks to it over its unix
 * socket (probe-protocol.ts). Requests are multiplexed on one connection by id; each is bounded in time.
 */
import { rmSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { createInterface } from 'node:readline';
import { sleep } from '../lib/async.js';
import { CalicoError } from '../lib/errors.js';
import { LabProcess, nodeScriptCommand, siblingScript } from './process.js';
import {
  parseResponse,
  type AgentResponse,
  type ProbeOutcome,
  type ProbeRequest,
  type ResolveOutcome,
  type ResolveRequest,
} from './probe-protocol.js';

/** Slack on top of a probe's own timeout before the lab gives up on the agent. */
const REQUEST_SLACK_MS = 10_000;
const CONNECT_POLL_MS = 20;

type Pending = {
  resolve: (r: AgentResponse) => void;
  reject: (e: Error) => void;
  timer: NodeJS.Timeout;
};

type RequestBody =
  | ({ op: 'probe' } & ProbeRequest)
  | ({ op: 'resolve' } & ResolveRequest)
  | { op: 'serve'; ports: readonly number[] }
  | { op: 'ping' };

function tryConnect(path: string): Promise<Socket | undefined> {
  return new Promise((resolve) => {
    const s = connect(path);
    s.once('connect', () => {
      s.removeAllListeners('error');
      resolve(s);
    });
    s.once('error', () => {
      s.destroy();
      resolve(undefined);
    });
  });
}

export class ProbeAgentClient {
  readonly socketPath: string;
  readonly #socket: Socket;
  readonly #pending = new Map<number, Pending>();
  #nextId = 1;
  #closedReason: string | undefined;

  private constructor(socketPath: string, socket: Socket) {
    this.socketPath = socketPath;
    this.#socket = socket;
    socket.on('error', (e) => {
      this.#fail(`probe agent connection failed: ${e.message}`);
    });
    socket.on('close', () => {
      this.#fail('probe agent connection closed');
    });
    createInterface({ input: socket, crlfDelay: Infinity }).on('line', (line) => {
      const r = parseResponse(line);
      const p = r === undefined ? undefined : this.#pending.get(r.id);
      if (r === undefined || p === undefined) return;
      this.#pending.delete(r.id);
      clearTimeout(p.timer);
      p.resolve(r);
    });
  }

  /**
   * Connects to an agent's socket, retrying until `timeoutMs` (the agent creates it once its echo servers
   * listen). `failed()` is checked between attempts: a reason stops the wait (e.g. the agent exited).
   */
  static async connect(
    socketPath: string,
    options: { readonly timeoutMs?: number; readonly failed?: () => string | undefined } = {},
  ): Promise<ProbeAgentClient> {
    const deadline = Date.now() + (options.timeoutMs ?? 10_000);
    for (;;) {
      const s = await tryConnect(socketPath);
      if (s !== undefined) return new ProbeAgentClient(socketPath, s);
      const why = options.failed?.();
      if (why !== undefined) throw new CalicoError('CALICO_ERR_IO', `probe agent ${socketPath}: ${why}`);
      if (Date.now() >= deadline)
        throw new CalicoError('CALICO_ERR_IO', `probe agent ${socketPath} did not come up in time`);
      await sleep(CONNECT_POLL_MS);
    }
  }

  #fail(reason: string): void {
    this.#closedReason ??= reason;
    for (const [id, p] of this.#pending) {
      this.#pending.delete(id);
      clearTimeout(p.timer);
      p.reject(new CalicoError('CALICO_ERR_IO', reason));
    }
  }

  #request(body: RequestBody, timeoutMs: number): Promise<AgentResponse> {
    if (this.#closedReason !== undefined)
      return Promise.reject(new CalicoError('CALICO_ERR_IO', this.#closedReason));
    const id = this.#nextId++;
    return new Promise<AgentResponse>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(id);
        reject(new CalicoError('CALICO_ERR_IO', `probe agent ${this.socketPath}: no answer to ${body.op}`));
      }, timeoutMs);
      this.#pending.set(id, { resolve, reject, timer });
      this.#socket.write(`${JSON.stringify({ id, ...body })}\n`);
    }).then((r) => {
      if (r.op === 'error') throw new CalicoError('CALICO_ERR_IO', `probe agent: ${r.message}`);
      return r;
    });
  }

  async probe(req: ProbeRequest): Promise<ProbeOutcome> {
    const r = await this.#request({ op: 'probe', ...req }, req.timeoutMs + REQUEST_SLACK_MS);
    if (r.op !== 'probe') throw new CalicoError('CALICO_ERR_IO', `probe agent answered ${r.op} to probe`);
    return { verdict: r.verdict, detail: r.detail, elapsedMs: r.elapsedMs };
  }

  /** Looks a name up from the pod (probe-protocol.ts `ResolveRequest`). */
  async resolve(req: ResolveRequest): Promise<ResolveOutcome> {
    const r = await this.#request({ op: 'resolve', ...req }, req.timeoutMs + REQUEST_SLACK_MS);
    if (r.op !== 'resolve') throw new CalicoError('CALICO_ERR_IO', `probe agent answered ${r.op} to resolve`);
    return {
      verdict: r.verdict,
      detail: r.detail,
      elapsedMs: r.elapsedMs,
      server: r.server,
      ...(r.rcode !== undefined ? { rcode: r.rcode } : {}),
      ...(r.records !== undefined ? { records: r.records } : {}),
    };
  }

  /** Sets the ports served (TCP and UDP echo), opening and closing listeners as needed. */
  async serve(ports: readonly number[]): Promise<readonly number[]> {
    const r = await this.#request({ op: 'serve', ports }, REQUEST_SLACK_MS);
    if (r.op !== 'serve') throw new CalicoError('CALICO_ERR_IO', `probe agent answered ${r.op} to serve`);
    return r.ports;
  }

  async ping(): Promise<number> {
    const r = await this.#request({ op: 'ping' }, REQUEST_SLACK_MS);
    if (r.op !== 'ping') throw new CalicoError('CALICO_ERR_IO', `probe agent answered ${r.op} to ping`);
    return r.pid;
  }

  close(): void {
    this.#fail('probe agent connection closed by the lab');
    this.#socket.destroy();
  }
}

/** The probe agents of a lab by pod key: their processes and their connections, opened on first use. */
export class ProbeAgents {
  readonly #procs = new Map<string, LabProcess>();
  readonly #clients = new Map<string, Promise<ProbeAgentClient>>();

  /** An agent just started (with its connection) or, with a pid only, one an earlier process started. */
  add(key: string, proc: LabProcess, client?: ProbeAgentClient): void {
    this.#procs.set(key, proc);
    if (client !== undefined) this.#clients.set(key, Promise.resolve(client));
  }

  client(key: string, socketPath: string): Promise<ProbeAgentClient> {
    let c = this.#clients.get(key);
    if (c === undefined) {
      const proc = this.#procs.get(key);
      c = ProbeAgentClient.connect(socketPath, {
        timeoutMs: 5000,
        failed: () => (proc?.isRunning() === false ? 'the probe agent is not running' : undefined),
      });
      c.catch(() => this.#clients.delete(key));
      this.#clients.set(key, c);
    }
    return c;
  }

  /** Closes the connection and forgets the agent (its process dies with its namespace). */
  forget(key: string): void {
    closeClient(this.#clients.get(key));
    this.#clients.delete(key);
    this.#procs.delete(key);
  }

  /** Closes every connection; the agents keep running. */
  disconnect(): void {
    for (const c of this.#clients.values()) closeClient(c);
    this.#clients.clear();
  }
}

function closeClient(c: Promise<ProbeAgentClient> | undefined): void {
  void c?.then(
    (x) => {
      x.close();
    },
    () => undefined,
  );
}

export interface ProbeAgentLaunch {
  readonly netns: string;
  readonly socketPath: string;
  readonly ports: readonly number[];
  readonly logFile: string;
  /** The pod's resolver configuration (its first nameserver answers `resolve` without a server). */
  readonly resolvConf?: string;
  /** Serve on this address only (a hostNetwork pod in its node's namespace). */
  readonly bind?: string;
  readonly detached?: boolean;
  readonly readyTimeoutMs?: number;
}

/** Starts a probe agent in `netns` and connects to it; the process is stopped if it never answers. */
export async function startProbeAgent(
  launch: ProbeAgentLaunch,
): Promise<{ process: LabProcess; client: ProbeAgentClient }> {
  const { command, args } = nodeScriptCommand(siblingScript('probe-agent', import.meta.url));
  // A socket file left by an earlier agent would accept nothing; the new agent recreates it.
  rmSync(launch.socketPath, { force: true });
  const proc = LabProcess.spawn({
    netns: launch.netns,
    command,
    args: [
      ...args,
      '--socket',
      launch.socketPath,
      '--ports',
      launch.ports.join(','),
      ...(launch.resolvConf !== undefined ? ['--resolv-conf', launch.resolvConf] : []),
      ...(launch.bind !== undefined ? ['--bind', launch.bind] : []),
    ],
    logFile: launch.logFile,
    ...(launch.detached !== undefined ? { detached: launch.detached } : {}),
  });
  try {
    const client = await ProbeAgentClient.connect(launch.socketPath, {
      timeoutMs: launch.readyTimeoutMs ?? 15_000,
      failed: () => {
        const st = proc.exitStatus;
        return st === undefined ? undefined : `${st}: ${proc.logTail(5)}`;
      },
    });
    return { process: proc, client };
  } catch (e) {
    await proc.kill();
    throw e;
  }
}
