/**
 * A lab's flow logs: calico-goldmane (src/goldmane) runs in the lab's fabric namespace, listening only on a unix
 * socket in the run dir (`<run dir>/flows/goldmane.sock`), so every node's calico-node (in its own namespace),
 * calicoctl and the viewer in the root namespace reach it through the filesystem, as they reach the lab's etcd.
 * The lab points the agents at it with FelixConfiguration `default`: `flowLogsGoldmaneServer:
 * unix://<socket>` and a short `flowLogsFlushInterval` (a lab wants to see its flows within seconds, not
 * Calico's 5 minutes). Its JSON-lines flow logs go to `<run dir>/flows/flowlogs`. Deleting the lab's namespaces
 * ends it (cluster-net.ts kills what runs in them).
 */
import { join } from 'node:path';
import type { Backend, Resource } from '../datastore/index.js';
import { GoldmaneClient } from '../goldmane/client.js';
import { CalicoError, NotFoundError } from '../lib/errors.js';
import { ensureDirSync } from '../sys/files.js';
import { repoRoot } from './paths.js';
import { LabProcess } from './process.js';
import { saveState, type LabState } from './state.js';

type Signal = { readonly signal?: AbortSignal };

/** The lab's default flush interval: flows show within a couple of seconds. */
export const LAB_FLOW_FLUSH_INTERVAL = '2s';

export interface GoldmaneFiles {
  readonly dir: string;
  readonly socket: string;
  readonly logFile: string;
  readonly flowlogsDir: string;
}

export function goldmaneFiles(runDir: string): GoldmaneFiles {
  const dir = join(runDir, 'flows');
  return {
    dir,
    socket: join(dir, 'goldmane.sock'),
    logFile: join(dir, 'goldmane.log'),
    flowlogsDir: join(dir, 'flowlogs'),
  };
}

/** The gRPC target of the lab's calico-goldmane (also its `flowLogsGoldmaneServer`). */
export function goldmaneServer(runDir: string): string {
  return `unix://${goldmaneFiles(runDir).socket}`;
}

export function goldmaneEntry(): string {
  return join(repoRoot(), 'dist', 'src', 'goldmane', 'main.js');
}

export interface GoldmaneContext {
  readonly state: LabState;
  readonly datastore: Backend;
  /** The fabric namespace (created on first use). */
  readonly fabric: (options: Signal) => Promise<string>;
}

/** Whether the lab's calico-goldmane runs. */
export function goldmaneRunning(state: Pick<LabState, 'goldmane'>): boolean {
  const pid = state.goldmane?.pid;
  return pid !== undefined && LabProcess.adopt(pid).isRunning();
}

/**
 * Starts the lab's calico-goldmane unless it runs, waits (bounded) until it answers, and points the agents at
 * it. Idempotent. Returns its gRPC target.
 */
export async function ensureLabGoldmane(
  ctx: GoldmaneContext,
  options: Signal & { readonly flushInterval?: string; readonly timeoutMs?: number } = {},
): Promise<string> {
  const files = goldmaneFiles(ctx.state.runDir);
  const server = goldmaneServer(ctx.state.runDir);
  if (Buffer.byteLength(files.socket) > 100)
    throw new CalicoError('CALICO_ERR_USAGE', `run dir path too long for unix sockets: ${ctx.state.runDir}`);
  if (!goldmaneRunning(ctx.state)) {
    ensureDirSync(files.dir);
    const netns = await ctx.fabric(options);
    const proc = LabProcess.spawn({
      netns,
      command: process.execPath,
      args: [goldmaneEntry(), `--listen-address=unix://${files.socket}`, '--health-port=0'],
      env: { FLOWLOGS_DIR: files.flowlogsDir },
      logFile: files.logFile,
      detached: ctx.state.detached,
    });
    ctx.state.goldmane = { pid: proc.pid, server };
    saveState(ctx.state);
    const client = new GoldmaneClient(server, { callTimeoutMs: 2000 });
    try {
      await client.waitReady(options.timeoutMs ?? 15_000);
    } catch (e) {
      throw new CalicoError(
        'CALICO_ERR_IO',
        `calico-goldmane did not start (${proc.isRunning() ? 'running' : (proc.exitStatus ?? 'exited')}): ` +
          `${(e as Error).message}; log ${files.logFile}: ${proc.logTail(5)}`,
      );
    } finally {
      client.close();
    }
  }
  await pointAgentsAt(ctx.datastore, server, options.flushInterval ?? LAB_FLOW_FLUSH_INTERVAL, options);
  return server;
}

/** FelixConfiguration `default`: flowLogsGoldmaneServer and flowLogsFlushInterval (other fields kept). */
async function pointAgentsAt(
  datastore: Backend,
  server: string,
  flushInterval: string,
  options: Signal,
): Promise<void> {
  const key = { kind: 'FelixConfiguration', name: 'default' };
  const stored = await datastore.get(key, options).catch((e: unknown) => {
    if (e instanceof NotFoundError) return undefined;
    throw e;
  });
  const spec: Record<string, unknown> =
    (stored as { spec?: Record<string, unknown> } | undefined)?.spec ?? {};
  if (spec.flowLogsGoldmaneServer === server && spec.flowLogsFlushInterval === flushInterval) return;
  const next = {
    apiVersion: 'projectcalico.org/v3',
    kind: 'FelixConfiguration',
    metadata: { ...(stored?.metadata ?? {}), name: 'default' },
    spec: { ...spec, flowLogsGoldmaneServer: server, flowLogsFlushInterval: flushInterval },
  } as Resource;
  await datastore.applyMany([next], options);
}
