/**
 * Client configuration, loaded the way calicoctl does (libcalico-go `apiconfig`): from a CalicoAPIConfig file
 * (YAML or JSON, unknown fields rejected) when one is given or the default `/etc/calico/calicoctl.cfg` exists,
 * otherwise from the environment, where each variable may also carry a `CALICO_` prefix (the prefixed one wins).
 *
 * Datastore types: `etcdv3`, and `embedded` (ours: a SQLite file, `datastorePath` / `DATASTORE_PATH`, default
 * `/var/lib/calico/calico.db`). An unset type means etcdv3 when etcd endpoints are set, embedded otherwise
 * (Calico defaults to kubernetes, which needs an API server). `kubernetes` reads the kubeconfig from
 * `kubeconfig` / `KUBECONFIG` (default `~/.kube/config`) and talks to that kube-apiserver (kubernetes/backend.ts).
 */
import { readFile } from 'node:fs/promises';
import { resolveSrv } from 'node:dns/promises';
import { parse as parseYaml } from 'yaml';
import { CALICO_API_VERSION } from '../api/meta.js';
import { UsageError, errorMessage } from '../lib/errors.js';
import { err, ok, type Result } from '../lib/result.js';
import type { Backend } from './api.js';
import { DEFAULT_DATASTORE_PATH } from './defaults.js';

export const DEFAULT_CONFIG_FILE = '/etc/calico/calicoctl.cfg';
export { DEFAULT_DATASTORE_PATH };

export interface EtcdConfig {
  readonly endpoints: readonly string[];
  readonly discoverySrv?: string;
  readonly username?: string;
  readonly password?: string;
  readonly keyFile?: string;
  readonly certFile?: string;
  readonly caCertFile?: string;
  /** Inline PEM. */
  readonly key?: string;
  readonly cert?: string;
  readonly caCert?: string;
}

export type DatastoreConfig =
  | { readonly datastoreType: 'embedded'; readonly datastorePath: string }
  | { readonly datastoreType: 'etcdv3'; readonly etcd: EtcdConfig }
  | { readonly datastoreType: 'kubernetes'; readonly kubeconfig?: string };

/** Spec field -> [environment variable, type]. Only the first group matters to us; the rest is accepted. */
const SPEC_FIELDS: Readonly<Record<string, readonly [string | undefined, 'string' | 'boolean' | 'number']>> =
  {
    datastoreType: ['DATASTORE_TYPE', 'string'],
    datastorePath: ['DATASTORE_PATH', 'string'],
    etcdEndpoints: ['ETCD_ENDPOINTS', 'string'],
    etcdDiscoverySrv: ['ETCD_DISCOVERY_SRV', 'string'],
    etcdUsername: ['ETCD_USERNAME', 'string'],
    etcdPassword: ['ETCD_PASSWORD', 'string'],
    etcdKeyFile: ['ETCD_KEY_FILE', 'string'],
    etcdCertFile: ['ETCD_CERT_FILE', 'string'],
    etcdCACertFile: ['ETCD_CA_CERT_FILE', 'string'],
    etcdKey: [undefined, 'string'],
    etcdCert: [undefined, 'string'],
    etcdCACert: [undefined, 'string'],
    kubeconfig: ['KUBECONFIG', 'string'],
    kubeconfigInline: [undefined, 'string'],
    k8sAPIEndpoint: ['K8S_API_ENDPOINT', 'string'],
    k8sKeyFile: ['K8S_KEY_FILE', 'string'],
    k8sCertFile: ['K8S_CERT_FILE', 'string'],
    k8sCAFile: ['K8S_CA_FILE', 'string'],
    k8sAPIToken: ['K8S_API_TOKEN', 'string'],
    k8sInsecureSkipTLSVerify: ['K8S_INSECURE_SKIP_TLS_VERIFY', 'boolean'],
    k8sDisableNodePoll: ['K8S_DISABLE_NODE_POLL', 'boolean'],
    usePodCIDR: ['USE_POD_CIDR', 'boolean'],
    k8sClientQPS: ['K8S_CLIENT_QPS', 'number'],
    k8sClientBurst: ['K8S_CLIENT_BURST', 'number'],
    k8sCurrentContext: ['K8S_CURRENT_CONTEXT', 'string'],
    calicoAPIGroup: ['CALICO_API_GROUP', 'string'],
  };

type Spec = Readonly<Record<string, string | boolean | number>>;

/** Parses a CalicoAPIConfig document (pure). Errors read like Calico's: `invalid config file: ...`. */
export function parseClientConfig(text: string): Result<DatastoreConfig, string> {
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (e) {
    return err(`invalid config file: ${errorMessage(e)}`);
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) {
    return err('invalid config file: expected a CalicoAPIConfig object');
  }
  const d = doc as Record<string, unknown>;
  for (const k of Object.keys(d)) {
    if (!['apiVersion', 'kind', 'metadata', 'spec'].includes(k))
      return err(`invalid config file: unknown field "${k}"`);
  }
  const apiVersion = typeof d['apiVersion'] === 'string' ? d['apiVersion'] : '';
  if (apiVersion !== CALICO_API_VERSION)
    return err(`invalid config file: unknown APIVersion '${apiVersion}'`);
  const kind = typeof d['kind'] === 'string' ? d['kind'] : '';
  if (kind !== 'CalicoAPIConfig')
    return err(`invalid config file: expected kind 'CalicoAPIConfig', got '${kind}'`);
  const spec = d['spec'] ?? {};
  if (typeof spec !== 'object' || Array.isArray(spec)) {
    return err('invalid config file: spec must be an object');
  }
  const out: Record<string, string | boolean | number> = {};
  for (const [k, v] of Object.entries(spec as Record<string, unknown>)) {
    const field = SPEC_FIELDS[k];
    if (field === undefined) return err(`invalid config file: unknown field "spec.${k}"`);
    if (v === null) continue;
    if (typeof v !== field[1]) return err(`invalid config file: spec.${k}: expected a ${field[1]}`);
    out[k] = v as string | boolean | number;
  }
  return fromSpec(out);
}

/** Reads the environment: for each variable X, `CALICO_X` wins over `X` (pure). */
export function configFromEnv(
  env: Readonly<Record<string, string | undefined>>,
): Result<DatastoreConfig, string> {
  const spec: Record<string, string | boolean | number> = {};
  for (const [field, [name, type]] of Object.entries(SPEC_FIELDS)) {
    if (name === undefined) continue;
    const raw = env[`CALICO_${name}`] ?? env[name];
    if (raw === undefined || raw === '') continue;
    if (type === 'string') spec[field] = raw;
    else if (type === 'boolean') spec[field] = raw.toLowerCase() === 'true';
    else if (Number.isFinite(Number(raw))) spec[field] = Number(raw);
    else return err(`invalid value for ${name}: "${raw}"`);
  }
  return fromSpec(spec);
}

function str(spec: Spec, k: string): string | undefined {
  const v = spec[k];
  return typeof v === 'string' && v !== '' ? v : undefined;
}

function fromSpec(spec: Spec): Result<DatastoreConfig, string> {
  const endpoints = (str(spec, 'etcdEndpoints') ?? '')
    .split(',')
    .map((e) => e.trim())
    .filter((e) => e !== '');
  const discoverySrv = str(spec, 'etcdDiscoverySrv');
  const type =
    str(spec, 'datastoreType') ??
    (endpoints.length > 0 || discoverySrv !== undefined ? 'etcdv3' : 'embedded');
  switch (type) {
    case 'embedded':
      return ok({
        datastoreType: 'embedded',
        datastorePath: str(spec, 'datastorePath') ?? DEFAULT_DATASTORE_PATH,
      });
    case 'kubernetes': {
      const kubeconfig = str(spec, 'kubeconfig');
      return ok(
        kubeconfig === undefined
          ? { datastoreType: 'kubernetes' }
          : { datastoreType: 'kubernetes', kubeconfig },
      );
    }
    case 'etcdv3':
      return etcdFromSpec(spec, endpoints, discoverySrv);
    default:
      return err(`unknown datastoreType '${type}' (supported: embedded, etcdv3, kubernetes)`);
  }
}

/**
 * `[http(s)://]host:port`, or `unix:///absolute/path` (gRPC's unix-socket target: an etcd started with
 * `--listen-client-urls unix://<name>:<port>` listens on the file `<name>:<port>` in its working directory).
 */
export function isEtcdEndpoint(e: string): boolean {
  return /^(https?:\/\/)?[^\s/]+:\d+\/?$/.test(e) || /^unix:\/\/\/[^\s,]+$/.test(e);
}

function etcdFromSpec(
  spec: Spec,
  endpoints: string[],
  discoverySrv: string | undefined,
): Result<DatastoreConfig, string> {
  if (endpoints.length > 0 && discoverySrv !== undefined) {
    return err('multiple etcd endpoint discovery methods specified (etcdEndpoints and etcdDiscoverySrv)');
  }
  if (endpoints.length === 0 && discoverySrv === undefined)
    return err('etcdv3 datastore requires etcdEndpoints');
  for (const e of endpoints) {
    if (!isEtcdEndpoint(e)) return err(`invalid etcd endpoint "${e}"`);
  }
  const etcd: EtcdConfig = {
    endpoints,
    ...opt('discoverySrv', discoverySrv),
    ...opt('username', str(spec, 'etcdUsername')),
    ...opt('password', str(spec, 'etcdPassword')),
    ...opt('keyFile', str(spec, 'etcdKeyFile')),
    ...opt('certFile', str(spec, 'etcdCertFile')),
    ...opt('caCertFile', str(spec, 'etcdCACertFile')),
    ...opt('key', str(spec, 'etcdKey')),
    ...opt('cert', str(spec, 'etcdCert')),
    ...opt('caCert', str(spec, 'etcdCACert')),
  };
  return ok({ datastoreType: 'etcdv3', etcd });
}

/** `{ [k]: v }` when v is set, `{}` otherwise (exactOptionalPropertyTypes). */
function opt<K extends string>(k: K, v: string | undefined): Partial<Record<K, string>> {
  return v === undefined ? {} : ({ [k]: v } as Record<K, string>);
}

export interface LoadConfigOptions {
  /** Config file; default `/etc/calico/calicoctl.cfg` (whose absence means: use the environment). */
  readonly file?: string;
  readonly env?: Readonly<Record<string, string | undefined>>;
  readonly signal?: AbortSignal;
}

/** Loads the client configuration (calicoctl `-c/--config`). Throws UsageError with Calico's messages. */
export async function loadClientConfig(opts: LoadConfigOptions = {}): Promise<DatastoreConfig> {
  const file = opts.file ?? DEFAULT_CONFIG_FILE;
  let text: string | undefined;
  try {
    text = await readFile(file, {
      encoding: 'utf8',
      ...(opts.signal === undefined ? {} : { signal: opts.signal }),
    });
  } catch (e) {
    const missing = e instanceof Error && 'code' in e && e.code === 'ENOENT';
    if (!missing || file !== DEFAULT_CONFIG_FILE)
      throw new UsageError(`failed to read config file ${file}: ${errorMessage(e)}`);
  }
  const result = text === undefined ? configFromEnv(opts.env ?? process.env) : parseClientConfig(text);
  if (!result.ok) throw new UsageError(result.error);
  return result.value;
}

/** Resolves etcd endpoints from DNS SRV records, as etcd clients do (`_etcd-client-ssl` first). */
async function discoverEndpoints(domain: string): Promise<string[]> {
  for (const [service, scheme] of [
    ['_etcd-client-ssl', 'https'],
    ['_etcd-client', 'http'],
  ] as const) {
    const records = await resolveSrv(`${service}._tcp.${domain}`).catch(() => []);
    if (records.length > 0) return records.map((r) => `${scheme}://${r.name.replace(/\.$/, '')}:${r.port}`);
  }
  throw new UsageError(`etcdDiscoverySrv: no _etcd-client(-ssl)._tcp SRV records for ${domain}`);
}

/** Opens the configured backend (loading only that backend's module). */
export async function openBackend(
  config: DatastoreConfig,
  opts: { readonly signal?: AbortSignal } = {},
): Promise<Backend> {
  opts.signal?.throwIfAborted();
  switch (config.datastoreType) {
    case 'embedded': {
      const { openSqliteBackend } = await import('./sqlite/sqlite-backend.js');
      return openSqliteBackend({ path: config.datastorePath });
    }
    case 'etcdv3': {
      const { openEtcdBackend } = await import('./etcd/etcd-backend.js');
      const { discoverySrv, ...etcd } = config.etcd;
      const endpoints = discoverySrv === undefined ? etcd.endpoints : await discoverEndpoints(discoverySrv);
      return openEtcdBackend({ ...etcd, endpoints });
    }
    case 'kubernetes': {
      const { openKubernetesBackend } = await import('./kubernetes/backend.js');
      return openKubernetesBackend({ kubeconfig: config.kubeconfig });
    }
  }
}
