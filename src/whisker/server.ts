/**
 * The viewer's server (Calico's whisker + whisker-backend in one node:http listener): the page
 * (src/whisker/static: index.html, whisker.js, whisker.css), whisker-backend's JSON API over a Goldmane Flows
 * client (api.ts: /flows, /flows?watch=true as Server-Sent Events, /flows-filter-hints), and /policy with the
 * YAML of the policy a hit names, read from the datastore (policy.ts). The API also answers under
 * /whisker-backend/, the path Calico's Whisker page calls it by.
 *
 *   const w = await startWhisker({ port: 8081, goldmane: '127.0.0.1:7443', datastore: config });
 *   ... w.url ...   await w.close();
 */
import { readFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { openBackend, type Backend, type DatastoreConfig } from '../datastore/index.js';
import { errorMessage, NotFoundError } from '../lib/errors.js';
import { StoredValueError } from '../datastore/index.js';
import { repoRoot } from '../sys/repo-root.js';
import { flowResponse, hintValue, parseFlowsQuery, parseHintsQuery } from './api.js';
import { GoldmaneClient, type FlowStreamHandle } from '../goldmane/client.js';

/** What the viewer needs of a Goldmane client. */
export type FlowsClient = Pick<GoldmaneClient, 'list' | 'stream' | 'filterHints' | 'close'>;
import { parsePolicyQuery, readPolicy } from './policy.js';

export const DEFAULT_WHISKER_PORT = 8081;
/** An idle event stream gets a comment this often, so that proxies and the browser keep it open. */
const KEEPALIVE_MS = 15_000;
/** A client that lets this much of its event stream pile up unread is cut off (it reconnects). */
const MAX_BUFFERED_BYTES = 8 * 1024 * 1024;

const STATIC_FILES: Readonly<Record<string, { file: string; type: string }>> = {
  '/': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/index.html': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/whisker.js': { file: 'whisker.js', type: 'text/javascript; charset=utf-8' },
  '/whisker.css': { file: 'whisker.css', type: 'text/css; charset=utf-8' },
};

export interface WhiskerOptions {
  /** TCP port; 0 picks a free one. Default 8081. */
  readonly port?: number;
  /** Address to listen on; default 127.0.0.1. */
  readonly host?: string;
  /** Goldmane's `host:port`, or a client the caller owns (not closed by `close`). */
  readonly goldmane: string | FlowsClient;
  /** Where /policy reads policies: a configuration (opened here, closed by `close`), or a backend the caller owns. */
  readonly datastore?: DatastoreConfig | Backend;
}

export interface Whisker {
  /** `http://host:port/` of the page. */
  readonly url: string;
  close(): Promise<void>;
}

function isBackend(d: DatastoreConfig | Backend): d is Backend {
  return typeof (d as Partial<Backend>).get === 'function';
}

function send(res: ServerResponse, status: number, type: string, body: string): void {
  res.writeHead(status, { 'Content-Type': type, 'Content-Length': Buffer.byteLength(body) });
  res.end(body);
}

function sendJson(res: ServerResponse, status: number, value: unknown): void {
  send(res, status, 'application/json', `${JSON.stringify(value)}\n`);
}

function sendError(res: ServerResponse, status: number, message: string): void {
  sendJson(res, status, { error: message });
}

class WhiskerServer {
  readonly #flows: FlowsClient;
  readonly #backend: Backend | undefined;
  readonly #staticDir = join(repoRoot(import.meta.url), 'src', 'whisker', 'static');
  readonly #streams = new Set<() => void>();

  constructor(flows: FlowsClient, backend: Backend | undefined) {
    this.#flows = flows;
    this.#backend = backend;
  }

  /** Ends every open event stream (their Goldmane streams are cancelled). */
  endStreams(): void {
    for (const end of [...this.#streams]) end();
  }

  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    res.setHeader('X-Content-Type-Options', 'nosniff');
    res.setHeader('Content-Security-Policy', "default-src 'self'; style-src 'self'; script-src 'self'");
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('Allow', 'GET, HEAD');
      sendError(res, 405, `method ${req.method ?? ''} not allowed`);
      return;
    }
    const url = new URL(req.url ?? '/', 'http://whisker.invalid');
    const path = url.pathname.startsWith('/whisker-backend/')
      ? url.pathname.slice('/whisker-backend'.length)
      : url.pathname;
    const asset = STATIC_FILES[path];
    if (asset !== undefined) {
      send(res, 200, asset.type, await readFile(join(this.#staticDir, asset.file), 'utf8'));
      return;
    }
    switch (path) {
      case '/flows':
        return this.#flowsRoute(url.searchParams, req, res);
      case '/flows-filter-hints':
        return this.#hintsRoute(url.searchParams, res);
      case '/policy':
        return this.#policyRoute(url.searchParams, res);
      case '/health': {
        sendJson(res, 200, { status: 'ok' });
        return;
      }
      default: {
        sendError(res, 404, `not found: ${path}`);
        return;
      }
    }
  }

  /** Goldmane failed or could not be reached (the message names the server and the call). */
  #goldmaneError(res: ServerResponse, e: unknown): void {
    sendError(res, 502, errorMessage(e));
  }

  async #flowsRoute(q: URLSearchParams, req: IncomingMessage, res: ServerResponse): Promise<void> {
    const parsed = parseFlowsQuery(q);
    if (!parsed.ok) {
      sendError(res, 400, parsed.error);
      return;
    }
    if (parsed.value.watch) {
      this.#watch(parsed.value.request, req, res);
      return;
    }
    let result;
    try {
      result = await this.#flows.list(parsed.value.request);
    } catch (e) {
      this.#goldmaneError(res, e);
      return;
    }
    const items = result.flows.flatMap((r) => (r.flow === null ? [] : [flowResponse(r.flow)]));
    sendJson(res, 200, { total: { totalPages: result.meta?.totalPages ?? 0 }, items });
  }

  #watch(request: Parameters<FlowsClient['stream']>[0], req: IncomingMessage, res: ServerResponse): void {
    res.writeHead(200, {
      'Content-Type': 'text/event-stream',
      'Cache-Control': 'no-cache',
      Connection: 'keep-alive',
    });
    res.flushHeaders();
    const stream: { handle?: FlowStreamHandle } = {};
    const keepalive = setInterval(() => res.write(': keepalive\n\n'), KEEPALIVE_MS);
    keepalive.unref();
    const end = (): void => {
      if (!this.#streams.delete(end)) return;
      clearInterval(keepalive);
      stream.handle?.cancel();
      res.end();
    };
    this.#streams.add(end);
    req.on('close', end);
    stream.handle = this.#flows.stream(request, (r) => {
      if (r.flow === null) return;
      res.write(`data: ${JSON.stringify(flowResponse(r.flow))}\n\n`);
      if (res.writableLength > MAX_BUFFERED_BYTES) end();
    });
    stream.handle.done.then(end, (e: unknown) => {
      // whisker-backend's form of a stream error: an `error:` line, then the stream ends.
      if (this.#streams.has(end)) res.write(`error: ${errorMessage(e)}\n\n`);
      end();
    });
  }

  async #hintsRoute(q: URLSearchParams, res: ServerResponse): Promise<void> {
    const parsed = parseHintsQuery(q);
    if (!parsed.ok) {
      sendError(res, 400, parsed.error);
      return;
    }
    let result;
    try {
      result = await this.#flows.filterHints(parsed.value);
    } catch (e) {
      this.#goldmaneError(res, e);
      return;
    }
    const items = result.hints.map((h) => ({ value: hintValue(parsed.value.type, h.value) }));
    sendJson(res, 200, { total: { totalPages: result.meta?.totalPages ?? 0 }, items });
  }

  async #policyRoute(q: URLSearchParams, res: ServerResponse): Promise<void> {
    const parsed = parsePolicyQuery(q);
    if (!parsed.ok) {
      sendError(res, 400, parsed.error);
      return;
    }
    if (this.#backend === undefined) {
      sendError(res, 503, 'no datastore configured (calico-whisker -c FILE or DATASTORE_TYPE)');
      return;
    }
    try {
      sendJson(res, 200, await readPolicy(this.#backend, parsed.value));
    } catch (e) {
      if (e instanceof NotFoundError) {
        sendError(res, 404, errorMessage(e));
        return;
      }
      if (e instanceof StoredValueError) {
        sendError(res, 422, errorMessage(e));
        return;
      }
      sendError(res, 503, `datastore: ${errorMessage(e)}`);
    }
  }
}

/** Starts the viewer; resolves once it listens. */
export async function startWhisker(opts: WhiskerOptions): Promise<Whisker> {
  const ownsFlows = typeof opts.goldmane === 'string';
  const flows = typeof opts.goldmane === 'string' ? new GoldmaneClient(opts.goldmane) : opts.goldmane;
  let backend: Backend | undefined;
  let ownsBackend = false;
  try {
    if (opts.datastore !== undefined) {
      ownsBackend = !isBackend(opts.datastore);
      backend = isBackend(opts.datastore) ? opts.datastore : await openBackend(opts.datastore);
    }
  } catch (e) {
    if (ownsFlows) flows.close();
    throw e;
  }
  const whisker = new WhiskerServer(flows, backend);
  const server = createServer((req, res) => {
    whisker.handle(req, res).catch((e: unknown) => {
      if (!res.headersSent) sendError(res, 500, errorMessage(e));
      else res.destroy();
    });
  });
  const host = opts.host ?? '127.0.0.1';
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(opts.port ?? DEFAULT_WHISKER_PORT, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (e) {
    if (ownsFlows) flows.close();
    if (ownsBackend) await backend?.close();
    throw e;
  }
  const { port } = server.address() as AddressInfo;
  const shownHost = host.includes(':') ? `[${host}]` : host;
  let closing: Promise<void> | undefined;
  return {
    url: `http://${shownHost}:${port}/`,
    close() {
      closing ??= (async () => {
        whisker.endStreams();
        await new Promise<void>((resolve) => {
          server.close(() => {
            resolve();
          });
          server.closeAllConnections();
        });
        if (ownsFlows) flows.close();
        if (ownsBackend) await backend?.close();
      })();
      return closing;
    },
  };
}
