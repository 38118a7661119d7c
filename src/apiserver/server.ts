/**
 * The HTTPS front of calico-apiserver: TLS with the serving certificate, the front proxy's client
 * certificate requested and checked against the request-header CA (auth.ts), SubjectAccessReview
 * authorisation, then discovery (discovery.ts) or the REST verbs of one resource (rest.ts, watch.ts).
 *
 *   GET  /apis, /apis/projectcalico.org, /apis/projectcalico.org/v3       discovery
 *   GET|POST|DELETE  /apis/projectcalico.org/v3[/namespaces/<ns>]/<plural>               list/watch, create, deletecollection
 *   GET|PUT|PATCH|DELETE /apis/projectcalico.org/v3[/namespaces/<ns>]/<plural>/<name>    get, update, patch, delete
 *   GET  /openapi/v2, /openapi/v3, /openapi/v3/apis/projectcalico.org/v3  OpenAPI (openapi.ts)
 *   GET  /healthz, /readyz, /livez                                        "ok"
 */
import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { TLSSocket } from 'node:tls';
import type { Backend, Resource } from '../datastore/index.js';
import { parse as parseYaml } from 'yaml';
import { errorMessage } from '../lib/errors.js';
import {
  authenticate,
  forbiddenMessage,
  type DelegatingAuthorizer,
  type RequestAttributes,
  type RequestHeaderConfig,
} from './auth.js';
import { apiGroupDocument, apiGroupList, apiResourceList } from './discovery.js';
import { OPENAPI_V3_GROUP_PATH, openApiV2, openApiV3GroupVersion, openApiV3Index } from './openapi.js';
import { APPLY_PATCH_TYPE, patchTypeOf } from './patch.js';
import { GROUP, GROUP_VERSION, servedResource, type ServedResource } from './resources.js';
import { ResourceRest, type Scope } from './rest.js';
import { SelectorError } from './selectors.js';
import { TIERED_KINDS, authorizeTier, tierOf } from './tiers.js';
import { StatusError, failure, notFound, type Status } from './status.js';
import { toTable, wantsTable } from './table.js';
import { serveWatch } from './watch.js';

export interface ApiServerOptions {
  readonly backend: Backend;
  readonly requestHeader: RequestHeaderConfig;
  readonly authorizer: DelegatingAuthorizer;
  /** PEM serving certificate (chain) and key. */
  readonly cert: string | Buffer;
  readonly key: string | Buffer;
  readonly log?: (line: string) => void;
}

/** kube-apiserver's default limit on a request body (3 MiB). */
export const MAX_BODY_BYTES = 3 * 1024 * 1024;

const HEALTH_PATHS = ['/healthz', '/readyz', '/livez'];

type Route =
  | { readonly type: 'discovery'; readonly body: () => Record<string, unknown> }
  | {
      readonly type: 'resource';
      readonly scope: Scope;
      readonly name?: string;
      readonly subresource?: string;
    }
  | { readonly type: 'none' };

function route(path: string): Route {
  if (path === '/apis' || path === '/apis/') return { type: 'discovery', body: apiGroupList };
  if (path === `/apis/${GROUP}`) return { type: 'discovery', body: apiGroupDocument };
  if (path === `/apis/${GROUP_VERSION}`) return { type: 'discovery', body: apiResourceList };
  if (path === '/openapi/v2') return { type: 'discovery', body: openApiV2 };
  if (path === '/openapi/v3') return { type: 'discovery', body: openApiV3Index };
  if (path === OPENAPI_V3_GROUP_PATH) return { type: 'discovery', body: openApiV3GroupVersion };
  const prefix = `/apis/${GROUP_VERSION}/`;
  if (!path.startsWith(prefix)) return { type: 'none' };
  const parts = path.slice(prefix.length).split('/').map(decodeURIComponent);
  let namespace: string | undefined;
  if (parts[0] === 'namespaces' && parts.length >= 3) {
    namespace = parts[1];
    parts.splice(0, 2);
  }
  const [plural, name, subresource, ...rest] = parts;
  const resource: ServedResource | undefined = plural === undefined ? undefined : servedResource(plural);
  if (resource === undefined || rest.length > 0 || name === '') return { type: 'none' };
  if (namespace !== undefined && !resource.namespaced) return { type: 'none' };
  if (subresource !== undefined && !(subresource === 'status' && resource.status)) return { type: 'none' };
  return {
    type: 'resource',
    scope: { resource, namespace },
    ...(name === undefined ? {} : { name }),
    ...(subresource === undefined ? {} : { subresource }),
  };
}

function verbOf(method: string, named: boolean, watch: boolean): string | undefined {
  switch (method) {
    case 'GET':
      return named ? 'get' : watch ? 'watch' : 'list';
    case 'POST':
      return named ? undefined : 'create';
    case 'PUT':
      return named ? 'update' : undefined;
    case 'PATCH':
      return named ? 'patch' : undefined;
    case 'DELETE':
      return named ? 'delete' : 'deletecollection';
    default:
      return undefined;
  }
}

async function readBody(req: IncomingMessage, yaml = false): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of req) {
    size += (c as Buffer).length;
    if (size > MAX_BODY_BYTES)
      throw failure('BadRequest', `the request body is larger than ${MAX_BODY_BYTES} bytes`);
    chunks.push(c as Buffer);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  if (text.trim() === '') return undefined;
  try {
    return yaml ? (parseYaml(text) as unknown) : (JSON.parse(text) as unknown);
  } catch (e) {
    if (yaml) throw failure('BadRequest', `the request body is not YAML: ${errorMessage(e)}`);
    throw failure('BadRequest', `the request body is not JSON: ${errorMessage(e)}`);
  }
}

function sendJson(res: ServerResponse, code: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(code, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}

function sendStatus(res: ServerResponse, status: Status): void {
  if (res.headersSent) {
    res.end();
    return;
  }
  sendJson(res, status.code, status);
}

/** The field manager of a write: `fieldManager`, else the User-Agent up to its first `/` (Kubernetes' rule). */
function fieldManager(query: URLSearchParams, userAgent: string | undefined): string {
  const given = query.get('fieldManager');
  if (given !== null && given !== '') return given;
  return (userAgent ?? '').split('/')[0] ?? '';
}

export class CalicoApiServer {
  readonly #server: Server;
  readonly #options: ApiServerOptions;
  readonly #rest: ResourceRest;
  readonly #open = new Set<AbortController>();

  constructor(options: ApiServerOptions) {
    this.#options = options;
    this.#rest = new ResourceRest(options.backend);
    this.#server = createServer(
      {
        cert: options.cert,
        key: options.key,
        ca: options.requestHeader.clientCa,
        requestCert: true,
        rejectUnauthorized: false,
      },
      (req, res) => {
        void this.#handle(req, res);
      },
    );
  }

  /** Listens; resolves with the port (useful with port 0). */
  listen(port: number, host: string): Promise<number> {
    return new Promise((resolve, reject) => {
      this.#server.once('error', reject);
      this.#server.listen(port, host, () => {
        this.#server.off('error', reject);
        const addr = this.#server.address();
        resolve(typeof addr === 'object' && addr !== null ? addr.port : port);
      });
    });
  }

  /** Ends open watches, stops accepting, closes connections. */
  async close(): Promise<void> {
    for (const c of this.#open) c.abort();
    await new Promise<void>((resolve) => {
      this.#server.close(() => {
        resolve();
      });
      this.#server.closeAllConnections();
    });
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'https://calico-apiserver');
    const method = req.method ?? 'GET';
    try {
      if (HEALTH_PATHS.includes(url.pathname)) {
        res.writeHead(200, { 'Content-Type': 'text/plain' }).end('ok');
        return;
      }
      const socket = req.socket;
      if (!(socket instanceof TLSSocket)) throw failure('Unauthorized', 'Unauthorized');
      const auth = authenticate(socket, req.headers, this.#options.requestHeader);
      if (!auth.ok) throw failure('Unauthorized', 'Unauthorized');
      const r = route(url.pathname);
      const watch = ['true', '1'].includes(url.searchParams.get('watch') ?? '');
      const verb =
        r.type === 'resource'
          ? verbOf(method, r.name !== undefined, watch)
          : method === 'GET'
            ? 'get'
            : undefined;
      const attrs: RequestAttributes =
        r.type === 'resource'
          ? {
              type: 'resource',
              verb: verb ?? method.toLowerCase(),
              resource: r.scope.resource.plural,
              ...(r.subresource === undefined ? {} : { subresource: r.subresource }),
              ...(r.scope.namespace === undefined ? {} : { namespace: r.scope.namespace }),
              ...(r.name === undefined ? {} : { name: r.name }),
            }
          : { type: 'nonResource', verb: method.toLowerCase(), path: url.pathname };
      const decision = await this.#options.authorizer.authorize(auth.user, attrs);
      if (!decision.allowed) throw failure('Forbidden', forbiddenMessage(auth.user, attrs, decision.reason));
      if (r.type === 'none') throw failure('NotFound', 'the server could not find the requested resource');
      if (r.type === 'discovery') {
        if (verb !== 'get')
          throw failure(
            'MethodNotAllowed',
            `the server does not allow this method on the requested resource`,
          );
        sendJson(res, 200, r.body());
        return;
      }
      if (verb === undefined)
        throw failure('MethodNotAllowed', 'the server does not allow this method on the requested resource');
      const gate =
        attrs.type === 'resource' && TIERED_KINDS.includes(r.scope.resource.kind)
          ? (tier: string, policy: string) =>
              authorizeTier(this.#options.authorizer, auth.user, attrs, policy, tier)
          : undefined;
      await this.#resource(req, res, url, r, verb, gate);
    } catch (e) {
      if (!(e instanceof StatusError) && !(e instanceof SelectorError)) {
        this.#options.log?.(`error: ${method} ${url.pathname}: ${errorMessage(e)}`);
      }
      const status =
        e instanceof StatusError
          ? e.status
          : e instanceof SelectorError
            ? failure('BadRequest', e.message).status
            : failure('InternalError', `Internal error occurred: ${errorMessage(e)}`).status;
      sendStatus(res, status);
    }
  }

  async #resource(
    req: IncomingMessage,
    res: ServerResponse,
    url: URL,
    r: Extract<Route, { type: 'resource' }>,
    verb: string,
    gate: ((tier: string, policy: string) => Promise<void>) | undefined,
  ): Promise<void> {
    const { scope, name } = r;
    const query = url.searchParams;
    const opts = {
      ...(gate === undefined ? {} : { gate }),
      dryRun: query.getAll('dryRun').includes('All'),
      manager: fieldManager(query, req.headers['user-agent']),
      force: ['true', '1'].includes(query.get('force') ?? ''),
    };
    const table = wantsTable(req.headers.accept);
    const rest = this.#rest;
    const one = (code: number, obj: Resource): void => {
      sendJson(
        res,
        code,
        table ? toTable([obj], { resourceVersion: obj.metadata.resourceVersion ?? '' }) : obj,
      );
    };
    switch (verb) {
      case 'get': {
        const got = await rest.get(scope, name!);
        await gate?.(tierOf(got), name!);
        one(200, got);
        return;
      }
      case 'list': {
        const { items, revision } = await rest.list(scope, query);
        const meta = { resourceVersion: String(revision) };
        sendJson(
          res,
          200,
          table
            ? toTable(items, meta)
            : { apiVersion: GROUP_VERSION, kind: `${scope.resource.kind}List`, metadata: meta, items },
        );
        return;
      }
      case 'watch': {
        const abort = new AbortController();
        this.#open.add(abort);
        req.socket.once('close', () => {
          abort.abort();
        });
        try {
          await serveWatch(this.#options.backend, { scope, query, table, signal: abort.signal }, res);
        } finally {
          this.#open.delete(abort);
        }
        return;
      }
      case 'create':
        one(201, await rest.create(scope, await readBody(req), opts));
        return;
      case 'update':
        one(200, await rest.update(scope, name!, await readBody(req), opts));
        return;
      case 'patch': {
        const contentType = req.headers['content-type'];
        if ((contentType ?? '').split(';')[0]?.trim().toLowerCase() === APPLY_PATCH_TYPE) {
          if (query.get('fieldManager') === null || query.get('fieldManager') === '')
            throw failure(
              'BadRequest',
              'PATCH, application/apply-patch+yaml requests must have a fieldManager',
            );
          const applied = await rest.apply(scope, name!, await readBody(req, true), opts);
          one(applied.created ? 201 : 200, applied.object);
          return;
        }
        const type = patchTypeOf(contentType);
        if (type === undefined) {
          throw failure(
            'UnsupportedMediaType',
            `the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/strategic-merge-patch+json, application/apply-patch+yaml`,
          );
        }
        one(200, await rest.patch(scope, name!, type, await readBody(req), opts));
        return;
      }
      case 'delete':
        one(200, await rest.delete(scope, name!, await readBody(req), opts));
        return;
      case 'deletecollection': {
        const items = await rest.deleteCollection(scope, query, opts);
        sendJson(res, 200, {
          apiVersion: GROUP_VERSION,
          kind: `${scope.resource.kind}List`,
          metadata: {},
          items,
        });
        return;
      }
      default:
        throw notFound({
          plural: scope.resource.plural,
          kind: scope.resource.kind,
          ...(name === undefined ? {} : { name }),
        });
    }
  }
}
