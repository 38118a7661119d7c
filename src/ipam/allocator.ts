/**
 * `IpamClient`: Calico IPAM on a datastore `Backend` (libcalico-go `ipam.Interface`). Stateless between calls:
 * every method reads what it needs and writes with compare-and-swap, so any number of clients (threads of one
 * process, processes, hosts) can share one datastore.
 *
 *   const ipam = new IpamClient(backend);
 *   const { ipv4 } = await ipam.autoAssign({ num4: 1, num6: 0, hostname: 'node1', handleId, attrs });
 *   await ipam.releaseByHandle(handleId);
 */
import type { IPPoolAllowedUse } from '../api/v3/ip-pool.js';
import {
  IPAM_CONFIG_NAME,
  type IPAMConfigurationSpec,
  type VMAddressPersistence,
  ipamConfigSpec,
} from '../api/v3/ipam-config.js';
import { Issues } from '../api/decoder.js';
import type { Labels } from '../api/selector/index.js';
import type { Backend } from '../datastore/api.js';
import { ValidationError } from '../lib/errors.js';
import { type IpFamily, cidrContains, parseIp } from '../lib/net/ip.js';
import {
  type AffinityDeps,
  type ClaimOutcome,
  type ReleaseOutcome,
  claimBlock,
  hostAffinities,
  hostAffinity,
  releaseAffinity as releaseAffinityOp,
  withBlockLock,
} from './affinity.js';
import {
  type AssignContext,
  type AssignedAddress,
  type FamilyRequest,
  type ResolvedConfig,
  assignFamily,
  writeWithHandle,
} from './assign.js';
import {
  allocationAt,
  assignOrdinal,
  blockCidr,
  bumpSequence,
  garbageCollect,
  ipToOrdinal,
  ordinalToIp,
  ordinalsByHandle,
} from './block.js';
import { IpamError } from './errors.js';
import {
  type ReleaseContext,
  type ReleaseIpsResult,
  type ReleaseOptions,
  findBlockFor,
  releaseByHandle,
  releaseIps,
} from './release.js';
import { blockCidrFor, poolFor, selectPools } from './pools.js';
import { KeyedMutex } from './mutex.js';
import { IpamStore, withCasRetries } from './store.js';
import { formatIp } from '../lib/net/ip.js';
import { type PoolUtilization, utilization } from './utilization.js';

export type { AssignedAddress, ResolvedConfig } from './assign.js';
export type { ReleaseIpsResult, ReleaseOptions } from './release.js';
export type { PoolUtilization, BlockUtilization } from './utilization.js';

export interface IpamClientOptions {
  /** Clock (ms since the epoch); injected by tests of claim age and cooldown. */
  readonly now?: () => number;
  /** CAS attempts per write before giving up (default 100). */
  readonly maxRetries?: number;
}

export interface AutoAssignArgs {
  readonly num4: number;
  readonly num6: number;
  readonly hostname: string;
  readonly handleId?: string | undefined;
  readonly attrs?: Readonly<Record<string, string>> | undefined;
  /** Pool names or CIDRs; default: every qualifying automatic pool of the family. */
  readonly ipv4Pools?: readonly string[] | undefined;
  readonly ipv6Pools?: readonly string[] | undefined;
  /** Default `Workload`. */
  readonly intendedUse?: IPPoolAllowedUse | undefined;
  /** Labels of the node, matched against pool nodeSelectors (none given: only `all()`-like selectors match). */
  readonly nodeLabels?: Labels | undefined;
  /** Labels of the workload's namespace, matched against pool namespaceSelectors. */
  readonly namespaceLabels?: Labels | undefined;
  /** Request-level block limit (0 or absent: the configured or default limit). */
  readonly maxBlocksPerHost?: number | undefined;
}

export interface AutoAssignResult {
  readonly ipv4: AssignedAddress[];
  readonly ipv6: AssignedAddress[];
}

export interface AssignIpArgs {
  readonly ip: string;
  readonly hostname: string;
  readonly handleId?: string | undefined;
  readonly attrs?: Readonly<Record<string, string>> | undefined;
  /** When set, the pool holding the address must allow this use. */
  readonly intendedUse?: IPPoolAllowedUse | undefined;
}

export interface AssignmentAttributes {
  readonly ip: string;
  readonly block: string;
  readonly handleId?: string;
  readonly activeOwnerAttrs: Readonly<Record<string, string>>;
  readonly alternateOwnerAttrs?: Readonly<Record<string, string>>;
  /** Set when the address was released and is cooling down. */
  readonly releasedAt?: string;
  readonly sequenceNumber: number;
}

/** The effective IPAM configuration (defaults applied). */
export interface IpamConfig extends ResolvedConfig {
  readonly kubeVirtVMAddressPersistence?: VMAddressPersistence;
}

export const DEFAULT_IPAM_CONFIG: IpamConfig = {
  strictAffinity: false,
  autoAllocateBlocks: true,
  maxBlocksPerHost: 0,
  ipCooldownSeconds: 0,
};

function resolveConfig(spec: IPAMConfigurationSpec | undefined): IpamConfig {
  if (spec === undefined) return DEFAULT_IPAM_CONFIG;
  return {
    strictAffinity: spec.strictAffinity ?? false,
    autoAllocateBlocks: spec.autoAllocateBlocks ?? true,
    maxBlocksPerHost: spec.maxBlocksPerHost ?? 0,
    ipCooldownSeconds: spec.ipCooldownSeconds ?? 0,
    ...(spec.kubeVirtVMAddressPersistence === undefined
      ? {}
      : { kubeVirtVMAddressPersistence: spec.kubeVirtVMAddressPersistence }),
  };
}

export class IpamClient {
  readonly store: IpamStore;
  readonly #now: () => number;
  readonly #retry: { maxRetries?: number };
  readonly #blockLocks = new KeyedMutex();

  constructor(backend: Backend, opts: IpamClientOptions = {}) {
    this.store = new IpamStore(backend);
    this.#now = opts.now ?? Date.now;
    this.#retry = opts.maxRetries === undefined ? {} : { maxRetries: opts.maxRetries };
  }

  #deps(): AffinityDeps {
    return { store: this.store, now: this.#now, retry: this.#retry, blockLocks: this.#blockLocks };
  }

  async #assignContext(): Promise<AssignContext> {
    const [config, reservations] = await Promise.all([this.getConfig(), this.store.listReservations()]);
    return {
      ...this.#deps(),
      config,
      isReserved: (ip) => reservations.some((c) => cidrContains(c, ip)),
    };
  }

  async #releaseContext(): Promise<ReleaseContext> {
    const config = await this.getConfig();
    return { ...this.#deps(), cooldownSeconds: config.ipCooldownSeconds };
  }

  /**
   * Assigns `num4` IPv4 and `num6` IPv6 addresses to `hostname`. All or nothing: if either family cannot be
   * served, everything assigned by this call is released and the error is thrown.
   */
  async autoAssign(args: AutoAssignArgs): Promise<AutoAssignResult> {
    const ctx = await this.#assignContext();
    const pools = await this.store.listPools();
    const got: Record<IpFamily, AssignedAddress[]> = { 4: [], 6: [] };
    try {
      for (const family of [4, 6] as const) {
        const num = family === 4 ? args.num4 : args.num6;
        if (num <= 0) continue;
        const selected = selectPools(pools, {
          family,
          intendedUse: args.intendedUse ?? 'Workload',
          nodeLabels: args.nodeLabels ?? {},
          namespaceLabels: args.namespaceLabels,
          requested: family === 4 ? args.ipv4Pools : args.ipv6Pools,
        });
        if (!selected.ok) throw new IpamError('poolNotUsable', selected.error);
        if (selected.value.length === 0) {
          throw new IpamError(
            'noQualifiedPool',
            `no configured Calico IPv${family} pools for node ${JSON.stringify(args.hostname)}`,
          );
        }
        const req: FamilyRequest = {
          family,
          num,
          host: args.hostname,
          handleId: args.handleId,
          attrs: args.attrs ?? {},
          pools: selected.value,
          maxBlocksPerHost: args.maxBlocksPerHost ?? 0,
        };
        await assignFamily(ctx, req, got[family]);
      }
    } catch (e) {
      await this.#rollback([...got[4], ...got[6]], args.handleId);
      throw e;
    }
    return { ipv4: got[4], ipv6: got[6] };
  }

  async #rollback(addresses: readonly AssignedAddress[], handleId: string | undefined): Promise<void> {
    if (addresses.length === 0) return;
    await releaseIps(
      await this.#releaseContext(),
      addresses.map((a) => ({ address: a.ip, ...(handleId === undefined ? {} : { handle: handleId }) })),
    );
  }

  /** Assigns one specific address (Calico's AssignIP). */
  async assignIp(args: AssignIpArgs): Promise<void> {
    const ip = parseIp(args.ip);
    if (ip === undefined) throw new IpamError('notInPool', `invalid IP address ${JSON.stringify(args.ip)}`);
    const ctx = await this.#assignContext();
    const pool = poolFor(await this.store.listPools(), ip);
    if (pool === undefined)
      throw new IpamError('notInPool', `the provided IP address ${args.ip} is not in a configured pool`);
    if (args.intendedUse !== undefined && !(pool.spec.allowedUses ?? []).includes(args.intendedUse)) {
      throw new IpamError(
        'notInPool',
        `pool ${pool.name} does not allow use ${args.intendedUse} for ${args.ip}`,
      );
    }
    const bc = blockCidrFor(pool, ip);
    const cidr = `${formatIp(bc.family, bc.network)}/${bc.prefix}`;
    await withCasRetries(
      `assign ${args.ip}`,
      async () => {
        let block = await this.store.getBlock(cidr);
        if (block === undefined) {
          await claimBlock(ctx, args.hostname, cidr);
          block = await this.store.getBlock(cidr);
          if (block === undefined) throw new IpamError('exhausted', `could not create block ${cidr}`);
        }
        if (ctx.config.strictAffinity && block.spec.affinity !== hostAffinity(args.hostname)) {
          throw new IpamError(
            'affinityMismatch',
            `block ${cidr} is not affine to ${args.hostname} (strict affinity)`,
          );
        }
        const ord = ipToOrdinal(blockCidr(block.spec), ip) ?? -1;
        const collected = garbageCollect(block.spec, this.#now(), ctx.config.ipCooldownSeconds).spec;
        const r = assignOrdinal(collected, ord, args.handleId, args.attrs ?? {});
        if (!r.ok)
          throw new IpamError('alreadyAllocated', `the provided IP address ${args.ip} is already assigned`);
        const current = block;
        await withBlockLock(ctx, cidr, () =>
          writeWithHandle(ctx, current, bumpSequence(r.value), args.handleId, 1),
        );
      },
      this.#retry,
    );
  }

  /** Releases addresses (with optional handle / sequence-number preconditions). */
  async releaseIps(options: readonly ReleaseOptions[]): Promise<ReleaseIpsResult> {
    return releaseIps(await this.#releaseContext(), options);
  }

  /** Releases every address of a handle (a missing handle releases nothing); returns the addresses. */
  async releaseByHandle(handleId: string): Promise<string[]> {
    return releaseByHandle(await this.#releaseContext(), handleId);
  }

  /** The addresses currently held by a handle. */
  async ipsByHandle(handleId: string): Promise<string[]> {
    const handle = await this.store.getHandle(handleId);
    if (handle === undefined) return [];
    const out: string[] = [];
    for (const cidr of Object.keys(handle.spec.block).sort()) {
      const block = await this.store.getBlock(cidr);
      if (block === undefined) continue;
      const c = blockCidr(block.spec);
      for (const o of ordinalsByHandle(block.spec, handleId)) {
        const ip = ordinalToIp(c, o);
        out.push(formatIp(ip.family, ip.value));
      }
    }
    return out;
  }

  /** The allocation of an address, or undefined when it is not allocated. */
  async getAssignmentAttributes(address: string): Promise<AssignmentAttributes | undefined> {
    const ip = parseIp(address);
    if (ip === undefined) throw new IpamError('notInPool', `invalid IP address ${JSON.stringify(address)}`);
    const block = await findBlockFor(this.#deps(), ip);
    const ord = block === undefined ? undefined : ipToOrdinal(blockCidr(block.spec), ip);
    if (block === undefined || ord === undefined) return undefined;
    const a = allocationAt(block.spec, ord);
    if (a.state === 'free') return undefined;
    const attr = a.attribute ?? {};
    return {
      ip: formatIp(ip.family, ip.value),
      block: block.spec.cidr,
      activeOwnerAttrs: attr.secondary ?? {},
      sequenceNumber: a.sequenceNumber,
      ...(attr.handle_id === undefined ? {} : { handleId: attr.handle_id }),
      ...(attr.alternate === undefined ? {} : { alternateOwnerAttrs: attr.alternate }),
      ...(attr.releasedAt === undefined ? {} : { releasedAt: attr.releasedAt }),
    };
  }

  /** Claims a specific block for a host (creating the block), or completes a pending claim. */
  ensureBlockAffinity(hostname: string, blockCidrText: string): Promise<ClaimOutcome> {
    return claimBlock(this.#deps(), hostname, blockCidrText);
  }

  /** Releases a host's affinity for a block (see `releaseAffinity` in affinity.ts). */
  releaseAffinity(
    hostname: string,
    blockCidrText: string,
    opts: { mustBeEmpty: boolean },
  ): Promise<ReleaseOutcome> {
    return releaseAffinityOp(this.#deps(), hostname, blockCidrText, opts.mustBeEmpty);
  }

  /** Releases every affinity of a host; returns the CIDRs released. */
  async releaseHostAffinities(hostname: string, opts: { mustBeEmpty: boolean }): Promise<string[]> {
    const out: string[] = [];
    for (const a of await hostAffinities(this.store, hostname)) {
      if ((await this.releaseAffinity(hostname, a.spec.cidr, opts)) === 'released') out.push(a.spec.cidr);
    }
    return out;
  }

  /** The effective configuration (defaults when none is stored; a stored config breaking the rules throws). */
  async getConfig(): Promise<IpamConfig> {
    return resolveConfig((await this.store.getConfig())?.spec);
  }

  /** Validates and stores the configuration (compare-and-swap). */
  async setConfig(config: IPAMConfigurationSpec): Promise<void> {
    const issues = new Issues();
    const spec = ipamConfigSpec(config, 'spec', issues);
    if (spec === undefined || issues.list.length > 0) {
      throw new ValidationError(issues.list, `IPAMConfiguration(${IPAM_CONFIG_NAME})`);
    }
    await withCasRetries(
      'set IPAM configuration',
      async () => this.store.putConfig(await this.store.configVersion(), spec),
      this.#retry,
    );
  }

  /** Usage per pool and block (`calicoctl ipam show`). */
  async getUtilization(): Promise<PoolUtilization[]> {
    const [pools, blocks, reservations] = await Promise.all([
      this.store.listPools(),
      this.store.listBlocks(),
      this.store.listReservations(),
    ]);
    return utilization(
      pools,
      blocks.items.map((b) => b.spec),
      reservations,
    );
  }
}
