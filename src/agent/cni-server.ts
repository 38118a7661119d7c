/**
 * The agent's CNI server: the installed `calico` wrapper forwards each CNI invocation over a unix socket
 * (`${CALICO_RUN_DIR}/cni.sock`, mode 0600; `CALICO_CNI_SOCKET` overrides, `CALICO_CNI_SERVER=false`
 * disables) and the agent runs the very same plugin code in process (src/cni/agent-host.ts): no Node start
 * per ADD, no calico-ipam exec, no datastore open, and the policy wait is an await on the agent's own
 * applied revision. Framing: src/cni/agent-protocol.ts. Requests run concurrently; IPAM keeps its host-wide
 * lock.
 *
 * A client that goes away mid-request (killed, or timed out by the runtime) does not stop its request: the
 * ADD finishes, and the runtime's DEL for that sandbox removes what it made, as for a kubelet that gave up
 * on a slow ADD in Calico. So nothing is left that `ipam check` cannot see or the runtime's DEL not remove.
 *
 * On shutdown the server stops accepting, removes its socket, ends the policy waits (their ADDs succeed with
 * the timeout warning: the pod stays isolated until an agent programs it) and waits a bounded time for the
 * requests in flight; a client whose connection is then cut falls back to the standalone plugin, which
 * repeats the command (ADD and DEL are both safe to repeat).
 */
import { lstatSync, readlinkSync, rmSync } from 'node:fs';
import { createServer, type Socket } from 'node:net';
import { join } from 'node:path';
import { AgentHost, type AgentHostOptions, type AgentPolicyView } from '../cni/agent-host.js';
import {
  MAX_REQUEST_BYTES,
  decodeRequest,
  encodeResponse,
  type AgentResponse,
} from '../cni/agent-protocol.js';
import { calicoPlugin } from '../cni/calico-plugin.js';
import { runPlugin } from '../cni/skel.js';
import type { DataplaneLoop } from '../dataplane/loop.js';
import { errorMessage } from '../lib/errors.js';
import { describeModeChange } from '../sys/files.js';
import { listenUnixSocket } from '../sys/unix-socket.js';
import type { Logger } from './log.js';

/** A client must have sent its whole request within this time. */
const REQUEST_READ_TIMEOUT_MS = 30_000;
/** How long shutdown waits for the requests in flight. */
const DEFAULT_DRAIN_MS = 10_000;

export interface CniServerConfig {
  readonly enabled: boolean;
  readonly socketPath: string;
}

export function cniServerConfig(
  env: Readonly<Record<string, string | undefined>>,
  runDir: string,
): CniServerConfig {
  const socket = env['CALICO_CNI_SOCKET'] ?? '';
  return {
    enabled: (env['CALICO_CNI_SERVER'] ?? '').toLowerCase() !== 'false',
    socketPath: socket === '' ? join(runDir, 'cni.sock') : socket,
  };
}

export interface CniServer extends AsyncDisposable {
  readonly socketPath: string;
  /** Requests being served now. */
  readonly inFlight: number;
  close(): Promise<void>;
}

export interface CniServerOptions {
  readonly socketPath: string;
  readonly host: AgentHost;
  readonly log: Logger;
  readonly drainMs?: number;
  /** Runs after the server closed and drained (the host's helpers stop here). */
  readonly onClosed?: () => Promise<void>;
}

/** This process's network namespace as `readlink /proc/self/ns/net` prints it (undefined off Linux). */
export function ownNetns(): string | undefined {
  try {
    return readlinkSync('/proc/self/ns/net');
  } catch {
    return undefined;
  }
}

/** The policy view of the agent's dataplane loop and its endpoints (`namespace`/`name` per endpoint). */
export function loopPolicyView(
  loop: DataplaneLoop,
  endpoints: () => ReadonlyMap<string, { readonly namespace: string; readonly name: string }>,
): AgentPolicyView {
  return {
    get appliedRevision() {
      return loop.appliedRevision;
    },
    whenApplied: (revision, opts) => loop.whenApplied(revision, opts),
    hasEndpoint: (namespace, name) => {
      for (const ep of endpoints().values()) if (ep.namespace === namespace && ep.name === name) return true;
      return false;
    },
  };
}

async function answer(host: AgentHost, data: Buffer, log: Logger): Promise<AgentResponse> {
  const req = decodeRequest(data);
  if (!req.ok) return { kind: 'fallback', reason: `malformed request: ${req.error}` };
  const reason = host.fallbackReason(req.value);
  if (reason !== undefined) {
    log.debug('CNI request left to the standalone plugin', { reason });
    return { kind: 'fallback', reason };
  }
  const t0 = performance.now();
  const out = await runPlugin(calicoPlugin, { env: req.value.env, argv: [], stdin: req.value.stdin }, host);
  log.debug('CNI request served', {
    command: req.value.env['CNI_COMMAND'] ?? '',
    containerID: req.value.env['CNI_CONTAINERID'] ?? '',
    exitCode: out.exitCode,
    ms: Math.round(performance.now() - t0),
  });
  return { kind: 'served', exitCode: out.exitCode, stdout: out.stdout };
}

interface Connections {
  readonly host: AgentHost;
  readonly log: Logger;
  /** The requests being answered. */
  readonly inFlight: Set<Promise<void>>;
  readonly sockets: Set<Socket>;
}

/** Reads one request to the client's end of stream, answers it, and ends the connection. */
function serveConnection(c: Connections, sock: Socket): void {
  c.sockets.add(sock);
  sock.once('close', () => c.sockets.delete(sock));
  sock.on('error', () => undefined);
  sock.setTimeout(REQUEST_READ_TIMEOUT_MS, () => sock.destroy());
  const chunks: Buffer[] = [];
  let size = 0;
  sock.on('data', (chunk: Buffer) => {
    size += chunk.length;
    if (size > MAX_REQUEST_BYTES) sock.destroy();
    else chunks.push(chunk);
  });
  sock.once('end', () => {
    sock.setTimeout(0);
    const job = answer(c.host, Buffer.concat(chunks), c.log)
      .catch((e: unknown): AgentResponse => {
        c.log.error('CNI request failed in the server', { error: errorMessage(e) });
        return { kind: 'fallback', reason: `server error: ${errorMessage(e)}` };
      })
      .then((resp) => {
        // A client that went away gets nothing; its request has still run to the end.
        if (!sock.destroyed) sock.end(encodeResponse(resp));
      })
      .finally(() => c.inFlight.delete(job));
    c.inFlight.add(job);
  });
}

/** Waits up to `ms` for the requests in flight; whether they all finished. */
async function drain(inFlight: ReadonlySet<Promise<void>>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<boolean>((r) => {
    timer = setTimeout(r, ms, false);
  });
  try {
    return await Promise.race([Promise.allSettled([...inFlight]).then(() => true), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

export async function startCniServer(opts: CniServerOptions): Promise<CniServer> {
  const { host, log } = opts;
  const c: Connections = { host, log, inFlight: new Set(), sockets: new Set() };
  const server = createServer({ allowHalfOpen: true }, (sock) => {
    serveConnection(c, sock);
  });
  const ino = await listenUnixSocket(server, opts.socketPath, {
    report: (c) => {
      log.warn('narrowed the mode of the CNI socket directory', { change: describeModeChange(c) });
    },
  });
  log.info('CNI server listening', { socket: opts.socketPath });
  let closed: Promise<void> | undefined;
  const close = (): Promise<void> =>
    (closed ??= (async () => {
      server.close();
      try {
        if (lstatSync(opts.socketPath).ino === ino) rmSync(opts.socketPath, { force: true });
      } catch {
        // Already gone (or replaced by another agent's socket, which stays).
      }
      host.stop();
      if (!(await drain(c.inFlight, opts.drainMs ?? DEFAULT_DRAIN_MS)))
        log.warn('CNI requests still running at shutdown; their clients fall back', {
          count: c.inFlight.size,
        });
      for (const s of c.sockets) s.destroy();
      await opts.onClosed?.();
    })());
  return {
    socketPath: opts.socketPath,
    get inFlight() {
      return c.inFlight.size;
    },
    close,
    [Symbol.asyncDispose]: close,
  };
}

/**
 * Starts the server the agent's environment asks for (undefined when disabled). A server that cannot
 * start is logged and skipped: the agent runs on, and the wrappers use the standalone plugin.
 */
export async function startAgentCniServer(
  env: Readonly<Record<string, string | undefined>>,
  o: Omit<AgentHostOptions, 'netns'>,
  log: Logger,
): Promise<CniServer | undefined> {
  const cfg = cniServerConfig(env, o.runDir);
  if (!cfg.enabled) return undefined;
  const host = new AgentHost({ ...o, netns: ownNetns() });
  try {
    return await startCniServer({ socketPath: cfg.socketPath, host, log });
  } catch (e) {
    log.error('CNI server not started; plugins run standalone', {
      socket: cfg.socketPath,
      error: errorMessage(e),
    });
    return undefined;
  }
}
