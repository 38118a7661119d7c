/**
 * Typed access to the IPAM resources in a `Backend` (only the interface; any backend works): blocks,
 * affinities, handles, pools, reservations and the IPAM configuration, each read through its codec, plus the
 * bounded compare-and-swap retry loop every IPAM write goes through (Calico's `datastoreRetries = 100`).
 *
 * Writes are CAS on `metadata.resourceVersion`; a concurrent change surfaces as ConflictError (or NotFoundError
 * when the object was deleted meanwhile), which `withCasRetries` turns into a fresh read and another attempt.
 */
import type { KindCodec } from '../api/codec.js';
import { Issues } from '../api/decoder.js';
import { CALICO_API_VERSION } from '../api/meta.js';
import type { BlockAffinitySpec } from '../api/v3/block-affinity.js';
import { blockAffinityCodec } from '../api/v3/block-affinity.js';
import type { IPPoolSpec } from '../api/v3/ip-pool.js';
import { ipPoolCodec } from '../api/v3/ip-pool.js';
import { ipReservationCodec } from '../api/v3/ip-reservation.js';
import {
  IPAM_CONFIG_NAME,
  ipamConfigurationCodec,
  type IPAMConfigurationSpec,
} from '../api/v3/ipam-config.js';
import type { IPAMBlockSpec } from '../api/v3/ipam-block.js';
import { ipamBlockCodec } from '../api/v3/ipam-block.js';
import type { IPAMHandleSpec } from '../api/v3/ipam-handle.js';
import { ipamHandleCodec } from '../api/v3/ipam-handle.js';
import type { Backend, Resource } from '../datastore/api.js';
import { AlreadyExistsError, ConflictError, NotFoundError, formatIssue } from '../lib/errors.js';
import { type Cidr, parseCidr } from '../lib/net/ip.js';
import { IpamError } from './errors.js';
import {
  LABEL_AFFINITY_TYPE,
  LABEL_HOSTNAME_HASH,
  LABEL_IP_VERSION,
  affinityName,
  cidrToName,
  hostnameHash,
} from './names.js';

export type IpamKind = 'IPAMBlock' | 'BlockAffinity' | 'IPAMHandle';

/** A stored object: its name, decoded spec and the version a CAS write must match. */
export interface Stored<S> {
  readonly name: string;
  readonly spec: S;
  readonly resourceVersion: string;
  readonly uid?: string;
  readonly labels?: Readonly<Record<string, string>>;
}

/** An object that is stored but does not decode (reported by `ipam check`, skipped by the allocator). */
export interface Undecodable {
  readonly kind: string;
  readonly name: string;
  readonly problems: readonly string[];
  readonly resourceVersion: string;
}

export interface PoolInfo {
  readonly name: string;
  readonly spec: IPPoolSpec;
  readonly cidr: Cidr;
  /** False when the pool's status says `Allocatable=False`. */
  readonly allocatable: boolean;
}

export interface RetryOptions {
  /** Attempts before giving up (default 100, as Calico). */
  readonly maxRetries?: number;
}

const DEFAULT_RETRIES = 100;

/** True for the errors a CAS loop retries: the object changed or vanished since it was read. */
export function isCasConflict(e: unknown): boolean {
  return e instanceof ConflictError || e instanceof NotFoundError;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * Runs `attempt` until it succeeds, retrying on CAS conflicts with a small random backoff (so that contenders
 * spread out), at most `maxRetries` times. Other errors propagate at once.
 */
export async function withCasRetries<T>(
  what: string,
  attempt: () => Promise<T>,
  opts: RetryOptions = {},
): Promise<T> {
  const max = opts.maxRetries ?? DEFAULT_RETRIES;
  for (let i = 0; ; i++) {
    try {
      return await attempt();
    } catch (e) {
      if (!isCasConflict(e)) throw e;
      if (i + 1 >= max) {
        throw new IpamError('retriesExhausted', `${what}: gave up after ${max} conflicting updates`, {
          cause: e,
        });
      }
      await sleep(Math.random() * Math.min(2 + i * 2, 25));
    }
  }
}

function decodeWith<S>(
  codec: KindCodec<string, { spec: S }>,
  obj: Resource,
): { ok: true; spec: S } | { ok: false; problems: string[] } {
  const issues = new Issues();
  const decoded = codec.decode(obj as unknown as Record<string, unknown>, issues);
  if (decoded === undefined || issues.list.length > 0) {
    return { ok: false, problems: issues.list.map(formatIssue) };
  }
  return { ok: true, spec: decoded.spec };
}

function toStored<S>(obj: Resource, spec: S): Stored<S> {
  const m = obj.metadata;
  return {
    name: m.name,
    spec,
    resourceVersion: m.resourceVersion ?? '',
    ...(m.uid === undefined ? {} : { uid: m.uid }),
    ...(m.labels === undefined ? {} : { labels: m.labels }),
  };
}

function envelope(
  kind: string,
  name: string,
  spec: unknown,
  extra: { labels?: Record<string, string>; rv?: string },
): Resource {
  const metadata: Resource['metadata'] = { name };
  if (extra.labels !== undefined) metadata.labels = extra.labels;
  if (extra.rv !== undefined) metadata.resourceVersion = extra.rv;
  return { apiVersion: CALICO_API_VERSION, kind, metadata, spec } as Resource;
}

const CODECS = {
  IPAMBlock: ipamBlockCodec,
  BlockAffinity: blockAffinityCodec,
  IPAMHandle: ipamHandleCodec,
} as const;
type SpecOf<K extends IpamKind> = K extends 'IPAMBlock'
  ? IPAMBlockSpec
  : K extends 'BlockAffinity'
    ? BlockAffinitySpec
    : IPAMHandleSpec;

export class IpamStore {
  readonly backend: Backend;

  constructor(backend: Backend) {
    this.backend = backend;
  }

  async #get<K extends IpamKind>(kind: K, name: string): Promise<Stored<SpecOf<K>> | undefined> {
    let obj: Resource;
    try {
      obj = await this.backend.get({ kind, name });
    } catch (e) {
      if (e instanceof NotFoundError) return undefined;
      throw e;
    }
    const d = decodeWith(CODECS[kind] as unknown as KindCodec<string, { spec: SpecOf<K> }>, obj);
    if (!d.ok) throw new IpamError('invalidResource', `${kind} ${name} is invalid: ${d.problems.join('; ')}`);
    return toStored(obj, d.spec);
  }

  async #list<K extends IpamKind>(kind: K): Promise<{ items: Stored<SpecOf<K>>[]; invalid: Undecodable[] }> {
    const { items } = await this.backend.list({ kind });
    const out: Stored<SpecOf<K>>[] = [];
    const invalid: Undecodable[] = [];
    for (const obj of items) {
      const d = decodeWith(CODECS[kind] as unknown as KindCodec<string, { spec: SpecOf<K> }>, obj);
      if (d.ok) out.push(toStored(obj, d.spec));
      else
        invalid.push({
          kind,
          name: obj.metadata.name,
          problems: d.problems,
          resourceVersion: obj.metadata.resourceVersion ?? '',
        });
    }
    return { items: out, invalid };
  }

  async #create<K extends IpamKind>(
    kind: K,
    name: string,
    spec: SpecOf<K>,
    labels?: Record<string, string>,
  ): Promise<Stored<SpecOf<K>>> {
    const created = await this.backend.create(
      envelope(kind, name, spec, labels === undefined ? {} : { labels }),
    );
    return toStored(created, spec);
  }

  async #update<K extends IpamKind>(
    kind: K,
    prev: Stored<SpecOf<K>>,
    spec: SpecOf<K>,
  ): Promise<Stored<SpecOf<K>>> {
    const extra =
      prev.labels === undefined
        ? { rv: prev.resourceVersion }
        : { rv: prev.resourceVersion, labels: { ...prev.labels } };
    const updated = await this.backend.update(envelope(kind, prev.name, spec, extra));
    return toStored(updated, spec);
  }

  async #delete(kind: IpamKind, prev: Stored<unknown>): Promise<void> {
    await this.backend.delete(
      { kind, name: prev.name },
      prev.uid === undefined
        ? { resourceVersion: prev.resourceVersion }
        : { resourceVersion: prev.resourceVersion, uid: prev.uid },
    );
  }

  getBlock(cidr: string): Promise<Stored<IPAMBlockSpec> | undefined> {
    return this.#get('IPAMBlock', cidrToName(cidr));
  }
  listBlocks(): Promise<{ items: Stored<IPAMBlockSpec>[]; invalid: Undecodable[] }> {
    return this.#list('IPAMBlock');
  }
  createBlock(spec: IPAMBlockSpec): Promise<Stored<IPAMBlockSpec>> {
    return this.#create('IPAMBlock', cidrToName(spec.cidr), spec);
  }
  updateBlock(prev: Stored<IPAMBlockSpec>, spec: IPAMBlockSpec): Promise<Stored<IPAMBlockSpec>> {
    return this.#update('IPAMBlock', prev, spec);
  }
  deleteBlock(prev: Stored<IPAMBlockSpec>): Promise<void> {
    return this.#delete('IPAMBlock', prev);
  }

  getAffinity(host: string, cidr: string): Promise<Stored<BlockAffinitySpec> | undefined> {
    return this.#get('BlockAffinity', affinityName(host, cidr));
  }
  listAffinities(): Promise<{ items: Stored<BlockAffinitySpec>[]; invalid: Undecodable[] }> {
    return this.#list('BlockAffinity');
  }
  createAffinity(spec: BlockAffinitySpec): Promise<Stored<BlockAffinitySpec>> {
    const family = parseCidr(spec.cidr)?.family ?? 4;
    const labels = {
      [LABEL_HOSTNAME_HASH]: hostnameHash(spec.node),
      [LABEL_AFFINITY_TYPE]: spec.type ?? 'host',
      [LABEL_IP_VERSION]: String(family),
    };
    return this.#create('BlockAffinity', affinityName(spec.node, spec.cidr), spec, labels);
  }
  updateAffinity(
    prev: Stored<BlockAffinitySpec>,
    spec: BlockAffinitySpec,
  ): Promise<Stored<BlockAffinitySpec>> {
    return this.#update('BlockAffinity', prev, spec);
  }
  deleteAffinity(prev: Stored<BlockAffinitySpec>): Promise<void> {
    return this.#delete('BlockAffinity', prev);
  }

  getHandle(handleId: string): Promise<Stored<IPAMHandleSpec> | undefined> {
    return this.#get('IPAMHandle', handleId);
  }
  listHandles(): Promise<{ items: Stored<IPAMHandleSpec>[]; invalid: Undecodable[] }> {
    return this.#list('IPAMHandle');
  }
  createHandle(spec: IPAMHandleSpec): Promise<Stored<IPAMHandleSpec>> {
    return this.#create('IPAMHandle', spec.handleID, spec);
  }
  updateHandle(prev: Stored<IPAMHandleSpec>, spec: IPAMHandleSpec): Promise<Stored<IPAMHandleSpec>> {
    return this.#update('IPAMHandle', prev, spec);
  }
  deleteHandle(prev: Stored<IPAMHandleSpec>): Promise<void> {
    return this.#delete('IPAMHandle', prev);
  }

  /** Every pool that decodes (invalid ones cannot be used and are left out), sorted by name. */
  async listPools(): Promise<PoolInfo[]> {
    const { items } = await this.backend.list({ kind: 'IPPool' });
    const out: PoolInfo[] = [];
    for (const obj of items) {
      const d = decodeWith(ipPoolCodec, obj);
      const cidr = d.ok ? parseCidr(d.spec.cidr) : undefined;
      if (!d.ok || cidr === undefined) continue;
      out.push({ name: obj.metadata.name, spec: d.spec, cidr, allocatable: isAllocatable(obj) });
    }
    return out;
  }

  /** The reserved CIDRs of every IPReservation. */
  async listReservations(): Promise<Cidr[]> {
    const { items } = await this.backend.list({ kind: 'IPReservation' });
    const out: Cidr[] = [];
    for (const obj of items) {
      const d = decodeWith(ipReservationCodec, obj);
      if (!d.ok) continue;
      for (const text of d.spec.reservedCIDRs ?? []) {
        const c = parseCidr(text);
        if (c !== undefined) out.push({ family: c.family, network: c.network, prefix: c.prefix });
      }
    }
    return out;
  }

  /** The stored configuration, undecoded problems reported as an error (Calico rejects a bad config on read). */
  async getConfig(): Promise<Stored<IPAMConfigurationSpec> | undefined> {
    let obj: Resource;
    try {
      obj = await this.backend.get({ kind: 'IPAMConfiguration', name: IPAM_CONFIG_NAME });
    } catch (e) {
      if (e instanceof NotFoundError) return undefined;
      throw e;
    }
    const d = decodeWith(ipamConfigurationCodec, obj);
    if (!d.ok) throw new IpamError('invalidConfig', `invalid IPAMConfiguration: ${d.problems.join('; ')}`);
    return toStored(obj, d.spec);
  }

  /** The stored configuration's resourceVersion, read without decoding (so a broken one can be replaced). */
  async configVersion(): Promise<string | undefined> {
    try {
      return (await this.backend.get({ kind: 'IPAMConfiguration', name: IPAM_CONFIG_NAME })).metadata
        .resourceVersion;
    } catch (e) {
      if (e instanceof NotFoundError) return undefined;
      throw e;
    }
  }

  /** Creates or replaces (CAS on `resourceVersion`) the configuration; a lost race is a ConflictError. */
  async putConfig(resourceVersion: string | undefined, spec: IPAMConfigurationSpec): Promise<void> {
    if (resourceVersion !== undefined) {
      await this.backend.update(
        envelope('IPAMConfiguration', IPAM_CONFIG_NAME, spec, { rv: resourceVersion }),
      );
      return;
    }
    try {
      await this.backend.create(envelope('IPAMConfiguration', IPAM_CONFIG_NAME, spec, {}));
    } catch (e) {
      if (e instanceof AlreadyExistsError)
        throw new ConflictError('IPAMConfiguration was created concurrently');
      throw e;
    }
  }
}

/** A pool whose status carries `Allocatable=False` is skipped by the allocator. */
function isAllocatable(obj: Resource): boolean {
  const status = (obj as Resource & { status?: { conditions?: unknown } }).status;
  const conditions = Array.isArray(status?.conditions) ? (status.conditions as unknown[]) : [];
  return !conditions.some(
    (c) =>
      typeof c === 'object' &&
      c !== null &&
      (c as Record<string, unknown>)['type'] === 'Allocatable' &&
      (c as Record<string, unknown>)['status'] === 'False',
  );
}
