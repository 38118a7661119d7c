/**
 * The network configuration the `calico` and `calico-ipam` plugins read from stdin (reference §7.1,
 * `cni-plugin/pkg/types/types.go`), decoded into a typed, defaulted `NetConf`. Unknown keys are ignored, as
 * Calico's Go decoder does; a known key of the wrong type is an invalid-config error (code 7). The raw object
 * is kept: it is what the plugin hands on to its IPAM plugin. Pure.
 *
 * calico-ts differences, all documented in src/cni/README.md: `datastore_type` also takes `embedded`
 * (with `datastore_path`); `kubernetes` reads `kubernetes.kubeconfig` (else $KUBECONFIG) and nothing else of
 * the `kubernetes` object; `policy_setup_timeout_seconds` defaults to 30 (Calico: 0, no wait); the nodename
 * file is only required when `nodename` is not set in the config.
 */
import type { DatastoreConfig, EtcdConfig } from '../datastore/config.js';
import { DEFAULT_DATASTORE_PATH } from '../datastore/defaults.js';
import { err, ok, type Result } from '../lib/result.js';
import { CniCode, CniError, DEFAULT_CONFIG_VERSION } from './spec.js';
import { decodeConfigJson } from './decode.js';

export const DEFAULT_NODENAME_FILE = '/var/lib/calico/nodename';
export const DEFAULT_MTU_FILE = '/var/lib/calico/mtu';
export const DEFAULT_LOG_FILE = '/var/log/calico/cni/cni.log';
export const DEFAULT_IPAM_LOCK_FILE = '/var/run/calico/ipam.lock';
export const DEFAULT_ENDPOINT_STATUS_DIR = '/var/run/calico/endpoint-status';
export const DEFAULT_POLICY_SETUP_TIMEOUT_SECONDS = 30;
export const DEFAULT_MTU = 1500;
/** STATUS: an agent status file older than this is stale (the agent rewrites it at least every refresh). */
export const DEFAULT_AGENT_STATUS_MAX_AGE_SECONDS = 600;

export type LogLevel = 'debug' | 'info' | 'warning' | 'error' | 'none';

export interface IpamConf {
  readonly type: string;
  readonly assignIpv4: boolean;
  readonly assignIpv6: boolean;
  readonly ipv4Pools: readonly string[];
  readonly ipv6Pools: readonly string[];
}

export interface ValidAttachment {
  readonly containerID: string;
  readonly ifname: string;
}

export interface NetConf {
  readonly cniVersion: string;
  readonly name: string;
  readonly type: string;
  readonly nodename?: string;
  readonly nodenameFile: string;
  readonly nodenameFileOptional: boolean;
  /** undefined or 0: the MTU file's value when there is one (Calico's zero value), else 1500. */
  readonly mtu?: number;
  /** `mtu_file` (calico-ts's: Calico's path is fixed): the file calico-node writes the pod MTU to. */
  readonly mtuFile: string;
  readonly requireMtuFile: boolean;
  readonly numQueues: number;
  readonly logLevel: LogLevel;
  readonly logFilePath: string;
  readonly logFileMaxSizeMb: number;
  readonly logFileMaxCount: number;
  readonly datastore: DatastoreConfig;
  readonly ipam: IpamConf;
  readonly ipamLockFile: string;
  readonly policySetupTimeoutSeconds: number;
  readonly endpointStatusDir: string;
  readonly agentStatusMaxAgeSeconds: number;
  readonly allowIpForwarding: boolean;
  readonly featureIpAddrsNoIpam: boolean;
  readonly featureFloatingIps: boolean;
  readonly prevResult?: unknown;
  readonly validAttachments?: readonly ValidAttachment[];
  /** The whole input, passed unchanged (apart from IPAM overrides) to the IPAM plugin. */
  readonly raw: Readonly<Record<string, unknown>>;
}

type Obj = Record<string, unknown>;

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Collects type problems so that one error names every bad field. */
class Reader {
  readonly problems: string[] = [];
  readonly #o: Obj;
  readonly #prefix: string;
  constructor(o: Obj, prefix = '') {
    this.#o = o;
    this.#prefix = prefix;
  }
  #bad(k: string, want: string): void {
    this.problems.push(`${this.#prefix}${k}: expected ${want}, got ${JSON.stringify(this.#o[k])}`);
  }
  str(k: string): string | undefined {
    const v = this.#o[k];
    if (v === undefined || v === null) return undefined;
    if (typeof v === 'string') return v;
    this.#bad(k, 'a string');
    return undefined;
  }
  num(k: string): number | undefined {
    const v = this.#o[k];
    if (v === undefined || v === null) return undefined;
    if (typeof v === 'number' && Number.isFinite(v) && v >= 0) return v;
    this.#bad(k, 'a non-negative number');
    return undefined;
  }
  /** Calico's IPAM flags are strings ("true"/"false"); JSON booleans are accepted too. */
  bool(k: string): boolean | undefined {
    const v = this.#o[k];
    if (v === undefined || v === null || v === '') return undefined;
    if (typeof v === 'boolean') return v;
    if (typeof v === 'string' && /^(true|false)$/i.test(v)) return v.toLowerCase() === 'true';
    this.#bad(k, 'a boolean');
    return undefined;
  }
  strs(k: string): string[] | undefined {
    const v = this.#o[k];
    if (v === undefined || v === null) return undefined;
    if (Array.isArray(v) && v.every((x): x is string => typeof x === 'string')) return v;
    this.#bad(k, 'a list of strings');
    return undefined;
  }
  obj(k: string): Obj | undefined {
    const v = this.#o[k];
    if (v === undefined || v === null) return undefined;
    if (isObj(v)) return v;
    this.#bad(k, 'an object');
    return undefined;
  }
}

const LOG_LEVELS: Readonly<Record<string, LogLevel>> = {
  debug: 'debug',
  trace: 'debug',
  info: 'info',
  warn: 'warning',
  warning: 'warning',
  error: 'error',
  fatal: 'error',
  panic: 'error',
  none: 'none',
};

/**
 * The datastore connection: the config's fields win over the environment (`CALICO_X` over `X`), as Calico's
 * plugin exports its config fields into the environment before loading the client configuration. Done here
 * rather than through the calicoctl config loader so that a plugin run loads no YAML parser.
 */
function datastoreConfig(
  r: Reader,
  env: Readonly<Record<string, string | undefined>>,
): Result<DatastoreConfig, string> {
  const pick = (field: string, name: string): string | undefined => {
    const v = r.str(field) ?? env[`CALICO_${name}`] ?? env[name];
    return v === undefined || v === '' ? undefined : v;
  };
  const scheme = r.str('etcd_scheme');
  const authority = r.str('etcd_authority');
  const endpointsText =
    pick('etcd_endpoints', 'ETCD_ENDPOINTS') ??
    (authority === undefined ? undefined : `${scheme ?? 'http'}://${authority}`);
  const endpoints = (endpointsText ?? '')
    .split(',')
    .map((e) => e.trim())
    .filter((e) => e !== '');
  const discoverySrv = pick('etcd_discovery_srv', 'ETCD_DISCOVERY_SRV');
  const type =
    pick('datastore_type', 'DATASTORE_TYPE') ??
    (endpoints.length > 0 || discoverySrv !== undefined ? 'etcdv3' : 'embedded');
  switch (type) {
    case 'embedded':
      return ok({
        datastoreType: 'embedded',
        datastorePath: pick('datastore_path', 'DATASTORE_PATH') ?? DEFAULT_DATASTORE_PATH,
      });
    case 'etcdv3': {
      if (endpoints.length === 0 && discoverySrv === undefined)
        return err('etcdv3 datastore requires etcd_endpoints');
      // `[http(s)://]host:port`, or gRPC's unix-socket target `unix:///path` (as the datastore accepts).
      const bad = endpoints.find(
        (e) => !/^(https?:\/\/)?[^\s/]+:\d+\/?$/.test(e) && !/^unix:\/\/\/[^\s,]+$/.test(e),
      );
      if (bad !== undefined) return err(`invalid etcd endpoint "${bad}"`);
      const etcd: Record<string, unknown> = { endpoints };
      for (const [key, field, name] of [
        ['discoverySrv', 'etcd_discovery_srv', 'ETCD_DISCOVERY_SRV'],
        ['username', 'etcd_username', 'ETCD_USERNAME'],
        ['password', 'etcd_password', 'ETCD_PASSWORD'],
        ['keyFile', 'etcd_key_file', 'ETCD_KEY_FILE'],
        ['certFile', 'etcd_cert_file', 'ETCD_CERT_FILE'],
        ['caCertFile', 'etcd_ca_cert_file', 'ETCD_CA_CERT_FILE'],
      ] as const) {
        const v = pick(field, name);
        if (v !== undefined) etcd[key] = v;
      }
      return ok({ datastoreType: 'etcdv3', etcd: etcd as unknown as EtcdConfig });
    }
    case 'kubernetes': {
      // Calico's `kubernetes.kubeconfig` (cni-plugin types.go `Kubernetes.Kubeconfig`), else $KUBECONFIG.
      const k8s = new Reader(r.obj('kubernetes') ?? {}, 'kubernetes.');
      const kubeconfig = k8s.str('kubeconfig') ?? env['KUBECONFIG'];
      r.problems.push(...k8s.problems);
      return ok(
        kubeconfig === undefined || kubeconfig === ''
          ? { datastoreType: 'kubernetes' }
          : { datastoreType: 'kubernetes', kubeconfig },
      );
    }
    default:
      return err(`unknown datastore_type '${type}' (supported: embedded, etcdv3, kubernetes)`);
  }
}

function parseIpam(r: Reader): IpamConf {
  const o = r.obj('ipam') ?? {};
  const ir = new Reader(o, 'ipam.');
  const conf: IpamConf = {
    type: ir.str('type') ?? '',
    assignIpv4: ir.bool('assign_ipv4') ?? true,
    assignIpv6: ir.bool('assign_ipv6') ?? false,
    ipv4Pools: ir.strs('ipv4_pools') ?? [],
    ipv6Pools: ir.strs('ipv6_pools') ?? [],
  };
  r.problems.push(...ir.problems);
  return conf;
}

function parseAttachments(v: unknown, problems: string[]): ValidAttachment[] | undefined {
  if (v === undefined || v === null) return undefined;
  if (!Array.isArray(v)) {
    problems.push('cni.dev/valid-attachments: expected a list');
    return undefined;
  }
  const out: ValidAttachment[] = [];
  for (const a of v) {
    if (!isObj(a) || typeof a['containerID'] !== 'string') {
      problems.push('cni.dev/valid-attachments: each entry needs a containerID');
      continue;
    }
    out.push({ containerID: a['containerID'], ifname: typeof a['ifname'] === 'string' ? a['ifname'] : '' });
  }
  return out;
}

const NETWORK_NAME = /^[a-zA-Z0-9_.-]+$/;

type PlainFields = Omit<NetConf, 'datastore' | 'nodename' | 'mtu' | 'prevResult' | 'validAttachments'>;

/** Every plain field with its default; type problems go to `r.problems`. */
function plainFields(r: Reader, doc: Obj): PlainFields {
  const logLevelText = (r.str('log_level') ?? 'info').toLowerCase();
  const logLevel = LOG_LEVELS[logLevelText];
  if (logLevel === undefined) r.problems.push(`log_level: unknown level ${JSON.stringify(logLevelText)}`);
  const containerSettings = new Reader(r.obj('container_settings') ?? {}, 'container_settings.');
  const features = new Reader(r.obj('feature_control') ?? {}, 'feature_control.');
  const cniVersion = r.str('cniVersion') ?? '';
  const fields: PlainFields = {
    cniVersion: cniVersion === '' ? DEFAULT_CONFIG_VERSION : cniVersion,
    name: r.str('name') ?? '',
    type: r.str('type') ?? '',
    nodenameFile: r.str('nodename_file') ?? DEFAULT_NODENAME_FILE,
    nodenameFileOptional: r.bool('nodename_file_optional') ?? false,
    mtuFile: r.str('mtu_file') ?? DEFAULT_MTU_FILE,
    requireMtuFile: r.bool('require_mtu_file') ?? false,
    numQueues: r.num('num_queues') ?? 1,
    logLevel: logLevel ?? 'info',
    logFilePath: r.str('log_file_path') ?? DEFAULT_LOG_FILE,
    logFileMaxSizeMb: r.num('log_file_max_size') ?? 100,
    logFileMaxCount: r.num('log_file_max_count') ?? 10,
    ipam: parseIpam(r),
    ipamLockFile: r.str('ipam_lock_file') ?? DEFAULT_IPAM_LOCK_FILE,
    policySetupTimeoutSeconds: r.num('policy_setup_timeout_seconds') ?? DEFAULT_POLICY_SETUP_TIMEOUT_SECONDS,
    endpointStatusDir: r.str('endpoint_status_dir') ?? DEFAULT_ENDPOINT_STATUS_DIR,
    agentStatusMaxAgeSeconds: r.num('agent_status_max_age_seconds') ?? DEFAULT_AGENT_STATUS_MAX_AGE_SECONDS,
    allowIpForwarding: containerSettings.bool('allow_ip_forwarding') ?? false,
    featureIpAddrsNoIpam: features.bool('ip_addrs_no_ipam') ?? false,
    featureFloatingIps: features.bool('floating_ips') ?? false,
    raw: doc,
  };
  r.problems.push(...containerSettings.problems, ...features.problems);
  if (fields.name === '') r.problems.push('name: required');
  else if (!NETWORK_NAME.test(fields.name))
    r.problems.push(`name: invalid network name ${JSON.stringify(fields.name)}`);
  if (fields.type === '') r.problems.push('type: required');
  return fields;
}

/** Decodes stdin. Errors are CniErrors: 6 for bad JSON, 7 for a bad or incomplete config. */
export function parseNetConf(
  text: string,
  env: Readonly<Record<string, string | undefined>>,
): Result<NetConf, CniError> {
  const decoded = decodeConfigJson(text);
  if (!decoded.ok) return decoded;
  const doc = decoded.value;
  if (!isObj(doc))
    return err(new CniError(CniCode.decodingFailure, 'network configuration must be a JSON object'));
  const r = new Reader(doc);
  const fields = plainFields(r, doc);
  const validAttachments = parseAttachments(doc['cni.dev/valid-attachments'], r.problems);
  const nodename = r.str('nodename') ?? r.str('hostname');
  const mtu = r.num('mtu');
  const datastore = datastoreConfig(r, env);
  if (r.problems.length > 0) {
    return err(new CniError(CniCode.invalidConfig, 'invalid network configuration', r.problems.join('; ')));
  }
  if (!datastore.ok) {
    return err(new CniError(CniCode.invalidConfig, 'invalid datastore configuration', datastore.error));
  }
  return ok({
    ...fields,
    datastore: datastore.value,
    ...(nodename === undefined || nodename === '' ? {} : { nodename }),
    ...(mtu === undefined ? {} : { mtu }),
    ...('prevResult' in doc && doc['prevResult'] !== null ? { prevResult: doc['prevResult'] } : {}),
    ...(validAttachments === undefined ? {} : { validAttachments }),
  });
}

/** Only the `cniVersion` (VERSION reads no more than this; a missing one is Calico's default). */
export function configVersion(text: string): Result<string, CniError> {
  if (text.trim() === '') return ok(DEFAULT_CONFIG_VERSION);
  const doc = decodeConfigJson(text);
  if (!doc.ok) return doc;
  const v = isObj(doc.value) ? doc.value['cniVersion'] : undefined;
  if (v === undefined || v === '') return ok(DEFAULT_CONFIG_VERSION);
  if (typeof v !== 'string') return err(new CniError(CniCode.decodingFailure, 'cniVersion must be a string'));
  return ok(v);
}
