/**
 * Kubeconfig files, read as kubectl reads them (k8s.io/client-go `tools/clientcmd`), and the in-cluster
 * configuration a pod gets from its service account. Only what a connection needs: the current context's
 * cluster (`server`, `certificate-authority[-data]`, `insecure-skip-tls-verify`, `tls-server-name`) and user
 * (`client-certificate[-data]`, `client-key[-data]`, `token`, `tokenFile`, `username`/`password`, an `exec`
 * credential plugin). File paths are relative to the kubeconfig's directory. Anything else that would change
 * where or how to connect (`proxy-url`, `auth-provider`) is refused by name rather than ignored.
 *
 * Our own reader instead of `@kubernetes/client-node`'s: loading that library costs every short-lived process
 * (the CNI plugin runs twice per pod) about half a second of CPU.
 */
import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { parse } from 'yaml';
import { UsageError, errorMessage } from '../../lib/errors.js';

export interface ExecConfig {
  readonly command: string;
  readonly args: readonly string[];
  readonly env: readonly { readonly name: string; readonly value: string }[];
  readonly apiVersion: string;
}

/** Where and how to connect, with file references already read. */
export interface ConnectionConfig {
  /** Where it came from, for messages: a file path or `in-cluster`. */
  readonly source: string;
  readonly server: string;
  readonly ca?: Buffer;
  readonly insecureSkipTLSVerify: boolean;
  readonly tlsServerName?: string;
  readonly cert?: Buffer;
  readonly key?: Buffer;
  readonly token?: string;
  /** Re-read on use (projected service-account tokens rotate). */
  readonly tokenFile?: string;
  readonly basic?: { readonly username: string; readonly password: string };
  readonly exec?: ExecConfig;
  /** The context's namespace, if it names one. */
  readonly namespace?: string;
}

type Obj = Record<string, unknown>;

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

class Reader {
  readonly source: string;

  constructor(source: string) {
    this.source = source;
  }

  fail(field: string, message: string): never {
    throw new UsageError(`kubeconfig ${this.source}: ${field}: ${message}`);
  }

  str(o: Obj, key: string, field: string): string | undefined {
    const v = o[key];
    if (v === undefined || v === null || v === '') return undefined;
    if (typeof v !== 'string') this.fail(`${field}.${key}`, 'must be a string');
    return v;
  }

  /** The entry of `list` (clusters, users, contexts) called `name`. */
  named(doc: Obj, list: string, name: string, inner: string): Obj {
    const entries = doc[list] ?? [];
    if (!Array.isArray(entries)) this.fail(list, 'must be a list');
    const entry: unknown = entries.find((e) => isObj(e) && e['name'] === name);
    if (!isObj(entry)) this.fail(list, `no entry named "${name}"`);
    const body = entry[inner] ?? {};
    if (!isObj(body)) this.fail(`${list}[${name}].${inner}`, 'must be a mapping');
    return body;
  }

  /** `<key>-data` (base64) or `<key>` (a file, relative to the kubeconfig). */
  bytes(o: Obj, key: string, field: string, base: string): Buffer | undefined {
    const data = this.str(o, `${key}-data`, field);
    if (data !== undefined) return Buffer.from(data, 'base64');
    const file = this.str(o, key, field);
    if (file === undefined) return undefined;
    const path = isAbsolute(file) ? file : resolve(base, file);
    try {
      return readFileSync(path);
    } catch (e) {
      return this.fail(`${field}.${key}`, `cannot read ${path}: ${errorMessage(e)}`);
    }
  }
}

function execConfig(r: Reader, v: unknown, field: string): ExecConfig | undefined {
  if (v === undefined || v === null) return undefined;
  if (!isObj(v)) return r.fail(field, 'must be a mapping');
  const command = r.str(v, 'command', field) ?? r.fail(`${field}.command`, 'is required');
  const args = v['args'] ?? [];
  if (!Array.isArray(args) || args.some((a) => typeof a !== 'string')) {
    r.fail(`${field}.args`, 'must be a list of strings');
  }
  const env = v['env'] ?? [];
  if (!Array.isArray(env)) r.fail(`${field}.env`, 'must be a list');
  return {
    command,
    args: args as string[],
    env: env.map((e, i) => {
      if (!isObj(e) || typeof e['name'] !== 'string' || typeof e['value'] !== 'string') {
        return r.fail(`${field}.env[${i}]`, 'needs a string name and value');
      }
      return { name: e['name'], value: e['value'] };
    }),
    apiVersion: r.str(v, 'apiVersion', field) ?? 'client.authentication.k8s.io/v1',
  };
}

/** Parses a kubeconfig's text; `path` names it in messages and anchors relative file references. */
export function parseKubeconfig(text: string, path: string): ConnectionConfig {
  const r = new Reader(path);
  let doc: unknown;
  try {
    doc = parse(text);
  } catch (e) {
    return r.fail('(document)', `not YAML: ${errorMessage(e)}`);
  }
  if (!isObj(doc)) return r.fail('(document)', 'not a kubeconfig (expected a mapping)');
  const current = r.str(doc, 'current-context', '') ?? r.fail('current-context', 'not set');
  const context = r.named(doc, 'contexts', current, 'context');
  const clusterName = r.str(context, 'cluster', `contexts[${current}].context`);
  if (clusterName === undefined) return r.fail(`contexts[${current}].context.cluster`, 'not set');
  const cluster = r.named(doc, 'clusters', clusterName, 'cluster');
  const userName = r.str(context, 'user', `contexts[${current}].context`);
  const user = userName === undefined ? {} : r.named(doc, 'users', userName, 'user');
  const cf = `clusters[${clusterName}].cluster`;
  const uf = `users[${userName ?? ''}].user`;
  for (const refused of ['proxy-url']) {
    if (cluster[refused] !== undefined) r.fail(`${cf}.${refused}`, 'is not supported');
  }
  if (user['auth-provider'] !== undefined) r.fail(`${uf}.auth-provider`, 'is not supported (use exec)');
  const base = dirname(resolve(path));
  const server = r.str(cluster, 'server', cf) ?? r.fail(`${cf}.server`, 'not set');
  const username = r.str(user, 'username', uf);
  const tokenFile = r.str(user, 'tokenFile', uf);
  const exec = execConfig(r, user['exec'], `${uf}.exec`);
  const namespace = r.str(context, 'namespace', `contexts[${current}].context`);
  const ca = r.bytes(cluster, 'certificate-authority', cf, base);
  const cert = r.bytes(user, 'client-certificate', uf, base);
  const key = r.bytes(user, 'client-key', uf, base);
  const token = r.str(user, 'token', uf);
  const tlsServerName = r.str(cluster, 'tls-server-name', cf);
  return {
    source: path,
    server: server.replace(/\/+$/, ''),
    insecureSkipTLSVerify: cluster['insecure-skip-tls-verify'] === true,
    ...(ca === undefined ? {} : { ca }),
    ...(cert === undefined ? {} : { cert }),
    ...(key === undefined ? {} : { key }),
    ...(token === undefined ? {} : { token }),
    ...(tlsServerName === undefined ? {} : { tlsServerName }),
    ...(tokenFile === undefined
      ? {}
      : { tokenFile: isAbsolute(tokenFile) ? tokenFile : resolve(base, tokenFile) }),
    ...(username === undefined ? {} : { basic: { username, password: r.str(user, 'password', uf) ?? '' } }),
    ...(exec === undefined ? {} : { exec }),
    ...(namespace === undefined ? {} : { namespace }),
  };
}

/** Reads a kubeconfig file; UsageError naming the file when it is unreadable or malformed. */
export function loadKubeconfigFile(path: string): ConnectionConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new UsageError(`kubeconfig ${path}: ${errorMessage(e)}`);
  }
  return parseKubeconfig(text, path);
}

export const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

/**
 * The configuration of a process running in a pod (client-go's `rest.InClusterConfig`): the API server from
 * `KUBERNETES_SERVICE_HOST`/`_PORT`, the service account's token (re-read on use) and CA. Undefined when
 * not in a pod.
 */
export function inClusterConfig(
  env: Readonly<Record<string, string | undefined>> = process.env,
  dir = SERVICE_ACCOUNT_DIR,
): ConnectionConfig | undefined {
  const host = env['KUBERNETES_SERVICE_HOST'];
  const port = env['KUBERNETES_SERVICE_PORT'];
  if (host === undefined || host === '' || port === undefined || port === '') return undefined;
  let ca: Buffer;
  try {
    readFileSync(`${dir}/token`);
    ca = readFileSync(`${dir}/ca.crt`);
  } catch {
    return undefined;
  }
  const hostPart = host.includes(':') ? `[${host}]` : host;
  return {
    source: 'in-cluster',
    server: `https://${hostPart}:${port}`,
    ca,
    insecureSkipTLSVerify: false,
    tokenFile: `${dir}/token`,
  };
}
