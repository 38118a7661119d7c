/**
 * Test kit for the DNS path: a real dnsmasq on loopback (started by the test, stopped in cleanup), and
 * minimal UDP and TCP DNS clients that return the raw reply bytes.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { connect, isIPv6 } from 'node:net';
import { waitFor } from '../lib/async.js';
import { freeLoopbackPort } from '../test-support/ports.js';
import type { DnsServerAddress } from './upstream.js';
import { RR_TYPE, parseMessage } from './wire.js';
import { encodeQuery } from './wire-encode.js';

export const DNSMASQ = '/usr/sbin/dnsmasq';

/** One UDP query; resolves with the first datagram back, rejects after `timeoutMs`. */
export function udpExchange(server: DnsServerAddress, bytes: Uint8Array, timeoutMs = 3_000): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const sock = createSocket(isIPv6(server.ip) ? 'udp6' : 'udp4');
    const timer = setTimeout(() => {
      sock.close();
      reject(new Error(`no UDP reply from ${server.ip}:${server.port} in ${timeoutMs} ms`));
    }, timeoutMs);
    sock.on('error', (e) => {
      clearTimeout(timer);
      sock.close();
      reject(e);
    });
    sock.on('message', (msg) => {
      clearTimeout(timer);
      sock.close();
      resolve(msg);
    });
    sock.send(bytes, server.port, server.ip);
  });
}

/** Several framed queries on one TCP connection; resolves with `expect` framed replies. */
export function tcpExchange(
  server: DnsServerAddress,
  queries: readonly Uint8Array[],
  opts: { readonly expect?: number; readonly timeoutMs?: number; readonly raw?: Uint8Array } = {},
): Promise<Buffer[]> {
  const expect = opts.expect ?? queries.length;
  return new Promise((resolve, reject) => {
    const sock = connect({ host: server.ip, port: server.port });
    const replies: Buffer[] = [];
    let buf = Buffer.alloc(0);
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new Error(`got ${replies.length} of ${expect} TCP replies in ${opts.timeoutMs ?? 3_000} ms`));
    }, opts.timeoutMs ?? 3_000);
    const finish = (): void => {
      clearTimeout(timer);
      sock.destroy();
      resolve(replies);
    };
    sock.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    sock.on('close', () => {
      if (replies.length < expect) {
        clearTimeout(timer);
        reject(new Error(`connection closed after ${replies.length} of ${expect} replies`));
      }
    });
    sock.on('data', (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
        replies.push(buf.subarray(2, 2 + buf.readUInt16BE(0)));
        buf = buf.subarray(2 + buf.readUInt16BE(0));
      }
      if (replies.length >= expect) finish();
    });
    sock.on('connect', () => {
      if (opts.raw !== undefined) sock.write(opts.raw);
      for (const q of queries) {
        const len = Buffer.alloc(2);
        len.writeUInt16BE(q.length);
        sock.write(Buffer.concat([len, q]));
      }
    });
  });
}

export interface Dnsmasq {
  readonly v4: DnsServerAddress;
  readonly v6: DnsServerAddress;
  stop(): Promise<void>;
}

/**
 * dnsmasq answering from its own records only (no upstream, no /etc/hosts, no config file), on 127.0.0.1
 * and ::1 at a free port, in the foreground; resolves once it answers a query.
 */
export async function startDnsmasq(records: readonly string[]): Promise<Dnsmasq> {
  const port = await freeLoopbackPort();
  const child: ChildProcess = spawn(
    DNSMASQ,
    [
      '--keep-in-foreground',
      '--conf-file=/dev/null',
      '--pid-file=',
      `--port=${port}`,
      '--listen-address=127.0.0.1',
      '--listen-address=::1',
      '--bind-interfaces',
      '--no-resolv',
      '--no-hosts',
      '--user=root',
      ...records,
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  child.on('error', (e) => (stderr += `cannot run ${DNSMASQ}: ${e.message}`));
  const exited = new Promise<void>((resolve) => {
    child.once('close', () => {
      resolve();
    });
  });
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await exited;
  };
  const v4 = { ip: '127.0.0.1', port };
  try {
    await waitFor(
      async () => {
        if (child.exitCode !== null) throw new Error(`dnsmasq exited: ${stderr}`);
        const r = await udpExchange(v4, encodeQuery(1, 'ready.invalid', RR_TYPE.A), 200).catch(
          () => undefined,
        );
        return r !== undefined && parseMessage(r).ok;
      },
      { timeoutMs: 10_000, what: 'dnsmasq answering', describe: () => stderr },
    );
  } catch (e) {
    await stop();
    throw e;
  }
  return { v4, v6: { ip: '::1', port }, stop };
}
