/**
 * The probe agent: one long-lived process per pod namespace (started with `ip netns exec`). It serves TCP and
 * UDP echo on the ports it is told (dual-stack, so one socket per port serves both families), and runs connect
 * probes from the pod on request, over a unix socket (probe-protocol.ts).
 *
 *   node probe-agent.js --socket PATH [--ports 80,81] [--resolv-conf PATH] [--bind ADDR]
 *
 * `--bind`: serve on that one address only (a hostNetwork pod in its node's namespace: the node's own
 * programs keep their ports on its other addresses); a probe may name its source address.
 *
 * Served ports stay free for it: the namespace's ephemeral ports are moved above them (61000-65535) and the
 * served ones reserved, so no probe's own lingering socket takes one a later `serve` asks for.
 *
 * A probe is bounded by its timeout. TCP: connected = allowed, RST = refused, silence = denied. UDP: one
 * datagram, resent twice within the timeout; the echo = allowed, ICMP port unreachable = refused, silence =
 * denied. An ICMP host or network unreachable is `unreachable` for both (routing failed, not policy). When the timeout fires, the verdict waits for one more I/O poll (setImmediate runs after it), so a
 * connection the kernel completed while this event loop was busy still counts as connected.
 *
 * It also looks names up from the pod (`resolve`): a DNS query over UDP to the server asked for, or to the
 * first nameserver of `--resolv-conf` (the pod's resolver configuration), so the lookup crosses the node's
 * dataplane as a real pod's does; the answer's records come back to the lab.
 */
import { randomBytes, randomInt } from 'node:crypto';
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer, isIP, type Server, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import {
  isPort,
  parseRequest,
  type AgentRequest,
  type AgentResponse,
  type ProbeOutcome,
  type ProbeRequest,
  type ProbeVerdict,
  type ResolveOutcome,
  type ResolveRequest,
} from './probe-protocol.js';
import { lookupQuery, readLookupAnswer, type LookupAnswer } from './dns-lookup.js';
import { resolvConfNameserver } from './dns-zone.js';
import { listenUnixSocket } from '../sys/unix-socket.js';

const UDP_SENDS = 3;

function classify(e: NodeJS.ErrnoException): [ProbeVerdict, string] {
  switch (e.code ?? '') {
    case 'ECONNREFUSED':
      return ['refused', 'connection refused (nobody listens)'];
    // An ICMP error (or the local routing table) says the address cannot be reached: routing, not policy.
    case 'EHOSTUNREACH':
      return ['unreachable', 'EHOSTUNREACH: no route to host (ICMP host unreachable or no ARP answer)'];
    case 'ENETUNREACH':
      return ['unreachable', 'ENETUNREACH: network unreachable (ICMP or no route in the pod)'];
    case 'EACCES':
      return ['unreachable', 'EACCES: prohibited (a prohibit route, or ICMP administratively prohibited)'];
    // Only a firewall in the prober's own namespace gives EPERM (pods have none); TCP's ETIMEDOUT is silence.
    case 'ETIMEDOUT':
    case 'EPERM':
      return ['denied', e.code ?? 'dropped'];
    default:
      return ['error', `${e.code ?? 'error'}: ${e.message}`];
  }
}

/** Settles once; the timeout verdict waits for one more poll of I/O (see the module comment). */
function bounded(
  timeoutMs: number,
  start: (finish: (verdict: ProbeVerdict, detail: string) => void) => () => void,
): Promise<ProbeOutcome> {
  return new Promise((resolve) => {
    const t0 = performance.now();
    // An object, so the closures see each other's updates (and the linter sees them too).
    const st: { done: boolean; cleanup: () => void } = { done: false, cleanup: () => undefined };
    const finish = (verdict: ProbeVerdict, detail: string): void => {
      if (st.done) return;
      st.done = true;
      clearTimeout(timer);
      st.cleanup();
      resolve({ verdict, detail, elapsedMs: Math.round(performance.now() - t0) });
    };
    const timer = setTimeout(() => {
      setImmediate(() => {
        finish('denied', `no answer within ${timeoutMs} ms`);
      });
    }, timeoutMs);
    const cleanup = start(finish);
    if (st.done) cleanup();
    else st.cleanup = cleanup;
  });
}

function probeTcp(req: ProbeRequest): Promise<ProbeOutcome> {
  return bounded(req.timeoutMs, (finish) => {
    const s = connect({
      host: req.ip,
      port: req.port,
      ...(req.source !== undefined ? { localAddress: req.source } : {}),
    });
    s.once('connect', () => {
      finish('allowed', 'connected');
    });
    s.once('error', (e) => {
      finish(...classify(e));
    });
    return () => s.destroy();
  });
}

/**
 * One UDP exchange (connected socket): `payload` sent up to UDP_SENDS times within the timeout; the first
 * datagram `accept` takes (it returns the detail) makes the verdict `allowed`.
 */
function udpExchange(
  ip: string,
  port: number,
  timeoutMs: number,
  payload: Uint8Array,
  accept: (m: Buffer) => string | undefined,
  source?: string,
): Promise<ProbeOutcome> {
  return bounded(timeoutMs, (finish) => {
    const s = createSocket(isIP(ip) === 6 ? 'udp6' : 'udp4');
    const resends: NodeJS.Timeout[] = [];
    let closed = false;
    const send = (): void => {
      if (closed) return;
      s.send(payload, (e) => {
        if (e) finish(...classify(e));
      });
    };
    s.on('message', (m) => {
      const detail = accept(m);
      if (detail !== undefined) finish('allowed', detail);
    });
    s.on('error', (e) => {
      finish(...classify(e));
    });
    // Connected: an ICMP port unreachable then surfaces as ECONNREFUSED instead of silence.
    const start = (): void => {
      s.connect(port, ip, () => {
        send();
        for (let i = 1; i < UDP_SENDS; i++) resends.push(setTimeout(send, (timeoutMs * i) / UDP_SENDS));
      });
    };
    if (source === undefined) start();
    else s.bind({ address: source, port: 0 }, start);
    return () => {
      closed = true;
      for (const t of resends) clearTimeout(t);
      s.close();
    };
  });
}

function probeUdp(req: ProbeRequest): Promise<ProbeOutcome> {
  const payload = Buffer.from(`calts-probe-${randomBytes(6).toString('hex')}`);
  return udpExchange(
    req.ip,
    req.port,
    req.timeoutMs,
    payload,
    (m) => (m.equals(payload) ? 'echoed' : undefined),
    req.source,
  );
}

/** The resolv.conf's first nameserver, read at each lookup (the cluster DNS may come after the pod). */
function configuredServer(resolvConf: string | undefined): string | undefined {
  if (resolvConf === undefined) return undefined;
  try {
    return resolvConfNameserver(readFileSync(resolvConf, 'utf8'));
  } catch {
    return undefined;
  }
}

/** A lookup from this pod: one query (resent as a stub resolver does), the first answer with its id. */
async function resolveName(req: ResolveRequest, resolvConf: string | undefined): Promise<ResolveOutcome> {
  const ip = req.server ?? configuredServer(resolvConf);
  if (ip === undefined)
    return {
      verdict: 'error',
      detail: `no nameserver in ${resolvConf ?? '(no resolv.conf)'}`,
      elapsedMs: 0,
      server: '',
    };
  const port = req.port ?? 53;
  const server = isIP(ip) === 6 ? `[${ip}]:${port}` : `${ip}:${port}`;
  const id = randomInt(0x10000);
  let answer: LookupAnswer | undefined;
  const outcome = await udpExchange(ip, port, req.timeoutMs, lookupQuery(id, req.name, req.type), (m) => {
    const a = readLookupAnswer(m);
    // A malformed or foreign datagram is not the answer (a stub resolver drops it and keeps waiting).
    if (!a.ok || a.value.id !== id) return undefined;
    answer = a.value;
    return `${a.value.rcode} from ${server}${a.value.truncated ? ' (truncated)' : ''}`;
  });
  return {
    ...outcome,
    server,
    ...(answer !== undefined ? { rcode: answer.rcode, records: answer.records } : {}),
  };
}

/** The echo servers, reconfigured as a whole by `serve`; on every address, or on `bind` only. */
class EchoServers {
  readonly #tcp = new Map<number, Server>();
  readonly #udp = new Map<number, UdpSocket>();
  readonly #bind: string | undefined;

  constructor(bind?: string) {
    this.#bind = bind;
  }

  get ports(): number[] {
    return [...this.#tcp.keys()].sort((a, b) => a - b);
  }

  async set(ports: readonly number[]): Promise<void> {
    const want = new Set(ports);
    for (const [port, server] of this.#tcp) if (!want.has(port)) this.#closeTcp(port, server);
    for (const [port, sock] of this.#udp) if (!want.has(port)) this.#closeUdp(port, sock);
    reservePorts(want);
    for (const port of want) {
      if (!this.#tcp.has(port)) this.#tcp.set(port, await untilFree(() => listenTcp(port, this.#bind)));
      if (!this.#udp.has(port)) this.#udp.set(port, await untilFree(() => listenUdp(port, this.#bind)));
    }
  }

  #closeTcp(port: number, server: Server): void {
    this.#tcp.delete(port);
    server.close();
  }

  #closeUdp(port: number, sock: UdpSocket): void {
    this.#udp.delete(port);
    sock.close();
  }

  close(): void {
    for (const [port, server] of this.#tcp) this.#closeTcp(port, server);
    for (const [port, sock] of this.#udp) this.#closeUdp(port, sock);
  }
}

const RESERVED_PORTS = '/proc/sys/net/ipv4/ip_local_reserved_ports';
const PORT_RANGE = '/proc/sys/net/ipv4/ip_local_port_range';
/** The namespace's ephemeral ports: above the ports cases probe (34345..36364 among them). */
const EPHEMERAL_RANGE = '61000 65535';

/**
 * Moves this namespace's ephemeral ports (both families) above the ports cases serve: a probe's own socket
 * that lingers (a FIN dropped by the next state's policy keeps it in FIN_WAIT for minutes) must not hold a
 * port a later state serves. Best effort.
 */
function narrowEphemeralPorts(): void {
  try {
    writeFileSync(PORT_RANGE, EPHEMERAL_RANGE);
  } catch (e) {
    process.stderr.write(`cannot set the ephemeral ports: ${e instanceof Error ? e.message : String(e)}\n`);
  }
}

/**
 * Keeps the served ports out of this namespace's ephemeral range (for both families), so that no probe's
 * own socket takes one of them and a later `serve` finds it in use (cases probe ports such as 34345, inside
 * the range). Added to what is reserved already (several agents may share a node's namespace); best effort.
 */
function reservePorts(ports: ReadonlySet<number>): void {
  try {
    const have = readFileSync(RESERVED_PORTS, 'utf8').trim();
    const add = [...ports].filter((p) => !have.split(',').includes(String(p)));
    if (add.length > 0) writeFileSync(RESERVED_PORTS, [have, ...add].filter((x) => x !== '').join(','));
  } catch (e) {
    process.stderr.write(`cannot reserve ports: ${e instanceof Error ? e.message : String(e)}\n`);
  }
}

/** Retries a listen that fails with EADDRINUSE for up to 5 s (a socket made before the reservation). */
async function untilFree<T>(listen: () => Promise<T>): Promise<T> {
  const deadline = performance.now() + 5000;
  for (;;) {
    try {
      return await listen();
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EADDRINUSE' || performance.now() > deadline) throw e;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

function listenTcp(port: number, bind: string | undefined): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = createServer((s: Socket) => {
      s.on('data', (d) => s.write(d));
      s.on('end', () => s.end());
      s.on('error', () => s.destroy());
    });
    server.once('error', reject);
    const where = bind === undefined ? { host: '::', ipv6Only: false } : { host: bind };
    server.listen({ port, ...where, backlog: 1024 }, () => {
      server.off('error', reject);
      resolve(server);
    });
  });
}

function listenUdp(port: number, bind: string | undefined): Promise<UdpSocket> {
  return new Promise((resolve, reject) => {
    const type = bind !== undefined && isIP(bind) === 4 ? 'udp4' : 'udp6';
    const sock = createSocket({ type, ipv6Only: false });
    sock.on('message', (m, rinfo) => {
      sock.send(m, rinfo.port, rinfo.address);
    });
    const failed = (e: Error): void => {
      sock.close();
      reject(e);
    };
    sock.once('error', failed);
    sock.bind({ port, address: bind ?? '::' }, () => {
      sock.off('error', failed);
      sock.on('error', (e) => process.stderr.write(`udp ${port}: ${e.message}\n`));
      resolve(sock);
    });
  });
}

async function handle(
  req: AgentRequest,
  servers: EchoServers,
  resolvConf: string | undefined,
): Promise<AgentResponse> {
  switch (req.op) {
    case 'ping':
      return { id: req.id, op: 'ping', pid: process.pid };
    case 'serve':
      await servers.set(req.ports);
      return { id: req.id, op: 'serve', ports: servers.ports };
    case 'probe': {
      const outcome = req.protocol === 'tcp' ? await probeTcp(req) : await probeUdp(req);
      return { id: req.id, op: 'probe', ...outcome };
    }
    case 'resolve':
      return { id: req.id, op: 'resolve', ...(await resolveName(req, resolvConf)) };
  }
}

function serveControl(
  socketPath: string,
  servers: EchoServers,
  resolvConf: string | undefined,
): Promise<Server> {
  const control = createServer((conn) => {
    conn.on('error', () => conn.destroy());
    const lines = createInterface({ input: conn, crlfDelay: Infinity });
    lines.on('line', (line) => {
      const parsed = parseRequest(line);
      const reply = parsed.ok
        ? handle(parsed.value, servers, resolvConf).catch((e: unknown): AgentResponse => ({
            id: parsed.value.id,
            op: 'error',
            message: e instanceof Error ? e.message : String(e),
          }))
        : Promise.resolve<AgentResponse>({ id: parsed.id, op: 'error', message: parsed.message });
      void reply.then((r) => {
        if (!conn.destroyed) conn.write(`${JSON.stringify(r)}\n`);
      });
    });
  });
  return listenUnixSocket(control, socketPath).then(() => control);
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      socket: { type: 'string' },
      ports: { type: 'string', default: '' },
      'resolv-conf': { type: 'string' },
      bind: { type: 'string' },
    },
  });
  if (values.socket === undefined)
    throw new Error('usage: probe-agent --socket PATH [--ports 80,81] [--resolv-conf PATH] [--bind ADDR]');
  if (values.bind !== undefined && isIP(values.bind) === 0) throw new Error(`bad --bind ${values.bind}`);
  const socketPath = values.socket;
  const ports = values.ports === '' ? [] : values.ports.split(',').map(Number);
  if (!ports.every(isPort)) throw new Error(`bad --ports ${values.ports}`);
  narrowEphemeralPorts();
  const servers = new EchoServers(values.bind);
  await servers.set(ports);
  // The control socket comes last: once it accepts, every initial port listens.
  const control = await serveControl(socketPath, servers, values['resolv-conf']);
  const stop = (): void => {
    servers.close();
    control.close();
    rmSync(socketPath, { force: true });
    process.exit(0);
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

main().catch((e: unknown) => {
  process.stderr.write(`probe-agent: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
