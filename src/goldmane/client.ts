/**
 * A typed client of calico-goldmane (and of Calico's Goldmane: the API is wire-compatible) over the services of
 * src/goldmane/proto.ts. One connection (a grpc-js channel) serves every call; `close()` releases it.
 *
 *   const gm = new GoldmaneClient('127.0.0.1:7443');
 *   const { flows } = await gm.list({ start_time_gte: -900, filter: { actions: ['Deny'] } });
 *   const s = gm.stream({ start_time_gte: -60 }, (r) => show(r.flow));   ...   s.cancel(); await s.done;
 *   const reporter = gm.connectCollector();   await reporter.send(flow);   await reporter.close();
 *   gm.close();
 *
 * Failures are GoldmaneError (the gRPC status code by name, the server's address in the message), so a caller
 * can tell "unreachable" (Unavailable, DeadlineExceeded) from a refused request (InvalidArgument, NotFound).
 */
import { readFileSync } from 'node:fs';
import * as grpc from '@grpc/grpc-js';
import type { Flow } from '../flows/types.js';
import type {
  FilterHintsQuery,
  FilterHintsResult,
  FlowListQuery,
  FlowListResult,
  FlowResult,
  FlowStreamQuery,
  StatisticsQuery,
  StatisticsResult,
} from './api-types.js';
import { goldmaneServices } from './proto.js';

/** Calico's Goldmane service port, and calico-goldmane's default. */
export const GOLDMANE_DEFAULT_PORT = 7443;

export interface GoldmaneTlsFiles {
  /** PEM file of the CA that signed the server's certificate (else the system's roots). */
  readonly caFile?: string;
  /** Client certificate and key (mutual TLS), both or neither. */
  readonly certFile?: string;
  readonly keyFile?: string;
}

export interface GoldmaneClientOptions {
  /** Plaintext when absent (calico-goldmane's default). */
  readonly tls?: GoldmaneTlsFiles;
  /** Deadline of each unary call and of `statistics` (default 10 s). */
  readonly callTimeoutMs?: number;
}

/** A failed call: `code` is the gRPC status name (`UNAVAILABLE`, `INVALID_ARGUMENT`, ...). */
export class GoldmaneError extends Error {
  readonly code: string;
  readonly server: string;
  readonly rpc: string;
  constructor(
    server: string,
    rpc: string,
    status: { readonly code?: number; readonly details?: string; readonly message?: string },
  ) {
    const code = grpc.status[status.code ?? grpc.status.UNKNOWN] ?? `CODE_${status.code ?? -1}`;
    const detail = status.details ?? status.message ?? '';
    super(`goldmane ${server}: ${rpc}: ${code}${detail === '' ? '' : `: ${detail}`}`);
    this.name = 'GoldmaneError';
    this.code = code;
    this.server = server;
    this.rpc = rpc;
  }

  /** The server could not be reached or did not answer in time. */
  get unreachable(): boolean {
    return this.code === 'UNAVAILABLE' || this.code === 'DEADLINE_EXCEEDED';
  }
}

/** A running Flows.Stream: `cancel()` ends it; `done` settles when it has ended (rejects on a server error). */
export interface FlowStreamHandle {
  cancel(): void;
  readonly done: Promise<void>;
}

/** A reporter's FlowCollector.Connect stream. */
export interface CollectorConnection {
  /** Sends one update; resolves when its FlowReceipt arrives (receipts come in order, one per update). */
  send(flow: Flow): Promise<void>;
  /** Updates sent whose receipt has not arrived yet. */
  readonly pending: number;
  /** Half-closes the stream and waits for the remaining receipts and the server's end. */
  close(): Promise<void>;
  /** Cancels the stream at once; pending sends reject. */
  cancel(): void;
}

type Callback<T> = (err: grpc.ServiceError | null, value?: T) => void;
type Unary<Q, R> = (req: Q, md: grpc.Metadata, opts: grpc.CallOptions, cb: Callback<R>) => void;
interface FlowsStub extends grpc.Client {
  List: Unary<FlowListQuery, FlowListResult>;
  FilterHints: Unary<FilterHintsQuery, FilterHintsResult>;
  Stream(req: FlowStreamQuery): grpc.ClientReadableStream<FlowResult>;
}
interface StatisticsStub extends grpc.Client {
  List(req: StatisticsQuery, opts: grpc.CallOptions): grpc.ClientReadableStream<StatisticsResult>;
}
interface CollectorStub extends grpc.Client {
  Connect(): grpc.ClientDuplexStream<{ flow: Flow }, object>;
}

function credentials(tls: GoldmaneTlsFiles | undefined): grpc.ChannelCredentials {
  if (tls === undefined) return grpc.credentials.createInsecure();
  const read = (f: string | undefined): Buffer | null => (f === undefined ? null : readFileSync(f));
  return grpc.credentials.createSsl(read(tls.caFile), read(tls.keyFile), read(tls.certFile));
}

export class GoldmaneClient {
  readonly #flows: FlowsStub;
  readonly #statistics: StatisticsStub;
  readonly #collector: CollectorStub;
  readonly #timeoutMs: number;
  readonly server: string;

  /** `server` is `host:port`; nothing connects until the first call. */
  constructor(server: string, opts: GoldmaneClientOptions = {}) {
    this.server = server;
    const svc = goldmaneServices();
    const creds = credentials(opts.tls);
    this.#flows = new svc.Flows(server, creds) as unknown as FlowsStub;
    // The three stubs share one channel (grpc-js reuses it when given the first client's channel).
    const shared = { channelOverride: this.#flows.getChannel() };
    this.#statistics = new svc.Statistics(server, creds, shared) as unknown as StatisticsStub;
    this.#collector = new svc.FlowCollector(server, creds, shared) as unknown as CollectorStub;
    this.#timeoutMs = opts.callTimeoutMs ?? 10_000;
  }

  /** Resolves once connected; GoldmaneError UNAVAILABLE after `timeoutMs`. */
  waitReady(timeoutMs: number): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#flows.waitForReady(Date.now() + timeoutMs, (err) => {
        if (err === undefined) resolve();
        else
          reject(
            new GoldmaneError(this.server, 'connect', {
              code: grpc.status.UNAVAILABLE,
              details: err.message,
            }),
          );
      });
    });
  }

  /** Flows.List: one page of aggregated flows over the time range. */
  list(req: FlowListQuery = {}): Promise<FlowListResult> {
    return this.#unary('Flows.List', this.#flows.List.bind(this.#flows), req);
  }

  /** Flows.FilterHints: the values seen for one field (namespaces, names, tiers, ...). */
  filterHints(req: FilterHintsQuery): Promise<FilterHintsResult> {
    return this.#unary('Flows.FilterHints', this.#flows.FilterHints.bind(this.#flows), req);
  }

  /**
   * Flows.Stream: backfill from `start_time_gte` (if set), then each flow of every bucket as it completes.
   * `onFlow` is called per result; the stream runs until `cancel()` or a server error.
   */
  stream(req: FlowStreamQuery, onFlow: (r: FlowResult) => void): FlowStreamHandle {
    const call = this.#flows.Stream(req);
    let cancelled = false;
    const done = new Promise<void>((resolve, reject) => {
      call.on('data', (r: FlowResult) => {
        if (!cancelled) onFlow(r);
      });
      call.on('error', (e: grpc.ServiceError) => {
        if (cancelled && e.code === grpc.status.CANCELLED) resolve();
        else reject(new GoldmaneError(this.server, 'Flows.Stream', e));
      });
      call.on('end', () => {
        resolve();
      });
    });
    return {
      cancel: () => {
        cancelled = true;
        call.cancel();
      },
      done,
    };
  }

  /** Statistics.List: every result of the (server-streamed) answer; [] when the server has none (NOT_FOUND). */
  async statistics(req: StatisticsQuery): Promise<StatisticsResult[]> {
    const call = this.#statistics.List(req, { deadline: Date.now() + this.#timeoutMs });
    const results: StatisticsResult[] = [];
    try {
      await new Promise<void>((resolve, reject) => {
        call.on('data', (r: StatisticsResult) => results.push(r));
        call.on('error', reject);
        call.on('end', resolve);
      });
    } catch (e) {
      const err = e as grpc.ServiceError;
      if (err.code === grpc.status.NOT_FOUND) return [];
      throw new GoldmaneError(this.server, 'Statistics.List', err);
    }
    // Goldmane sends one empty result before NOT_FOUND; a result without a policy carries nothing.
    return results.filter((r) => r.policy !== null);
  }

  /** FlowCollector.Connect: a reporter's stream of flow updates. */
  connectCollector(): CollectorConnection {
    const call = this.#collector.Connect();
    const waiting: { resolve: () => void; reject: (e: Error) => void }[] = [];
    let failure: Error | undefined;
    let errored: Error | undefined;
    const fail = (e: Error): void => {
      failure ??= e;
      for (const w of waiting.splice(0)) w.reject(failure);
    };
    call.on('data', () => {
      waiting.shift()?.resolve();
    });
    const ended = new Promise<void>((resolve) => {
      call.on('error', (e: grpc.ServiceError) => {
        errored = new GoldmaneError(this.server, 'FlowCollector.Connect', e);
        fail(errored);
        resolve();
      });
      call.on('end', () => {
        fail(
          new GoldmaneError(this.server, 'FlowCollector.Connect', { details: 'stream ended by the server' }),
        );
        resolve();
      });
    });
    return {
      send: (flow) =>
        new Promise<void>((resolve, reject) => {
          if (failure !== undefined) {
            reject(failure);
            return;
          }
          waiting.push({ resolve, reject });
          call.write({ flow });
        }),
      get pending() {
        return waiting.length;
      },
      close: async () => {
        call.end();
        await ended;
        if (errored !== undefined) throw errored;
      },
      cancel: () => {
        call.cancel();
      },
    };
  }

  close(): void {
    this.#statistics.close();
    this.#collector.close();
    this.#flows.close();
  }

  #unary<Q, R>(rpc: string, fn: Unary<Q, R>, req: Q): Promise<R> {
    return new Promise((resolve, reject) => {
      fn(req, new grpc.Metadata(), { deadline: Date.now() + this.#timeoutMs }, (err, value) => {
        if (err !== null) reject(new GoldmaneError(this.server, rpc, err));
        else resolve(value as R);
      });
    });
  }
}
