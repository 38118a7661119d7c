/**
 * One query to one upstream DNS server, over UDP (a fresh socket per query, so a random source port, as a
 * resolver uses) or TCP (a fresh connection, RFC 1035 §4.2.2 two-byte length framing). A reply counts only
 * when it is a response with the query's id and question (anything else arriving on the socket is ignored,
 * as a resolver ignores spoofed datagrams). A reply whose records do not parse is still a reply when its
 * header and question do: the caller passes those bytes on without learning from them.
 */
import { createSocket } from 'node:dgram';
import { isIPv6, connect } from 'node:net';
import {
  type DnsMessage,
  type DnsParseError,
  type DnsQuestion,
  parseMessage,
  parseMessageHead,
  sameQuestions,
} from './wire.js';

export interface DnsServerAddress {
  readonly ip: string;
  readonly port: number;
}

export type UpstreamReply =
  | { readonly kind: 'answer'; readonly bytes: Uint8Array; readonly message: DnsMessage }
  /** Header and question match, the records do not parse: passed on, never learned from. */
  | { readonly kind: 'malformed'; readonly bytes: Uint8Array; readonly error: DnsParseError }
  | { readonly kind: 'timeout' }
  | { readonly kind: 'error'; readonly reason: string };

export interface UpstreamQuery {
  readonly server: DnsServerAddress;
  readonly bytes: Uint8Array;
  readonly id: number;
  readonly questions: readonly DnsQuestion[];
  readonly timeoutMs: number;
  /** Largest TCP reply accepted (bytes). */
  readonly maxTcpBytes: number;
  readonly signal: AbortSignal;
  /** A datagram or frame on the query's socket that is not a reply to it. */
  readonly onIgnored: (why: string) => void;
}

/** What a datagram or frame from the upstream is to this query: a reply, or `undefined` (ignored). */
function classify(q: UpstreamQuery, bytes: Uint8Array): UpstreamReply | undefined {
  const head = parseMessageHead(bytes);
  if (!head.ok) {
    q.onIgnored(`not a DNS message: ${head.error.message}`);
    return undefined;
  }
  const { header, questions } = head.value;
  if (!header.qr || header.id !== q.id || !sameQuestions(questions, q.questions)) {
    q.onIgnored('response does not match the query (id, flags or question)');
    return undefined;
  }
  const full = parseMessage(bytes);
  return full.ok
    ? { kind: 'answer', bytes, message: full.value }
    : { kind: 'malformed', bytes, error: full.error };
}

/** Settles once: the first outcome wins, the socket is closed, the timer and abort listener removed. */
function once(
  q: UpstreamQuery,
  close: () => void,
): {
  readonly settle: (r: UpstreamReply) => void;
  readonly done: Promise<UpstreamReply>;
  readonly isSettled: () => boolean;
} {
  let resolve!: (r: UpstreamReply) => void;
  const done = new Promise<UpstreamReply>((r) => (resolve = r));
  let settled = false;
  const settle = (r: UpstreamReply): void => {
    if (settled) return;
    settled = true;
    clearTimeout(timer);
    q.signal.removeEventListener('abort', onAbort);
    close();
    resolve(r);
  };
  const onAbort = (): void => {
    settle({ kind: 'error', reason: 'proxy closed' });
  };
  const timer = setTimeout(() => {
    settle({ kind: 'timeout' });
  }, q.timeoutMs);
  if (q.signal.aborted) onAbort();
  else q.signal.addEventListener('abort', onAbort, { once: true });
  return { settle, done, isSettled: () => settled };
}

export function queryUdp(q: UpstreamQuery): Promise<UpstreamReply> {
  const sock = createSocket(isIPv6(q.server.ip) ? 'udp6' : 'udp4');
  const { settle, done, isSettled } = once(q, () => {
    sock.close();
  });
  sock.on('error', (e) => {
    settle({ kind: 'error', reason: e.message });
  });
  sock.on('message', (msg, rinfo) => {
    if (rinfo.port !== q.server.port) return;
    const r = classify(q, msg);
    if (r !== undefined) settle(r);
  });
  // Without a callback, a failed connect is an 'error' event (with one, Node passes the error to it).
  sock.once('connect', () => {
    if (isSettled()) return; // aborted or timed out meanwhile: the socket is closed
    sock.send(q.bytes, (e) => {
      if (e) settle({ kind: 'error', reason: e.message });
    });
  });
  sock.connect(q.server.port, q.server.ip);
  return done;
}

export function queryTcp(q: UpstreamQuery): Promise<UpstreamReply> {
  const sock = connect({ host: q.server.ip, port: q.server.port });
  const { settle, done } = once(q, () => {
    sock.destroy();
  });
  let buf = Buffer.alloc(0);
  sock.on('error', (e) => {
    settle({ kind: 'error', reason: e.message });
  });
  sock.on('close', () => {
    settle({ kind: 'error', reason: 'upstream closed the connection before answering' });
  });
  sock.on('connect', () => {
    const len = Buffer.alloc(2);
    len.writeUInt16BE(q.bytes.length);
    sock.write(Buffer.concat([len, q.bytes]));
  });
  sock.on('data', (chunk: Buffer) => {
    buf = Buffer.concat([buf, chunk]);
    for (;;) {
      if (buf.length < 2) return;
      const len = buf.readUInt16BE(0);
      if (len > q.maxTcpBytes) {
        settle({ kind: 'error', reason: `upstream reply of ${len} bytes is over the limit` });
        return;
      }
      if (buf.length < 2 + len) return;
      const frame = buf.subarray(2, 2 + len);
      buf = buf.subarray(2 + len);
      const r = classify(q, frame);
      if (r !== undefined) {
        settle(r);
        return;
      }
    }
  });
  return done;
}
