/**
 * The default IP pools calico-node creates at first start (reference §1.8, `node/pkg/lifecycle/startup`):
 * `default-ipv4-ippool` from `CALICO_IPV4POOL_*` when no IPv4 pool exists, and `default-ipv6-ippool` from
 * `CALICO_IPV6POOL_*` when `CALICO_IPV6POOL_CIDR` is set and no IPv6 pool exists. `NO_DEFAULT_POOLS=true`
 * disables both, as does `none` for one family's CIDR. `planDefaultPools` reads and validates every variable
 * through the IPPool codec before the agent touches anything (a bad variable is a configuration error, as
 * it makes Calico's calico-node exit); `ensureDefaultPools` creates what the plan holds. Another node
 * creating the same pool first is fine.
 */
import { decodeResource } from '../api/decode.js';
import type { EncapMode, IPPoolSpec } from '../api/v3/ip-pool.js';
import { CALICO_API_VERSION } from '../api/meta.js';
import type { Backend, Resource } from '../datastore/api.js';
import { AlreadyExistsError, type FieldIssue, formatIssue, ValidationError } from '../lib/errors.js';
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

/** `f()`, or `fallback` with its problems added to `issues`. */
function collect<T>(issues: FieldIssue[], f: () => T, fallback: T): T {
  try {
    return f();
  } catch (e) {
    if (!(e instanceof ValidationError)) throw e;
    issues.push(...e.issues);
    return fallback;
  }
}

/** The pool a family's variables describe (before validation); throws with every unreadable variable. */
export function defaultPoolSpec(family: 4 | 6, env: Env): IPPoolSpec {
  const p = prefix(family);
  const issues: FieldIssue[] = [];
  const spec: IPPoolSpec = {
    cidr: env[`${p}CIDR`] ?? (family === 4 ? DEFAULT_IPV4_POOL_CIDR : ''),
    // Calico reads CALICO_IPV4POOL_IPIP only: an IPv6 pool never has IP-in-IP.
    ipipMode:
      family === 4 ? collect(issues, () => parseEncapMode(`${p}IPIP`, env[`${p}IPIP`]), 'Never') : 'Never',
    vxlanMode: collect(issues, () => parseEncapMode(`${p}VXLAN`, env[`${p}VXLAN`]), 'Never'),
    natOutgoing: collect(
      issues,
      () => parseBool(`${p}NAT_OUTGOING`, env[`${p}NAT_OUTGOING`], family === 4),
      false,
    ),
  };
  const blockSize = collect(issues, () => parseBlockSize(`${p}BLOCK_SIZE`, env[`${p}BLOCK_SIZE`]), undefined);
  if (blockSize !== undefined) spec.blockSize = blockSize;
  const selector = env[`${p}NODE_SELECTOR`];
  if (selector !== undefined && selector !== '') spec.nodeSelector = selector;
  const noExport = collect(
    issues,
    () => parseBool(`${p}DISABLE_BGP_EXPORT`, env[`${p}DISABLE_BGP_EXPORT`], false),
    false,
  );
  if (noExport) spec.disableBGPExport = true;
  if (issues.length > 0) throw new ValidationError(issues, 'default IP pool');
  return spec;
}

function prefix(family: 4 | 6): string {
  return family === 4 ? 'CALICO_IPV4POOL_' : 'CALICO_IPV6POOL_';
}

/** The variable behind an IPPool field (the pool as a whole for cross-field problems). */
const FIELD_VARIABLE: Readonly<Record<string, string>> = {
  'spec.cidr': 'CIDR',
  'spec.blockSize': 'BLOCK_SIZE',
  'spec.ipipMode': 'IPIP',
  'spec.vxlanMode': 'VXLAN',
  'spec.natOutgoing': 'NAT_OUTGOING',
  'spec.nodeSelector': 'NODE_SELECTOR',
  'spec.disableBGPExport': 'DISABLE_BGP_EXPORT',
};

/** The pool resource, or every problem with it, each naming its variable. */
function toPool(name: string, family: 4 | 6, env: Env): Resource | FieldIssue[] {
  const p = prefix(family);
  let spec: IPPoolSpec;
  try {
    spec = defaultPoolSpec(family, env);
  } catch (e) {
    if (e instanceof ValidationError) return [...e.issues];
    throw e;
  }
  const c = parseCidr(spec.cidr);
  if (c !== undefined && c.family !== family) {
    return [{ path: `${p}CIDR`, message: `${spec.cidr} is not an IPv${family} CIDR` }];
  }
  const r = decodeResource({ apiVersion: CALICO_API_VERSION, kind: 'IPPool', metadata: { name }, spec });
  if (r.ok) return r.value;
  return r.error.map((i) => {
    const v = FIELD_VARIABLE[i.path];
    return v === undefined
      ? { path: `${p}*`, message: formatIssue(i) }
      : { path: `${p}${v}`, message: i.message };
  });
}

/** What calico-node creates at start when no pool of a family exists (checked before anything starts). */
export interface DefaultPoolPlan {
  /** Empty with NO_DEFAULT_POOLS=true, or when the CIDR variables say `none`. */
  readonly pools: readonly { readonly family: 4 | 6; readonly pool: Resource }[];
}

/**
 * Reads and validates every default-pool variable (Calico's configureIPPools checks, which make calico-node
 * exit): the IPv4 pool unless CALICO_IPV4POOL_CIDR is `none`, the IPv6 pool when CALICO_IPV6POOL_CIDR is set
 * (and not `none`), each through the IPPool codec. NO_DEFAULT_POOLS=true together with a CIDR variable is an
 * error, as in Calico. Throws a ValidationError listing every problem, each naming its variable.
 */
export function planDefaultPools(env: Env): DefaultPoolPlan {
  const v4Cidr = env['CALICO_IPV4POOL_CIDR'] ?? '';
  const v6Cidr = env['CALICO_IPV6POOL_CIDR'] ?? '';
  let disabled: boolean;
  try {
    disabled = parseBool('NO_DEFAULT_POOLS', env['NO_DEFAULT_POOLS'], false);
  } catch (e) {
    if (e instanceof ValidationError) throw new ValidationError(e.issues, 'default IP pools');
    throw e;
  }
  if (disabled) {
    if (v4Cidr !== '' || v6Cidr !== '') {
      throw new ValidationError(
        [
          {
            path: 'NO_DEFAULT_POOLS',
            message: 'true, but CALICO_IPV4POOL_CIDR or CALICO_IPV6POOL_CIDR is set',
          },
        ],
        'default IP pools',
      );
    }
    return { pools: [] };
  }
  const wanted: [4 | 6, string][] = [];
  if (v4Cidr !== 'none') wanted.push([4, DEFAULT_IPV4_POOL_NAME]);
  if (v6Cidr !== '' && v6Cidr !== 'none') wanted.push([6, DEFAULT_IPV6_POOL_NAME]);
  const problems: FieldIssue[] = [];
  const pools: { family: 4 | 6; pool: Resource }[] = [];
  for (const [family, name] of wanted) {
    const r = toPool(name, family, env);
    if (Array.isArray(r)) problems.push(...r);
    else pools.push({ family, pool: r });
  }
  if (problems.length > 0) throw new ValidationError(problems, 'default IP pools');
  return { pools };
}

/** Creates the planned pools whose family has no pool yet; returns the names created. */
export async function ensureDefaultPools(backend: Backend, plan: DefaultPoolPlan): Promise<string[]> {
  if (plan.pools.length === 0) return [];
  const { items } = await backend.list({ kind: 'IPPool' });
  const present = new Set(
    items.flatMap((p) => {
      const cidr = (p as Resource & { spec?: { cidr?: unknown } }).spec?.cidr;
      const c = typeof cidr === 'string' ? parseCidr(cidr) : undefined;
      return c === undefined ? [] : [c.family];
    }),
  );
  const created: string[] = [];
  for (const { family, pool } of plan.pools) {
    if (present.has(family)) continue;
    try {
      await backend.create(structuredClone(pool));
      created.push(pool.metadata.name);
    } catch (e) {
      if (!(e instanceof AlreadyExistsError)) throw e;
    }
  }
  return created;
}
