/**
 * The collector's side of Goldmane's FlowCollector.Connect (Calico's goldmane/pkg/client FlowClient): one
 * bidirectional stream to `flowLogsGoldmaneServer` (plaintext gRPC), one FlowUpdate per flow, each answered by
 * a FlowReceipt before the next is sent. Flows wait in a bounded queue (5,000, as Calico's client; more are
 * dropped and counted). A stream that fails is opened again after a backoff (1 s doubling to 10 s), and the
 * flows sent in the last 5 minutes are sent again first, so an aggregator that restarted gets them back.
 */
import * as grpc from '@grpc/grpc-js';
import type { Flow } from '../../flows/types.js';
import { goldmaneServices } from '../../goldmane/proto.js';
import { Backoff, realClock, type Clock, type TimerHandle } from '../../lib/async.js';
import { errorMessage } from '../../lib/errors.js';

export interface FlowSenderOptions {
  /** `host:port` of calico-goldmane. */
  readonly server: string;
  readonly maxQueue?: number;
  /** How long sent flows are kept to be sent again after a reconnect. */
  readonly resendWindowMs?: number;
  readonly clock?: Clock;
  readonly retryMinMs?: number;
  readonly retryMaxMs?: number;
  readonly onDisconnect?: (error: string, retryMs: number) => void;
}

export interface FlowSenderStats {
  readonly connected: boolean;
  readonly queued: number;
  /** Flows Goldmane acknowledged (resent ones included). */
  readonly acknowledged: number;
  /** Flows dropped because the queue was full. */
  readonly dropped: number;
  readonly connects: number;
}

type Stream = grpc.ClientDuplexStream<{ flow: Flow }, unknown>;

const MAX_RESEND = 50_000;

export class GoldmaneFlowSender {
  readonly #o: FlowSenderOptions;
  readonly #clock: Clock;
  readonly #client: grpc.Client & { Connect(): Stream };
  readonly #backoff: Backoff;
  readonly #maxQueue: number;
  readonly #queue: Flow[] = [];
  /** Sent flows, oldest first, for a resend after a reconnect. */
  #recent: { flow: Flow; atMs: number }[] = [];
  #stream: Stream | undefined;
  /** The flow waiting for its receipt. */
  #inFlight: Flow | undefined;
  /** Flows to send again before the queue, on a new stream. */
  #resend: Flow[] = [];
  #retry: TimerHandle | undefined;
  #closed = false;
  #acknowledged = 0;
  #dropped = 0;
  #connects = 0;
  #connected = false;

  constructor(o: FlowSenderOptions) {
    this.#o = o;
    this.#clock = o.clock ?? realClock;
    this.#maxQueue = o.maxQueue ?? 5000;
    this.#backoff = new Backoff(o.retryMinMs ?? 1000, o.retryMaxMs ?? 10_000);
    const ctor = goldmaneServices().FlowCollector;
    this.#client = new ctor(o.server, grpc.credentials.createInsecure()) as unknown as grpc.Client & {
      Connect(): Stream;
    };
    this.#open();
  }

  stats(): FlowSenderStats {
    return {
      connected: this.#connected,
      queued: this.#queue.length,
      acknowledged: this.#acknowledged,
      dropped: this.#dropped,
      connects: this.#connects,
    };
  }

  push(flows: readonly Flow[]): void {
    for (const f of flows) {
      if (this.#queue.length >= this.#maxQueue) this.#dropped++;
      else this.#queue.push(f);
    }
    this.#pump();
  }

  #open(): void {
    if (this.#closed) return;
    const stream = this.#client.Connect();
    this.#stream = stream;
    this.#connects++;
    const now = this.#clock.now();
    const windowMs = this.#o.resendWindowMs ?? 300_000;
    this.#recent = this.#recent.filter((r) => now - r.atMs <= windowMs);
    this.#resend = this.#recent.map((r) => r.flow);
    stream.on('data', () => {
      if (this.#stream !== stream) return;
      this.#connected = true;
      this.#backoff.reset();
      this.#acknowledged++;
      this.#inFlight = undefined;
      this.#pump();
    });
    const failed = (why: string): void => {
      if (this.#stream !== stream) return;
      this.#stream = undefined;
      this.#connected = false;
      this.#inFlight = undefined;
      stream.cancel();
      if (this.#closed) return;
      const retryMs = this.#backoff.next();
      this.#o.onDisconnect?.(why, retryMs);
      this.#retry = this.#clock.setTimeout(
        () => {
          this.#retry = undefined;
          this.#open();
          this.#pump();
        },
        retryMs,
        { unref: true },
      );
    };
    stream.on('error', (e) => {
      failed(errorMessage(e));
    });
    stream.on('end', () => {
      failed('the server ended the stream');
    });
    this.#pump();
  }

  /** Sends the next flow once the previous one is acknowledged. */
  #pump(): void {
    const stream = this.#stream;
    if (stream === undefined || this.#inFlight !== undefined) return;
    const next = this.#resend.shift();
    const flow = next ?? this.#queue.shift();
    if (flow === undefined) return;
    if (next === undefined) {
      this.#recent.push({ flow, atMs: this.#clock.now() });
      if (this.#recent.length > MAX_RESEND) this.#recent.splice(0, this.#recent.length - MAX_RESEND);
    }
    this.#inFlight = flow;
    stream.write({ flow });
  }

  close(): void {
    this.#closed = true;
    this.#clock.clearTimeout(this.#retry);
    const stream = this.#stream;
    this.#stream = undefined;
    stream?.cancel();
    this.#client.close();
  }
}
