/**
 * IP pools for the case addresses of pods created through the CNI plugin: calico-ipam hands out a requested
 * address (the `ipAddrs` annotation) only when it lies in a configured IPPool, so before such pods are
 * created the driver makes sure pools cover their addresses, as an operator would: validated IPPool objects
 * written to the datastore, created once (an existing pool is never changed).
 *
 * An address no pool covers gets the /16 (IPv4) or /112 (IPv6, the image of an IPv4 /16 under the
 * `--ip-family 6` mapping) around it, narrowed as far as needed to overlap no existing pool, since Calico
 * rejects overlapping pools. An address inside a disabled pool is an error: no new pool may cover it.
 */
import { decodeResource } from '../api/decode.js';
import { CALICO_API_VERSION } from '../api/meta.js';
import {
  DEFAULT_BLOCK_SIZE_V4,
  DEFAULT_BLOCK_SIZE_V6,
  type EncapMode,
  type IPPoolSpec,
} from '../api/v3/ip-pool.js';
import type { Backend, Resource } from '../datastore/index.js';
import { cidrToName } from '../ipam/index.js';
import { AlreadyExistsError, CalicoError, ValidationError } from '../lib/errors.js';
import {
  cidrContains,
  cidrsOverlap,
  familyBits,
  formatCidr,
  maskOf,
  parseCidr,
  parseIp,
  type Cidr,
} from '../lib/net/ip.js';
import { err, ok, type Result } from '../lib/result.js';
import type { LabNetwork } from '../labkit/topology.js';

/** The pools a case pool is named after: `conformance-<cidr>`. */
export const CASE_POOL_PREFIX = 'conformance-';

/** The prefix tried first around an uncovered address: a /16, or its IPv6 image. */
const WIDEST_PREFIX = { 4: 16, 6: 112 } as const;

export interface PoolView {
  readonly name: string;
  readonly cidr: Cidr;
  readonly disabled: boolean;
}

/** The pools of a datastore listing (objects without a valid CIDR are ignored). */
export function poolViews(items: readonly Resource[]): PoolView[] {
  return items.flatMap((p) => {
    const spec = (p as Resource & { spec?: { cidr?: unknown; disabled?: unknown } }).spec;
    const cidr = typeof spec?.cidr === 'string' ? parseCidr(spec.cidr) : undefined;
    if (cidr === undefined) return [];
    return [{ name: p.metadata.name, cidr, disabled: spec?.disabled === true }];
  });
}

/**
 * The CIDRs of the pools to create so that an enabled pool covers every one of `ips` (pure). Each is the
 * widest prefix from /16 (/112) down that overlaps neither an existing pool nor one chosen before it.
 */
export function missingPoolCidrs(ips: readonly string[], pools: readonly PoolView[]): Result<Cidr[], string> {
  const taken: PoolView[] = [...pools];
  const chosen: Cidr[] = [];
  for (const text of ips) {
    const ip = parseIp(text);
    if (ip === undefined) return err(`invalid pod address "${text}"`);
    const holder = taken.find((p) => cidrContains(p.cidr, ip));
    if (holder?.disabled === true)
      return err(`pod address ${text} lies in the disabled IP pool ${holder.name}`);
    if (holder !== undefined) continue;
    for (let prefix: number = WIDEST_PREFIX[ip.family]; prefix <= familyBits(ip.family); prefix++) {
      const c: Cidr = { family: ip.family, network: ip.value & maskOf(ip.family, prefix), prefix };
      if (taken.some((p) => cidrsOverlap(p.cidr, c))) continue;
      chosen.push(c);
      taken.push({ name: cidrToName(c), cidr: c, disabled: false });
      break;
    }
  }
  return ok(chosen);
}

function encapOf(network: LabNetwork): { vxlanMode: EncapMode; ipipMode: EncapMode } {
  switch (network) {
    case 'static':
    case 'bgp':
      return { vxlanMode: 'Never', ipipMode: 'Never' };
    case 'vxlan':
      return { vxlanMode: 'Always', ipipMode: 'Never' };
    case 'vxlan-crosssubnet':
      return { vxlanMode: 'CrossSubnet', ipipMode: 'Never' };
  }
}

/** Block size of IPv6 case pools: Calico's default. */
export const V6_CASE_BLOCK_SIZE = DEFAULT_BLOCK_SIZE_V6;

/**
 * The IPPool for `cidr`, routed the way the lab's mode routes its own pool; IPv4 blocks of the default size
 * (or the whole pool when it had to be narrowed below that), IPv6 blocks of V6_CASE_BLOCK_SIZE.
 */
export function casePool(cidr: Cidr, network: LabNetwork): Resource {
  const blockSize =
    cidr.family === 4
      ? Math.max(DEFAULT_BLOCK_SIZE_V4, cidr.prefix)
      : Math.max(V6_CASE_BLOCK_SIZE, cidr.prefix);
  const spec: IPPoolSpec = {
    cidr: formatCidr(cidr),
    ...encapOf(network),
    natOutgoing: false,
    blockSize,
  };
  const r = decodeResource({
    apiVersion: CALICO_API_VERSION,
    kind: 'IPPool',
    metadata: { name: `${CASE_POOL_PREFIX}${cidrToName(cidr)}` },
    spec,
  });
  if (!r.ok) throw new ValidationError(r.error, `case IP pool ${formatCidr(cidr)}`);
  return r.value;
}

/**
 * Makes enabled pools cover `ips`, creating the missing ones (another writer creating the same pool first is
 * fine). Returns the CIDRs created.
 */
export async function ensureCasePools(
  backend: Backend,
  ips: readonly string[],
  options: { readonly network: LabNetwork; readonly signal?: AbortSignal },
): Promise<string[]> {
  const call = options.signal !== undefined ? { signal: options.signal } : {};
  const { items } = await backend.list({ kind: 'IPPool' }, call);
  const missing = missingPoolCidrs(ips, poolViews(items));
  if (!missing.ok) throw new CalicoError('CALICO_ERR_USAGE', missing.error);
  const created: string[] = [];
  for (const cidr of missing.value) {
    try {
      await backend.create(casePool(cidr, options.network), call);
      created.push(formatCidr(cidr));
    } catch (e) {
      if (!(e instanceof AlreadyExistsError)) throw e;
    }
  }
  return created;
}
