/**
 * The CNI protocol as the plugins speak it (containernetworking/cni SPEC, versions 0.1.0 to 1.1.0): the
 * version list and comparisons, the well-known error codes and the error object, and the result in its three
 * wire shapes (0.1/0.2 `ip4`/`ip6`; 0.3.x/0.4.0 with `version` on each address; 1.x without). Internally a
 * result is always the 1.1.0 shape (`CniResult`); `encodeResult` renders it for the requested version and
 * `parseResult` reads any version (a delegated IPAM plugin's output, a chained `prevResult`). Pure.
 */
import { CalicoError, type ErrorCode } from '../lib/errors.js';
import { err, ok, type Result } from '../lib/result.js';
import { parseCidr } from '../lib/net/ip.js';

export const SUPPORTED_VERSIONS = ['0.1.0', '0.2.0', '0.3.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0'] as const;
export const LATEST_VERSION = '1.1.0';
/** Calico's default when a network config carries no `cniVersion`. */
export const DEFAULT_CONFIG_VERSION = '0.2.0';

/** Well-known error codes (SPEC "Error"); 100+ are plugin-specific, 999 is libcni's "internal". */
export const CniCode = {
  incompatibleVersion: 1,
  unsupportedField: 2,
  unknownContainer: 3,
  invalidEnvironment: 4,
  ioFailure: 5,
  decodingFailure: 6,
  invalidConfig: 7,
  tryAgainLater: 11,
  pluginNotAvailable: 50,
  pluginNotAvailableLimited: 51,
  internal: 999,
} as const;
export type CniCodeValue = (typeof CniCode)[keyof typeof CniCode];

const PROJECT_CODE: Readonly<Record<number, ErrorCode>> = {
  1: 'CALICO_ERR_VALIDATION',
  2: 'CALICO_ERR_VALIDATION',
  3: 'CALICO_ERR_NOT_FOUND',
  4: 'CALICO_ERR_USAGE',
  5: 'CALICO_ERR_IO',
  6: 'CALICO_ERR_PARSE',
  7: 'CALICO_ERR_VALIDATION',
  11: 'CALICO_ERR_DATASTORE_UNAVAILABLE',
  50: 'CALICO_ERR_DATASTORE_UNAVAILABLE',
  51: 'CALICO_ERR_DATASTORE_UNAVAILABLE',
};

/** An error that leaves the plugin as a CNI error object with this code. */
export class CniError extends CalicoError {
  readonly cniCode: number;
  readonly details: string | undefined;
  constructor(cniCode: number, msg: string, details?: string, options?: { cause?: unknown }) {
    super(PROJECT_CODE[cniCode] ?? 'CALICO_ERR_IO', msg, options);
    this.cniCode = cniCode;
    this.details = details;
  }
}

/** The error object printed on stdout. */
export interface CniErrorObject {
  readonly cniVersion: string;
  readonly code: number;
  readonly msg: string;
  readonly details?: string;
}

export function errorObject(version: string, e: CniError): CniErrorObject {
  return {
    cniVersion: version,
    code: e.cniCode,
    msg: e.message,
    ...(e.details === undefined || e.details === '' ? {} : { details: e.details }),
  };
}

// ---------------------------------------------------------------------------------------------------------
// Versions

/** `[major, minor, patch]`, or undefined for anything that is not `N.N.N`. */
export function parseVersion(v: string): [number, number, number] | undefined {
  const m = /^(\d+)\.(\d+)\.(\d+)$/.exec(v);
  return m === null ? undefined : [Number(m[1]), Number(m[2]), Number(m[3])];
}

/** Negative, zero or positive as a < b, a = b, a > b (unparsable versions sort first). */
export function compareVersions(a: string, b: string): number {
  const pa = parseVersion(a) ?? [-1, -1, -1];
  const pb = parseVersion(b) ?? [-1, -1, -1];
  for (let i = 0; i < 3; i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

export function isSupportedVersion(v: string): boolean {
  return (SUPPORTED_VERSIONS as readonly string[]).includes(v);
}

/** The error for a config version the plugin does not speak (code 1, details as libcni words them). */
export function incompatibleVersion(v: string): CniError {
  const list = SUPPORTED_VERSIONS.map((s) => JSON.stringify(s)).join(' ');
  return new CniError(
    CniCode.incompatibleVersion,
    'incompatible CNI versions',
    `config is ${JSON.stringify(v)}, plugin supports [${list}]`,
  );
}

/** The earliest spec version that has each command (CHECK 0.4.0; GC and STATUS 1.1.0). */
export function commandAllowed(command: 'CHECK' | 'GC' | 'STATUS', version: string): boolean {
  const since = command === 'CHECK' ? '0.4.0' : '1.1.0';
  return compareVersions(version, since) >= 0;
}

// ---------------------------------------------------------------------------------------------------------
// Results

export interface CniInterface {
  readonly name: string;
  readonly mac?: string;
  /** 1.1.0 only. */
  readonly mtu?: number;
  /** The netns path for container interfaces; absent for host interfaces. */
  readonly sandbox?: string;
}

export interface CniIpConfig {
  /** `ip/prefix`. */
  readonly address: string;
  readonly gateway?: string;
  /** Index into `interfaces`. */
  readonly interface?: number;
}

export interface CniRoute {
  readonly dst: string;
  readonly gw?: string;
  /** 1.1.0 only. */
  readonly scope?: number;
}

export interface CniDns {
  readonly nameservers?: readonly string[];
  readonly domain?: string;
  readonly search?: readonly string[];
  readonly options?: readonly string[];
}

/** A result in the 1.1.0 shape. */
export interface CniResult {
  readonly interfaces: readonly CniInterface[];
  readonly ips: readonly CniIpConfig[];
  readonly routes: readonly CniRoute[];
  readonly dns: CniDns;
}

function familyOf(address: string): 4 | 6 {
  return address.includes(':') ? 6 : 4;
}

function legacyFamily(result: CniResult, family: 4 | 6): Record<string, unknown> | undefined {
  const ip = result.ips.find((i) => familyOf(i.address) === family);
  if (ip === undefined) return undefined;
  const routes = result.routes
    .filter((r) => familyOf(r.dst) === family)
    .map((r) => ({ dst: r.dst, ...(r.gw === undefined ? {} : { gw: r.gw }) }));
  return {
    ip: ip.address,
    ...(ip.gateway === undefined ? {} : { gateway: ip.gateway }),
    ...(routes.length === 0 ? {} : { routes }),
  };
}

/** The result as printed for `version` (which must be a supported version). */
export function encodeResult(result: CniResult, version: string): Record<string, unknown> {
  if (compareVersions(version, '0.3.0') < 0) {
    const ip4 = legacyFamily(result, 4);
    const ip6 = legacyFamily(result, 6);
    return {
      cniVersion: version,
      ...(ip4 === undefined ? {} : { ip4 }),
      ...(ip6 === undefined ? {} : { ip6 }),
      dns: result.dns,
    };
  }
  const v11 = compareVersions(version, '1.1.0') >= 0;
  const v1 = compareVersions(version, '1.0.0') >= 0;
  const out: Record<string, unknown> = { cniVersion: version };
  if (result.interfaces.length > 0) {
    out['interfaces'] = result.interfaces.map((i) => ({
      name: i.name,
      ...(i.mac === undefined ? {} : { mac: i.mac }),
      ...(v11 && i.mtu !== undefined ? { mtu: i.mtu } : {}),
      ...(i.sandbox === undefined ? {} : { sandbox: i.sandbox }),
    }));
  }
  out['ips'] = result.ips.map((ip) => ({
    ...(v1 ? {} : { version: String(familyOf(ip.address)) }),
    ...(ip.interface === undefined ? {} : { interface: ip.interface }),
    address: ip.address,
    ...(ip.gateway === undefined ? {} : { gateway: ip.gateway }),
  }));
  if (result.routes.length > 0) {
    out['routes'] = result.routes.map((r) => ({
      dst: r.dst,
      ...(r.gw === undefined ? {} : { gw: r.gw }),
      ...(v11 && r.scope !== undefined ? { scope: r.scope } : {}),
    }));
  }
  out['dns'] = result.dns;
  return out;
}

type Obj = Record<string, unknown>;

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function optStr(o: Obj, k: string): string | undefined {
  const v = o[k];
  return typeof v === 'string' && v !== '' ? v : undefined;
}

function strList(v: unknown): string[] | undefined {
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : undefined;
}

function parseDns(v: unknown): CniDns {
  if (!isObj(v)) return {};
  const nameservers = strList(v['nameservers']);
  const search = strList(v['search']);
  const options = strList(v['options']);
  const domain = optStr(v, 'domain');
  return {
    ...(nameservers === undefined ? {} : { nameservers }),
    ...(domain === undefined ? {} : { domain }),
    ...(search === undefined ? {} : { search }),
    ...(options === undefined ? {} : { options }),
  };
}

function parseRoute(v: unknown): CniRoute | undefined {
  if (!isObj(v)) return undefined;
  const dst = optStr(v, 'dst');
  if (dst === undefined || parseCidr(dst) === undefined) return undefined;
  const gw = optStr(v, 'gw');
  const scope = typeof v['scope'] === 'number' ? v['scope'] : undefined;
  return { dst, ...(gw === undefined ? {} : { gw }), ...(scope === undefined ? {} : { scope }) };
}

function parseLegacy(o: Obj): Result<CniResult, string> {
  const ips: CniIpConfig[] = [];
  const routes: CniRoute[] = [];
  for (const key of ['ip4', 'ip6']) {
    const fam = o[key];
    if (fam === undefined) continue;
    if (!isObj(fam)) return err(`${key} must be an object`);
    const ip = optStr(fam, 'ip');
    if (ip === undefined || parseCidr(ip) === undefined) return err(`${key}.ip must be a CIDR`);
    const gateway = optStr(fam, 'gateway');
    ips.push({ address: ip, ...(gateway === undefined ? {} : { gateway }) });
    for (const r of Array.isArray(fam['routes']) ? fam['routes'] : []) {
      const route = parseRoute(r);
      if (route !== undefined) routes.push(route);
    }
  }
  return ok({ interfaces: [], ips, routes, dns: parseDns(o['dns']) });
}

function parseInterfaces(v: unknown): Result<CniInterface[], string> {
  const out: CniInterface[] = [];
  for (const [i, raw] of (Array.isArray(v) ? v : []).entries()) {
    if (!isObj(raw) || optStr(raw, 'name') === undefined) return err(`interfaces[${i}].name is required`);
    const mac = optStr(raw, 'mac');
    const sandbox = optStr(raw, 'sandbox');
    const mtu = typeof raw['mtu'] === 'number' ? raw['mtu'] : undefined;
    out.push({
      name: optStr(raw, 'name') ?? '',
      ...(mac === undefined ? {} : { mac }),
      ...(mtu === undefined ? {} : { mtu }),
      ...(sandbox === undefined ? {} : { sandbox }),
    });
  }
  return ok(out);
}

function parseIps(v: unknown): Result<CniIpConfig[], string> {
  const out: CniIpConfig[] = [];
  for (const [i, raw] of (Array.isArray(v) ? v : []).entries()) {
    const address = isObj(raw) ? optStr(raw, 'address') : undefined;
    if (!isObj(raw) || address === undefined || parseCidr(address) === undefined) {
      return err(`ips[${i}].address must be a CIDR`);
    }
    const gateway = optStr(raw, 'gateway');
    const iface = typeof raw['interface'] === 'number' ? raw['interface'] : undefined;
    out.push({
      address,
      ...(gateway === undefined ? {} : { gateway }),
      ...(iface === undefined ? {} : { interface: iface }),
    });
  }
  return ok(out);
}

/** Reads a result of any supported version. */
export function parseResult(value: unknown): Result<CniResult, string> {
  if (!isObj(value)) return err('result must be a JSON object');
  if ('ip4' in value || 'ip6' in value) return parseLegacy(value);
  const interfaces = parseInterfaces(value['interfaces']);
  if (!interfaces.ok) return interfaces;
  const ips = parseIps(value['ips']);
  if (!ips.ok) return ips;
  const routes = (Array.isArray(value['routes']) ? value['routes'] : [])
    .map(parseRoute)
    .filter((r): r is CniRoute => r !== undefined);
  return ok({ interfaces: interfaces.value, ips: ips.value, routes, dns: parseDns(value['dns']) });
}
