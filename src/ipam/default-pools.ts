/**
 * The default IP pools calico-node creates at first start (reference §1.8, `node/pkg/lifecycle/startup`):
 * `default-ipv4-ippool` from `CALICO_IPV4POOL_*` when no IPv4 pool exists, and `default-ipv6-ippool` from
 * `CALICO_IPV6POOL_*` when `CALICO_IPV6POOL_CIDR` is set and no IPv6 pool exists. `NO_DEFAULT_POOLS=true`
 * disables both. Each pool is validated through the IPPool codec; a bad variable is an error (Calico exits).
 * Another node creating the same pool first is fine.
 */
import { decodeResource } from '../api/decode.js';
import type { EncapMode, IPPoolSpec } from '../api/v3/ip-pool.js';
import { CALICO_API_VERSION } from '../api/meta.js';
import type { Backend, Resource } from '../datastore/api.js';
import { AlreadyExistsError, ValidationError } from '../lib/errors.js';
import { parseCidr } from '../lib/net/ip.js';

export const DEFAULT_IPV4_POOL_NAME = 'default-ipv4-ippool';
export const DEFAULT_IPV6_POOL_NAME = 'default-ipv6-ippool';
export const DEFAULT_IPV4_POOL_CIDR = '192.168.0.0/16';

type Env = Readonly<Record<string, string | undefined>>;

function issue(variable: string, message: string): ValidationError {
  return new ValidationError([{ path: variable, message }], 'default IP pool');
}

/** Calico's encapsulation spellings: always, crosssubnet / cross-subnet, never / off (any case). */
export function parseEncapMode(variable: string, value: string | undefined): EncapMode {
  if (value === undefined || value === '') return 'Never';
  switch (value.toLowerCase()) {
    case 'always':
      return 'Always';
    case 'crosssubnet':
    case 'cross-subnet':
      return 'CrossSubnet';
    case 'never':
    case 'off':
      return 'Never';
    default:
      throw issue(variable, `invalid value ${JSON.stringify(value)} (must be Always, CrossSubnet or Never)`);
  }
}

function parseBool(variable: string, value: string | undefined, fallback: boolean): boolean {
  if (value === undefined || value === '') return fallback;
  const v = value.toLowerCase();
  if (['true', '1', 't', 'yes'].includes(v)) return true;
  if (['false', '0', 'f', 'no'].includes(v)) return false;
  throw issue(variable, `invalid boolean ${JSON.stringify(value)}`);
}

function parseBlockSize(variable: string, value: string | undefined): number | undefined {
  if (value === undefined || value === '') return undefined;
  if (!/^\d+$/.test(value)) throw issue(variable, `invalid block size ${JSON.stringify(value)}`);
  return Number(value);
}

/** The pool a family's variables describe (before validation). */
export function defaultPoolSpec(family: 4 | 6, env: Env): IPPoolSpec {
  const p = family === 4 ? 'CALICO_IPV4POOL_' : 'CALICO_IPV6POOL_';
  const cidr = env[`${p}CIDR`] ?? (family === 4 ? DEFAULT_IPV4_POOL_CIDR : '');
  const spec: IPPoolSpec = {
    cidr,
    ipipMode: parseEncapMode(`${p}IPIP`, env[`${p}IPIP`]),
    vxlanMode: parseEncapMode(`${p}VXLAN`, env[`${p}VXLAN`]),
    natOutgoing: parseBool(`${p}NAT_OUTGOING`, env[`${p}NAT_OUTGOING`], family === 4),
  };
  const blockSize = parseBlockSize(`${p}BLOCK_SIZE`, env[`${p}BLOCK_SIZE`]);
  if (blockSize !== undefined) spec.blockSize = blockSize;
  const selector = env[`${p}NODE_SELECTOR`];
  if (selector !== undefined && selector !== '') spec.nodeSelector = selector;
  if (parseBool(`${p}DISABLE_BGP_EXPORT`, env[`${p}DISABLE_BGP_EXPORT`], false)) spec.disableBGPExport = true;
  return spec;
}

function toPool(name: string, spec: IPPoolSpec, family: 4 | 6): Resource {
  const r = decodeResource({ apiVersion: CALICO_API_VERSION, kind: 'IPPool', metadata: { name }, spec });
  if (!r.ok) throw new ValidationError(r.error, `default IPv${family} pool`);
  const c = parseCidr(spec.cidr);
  if (c !== undefined && c.family !== family) {
    throw issue(`CALICO_IPV${family}POOL_CIDR`, `${spec.cidr} is not an IPv${family} CIDR`);
  }
  return r.value;
}

/** Creates the default pools that are missing; returns the names created. */
export async function ensureDefaultPools(backend: Backend, env: Env): Promise<string[]> {
  if (parseBool('NO_DEFAULT_POOLS', env['NO_DEFAULT_POOLS'], false)) return [];
  const { items } = await backend.list({ kind: 'IPPool' });
  const present = new Set(
    items.flatMap((p) => {
      const cidr = (p as Resource & { spec?: { cidr?: unknown } }).spec?.cidr;
      const c = typeof cidr === 'string' ? parseCidr(cidr) : undefined;
      return c === undefined ? [] : [c.family];
    }),
  );
  const wanted: [4 | 6, string][] = [];
  if (!present.has(4)) wanted.push([4, DEFAULT_IPV4_POOL_NAME]);
  const v6Cidr = env['CALICO_IPV6POOL_CIDR'];
  if (!present.has(6) && v6Cidr !== undefined && v6Cidr !== '') wanted.push([6, DEFAULT_IPV6_POOL_NAME]);
  // Validate everything before writing anything.
  const pools = wanted.map(([family, name]) => toPool(name, defaultPoolSpec(family, env), family));
  const created: string[] = [];
  for (const pool of pools) {
    try {
      await backend.create(pool);
      created.push(pool.metadata.name);
    } catch (e) {
      if (!(e instanceof AlreadyExistsError)) throw e;
    }
  }
  return created;
}
