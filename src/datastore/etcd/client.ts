/**
 * The etcd3 (gRPC) client as this backend uses it: the library's own retry and circuit-breaker policies are
 * replaced by pass-through ones, because a blind retry of a write whose answer was lost can apply it twice and
 * a 5 s open circuit would outlast an etcd restart. Instead `withRetry` retries reads on any transport error,
 * and writes only when the request provably never left (no connection). gRPC reconnect backoff is kept short
 * (100 ms .. 2 s) so that a restarted etcd is picked up quickly; keepalives detect dead connections.
 */
import { Etcd3, GRPCUnavailableError, isRecoverableError, type IOptions } from 'etcd3';
import { CalicoError, DatastoreUnavailableError, ValidationError, errorMessage } from '../../lib/errors.js';

export interface EtcdConnectionOptions {
  /** `http(s)://host:port`; all must use the same scheme. */
  readonly endpoints: readonly string[];
  readonly username?: string;
  readonly password?: string;
  /** PEM contents (files already read). A client certificate needs the CA too. */
  readonly tls?: { readonly ca?: Buffer; readonly cert?: Buffer; readonly key?: Buffer };
  /** Deadline of each unary request. Default 10 s. */
  readonly requestTimeoutMs?: number;
  /** Connect timeout. Default 5 s. */
  readonly dialTimeoutMs?: number;
}

type Policy = NonNullable<NonNullable<IOptions['faultHandling']>['global']>;

/** A cockatiel-shaped policy that just runs the call once. */
const passThrough = {
  onSuccess: () => ({ dispose: () => undefined }),
  onFailure: () => ({ dispose: () => undefined }),
  execute: async (fn, signal) => fn({ signal: signal ?? new AbortController().signal }),
} satisfies Omit<Policy, '_altReturn'> as unknown as Policy; // `_altReturn` is a type-only marker

export function createEtcdClient(o: EtcdConnectionOptions): Etcd3 {
  if (o.endpoints.length === 0) {
    throw new ValidationError([{ path: 'etcdEndpoints', message: 'at least one endpoint is required' }]);
  }
  const timeout = o.requestTimeoutMs ?? 10_000;
  const options: IOptions = {
    hosts: [...o.endpoints],
    dialTimeout: o.dialTimeoutMs ?? 5000,
    faultHandling: { global: passThrough, host: () => passThrough },
    grpcOptions: {
      'grpc.initial_reconnect_backoff_ms': 100,
      'grpc.max_reconnect_backoff_ms': 2000,
      'grpc.keepalive_time_ms': 10_000,
      'grpc.keepalive_timeout_ms': 5000,
      'grpc.max_receive_message_length': 64 * 1024 * 1024,
    },
    defaultCallOptions: (ctx) => (ctx.isStream ? {} : { deadline: Date.now() + timeout }),
  };
  if (o.username !== undefined && o.username !== '') {
    options.auth = { username: o.username, password: o.password ?? '' };
  }
  const { ca, cert, key } = o.tls ?? {};
  if (ca !== undefined) {
    options.credentials = {
      rootCertificate: ca,
      ...(key === undefined ? {} : { privateKey: key }),
      ...(cert === undefined ? {} : { certChain: cert }),
    };
  } else if (cert !== undefined || key !== undefined) {
    throw new ValidationError([
      { path: 'etcdCACertFile', message: 'a CA certificate is required with a client certificate' },
    ]);
  }
  try {
    return new Etcd3(options);
  } catch (e) {
    throw new ValidationError([{ path: 'etcdEndpoints', message: errorMessage(e) }]);
  }
}

/** A transport failure before the request was sent: safe to retry even a write. */
function neverSent(e: unknown): boolean {
  return e instanceof GRPCUnavailableError && /No connection established|ECONNREFUSED/.test(e.message);
}

function isTransportError(e: unknown): boolean {
  return e instanceof Error && isRecoverableError(e);
}

/** Maps etcd3/gRPC errors to the catalogue; our own errors pass through. */
export function mapEtcdError(e: unknown): Error {
  if (e instanceof CalicoError) return e;
  if (e instanceof Error && (e.name === 'AbortError' || e.name === 'TimeoutError')) return e;
  const message = `etcd: ${errorMessage(e)}`;
  if (isTransportError(e) || (e instanceof Error && /UNAVAILABLE|DEADLINE|closed|auth/i.test(e.message))) {
    return new DatastoreUnavailableError(message, { cause: e });
  }
  return new CalicoError('CALICO_ERR_IO', message, { cause: e });
}

const RETRY_BUDGET_MS = 3000;

/**
 * Runs `fn`, retrying transport failures with backoff for up to 3 s: any of them for idempotent calls, only
 * never-sent ones otherwise. Aborting the signal rejects at once (the request itself may still complete).
 */
export async function withRetry<T>(
  fn: () => Promise<T>,
  opts: { readonly idempotent: boolean; readonly signal?: AbortSignal | undefined },
): Promise<T> {
  const deadline = Date.now() + RETRY_BUDGET_MS;
  for (let delay = 50; ; delay = Math.min(delay * 2, 500)) {
    opts.signal?.throwIfAborted();
    try {
      return await abortable(fn(), opts.signal);
    } catch (e) {
      const retryable = opts.idempotent ? isTransportError(e) : neverSent(e);
      if (!retryable || Date.now() + delay > deadline) throw mapEtcdError(e);
      await sleep(delay, opts.signal);
    }
  }
}

function abortable<T>(p: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (signal === undefined) return p;
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => {
      reject(signal.reason instanceof Error ? signal.reason : new Error('aborted'));
    };
    signal.addEventListener('abort', onAbort, { once: true });
    void p.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(e instanceof Error ? e : new Error(String(e)));
      },
    );
  });
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}
