/**
 * The HTTP layer of the Kubernetes datastore: one kube-apiserver reached as a kubeconfig (`kubeconfig.ts`) or
 * the in-cluster service account says, with the credentials of `credentials.ts`. JSON requests answer
 * `{ status, body }` (the body parsed; a Kubernetes `Status` for errors); `watch` streams a watch's
 * newline-delimited events.
 *
 * Raw requests rather than the generated API classes: those convert timestamps into Date objects and drop
 * fields their models lack, and a datastore must hand back exactly what was stored; errors here need the HTTP
 * status and the Status `reason` (409 Conflict vs AlreadyExists, 410 Expired).
 *
 * Transport failures become DatastoreUnavailableError with one line naming the server: connection refused,
 * a server certificate that has expired or is not signed by the kubeconfig's CA, and 401 (credentials the
 * server does not accept, e.g. an expired client certificate).
 */
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest, type RequestOptions } from 'node:https';
import { createInterface } from 'node:readline';
import { DatastoreUnavailableError, UsageError, errorMessage } from '../../lib/errors.js';
import { Credentials } from './credentials.js';
import { type ConnectionConfig, inClusterConfig, loadKubeconfigFile } from './kubeconfig.js';

export interface KubeResponse {
  readonly status: number;
  readonly body: unknown;
}

/** A Kubernetes `Status` object's useful fields (or what a non-Status body gave). */
export interface KubeStatus {
  readonly code?: number;
  readonly reason?: string;
  readonly message?: string;
  readonly details?: { readonly kind?: string; readonly name?: string };
}

export function statusOf(body: unknown): KubeStatus {
  return typeof body === 'object' && body !== null ? body : { message: String(body) };
}

export interface WatchEvent {
  readonly type: string;
  readonly object: unknown;
}

const CERT_PROBLEMS: Readonly<Record<string, string>> = {
  CERT_HAS_EXPIRED: 'its certificate has expired',
  CERT_NOT_YET_VALID: 'its certificate is not yet valid',
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: 'its certificate is not signed by the CA of the kubeconfig',
  SELF_SIGNED_CERT_IN_CHAIN: 'its certificate is not signed by the CA of the kubeconfig',
  DEPTH_ZERO_SELF_SIGNED_CERT: 'its certificate is self-signed and not trusted by the kubeconfig',
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: 'its certificate is not signed by the CA of the kubeconfig',
  ERR_TLS_CERT_ALTNAME_INVALID: 'its certificate is not valid for that address',
};

/** The kubeconfig used when none is configured: `$KUBECONFIG` (its first entry), then `~/.kube/config`. */
export function defaultKubeconfig(env: Readonly<Record<string, string | undefined>> = process.env): string {
  const first = (env['KUBECONFIG'] ?? '').split(':').find((p) => p !== '');
  return first ?? join(homedir(), '.kube', 'config');
}

export class KubeTransport {
  readonly server: string;
  readonly #source: string;
  readonly #config: ConnectionConfig;
  readonly #credentials: Credentials;
  #agent: HttpsAgent | undefined;
  #agentCert: Buffer | undefined;

  private constructor(config: ConnectionConfig) {
    this.#config = config;
    this.#source = config.source;
    this.#credentials = new Credentials(config);
    this.server = config.server;
  }

  /** Loads a kubeconfig file; UsageError naming the file when it is missing, unreadable or malformed. */
  static fromFile(path: string): KubeTransport {
    if (!existsSync(path)) throw new UsageError(`kubeconfig ${path} does not exist`);
    return new KubeTransport(loadKubeconfigFile(path));
  }

  /** A transport from an already read configuration (a kubeconfig or the in-cluster one). */
  static fromConfig(config: ConnectionConfig): KubeTransport {
    return new KubeTransport(config);
  }

  /**
   * `kubeconfig` when given; else, inside a pod with no `KUBECONFIG`, the in-cluster service account
   * (client-go's order); else the default kubeconfig.
   */
  static open(
    kubeconfig: string | undefined,
    env: Readonly<Record<string, string | undefined>> = process.env,
  ): KubeTransport {
    if (kubeconfig !== undefined) return KubeTransport.fromFile(kubeconfig);
    if ((env['KUBECONFIG'] ?? '') === '') {
      const inCluster = inClusterConfig(env);
      if (inCluster !== undefined) return new KubeTransport(inCluster);
    }
    return KubeTransport.fromFile(defaultKubeconfig(env));
  }

  async #requestOptions(): Promise<RequestOptions> {
    const cfg = this.#config;
    const cred = await this.#credentials.current();
    const headers = cred.authorization === undefined ? {} : { Authorization: cred.authorization };
    if (this.server.startsWith('http:')) return { headers };
    const cert = cred.cert ?? cfg.cert;
    const key = cred.key ?? cfg.key;
    if (this.#agent === undefined || this.#agentCert !== cert) {
      this.#agent?.destroy();
      this.#agentCert = cert;
      this.#agent = new HttpsAgent({
        ...(cfg.ca === undefined ? {} : { ca: cfg.ca }),
        ...(cert === undefined ? {} : { cert }),
        ...(key === undefined ? {} : { key }),
        ...(cfg.tlsServerName === undefined ? {} : { servername: cfg.tlsServerName }),
        rejectUnauthorized: !cfg.insecureSkipTLSVerify,
      });
    }
    return {
      agent: this.#agent,
      headers,
    };
  }

  #unavailable(e: unknown): DatastoreUnavailableError {
    const code = typeof e === 'object' && e !== null && 'code' in e ? String(e.code) : '';
    const cert = CERT_PROBLEMS[code];
    const why =
      code === 'ECONNREFUSED'
        ? 'connection refused'
        : cert !== undefined
          ? `TLS handshake failed: ${cert} (${code})`
          : errorMessage(e);
    return new DatastoreUnavailableError(`cannot reach the Kubernetes API server ${this.server}: ${why}`, {
      cause: e,
    });
  }

  async #send(
    method: string,
    path: string,
    body: unknown,
    contentType: string,
    signal: AbortSignal | undefined,
  ): Promise<IncomingMessage> {
    signal?.throwIfAborted();
    const base = await this.#requestOptions();
    const url = new URL(this.server + path);
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const headers: Record<string, string | number> = {
      ...(base.headers as Record<string, string> | undefined),
      Accept: 'application/json',
      ...(payload === undefined
        ? {}
        : { 'Content-Type': contentType, 'Content-Length': Buffer.byteLength(payload) }),
    };
    const send = url.protocol === 'http:' ? httpRequest : httpsRequest;
    return new Promise<IncomingMessage>((resolve, reject) => {
      const req = send(
        url,
        { ...base, method, headers, ...(signal === undefined ? {} : { signal }) },
        (res) => {
          // A response torn down (abort, server gone) emits 'error': its reader reports it, never the process.
          res.on('error', () => undefined);
          resolve(res);
        },
      );
      req.on('error', (e) => {
        reject(signal?.aborted === true ? e : this.#unavailable(e));
      });
      req.end(payload);
    });
  }

  #unauthorized(status: number): DatastoreUnavailableError | undefined {
    if (status !== 401) return undefined;
    return new DatastoreUnavailableError(
      `the Kubernetes API server ${this.server} refused the credentials of kubeconfig ${this.#source} ` +
        '(401 Unauthorized: is the client certificate expired or from another CA, or the token invalid?)',
    );
  }

  /** A JSON request. Rejects only on transport failure or 401; other statuses are the caller's to read. */
  async request(
    method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE',
    path: string,
    body?: unknown,
    opts: { readonly contentType?: string; readonly signal?: AbortSignal | undefined } = {},
  ): Promise<KubeResponse> {
    const res = await this.#send(method, path, body, opts.contentType ?? 'application/json', opts.signal);
    const chunks: Buffer[] = [];
    try {
      for await (const c of res) chunks.push(c as Buffer);
    } catch (e) {
      if (opts.signal?.aborted === true) throw e;
      throw this.#unavailable(e);
    }
    const unauthorized = this.#unauthorized(res.statusCode ?? 0);
    if (unauthorized !== undefined) throw unauthorized;
    const text = Buffer.concat(chunks).toString('utf8');
    let parsed: unknown = text;
    try {
      parsed = text === '' ? undefined : JSON.parse(text);
    } catch {
      // Not JSON (e.g. /readyz answers "ok"): the text itself.
    }
    return { status: res.statusCode ?? 0, body: parsed };
  }

  /**
   * Starts a watch; resolves once the server accepted it (200), or with the error response otherwise.
   * `onEvent` gets each event; `onEnd` once, when the stream ends (undefined: closed by the server; an
   * error otherwise). Aborting `signal` ends the stream without `onEnd`.
   */
  async watch(
    path: string,
    handlers: { onEvent(e: WatchEvent): void; onEnd(error: Error | undefined): void },
    signal: AbortSignal,
  ): Promise<KubeResponse | undefined> {
    const res = await this.#send('GET', path, undefined, 'application/json', signal);
    const status = res.statusCode ?? 0;
    if (status !== 200) {
      const chunks: Buffer[] = [];
      for await (const c of res) chunks.push(c as Buffer);
      const unauthorized = this.#unauthorized(status);
      if (unauthorized !== undefined) throw unauthorized;
      const text = Buffer.concat(chunks).toString('utf8');
      let body: unknown = text;
      try {
        body = JSON.parse(text);
      } catch {
        // keep the text
      }
      return { status, body };
    }
    let ended = false;
    const end = (error: Error | undefined): void => {
      if (ended || signal.aborted) return;
      ended = true;
      handlers.onEnd(error);
    };
    const lines = createInterface({ input: res, crlfDelay: Infinity });
    // readline re-emits its input's errors (a torn-down stream); `res` reports them below.
    lines.on('error', () => undefined);
    lines.on('line', (line) => {
      if (ended || signal.aborted || line.trim() === '') return;
      try {
        handlers.onEvent(JSON.parse(line) as WatchEvent);
      } catch (e) {
        end(new Error(`watch ${path}: a line that is not a JSON event: ${errorMessage(e)}`));
        res.destroy();
      }
    });
    res.on('error', (e) => {
      end(this.#unavailable(e));
    });
    res.once('close', () => {
      end(res.complete ? undefined : this.#unavailable(new Error('watch connection closed')));
    });
    return undefined;
  }

  /** Releases pooled connections. */
  close(): void {
    this.#agent?.destroy();
  }
}
