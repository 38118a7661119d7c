/**
 * calico-node's liveness and readiness checks (node/pkg/health), the commands its DaemonSet probes run:
 *
 *   -felix-live / -felix-ready   GET http://<FELIX_HEALTHHOST|localhost>:<FELIX_HEALTHPORT|9099>/liveness
 *                                or /readiness; good is any status from 200 to 399
 *   -bird-live / -bird6-live     BIRD answers `show status` on its control socket
 *   -bird-ready / -bird6-ready   every BGP peer of the family is Established while the node started less than
 *                                -threshold-time ago; after that one Established peer is enough; no peers is
 *                                ready; a graceful restart in progress is not ready
 *
 * BIRD 2 serves both families from one daemon, so the `6` checks read IPv6 peers from the same socket
 * (CALICO_BIRD_SOCKET, default <CALICO_RUN_DIR>/bird.ctl). "When the node started" is the modification time
 * of the nodename file (CALICO_NODENAME_FILE, default /var/lib/calico/nodename) as in Calico, or else of
 * BIRD's control socket. All checks run together, bounded by -threshold-time; the first failure is the
 * message (`calico/node is not ready: ...`) and the exit code is 1.
 */
import { stat } from 'node:fs/promises';
import { connect } from 'node:net';
import { join } from 'node:path';
import { errorMessage } from '../lib/errors.js';
import { bgpPeerStatuses, parseBirdProtocols } from '../routing/index.js';

export interface ProbeSelection {
  readonly felixLive: boolean;
  readonly felixReady: boolean;
  readonly birdLive: boolean;
  readonly bird6Live: boolean;
  readonly birdReady: boolean;
  readonly bird6Ready: boolean;
  readonly thresholdMs: number;
}

type Env = Readonly<Record<string, string | undefined>>;

export function anyProbe(p: ProbeSelection): boolean {
  return p.felixLive || p.felixReady || p.birdLive || p.bird6Live || p.birdReady || p.bird6Ready;
}

function felixEndpoint(env: Env, path: string): string {
  const port =
    env.FELIX_HEALTHPORT === undefined || env.FELIX_HEALTHPORT === '' ? '9099' : env.FELIX_HEALTHPORT;
  if (!/^[0-9]+$/.test(port)) throw new Error(`Failed to parse value for port ${JSON.stringify(port)}`);
  const host =
    env.FELIX_HEALTHHOST === undefined || env.FELIX_HEALTHHOST === '' ? 'localhost' : env.FELIX_HEALTHHOST;
  return `http://${host.includes(':') ? `[${host}]` : host}:${port}${path}`;
}

async function checkFelix(env: Env, path: '/liveness' | '/readiness', signal: AbortSignal): Promise<void> {
  const url = felixEndpoint(env, path);
  const res = await fetch(url, { signal }).catch((e: unknown) => {
    // fetch says only "fetch failed"; the cause says why (ECONNREFUSED, a timeout).
    const cause = e instanceof Error && e.cause !== undefined ? errorMessage(e.cause) : errorMessage(e);
    throw new Error(`Get ${JSON.stringify(url)}: ${cause}`);
  });
  await res.arrayBuffer();
  if (res.status < 200 || res.status >= 400)
    throw new Error(`${path === '/liveness' ? 'liveness' : 'readiness'} probe reporting ${res.status}`);
}

/** Sends one command to BIRD's control socket; resolves with everything up to the final reply line. */
export function birdCommand(socket: string, command: string, signal: AbortSignal): Promise<string> {
  return new Promise((resolve, reject) => {
    const c = connect(socket);
    let text = '';
    let sent = false;
    const done = (e?: Error): void => {
      signal.removeEventListener('abort', onAbort);
      c.destroy();
      if (e === undefined) resolve(text);
      else reject(e);
    };
    const onAbort = (): void => {
      done(new Error(`no answer from BIRD on ${socket}`));
    };
    signal.addEventListener('abort', onAbort, { once: true });
    c.on('error', (e) => {
      done(new Error(`error querying BIRD: unable to connect to BIRD socket: ${e.message}`));
    });
    c.on('data', (chunk) => {
      text += chunk.toString('utf8');
      if (!sent && /^0001 /m.test(text)) {
        sent = true;
        text = '';
        c.write(`${command}\n`);
        return;
      }
      // A reply ends with a line whose 4-digit code is not followed by a dash (`0000`, `0013 Daemon is up`).
      if (sent && /(^|\n)[0-9]{4}(?: [^\n]*)?\n$/.test(text)) done();
    });
  });
}

async function checkBirdLive(socket: string, signal: AbortSignal): Promise<void> {
  const out = await birdCommand(socket, 'show status', signal);
  if (!/BIRD/.test(out)) throw new Error(`bad response from bird: ${out.trim()}`);
}

async function startedAt(env: Env, socket: string): Promise<number> {
  const nodename = env.CALICO_NODENAME_FILE ?? '/var/lib/calico/nodename';
  try {
    return (await stat(nodename)).mtimeMs;
  } catch {
    // No nodename file (calico-ts's agent does not need one): BIRD's start stands for the node's.
    return (await stat(socket)).mtimeMs;
  }
}

async function checkBirdReady(
  env: Env,
  socket: string,
  family: 4 | 6,
  thresholdMs: number,
  signal: AbortSignal,
): Promise<void> {
  const parsed = parseBirdProtocols(await birdCommand(socket, 'show protocols', signal));
  if (!parsed.ok) throw new Error(parsed.error);
  const peers = bgpPeerStatuses(parsed.value).filter((p) => p.family === family);
  if (peers.length === 0) return;
  const down = peers.filter((p) => p.info.split(' ')[0] !== 'Established').map((p) => p.peerAddress);
  const recent = Date.now() - (await startedAt(env, socket)) < thresholdMs;
  if (recent) {
    if (down.length > 0) throw new Error(`BGP not established with ${down.join(',')}`);
    if (/^0024/m.test(await birdCommand(socket, 'show status', signal)))
      throw new Error('graceful restart in progress');
    return;
  }
  if (down.length === peers.length) throw new Error(`BGP not established with ${down.join(',')}`);
}

function birdSocket(env: Env): string {
  return env.CALICO_BIRD_SOCKET ?? join(env.CALICO_RUN_DIR ?? '/var/run/calico', 'bird.ctl');
}

/** Runs the selected checks; resolves with the failure message, or undefined when all pass. */
export async function runProbes(p: ProbeSelection, env: Env): Promise<string | undefined> {
  const signal = AbortSignal.timeout(p.thresholdMs);
  const socket = birdSocket(env);
  const checks: Promise<void>[] = [];
  const check = (run: () => Promise<void>, what: string): void => {
    checks.push(
      run().catch((e: unknown) => {
        throw new Error(`calico/node is not ready: ${what}: ${errorMessage(e)}`);
      }),
    );
  };
  if (p.felixLive) check(() => checkFelix(env, '/liveness', signal), 'Felix is not live');
  if (p.birdLive) check(() => checkBirdLive(socket, signal), 'bird/confd is not live');
  if (p.bird6Live) check(() => checkBirdLive(socket, signal), 'bird6/confd is not live');
  if (p.felixReady) check(() => checkFelix(env, '/readiness', signal), 'felix is not ready');
  if (p.birdReady) check(() => checkBirdReady(env, socket, 4, p.thresholdMs, signal), 'BIRD is not ready');
  if (p.bird6Ready) check(() => checkBirdReady(env, socket, 6, p.thresholdMs, signal), 'BIRD6 is not ready');
  const results = await Promise.allSettled(checks);
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  return failed === undefined ? undefined : errorMessage(failed.reason);
}
