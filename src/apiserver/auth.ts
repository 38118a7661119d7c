/**
 * Delegated authentication and authorisation, as an aggregated API server does it
 * (k8s.io/apiserver `DelegatingAuthenticationOptions` / `DelegatingAuthorizationOptions`):
 *
 * - **Authentication by the front proxy's request headers.** kube-apiserver's aggregator forwards a request
 *   with its front-proxy client certificate and the caller's identity in `X-Remote-User`, `X-Remote-Group`
 *   and `X-Remote-Extra-<key>`. The headers are believed only when the TLS client certificate verifies
 *   against the request-header CA and its common name is one of the allowed names (any, when the list is
 *   empty). The CA, names and header names come from the ConfigMap `kube-system/
 *   extension-apiserver-authentication` that kube-apiserver publishes, unless given on the command line.
 *   Any other caller is answered 401 (bearer tokens and direct client certificates are not accepted yet).
 * - **Authorisation delegated with SubjectAccessReview.** `/healthz`, `/readyz`, `/livez` are always allowed,
 *   the `system:masters` group is always allowed, anything else is asked of kube-apiserver (a
 *   SubjectAccessReview with the resource attributes, or the non-resource path), each answer cached for 10 s
 *   (Kubernetes' default for allowed and denied answers alike).
 */
import type { PeerCertificate, TLSSocket } from 'node:tls';
import type { IncomingHttpHeaders } from 'node:http';
import { GROUP, VERSION } from './resources.js';

export interface UserInfo {
  readonly name: string;
  readonly groups: readonly string[];
  readonly extra: Readonly<Record<string, readonly string[]>>;
}

export interface RequestHeaderConfig {
  /** PEM of the CA that signs the front proxy's client certificate. */
  readonly clientCa: string;
  /** Allowed common names of that certificate; empty = any it signed. */
  readonly allowedNames: readonly string[];
  readonly usernameHeaders: readonly string[];
  readonly groupHeaders: readonly string[];
  readonly extraHeaderPrefixes: readonly string[];
}

/** A JSON request to kube-apiserver (KubeTransport.request). */
export interface KubeRequester {
  request(
    method: 'GET' | 'POST',
    path: string,
    body?: unknown,
  ): Promise<{ readonly status: number; readonly body: unknown }>;
}

export const AUTHENTICATED_GROUP = 'system:authenticated';

export const AUTH_CONFIGMAP_PATH =
  '/api/v1/namespaces/kube-system/configmaps/extension-apiserver-authentication';

function jsonList(v: unknown): string[] {
  if (typeof v !== 'string' || v === '') return [];
  const parsed = JSON.parse(v) as unknown;
  return Array.isArray(parsed) ? parsed.filter((x): x is string => typeof x === 'string') : [];
}

/** The request-header settings kube-apiserver publishes; throws naming what is missing. */
export async function loadRequestHeaderConfig(kube: KubeRequester): Promise<RequestHeaderConfig> {
  const r = await kube.request('GET', AUTH_CONFIGMAP_PATH);
  if (r.status !== 200) {
    throw new Error(`cannot read ConfigMap kube-system/extension-apiserver-authentication: HTTP ${r.status}`);
  }
  const data = (r.body as { data?: Record<string, unknown> }).data ?? {};
  const clientCa = data['requestheader-client-ca-file'];
  if (typeof clientCa !== 'string' || clientCa === '') {
    throw new Error(
      'ConfigMap kube-system/extension-apiserver-authentication has no requestheader-client-ca-file ' +
        '(start kube-apiserver with --requestheader-client-ca-file)',
    );
  }
  return {
    clientCa,
    allowedNames: jsonList(data['requestheader-allowed-names']),
    usernameHeaders: jsonList(data['requestheader-username-headers']),
    groupHeaders: jsonList(data['requestheader-group-headers']),
    extraHeaderPrefixes: jsonList(data['requestheader-extra-headers-prefix']),
  };
}

function headerValues(headers: IncomingHttpHeaders, name: string): string[] {
  const v = headers[name.toLowerCase()];
  if (v === undefined) return [];
  return (Array.isArray(v) ? v : [v])
    .flatMap((s) => s.split(','))
    .map((s) => s.trim())
    .filter((s) => s !== '');
}

export type Authentication =
  { readonly ok: true; readonly user: UserInfo } | { readonly ok: false; readonly reason: string };

/** Authenticates one request by its TLS client certificate and the request headers. */
export function authenticate(
  socket: TLSSocket,
  headers: IncomingHttpHeaders,
  config: RequestHeaderConfig,
): Authentication {
  const cert: PeerCertificate | Record<string, never> = socket.getPeerCertificate();
  if (!('subject' in cert)) return { ok: false, reason: 'no client certificate' };
  if (!socket.authorized) {
    return {
      ok: false,
      reason: `client certificate not signed by the request-header CA (${String(socket.authorizationError)})`,
    };
  }
  const cnField: string | string[] | undefined = cert.subject.CN;
  const cn = Array.isArray(cnField) ? (cnField[0] ?? '') : (cnField ?? '');
  if (config.allowedNames.length > 0 && !config.allowedNames.includes(cn)) {
    return {
      ok: false,
      reason: `client certificate common name ${JSON.stringify(cn)} is not an allowed name`,
    };
  }
  const name = config.usernameHeaders.map((h) => headerValues(headers, h)[0]).find((v) => v !== undefined);
  if (name === undefined) return { ok: false, reason: 'no user in the request headers' };
  const groups = config.groupHeaders.flatMap((h) => headerValues(headers, h));
  // Kubernetes adds this group to every authenticated user (authenticatedGroupAdder).
  if (!groups.includes(AUTHENTICATED_GROUP)) groups.push(AUTHENTICATED_GROUP);
  const extra: Record<string, string[]> = {};
  for (const [h, v] of Object.entries(headers)) {
    const prefix = config.extraHeaderPrefixes.find((p) => h.startsWith(p.toLowerCase()));
    if (prefix === undefined || v === undefined) continue;
    const key = decodeURIComponent(h.slice(prefix.length));
    extra[key] = [...(extra[key] ?? []), ...(Array.isArray(v) ? v : [v])];
  }
  return { ok: true, user: { name, groups, extra } };
}

/** What is being asked (Kubernetes' authorizer.Attributes). */
export type RequestAttributes =
  | {
      readonly type: 'resource';
      readonly verb: string;
      readonly resource: string;
      readonly subresource?: string;
      readonly namespace?: string;
      readonly name?: string;
    }
  | { readonly type: 'nonResource'; readonly verb: string; readonly path: string };

export type Decision = { readonly allowed: true } | { readonly allowed: false; readonly reason: string };

const ALWAYS_ALLOW_PATHS = ['/healthz', '/readyz', '/livez'];
const ALWAYS_ALLOW_GROUPS = ['system:masters'];
const CACHE_TTL_MS = 10_000;
const CACHE_MAX = 10_000;

/** SubjectAccessReview-backed authoriser with a small TTL cache. */
export class DelegatingAuthorizer {
  readonly #kube: KubeRequester;
  readonly #now: () => number;
  readonly #cache = new Map<string, { decision: Decision; until: number }>();

  constructor(kube: KubeRequester, now: () => number = Date.now) {
    this.#kube = kube;
    this.#now = now;
  }

  async authorize(user: UserInfo, attrs: RequestAttributes): Promise<Decision> {
    if (attrs.type === 'nonResource' && ALWAYS_ALLOW_PATHS.includes(attrs.path)) return { allowed: true };
    if (user.groups.some((g) => ALWAYS_ALLOW_GROUPS.includes(g))) return { allowed: true };
    const spec = {
      user: user.name,
      groups: user.groups,
      extra: user.extra,
      ...(attrs.type === 'resource'
        ? {
            resourceAttributes: {
              group: GROUP,
              version: VERSION,
              verb: attrs.verb,
              resource: attrs.resource,
              ...(attrs.subresource === undefined ? {} : { subresource: attrs.subresource }),
              ...(attrs.namespace === undefined ? {} : { namespace: attrs.namespace }),
              ...(attrs.name === undefined ? {} : { name: attrs.name }),
            },
          }
        : { nonResourceAttributes: { path: attrs.path, verb: attrs.verb } }),
    };
    const key = JSON.stringify(spec);
    const now = this.#now();
    const hit = this.#cache.get(key);
    if (hit !== undefined && hit.until > now) return hit.decision;
    const r = await this.#kube.request('POST', '/apis/authorization.k8s.io/v1/subjectaccessreviews', {
      apiVersion: 'authorization.k8s.io/v1',
      kind: 'SubjectAccessReview',
      spec,
    });
    if (r.status !== 201 && r.status !== 200) {
      // Not cached: kube-apiserver could not answer, so nothing is allowed now (fail closed).
      return { allowed: false, reason: `SubjectAccessReview failed: HTTP ${r.status}` };
    }
    const status = (r.body as { status?: { allowed?: unknown; reason?: unknown } }).status ?? {};
    const decision: Decision =
      status.allowed === true
        ? { allowed: true }
        : { allowed: false, reason: typeof status.reason === 'string' ? status.reason : '' };
    if (this.#cache.size >= CACHE_MAX) this.#cache.clear();
    this.#cache.set(key, { decision, until: now + CACHE_TTL_MS });
    return decision;
  }
}

/** Kubernetes' Forbidden message: `User "u" cannot list resource "gnp" in API group "g" at the cluster scope`. */
export function forbiddenMessage(user: UserInfo, attrs: RequestAttributes, reason: string): string {
  const tail = reason === '' ? '' : `: ${reason}`;
  if (attrs.type === 'nonResource')
    return `User "${user.name}" cannot ${attrs.verb} path "${attrs.path}"${tail}`;
  const res = attrs.subresource === undefined ? attrs.resource : `${attrs.resource}/${attrs.subresource}`;
  const scope =
    attrs.namespace === undefined ? 'at the cluster scope' : `in the namespace "${attrs.namespace}"`;
  const what = attrs.name === undefined ? '' : ` "${attrs.name}"`;
  return `${attrs.resource}.${GROUP}${what} is forbidden: User "${user.name}" cannot ${attrs.verb} resource "${res}" in API group "${GROUP}" ${scope}${tail}`;
}
