/**
 * calico-goldmane's gRPC server (goldmane/pkg/server): Flows (List, Stream, FilterHints), FlowCollector
 * (Connect: one FlowReceipt per FlowUpdate) and Statistics (List), over one Aggregator.
 *
 *   reporters ──Connect──▶ ingest ──▶ Aggregator ──list/hints/statistics──▶ Flows.List, FilterHints, Statistics
 *                                        └── completed bucket (head-2) ──▶ each Flows.Stream (after its backfill)
 *
 * Plaintext unless a certificate and key are given (then TLS, mutual when a CA is given too). A refused query is
 * INVALID_ARGUMENT with the aggregator's message; Statistics.List with no result sends one empty result and then
 * NOT_FOUND, as Goldmane does. A stream whose client reads too slowly to keep up is ended with
 * RESOURCE_EXHAUSTED rather than buffering without bound.
 */
import { readFileSync } from 'node:fs';
import * as grpc from '@grpc/grpc-js';
import type { Flow } from '../flows/types.js';
import { Aggregator, QueryError } from './aggregator.js';
import type {
  FilterHintsRequest,
  FlowListRequest,
  FlowResult,
  FlowStreamRequest,
  StatisticsRequest,
  StatisticsResult,
} from './api-types.js';
import type { GoldmaneMetrics } from './metrics.js';
import { goldmaneServices } from './proto.js';

/** Results a stream may have queued for a slow client before it is ended. */
export const STREAM_BUFFER_LIMIT = 50_000;

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
export type Log = (level: LogLevel, message: string) => void;

export interface ServerTlsFiles {
  readonly certFile: string;
  readonly keyFile: string;
  /** When set, clients must present a certificate signed by this CA. */
  readonly caFile?: string;
}

export interface GoldmaneServerOptions {
  readonly metrics?: GoldmaneMetrics;
  readonly log?: Log;
}

function refused(e: unknown): Partial<grpc.StatusObject> {
  if (e instanceof QueryError) return { code: grpc.status.INVALID_ARGUMENT, details: e.message };
  return { code: grpc.status.INTERNAL, details: e instanceof Error ? e.message : String(e) };
}

export class GoldmaneServer {
  readonly #agg: Aggregator;
  readonly #metrics: GoldmaneMetrics | undefined;
  readonly #log: Log;
  readonly #server = new grpc.Server();
  readonly #open = new Set<() => void>();

  constructor(agg: Aggregator, opts: GoldmaneServerOptions = {}) {
    this.#agg = agg;
    this.#metrics = opts.metrics;
    this.#log = opts.log ?? (() => undefined);
    const svc = goldmaneServices();
    this.#server.addService(svc.Flows.service, {
      List: this.#unary((req: FlowListRequest) => agg.list(req)),
      FilterHints: this.#unary((req: FilterHintsRequest) => agg.filterHints(req)),
      Stream: (call: grpc.ServerWritableStream<FlowStreamRequest, FlowResult>) => {
        this.#stream(call);
      },
    });
    this.#server.addService(svc.Statistics.service, {
      List: (call: grpc.ServerWritableStream<StatisticsRequest, Partial<StatisticsResult>>) => {
        this.#statistics(call);
      },
    });
    this.#server.addService(svc.FlowCollector.service, {
      Connect: (call: grpc.ServerDuplexStream<{ flow: Flow | null }, object>) => {
        this.#connect(call);
      },
    });
  }

  /**
   * Listens on `host:port` (port 0: any), or on a unix socket when `host` is `unix:///path` (the port is then
   * not used); resolves with the bound port (0 for a socket).
   */
  listen(host: string, port: number, tls?: ServerTlsFiles): Promise<number> {
    const creds =
      tls === undefined
        ? grpc.ServerCredentials.createInsecure()
        : grpc.ServerCredentials.createSsl(
            tls.caFile === undefined ? null : readFileSync(tls.caFile),
            [{ cert_chain: readFileSync(tls.certFile), private_key: readFileSync(tls.keyFile) }],
            tls.caFile !== undefined,
          );
    const address = host.startsWith('unix:')
      ? host
      : host.includes(':')
        ? `[${host}]:${port}`
        : `${host}:${port}`;
    return new Promise((resolve, reject) => {
      this.#server.bindAsync(address, creds, (err, bound) => {
        if (err !== null) reject(new Error(`goldmane: cannot listen on ${address}: ${err.message}`));
        else resolve(bound);
      });
    });
  }

  /** Ends open streams, lets calls in flight finish for up to `graceMs`, then cuts what is left. */
  async close(graceMs = 5_000): Promise<void> {
    for (const end of [...this.#open]) end();
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        this.#server.forceShutdown();
        resolve();
      }, graceMs);
      this.#server.tryShutdown(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  #unary<Q, R>(fn: (req: Q) => R): grpc.handleUnaryCall<Q, R> {
    return (call, callback) => {
      try {
        callback(null, fn(call.request));
      } catch (e) {
        if (!(e instanceof QueryError)) this.#log('error', `goldmane: ${String(e)}`);
        callback(refused(e));
      }
    };
  }

  #statistics(call: grpc.ServerWritableStream<StatisticsRequest, Partial<StatisticsResult>>): void {
    let results: StatisticsResult[];
    try {
      results = this.#agg.statistics(call.request);
    } catch (e) {
      call.emit('error', refused(e));
      return;
    }
    if (results.length === 0) {
      call.write({});
      call.emit('error', { code: grpc.status.NOT_FOUND, details: 'No statistics matching request' });
      return;
    }
    for (const r of results) call.write(r);
    call.end();
  }

  #stream(call: grpc.ServerWritableStream<FlowStreamRequest, FlowResult>): void {
    const req = call.request;
    let open = true;
    const end = (status?: Partial<grpc.StatusObject>): void => {
      if (!open) return;
      open = false;
      unsubscribe();
      this.#open.delete(end);
      this.#metrics?.streams.dec();
      if (status === undefined) call.end();
      else call.emit('error', status);
    };
    const write = (r: FlowResult): void => {
      if (!open) return;
      if (call.writableLength > STREAM_BUFFER_LIMIT) {
        this.#log('warn', `goldmane: stream ${call.getPeer()} is not reading; ending it`);
        end({ code: grpc.status.RESOURCE_EXHAUSTED, details: 'stream client too slow' });
        return;
      }
      call.write(r);
    };
    this.#metrics?.streams.inc();
    this.#open.add(end);
    const unsubscribe = this.#agg.onBucket((b) => {
      for (const r of b.flows(req.filter)) write(r);
    });
    call.on('cancelled', () => {
      end();
    });
    call.on('error', () => {
      end();
    });
    const start = this.#agg.streamStart(req.start_time_gte);
    if (start !== 0) {
      const t0 = performance.now();
      this.#agg.backfill(start, req.filter, write);
      this.#metrics?.backfillLatencyMs.observe(performance.now() - t0);
    }
  }

  #connect(call: grpc.ServerDuplexStream<{ flow: Flow | null }, object>): void {
    const source = call.getPeer();
    const m = this.#metrics;
    m?.collectorClients.inc();
    this.#log('info', `goldmane: collector connection from ${source}`);
    let open = true;
    const done = (): void => {
      if (!open) return;
      open = false;
      this.#open.delete(finish);
      m?.collectorClients.dec();
    };
    const finish = (): void => {
      done();
      call.end();
    };
    this.#open.add(finish);
    call.on('data', (u: { flow: Flow | null }) => {
      const t0 = performance.now();
      m?.collectorReceived.inc({ source });
      const flow = u.flow;
      if (flow === null || (flow.Key as Flow['Key'] | null) === null) {
        this.#agg.dropped++;
      } else {
        this.#agg.ingest(flow, source);
      }
      if (open) call.write({});
      const ms = performance.now() - t0;
      m?.indexLatencyMs.observe(ms);
      m?.indexBatchSize.observe(1);
      m?.collectorLatency.observe({ source }, ms / 1000);
    });
    call.on('end', finish);
    call.on('cancelled', done);
    call.on('error', done);
  }
}
