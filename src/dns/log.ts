/**
 * The DNS log (FelixConfiguration `dnsLogsFileEnabled`, `dnsLogsFileDirectory`, `dnsLogsFlushInterval`):
 * one JSON line per DNS answer the proxy saw, appended to `<dir>/dns.log` (default
 * /var/log/calico/dnslogs). Fields: `time`, `client` ({ip} plus `namespace` and `name` when the agent's
 * resolver knows the pod), `server` ({ip, port}), `qname`, `qtype`, `rcode`, `answers` ([{name, type, ttl,
 * data}], the A, AAAA and CNAME records), `latency_ms`.
 *
 * Buffering is bounded: lines are kept in memory and appended every `flushIntervalMs` (default 5 min,
 * Felix's `dnsLogsFlushInterval`) or as soon as `maxBufferedLines` (10,000) are waiting; a line that
 * arrives while the buffer is full and a write is still in progress is dropped and counted. Size cap by
 * rotation: before a write that would take `dns.log` past `maxFileBytes` (100 MiB), it is renamed to
 * `dns.log.1` (replacing the previous one), so the log takes at most about twice the cap. The directory
 * is 0755 and the file 0644 whatever the umask (src/sys/files.ts). A write that fails is logged and its
 * lines counted as dropped; logging never stops the proxy.
 */
import { appendFile, rename, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { type Clock, type TimerHandle, realClock } from '../lib/async.js';
import { errorMessage } from '../lib/errors.js';
import {
  DIR_MODE,
  FILE_MODE,
  describeModeChange,
  ensureDirSync,
  ensurePrivateFileSync,
  type ModeReporter,
} from '../sys/files.js';
import type { DnsAnswerEvent, DnsProxyLogger } from './proxy.js';
import { rcodeName, rrTypeName } from './wire.js';

export const DEFAULT_DNS_LOG_DIR = '/var/log/calico/dnslogs';
export const DNS_LOG_FILE = 'dns.log';

/** The pod behind a client address, when the agent knows it. */
export interface DnsLogClient {
  readonly namespace: string;
  readonly name: string;
}

export interface DnsLogOptions {
  readonly dir?: string;
  readonly flushIntervalMs?: number;
  readonly maxBufferedLines?: number;
  readonly maxFileBytes?: number;
  readonly resolveClient?: (ip: string) => DnsLogClient | undefined;
  readonly log?: DnsProxyLogger;
  readonly clock?: Clock;
  /** Wall-clock time of a line (tests pin it). */
  readonly now?: () => Date;
}

/** One line of dns.log. */
export interface DnsLogLine {
  readonly time: string;
  readonly client: { readonly ip: string; readonly namespace?: string; readonly name?: string };
  readonly server: { readonly ip: string; readonly port: number };
  readonly qname: string;
  readonly qtype: string;
  readonly rcode: string;
  readonly answers: readonly { name: string; type: string; ttl: number; data: string }[];
  readonly latency_ms: number;
}

export interface DnsLogCounters {
  readonly linesWritten: number;
  readonly linesDropped: number;
  readonly writeErrors: number;
  readonly rotations: number;
}

export class DnsLogWriter {
  readonly path: string;
  readonly #dir: string;
  readonly #intervalMs: number;
  readonly #maxLines: number;
  readonly #maxBytes: number;
  readonly #opts: DnsLogOptions;
  readonly #clock: Clock;
  readonly #counters = { linesWritten: 0, linesDropped: 0, writeErrors: 0, rotations: 0 };
  #buffer: string[] = [];
  #writing: Promise<void> = Promise.resolve();
  #busy = false;
  #timer: TimerHandle | undefined;
  #closed = false;

  constructor(opts: DnsLogOptions = {}) {
    this.#opts = opts;
    this.#dir = opts.dir ?? DEFAULT_DNS_LOG_DIR;
    this.path = join(this.#dir, DNS_LOG_FILE);
    this.#intervalMs = opts.flushIntervalMs ?? 300_000;
    this.#maxLines = opts.maxBufferedLines ?? 10_000;
    this.#maxBytes = opts.maxFileBytes ?? 100 * 1024 * 1024;
    this.#clock = opts.clock ?? realClock;
  }

  get counters(): DnsLogCounters {
    return { ...this.#counters };
  }

  /** Creates the directory (0755) and starts the flush timer. */
  start(): void {
    ensureDirSync(this.#dir, { mode: DIR_MODE, report: this.#report });
    this.#schedule();
  }

  /** Buffers the line for one answer (never blocks, never throws). */
  record(ev: DnsAnswerEvent): void {
    if (this.#closed) return;
    if (this.#buffer.length >= this.#maxLines) {
      this.#counters.linesDropped += 1;
      return;
    }
    this.#buffer.push(`${JSON.stringify(this.line(ev))}\n`);
    if (this.#buffer.length >= this.#maxLines && !this.#busy) void this.flush();
  }

  /** The line an answer gives. */
  line(ev: DnsAnswerEvent): DnsLogLine {
    const pod = this.#opts.resolveClient?.(ev.client.ip);
    return {
      time: (this.#opts.now?.() ?? new Date()).toISOString(),
      client:
        pod === undefined
          ? { ip: ev.client.ip }
          : { ip: ev.client.ip, namespace: pod.namespace, name: pod.name },
      server: { ip: ev.server.ip, port: ev.server.port },
      qname: ev.question.name,
      qtype: rrTypeName(ev.question.type),
      rcode: rcodeName(ev.rcode),
      answers: ev.answers.map((a) => ({ name: a.name, type: a.type, ttl: a.ttl, data: a.data })),
      latency_ms: Math.round(ev.latencyMs * 1000) / 1000,
    };
  }

  /** Appends what is buffered (after any write in progress); never rejects. */
  flush(): Promise<void> {
    this.#writing = this.#writing.then(async () => {
      while (this.#buffer.length > 0) {
        const batch = this.#buffer;
        this.#buffer = [];
        this.#busy = true;
        try {
          await this.#append(batch.join(''));
          this.#counters.linesWritten += batch.length;
        } catch (e) {
          this.#counters.writeErrors += 1;
          this.#counters.linesDropped += batch.length;
          this.#opts.log?.warn('DNS log: lines not written', { path: this.path, error: errorMessage(e) });
        } finally {
          this.#busy = false;
        }
      }
    });
    return this.#writing;
  }

  /** Stops the timer and writes what is buffered. */
  async close(): Promise<void> {
    this.#closed = true;
    this.#clock.clearTimeout(this.#timer);
    this.#timer = undefined;
    await this.flush();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  readonly #report: ModeReporter = (c) => {
    this.#opts.log?.warn('DNS log: narrowed a file mode', { change: describeModeChange(c) });
  };

  #schedule(): void {
    if (this.#closed) return;
    this.#timer = this.#clock.setTimeout(
      () => {
        void this.flush().then(() => {
          this.#schedule();
        });
      },
      this.#intervalMs,
      { unref: true },
    );
  }

  async #append(data: string): Promise<void> {
    ensureDirSync(this.#dir, { mode: DIR_MODE, report: this.#report });
    const size = await stat(this.path).then(
      (s) => s.size,
      (e: unknown) => {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') return 0; // the first write creates it
        throw e;
      },
    );
    if (size > 0 && size + Buffer.byteLength(data) > this.#maxBytes) {
      await rename(this.path, `${this.path}.1`);
      this.#counters.rotations += 1;
    }
    ensurePrivateFileSync(this.path, { mode: FILE_MODE, report: this.#report });
    await appendFile(this.path, data, { mode: FILE_MODE });
  }
}
