/**
 * The node-local DNS proxy of DNS policy (docs/design/dns-policy.md, "DNS proxy"). Workload queries to a
 * trusted server are DNATed to one of its listeners; each listener forwards to the one upstream it was
 * opened for, over the transport the client used (UDP -> UDP, TCP -> TCP), with the query's bytes and id
 * unchanged, and passes the upstream's reply bytes back unchanged (a truncated TC reply too: the client
 * retries over TCP). Before a reply goes back, the caller's `onAnswer` hook receives what the answer
 * teaches (A, AAAA, CNAME records of the answer section with their TTLs) and the reply is held until the
 * hook's promise settles: this is `DelayDNSResponse`, the kernel sets are filled before the client can
 * connect. A hook that rejects or runs past `hookTimeoutMs` is logged and the reply is sent anyway (the
 * kernel has then not learned, so nothing opens).
 *
 * Bad input never crashes the proxy and is never learned from: a client message that is not a
 * single-question query gets FORMERR when its header is readable and is dropped otherwise; an upstream
 * reply whose records do not parse is passed on but not learned from; anything on an upstream socket that
 * is not the reply (garbage, wrong id or question) is ignored; an upstream that fails or times out gives
 * the client SERVFAIL. Bounds: UDP queries in flight (`maxInflight`, beyond: dropped), TCP connections
 * (`maxTcpConnections`), TCP message size, queued pipelined queries per connection, TCP idle timeout,
 * upstream timeout, hook timeout.
 */
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { createServer, isIPv6, type Server, type Socket } from 'node:net';
import { errorMessage } from '../lib/errors.js';
import { DnsProxyStats } from './stats.js';
import { type DnsServerAddress, type UpstreamReply, queryTcp, queryUdp } from './upstream.js';
import {
  type DnsMessage,
  type DnsQuestion,
  RCODE,
  RR_TYPE,
  describeParseError,
  parseHeader,
  parseMessage,
} from './wire.js';
import { encodeErrorReply } from './wire-encode.js';

export type { DnsServerAddress } from './upstream.js';

export type DnsTransport = 'udp' | 'tcp';

/** An A, AAAA or CNAME record of an answer: `data` is the address or the CNAME target. */
export interface LearnedRecord {
  readonly name: string;
  readonly type: 'A' | 'AAAA' | 'CNAME';
  readonly ttl: number;
  readonly data: string;
}

export interface DnsAnswerEvent {
  readonly client: DnsServerAddress;
  readonly server: DnsServerAddress;
  readonly transport: DnsTransport;
  readonly id: number;
  readonly question: DnsQuestion;
  readonly answers: readonly LearnedRecord[];
  readonly rcode: number;
  /** The reply was truncated (TC); its records are learned all the same (some stubs use them). */
  readonly truncated: boolean;
  /** Query received -> upstream reply received. */
  readonly latencyMs: number;
}

/** Structurally the agent's Logger. */
export interface DnsProxyLogger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
}

export interface DnsProxyOptions {
  /** Awaited before each reply is sent (DelayDNSResponse). */
  readonly onAnswer?: (ev: DnsAnswerEvent) => Promise<void>;
  readonly log?: DnsProxyLogger;
  readonly hookTimeoutMs?: number;
  readonly upstreamTimeoutMs?: number;
  readonly tcpIdleTimeoutMs?: number;
  readonly maxTcpConnections?: number;
  readonly maxInflight?: number;
  readonly maxTcpMessageBytes?: number;
  /** Complete queries queued on one TCP connection before it stops being read. */
  readonly maxTcpPipeline?: number;
}

export interface DnsListenSpec {
  /** Address to listen on (IPv4 or IPv6), UDP and TCP on the same port. */
  readonly host: string;
  /** 0: a free port (the same one for UDP and TCP), see the returned listener. */
  readonly port: number;
  readonly upstream: DnsServerAddress;
}

export interface DnsListener {
  readonly host: string;
  readonly port: number;
  readonly upstream: DnsServerAddress;
}

const UDP_RECEIVE_BUFFER_BYTES = 4 << 20;

const DEFAULTS = {
  hookTimeoutMs: 2_000,
  upstreamTimeoutMs: 5_000,
  tcpIdleTimeoutMs: 10_000,
  maxTcpConnections: 256,
  maxInflight: 1_024,
  maxTcpMessageBytes: 65_535,
  maxTcpPipeline: 16,
};

const silent: DnsProxyLogger = { debug: () => undefined, warn: () => undefined };

/** `::ffff:a.b.c.d` (a dual-stack socket's IPv4 peer) as `a.b.c.d`. */
function peerIp(ip: string): string {
  return ip.toLowerCase().startsWith('::ffff:') && ip.includes('.') ? ip.slice(7) : ip;
}

function learned(msg: DnsMessage): LearnedRecord[] {
  const out: LearnedRecord[] = [];
  for (const r of msg.answers) {
    const d = r.data;
    if (d.kind === 'A' || d.kind === 'AAAA')
      out.push({ name: r.name, type: d.kind, ttl: r.ttl, data: d.address });
    else if (d.kind === 'CNAME' && r.type === RR_TYPE.CNAME)
      out.push({ name: r.name, type: 'CNAME', ttl: r.ttl, data: d.target });
  }
  return out;
}

export class DnsProxy {
  readonly stats = new DnsProxyStats();
  readonly #opts: typeof DEFAULTS;
  readonly #onAnswer: ((ev: DnsAnswerEvent) => Promise<void>) | undefined;
  readonly #log: DnsProxyLogger;
  readonly #closing = new AbortController();
  readonly #udp: UdpSocket[] = [];
  readonly #tcp: Server[] = [];
  readonly #conns = new Set<Socket>();
  #inflight = 0;

  constructor(opts: DnsProxyOptions = {}) {
    this.#opts = { ...DEFAULTS };
    for (const k of Object.keys(DEFAULTS) as (keyof typeof DEFAULTS)[]) {
      const v = opts[k];
      if (v !== undefined) this.#opts[k] = v;
    }
    this.#onAnswer = opts.onAnswer;
    this.#log = opts.log ?? silent;
  }

  /** Opens a UDP and a TCP listener on `host:port` that forward to `upstream`. */
  async listen(spec: DnsListenSpec): Promise<DnsListener> {
    const tcp = createServer((s) => {
      this.#onConnection(s, spec.upstream);
    });
    tcp.maxConnections = this.#opts.maxTcpConnections;
    this.#tcp.push(tcp);
    await new Promise<void>((resolve, reject) => {
      tcp.once('error', reject);
      tcp.listen({ host: spec.host, port: spec.port, ipv6Only: isIPv6(spec.host) }, () => {
        tcp.off('error', reject);
        resolve();
      });
    });
    tcp.on('error', (e) => {
      this.#log.warn('DNS proxy TCP listener error', { error: e.message });
    });
    const addr = tcp.address();
    const port = typeof addr === 'object' && addr !== null ? addr.port : spec.port;
    // A deep receive queue: a burst of queries (a pod resolving many names at once) must not be lost while an
    // answer is being programmed. The kernel caps it at net.core.rmem_max.
    const udp = createSocket({
      type: isIPv6(spec.host) ? 'udp6' : 'udp4',
      ipv6Only: isIPv6(spec.host),
      recvBufferSize: UDP_RECEIVE_BUFFER_BYTES,
    });
    this.#udp.push(udp);
    await new Promise<void>((resolve, reject) => {
      udp.once('error', reject);
      udp.bind(port, spec.host, () => {
        udp.off('error', reject);
        resolve();
      });
    });
    udp.on('error', (e) => {
      this.#log.warn('DNS proxy UDP listener error', { error: e.message });
    });
    udp.on('message', (msg, rinfo) => {
      this.#onDatagram(udp, msg, { ip: peerIp(rinfo.address), port: rinfo.port }, spec.upstream);
    });
    return { host: spec.host, port, upstream: spec.upstream };
  }

  /** Stops listening, drops connections, abandons queries in flight and held answers (no reply is sent). */
  async close(): Promise<void> {
    this.#closing.abort();
    for (const s of this.#conns) s.destroy();
    for (const u of this.#udp.splice(0)) u.close();
    await Promise.all(
      this.#tcp.splice(0).map(
        (t) =>
          new Promise<void>((resolve) => {
            t.close(() => {
              resolve();
            });
          }),
      ),
    );
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  #onDatagram(udp: UdpSocket, msg: Buffer, client: DnsServerAddress, upstream: DnsServerAddress): void {
    if (this.#inflight >= this.#opts.maxInflight) {
      this.stats.counters.droppedOverload += 1;
      return;
    }
    this.#inflight += 1;
    this.#answer(msg, client, upstream, 'udp')
      .then((reply) => {
        if (reply === undefined || this.#closing.signal.aborted) return;
        udp.send(reply, client.port, client.ip, (e) => {
          if (e) this.#log.debug('DNS proxy: reply not sent', { client: client.ip, error: e.message });
        });
      })
      .catch((e: unknown) => {
        this.#log.warn('DNS proxy: query failed', { error: errorMessage(e) });
      })
      .finally(() => {
        this.#inflight -= 1;
      });
  }

  #onConnection(sock: Socket, upstream: DnsServerAddress): void {
    this.#conns.add(sock);
    const client = { ip: peerIp(sock.remoteAddress ?? ''), port: sock.remotePort ?? 0 };
    const queue: Buffer[] = [];
    let buf = Buffer.alloc(0);
    let busy = false;
    sock.setNoDelay(true);
    sock.setTimeout(this.#opts.tcpIdleTimeoutMs);
    sock.on('timeout', () => {
      if (!busy) sock.destroy();
    });
    sock.on('error', (e) => {
      this.#log.debug('DNS proxy: client connection error', { client: client.ip, error: e.message });
    });
    sock.on('close', () => {
      this.#conns.delete(sock);
    });
    const pump = (): void => {
      if (busy || sock.destroyed) return;
      const next = queue.shift();
      if (next === undefined) return;
      busy = true;
      if (queue.length < this.#opts.maxTcpPipeline) sock.resume();
      this.#answer(next, client, upstream, 'tcp')
        .then((reply) => {
          if (reply === undefined) {
            sock.destroy(); // an unreadable message: the framing cannot be trusted any more
            return;
          }
          if (sock.destroyed || this.#closing.signal.aborted) return;
          const len = Buffer.alloc(2);
          len.writeUInt16BE(reply.length);
          sock.write(Buffer.concat([len, reply]));
        })
        .catch((e: unknown) => {
          this.#log.warn('DNS proxy: query failed', { error: errorMessage(e) });
          sock.destroy();
        })
        .finally(() => {
          busy = false;
          pump();
        });
    };
    sock.on('data', (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      while (buf.length >= 2) {
        const len = buf.readUInt16BE(0);
        if (len === 0 || len > this.#opts.maxTcpMessageBytes) {
          this.stats.counters.clientParseErrors += 1;
          sock.destroy();
          return;
        }
        if (buf.length < 2 + len) break;
        queue.push(buf.subarray(2, 2 + len));
        buf = buf.subarray(2 + len);
      }
      if (queue.length >= this.#opts.maxTcpPipeline) sock.pause();
      pump();
    });
  }

  /** The reply to send for one client message, or undefined to send nothing. */
  async #answer(
    bytes: Uint8Array,
    client: DnsServerAddress,
    server: DnsServerAddress,
    transport: DnsTransport,
  ): Promise<Uint8Array | undefined> {
    const q = parseMessage(bytes);
    if (!q.ok || q.value.header.qr || q.value.questions.length !== 1 || q.value.header.opcode !== 0) {
      this.stats.counters.clientParseErrors += 1;
      const h = parseHeader(bytes);
      if (!h.ok || h.value.qr) return undefined;
      const why = q.ok ? 'not a standard single-question query' : describeParseError(q.error);
      this.#log.debug('DNS proxy: bad query from client', { client: client.ip, error: why });
      const rcode = q.ok && q.value.header.opcode !== 0 ? RCODE.NOTIMP : RCODE.FORMERR;
      return encodeErrorReply({ header: h.value, questions: [] }, rcode);
    }
    const query = q.value;
    if (transport === 'udp') this.stats.counters.queriesUdp += 1;
    else this.stats.counters.queriesTcp += 1;
    const t0 = performance.now();
    const reply = await (transport === 'udp' ? queryUdp : queryTcp)({
      server,
      bytes,
      id: query.header.id,
      questions: query.questions,
      timeoutMs: this.#opts.upstreamTimeoutMs,
      maxTcpBytes: this.#opts.maxTcpMessageBytes,
      signal: this.#closing.signal,
      onIgnored: (why) => {
        this.stats.counters.upstreamIgnored += 1;
        this.#log.debug('DNS proxy: ignored a datagram from the upstream', { server: server.ip, why });
      },
    });
    const latencyMs = performance.now() - t0;
    return this.#reply(query, reply, { client, server, transport, latencyMs });
  }

  async #reply(
    query: DnsMessage,
    reply: UpstreamReply,
    ctx: Pick<DnsAnswerEvent, 'client' | 'server' | 'transport' | 'latencyMs'>,
  ): Promise<Uint8Array | undefined> {
    switch (reply.kind) {
      case 'timeout':
      case 'error':
        if (reply.kind === 'timeout') this.stats.counters.upstreamTimeouts += 1;
        else this.stats.counters.upstreamErrors += 1;
        if (this.#closing.signal.aborted) return undefined;
        this.#log.debug('DNS proxy: upstream failed; answering SERVFAIL', {
          server: ctx.server.ip,
          why: reply.kind === 'timeout' ? 'timeout' : reply.reason,
        });
        return encodeErrorReply(query, RCODE.SERVFAIL);
      case 'malformed':
        this.stats.counters.upstreamParseErrors += 1;
        this.#log.warn('DNS proxy: upstream answer does not parse; passed on, not learned', {
          server: ctx.server.ip,
          error: describeParseError(reply.error),
        });
        return reply.bytes;
      case 'answer':
        this.stats.counters.answers += 1;
        this.stats.upstreamLatency.observe(ctx.latencyMs);
        await this.#hold({
          ...ctx,
          id: query.header.id,
          question: query.questions[0]!,
          answers: learned(reply.message),
          rcode: reply.message.header.rcode,
          truncated: reply.message.header.tc,
        });
        return reply.bytes;
      default: {
        const never: never = reply;
        return never;
      }
    }
  }

  /** Runs the hook, bounded; never rejects. */
  async #hold(ev: DnsAnswerEvent): Promise<void> {
    const hook = this.#onAnswer;
    if (hook === undefined || this.#closing.signal.aborted) return;
    const t0 = performance.now();
    let timer: NodeJS.Timeout | undefined;
    let onClose: (() => void) | undefined;
    const closing = this.#closing.signal;
    const bound = new Promise<'timeout' | 'closed'>((resolve) => {
      timer = setTimeout(() => {
        resolve('timeout');
      }, this.#opts.hookTimeoutMs);
      onClose = () => {
        resolve('closed');
      };
      closing.addEventListener('abort', onClose, { once: true });
    });
    try {
      const r = await Promise.race([hook(ev).then(() => 'done' as const), bound]);
      if (r === 'timeout') {
        this.stats.counters.hookTimeouts += 1;
        this.#log.warn('DNS proxy: answer released before its addresses were programmed (hook timed out)', {
          qname: ev.question.name,
          timeoutMs: this.#opts.hookTimeoutMs,
        });
      }
    } catch (e) {
      this.stats.counters.hookFailures += 1;
      this.#log.warn('DNS proxy: answer released; the dataplane hook failed', {
        qname: ev.question.name,
        error: errorMessage(e),
      });
    } finally {
      clearTimeout(timer);
      if (onClose !== undefined) closing.removeEventListener('abort', onClose);
      this.stats.holdLatency.observe(performance.now() - t0);
    }
  }
}
