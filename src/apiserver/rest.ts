/**
 * The REST verbs of one `projectcalico.org/v3` resource over the Kubernetes datastore backend, with Calico's
 * API server semantics (generic registry store over libcalico's clientv3):
 * - **Every write is validated** by the same decoder `calicoctl validate` uses (`decodeResource`): a bad
 *   document is 422 Invalid with one cause per field and nothing is stored. The defaulted, decoded form is
 *   what is stored, as calicoctl stores it.
 * - `knp.default.*` NetworkPolicies are Kubernetes NetworkPolicies' names and cannot be written (Calico's
 *   ErrorOperationNotSupported text); Profiles are derived from Namespaces and ServiceAccounts in KDD and the
 *   backend refuses their writes with Calico's text.
 * - update (PUT) needs `metadata.resourceVersion` (Calico's strategies: AllowUnconditionalUpdate false) and
 *   never creates (AllowCreateOnUpdate false); a stale resourceVersion is 409 Conflict.
 * - patch reads, patches, validates and compare-and-swaps the result (retried when another writer got in
 *   between and the patch itself named no resourceVersion); a patch that changes nothing writes nothing.
 * - `dryRun=All` validates and answers without storing.
 */
import { randomBytes } from 'node:crypto';
import { decodeResource } from '../api/decode.js';
import { CALICO_API_VERSION } from '../api/meta.js';
import type { Backend, Resource, ResourceKey } from '../datastore/index.js';
import { ConflictError } from '../lib/errors.js';
import {
  applyConfig,
  conflictReport,
  recordUpdate,
  sameOwnership,
  type FieldManagerOptions,
} from './apply.js';
import { patchDocument, type PatchType } from './patch.js';
import { TIERED_KINDS, checkTierDeletable, tierExists, tierOf } from './tiers.js';
import type { ServedResource } from './resources.js';
import { SelectorError, parseFieldSelector, parseLabelSelector, selectableFields } from './selectors.js';
import {
  MODIFIED,
  StatusError,
  conflict,
  failure,
  invalid,
  notFound,
  statusFromError,
  type Target,
} from './status.js';

export const KNP_PREFIX = 'knp.default.';

/** Server-owned metadata: never taken from a client's document. */
const SERVER_METADATA = [
  'uid',
  'resourceVersion',
  'creationTimestamp',
  'generation',
  'deletionTimestamp',
  'deletionGracePeriodSeconds',
  'selfLink',
  'managedFields',
];

type Obj = Record<string, unknown>;

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export interface Scope {
  readonly resource: ServedResource;
  /** From the URL; undefined for cluster-scoped resources and all-namespace lists. */
  readonly namespace: string | undefined;
}

export interface WriteOptions {
  readonly dryRun: boolean;
  /** The field manager (`fieldManager`, or the User-Agent's product name), for managedFields. */
  readonly manager: string;
  /** Server-side apply: take conflicting fields from their other managers. */
  readonly force: boolean;
  /** Tier authorisation for the tiered policy kinds (tiers.ts authorizeTier); throws when refused. */
  readonly gate?: (tier: string, policy: string) => Promise<void>;
}

const MAX_PATCH_RETRIES = 5;

export class ResourceRest {
  readonly #backend: Backend;

  constructor(backend: Backend) {
    this.#backend = backend;
  }

  #target(scope: Scope, name?: string): Target {
    return {
      plural: scope.resource.plural,
      kind: scope.resource.kind,
      ...(name === undefined ? {} : { name }),
    };
  }

  #key(scope: Scope, name: string): ResourceKey {
    return {
      kind: scope.resource.kind,
      ...(scope.resource.namespaced ? { namespace: scope.namespace ?? 'default' } : {}),
      name,
    };
  }

  async get(scope: Scope, name: string): Promise<Resource> {
    try {
      return await this.#backend.get(this.#key(scope, name));
    } catch (e) {
      throw statusFromError(e, this.#target(scope, name));
    }
  }

  async list(
    scope: Scope,
    query: URLSearchParams,
  ): Promise<{ readonly items: Resource[]; readonly revision: number }> {
    let labels, fields;
    try {
      labels = parseLabelSelector(query.get('labelSelector'));
      fields = parseFieldSelector(query.get('fieldSelector'));
    } catch (e) {
      if (e instanceof SelectorError) throw failure('BadRequest', e.message);
      throw e;
    }
    const filter = {
      kind: scope.resource.kind,
      ...(scope.resource.namespaced && scope.namespace !== undefined ? { namespace: scope.namespace } : {}),
    };
    try {
      const r = await this.#backend.list(filter);
      const items = r.items.filter((i) => labels(i.metadata.labels ?? {}) && fields(selectableFields(i)));
      return { items, revision: r.revision };
    } catch (e) {
      throw statusFromError(e, this.#target(scope));
    }
  }

  /**
   * The document a client sent, checked against the URL and validated: the decoded resource with the
   * URL's namespace and no server-owned metadata. `name` is the URL's (update, patch) or undefined (create).
   */
  #validated(scope: Scope, body: unknown, name: string | undefined): Resource {
    if (!isObj(body)) throw failure('BadRequest', 'the request body must be a JSON object');
    const { kind } = scope.resource;
    if (body['kind'] !== undefined && body['kind'] !== kind) {
      throw failure(
        'BadRequest',
        `the kind of the provided object (${JSON.stringify(body['kind'])}) does not match the resource ${scope.resource.plural} (${kind})`,
      );
    }
    if (body['apiVersion'] !== undefined && body['apiVersion'] !== CALICO_API_VERSION) {
      throw failure(
        'BadRequest',
        `the API version of the provided object (${JSON.stringify(body['apiVersion'])}) does not match ${CALICO_API_VERSION}`,
      );
    }
    const meta: Obj = isObj(body['metadata']) ? { ...body['metadata'] } : {};
    for (const k of SERVER_METADATA) Reflect.deleteProperty(meta, k);
    if (scope.resource.namespaced) {
      const ns = scope.namespace ?? 'default';
      if (meta['namespace'] !== undefined && meta['namespace'] !== '' && meta['namespace'] !== ns) {
        throw failure(
          'BadRequest',
          'the namespace of the provided object does not match the namespace sent on the request',
        );
      }
      meta['namespace'] = ns;
    } else Reflect.deleteProperty(meta, 'namespace');
    if (name === undefined && (meta['name'] === undefined || meta['name'] === '')) {
      const prefix = meta['generateName'];
      if (typeof prefix === 'string' && prefix !== '')
        meta['name'] = `${prefix}${randomBytes(4).toString('hex').slice(0, 5)}`;
    }
    if (name !== undefined) {
      if (meta['name'] !== undefined && meta['name'] !== name) {
        throw failure(
          'BadRequest',
          `the name of the object (${JSON.stringify(meta['name'])}) does not match the name on the URL (${name})`,
        );
      }
      meta['name'] = name;
    }
    const target = this.#target(scope, typeof meta['name'] === 'string' ? meta['name'] : undefined);
    const decoded = decodeResource({ ...body, apiVersion: CALICO_API_VERSION, kind, metadata: meta });
    if (!decoded.ok) throw invalid(target, decoded.error);
    const r = decoded.value as Resource;
    if (kind === 'NetworkPolicy' && r.metadata.name.startsWith(KNP_PREFIX)) {
      throw failure(
        'InternalError',
        `operation Create is not supported on NetworkPolicy(${r.metadata.namespace ?? ''}/${r.metadata.name}): kubernetes network policies must be managed through the kubernetes API`,
      );
    }
    return r;
  }

  async create(scope: Scope, body: unknown, opts: WriteOptions): Promise<Resource> {
    const validated = this.#validated(scope, body, undefined);
    const r = this.#owned(scope, undefined, validated, opts);
    await this.#tiers(scope, undefined, r, opts);
    if (opts.dryRun) return r;
    try {
      return await this.#backend.create(r);
    } catch (e) {
      throw statusFromError(e, this.#target(scope, r.metadata.name));
    }
  }

  /** For tiered policies: the tier authorised (before and after a change) and existing. */
  async #tiers(
    scope: Scope,
    before: Resource | undefined,
    after: Resource,
    opts: WriteOptions,
  ): Promise<void> {
    if (!TIERED_KINDS.includes(scope.resource.kind)) return;
    const tiers = new Set([...(before === undefined ? [] : [tierOf(before)]), tierOf(after)]);
    for (const t of tiers) await opts.gate?.(t, after.metadata.name);
    if (!(await tierExists(this.#backend, tierOf(after))))
      throw notFound(this.#target(scope, after.metadata.name));
  }

  #managerOptions(scope: Scope, opts: WriteOptions): FieldManagerOptions {
    return { manager: opts.manager, statusSubresource: scope.resource.status, now: new Date() };
  }

  /** `desired` with the managedFields of an Update-type write over `stored`. */
  #owned(scope: Scope, stored: Resource | undefined, desired: Resource, opts: WriteOptions): Resource {
    const asObj = (r: Resource): Obj => r as unknown as Obj;
    const base = stored === undefined ? undefined : asObj(stored);
    const managedFields = recordUpdate(base, asObj(desired), this.#managerOptions(scope, opts));
    const meta = { ...desired.metadata };
    delete meta.managedFields;
    return { ...desired, metadata: { ...meta, ...(managedFields.length === 0 ? {} : { managedFields }) } };
  }

  /**
   * Server-side apply (PATCH `application/apply-patch+yaml`): creates the object when absent, else merges
   * the configuration over it with field ownership (apply.ts); the result is validated like every write.
   * Answers whether it created the object.
   */
  async apply(
    scope: Scope,
    name: string,
    body: unknown,
    opts: WriteOptions,
  ): Promise<{ readonly object: Resource; readonly created: boolean }> {
    if (!isObj(body)) throw failure('BadRequest', 'the request body must be a JSON or YAML object');
    for (const f of ['apiVersion', 'kind'] as const) {
      if (typeof body[f] !== 'string' || body[f] === '')
        throw failure('BadRequest', `${f} must be set in an applied configuration`);
    }
    const meta = isObj(body['metadata']) ? body['metadata'] : {};
    if (meta['managedFields'] !== undefined && meta['managedFields'] !== null)
      throw failure('BadRequest', 'metadata.managedFields must be nil');
    const target = this.#target(scope, name);
    for (let attempt = 0; ; attempt++) {
      const stored = await this.#find(scope, name);
      const wanted = meta['resourceVersion'];
      if (typeof wanted === 'string' && wanted !== '' && wanted !== stored?.metadata.resourceVersion)
        throw stored === undefined ? notFound(target) : conflict(target, MODIFIED);
      const outcome = applyConfig(
        stored as unknown as Obj | undefined,
        body,
        opts.force,
        this.#managerOptions(scope, opts),
      );
      if (!outcome.ok) {
        const { message, causes } = conflictReport(outcome.conflicts);
        throw failure('Conflict', message, { causes });
      }
      const validated = this.#validated(scope, outcome.object, name);
      const desired = {
        ...validated,
        metadata: { ...validated.metadata, managedFields: outcome.managedFields },
      } as Resource;
      await this.#tiers(scope, stored, desired, opts);
      try {
        if (stored !== undefined)
          return { object: await this.#write(scope, stored, desired, opts), created: false };
        if (opts.dryRun) return { object: desired, created: true };
        return { object: await this.#backend.create(desired), created: true };
      } catch (e) {
        const status = statusFromError(e, target).status;
        const lostRace = status.reason === 'Conflict' || status.reason === 'AlreadyExists';
        if (!lostRace || attempt >= MAX_PATCH_RETRIES) throw statusFromError(e, target);
      }
    }
  }

  /** The stored object, or undefined when there is none. */
  async #find(scope: Scope, name: string): Promise<Resource | undefined> {
    try {
      return await this.get(scope, name);
    } catch (e) {
      if (e instanceof StatusError && e.status.reason === 'NotFound') return undefined;
      throw e;
    }
  }

  async update(scope: Scope, name: string, body: unknown, opts: WriteOptions): Promise<Resource> {
    const rv = isObj(body) && isObj(body['metadata']) ? body['metadata']['resourceVersion'] : undefined;
    const target = this.#target(scope, name);
    if (typeof rv !== 'string' || rv === '') {
      throw invalid(target, [
        { path: 'metadata.resourceVersion', message: 'must be specified for an update' },
      ]);
    }
    const r = this.#validated(scope, body, name);
    const stored = await this.get(scope, name);
    if (stored.metadata.resourceVersion !== rv) throw conflict(target, MODIFIED);
    await this.#tiers(scope, stored, r, opts);
    return this.#write(scope, stored, this.#owned(scope, stored, r, opts), opts);
  }

  /** Stores `desired` over `stored` (compare-and-swap on stored's resourceVersion); a no-op when unchanged. */
  async #write(scope: Scope, stored: Resource, desired: Resource, opts: WriteOptions): Promise<Resource> {
    const { uid, creationTimestamp, resourceVersion } = stored.metadata;
    const merged: Resource = {
      ...desired,
      metadata: {
        ...desired.metadata,
        ...(uid === undefined ? {} : { uid }),
        ...(creationTimestamp === undefined ? {} : { creationTimestamp }),
        ...(resourceVersion === undefined ? {} : { resourceVersion }),
      },
    };
    const unchanged =
      sameObject(stored, merged) &&
      sameOwnership(stored.metadata.managedFields, merged.metadata.managedFields);
    if (unchanged || opts.dryRun) return opts.dryRun ? merged : stored;
    try {
      return await this.#backend.update(merged);
    } catch (e) {
      throw statusFromError(e, this.#target(scope, stored.metadata.name));
    }
  }

  async patch(
    scope: Scope,
    name: string,
    type: PatchType,
    patch: unknown,
    opts: WriteOptions,
  ): Promise<Resource> {
    const target = this.#target(scope, name);
    for (let attempt = 0; ; attempt++) {
      const stored = await this.get(scope, name);
      const applied = patchDocument(type, stored, patch);
      if (!applied.ok) throw failure('BadRequest', `the patch could not be applied: ${applied.error}`);
      const patched = applied.value;
      const meta = isObj(patched) && isObj(patched['metadata']) ? patched['metadata'] : {};
      const wanted = meta['resourceVersion'];
      const pinned = typeof wanted === 'string' && wanted !== stored.metadata.resourceVersion;
      if (pinned) throw conflict(target, MODIFIED);
      const desired = this.#owned(scope, stored, this.#validated(scope, patched, name), opts);
      await this.#tiers(scope, stored, desired, opts);
      try {
        return await this.#write(scope, stored, desired, opts);
      } catch (e) {
        const lostRace =
          e instanceof Error &&
          'status' in e &&
          (e as { status: { reason?: string } }).status.reason === 'Conflict';
        const patchNamedVersion =
          isObj(patch) && isObj(patch['metadata']) && patch['metadata']['resourceVersion'] !== undefined;
        if (!lostRace || patchNamedVersion || attempt >= MAX_PATCH_RETRIES) throw e;
      }
    }
  }

  async delete(scope: Scope, name: string, body: unknown, opts: WriteOptions): Promise<Resource> {
    const pre = isObj(body) && isObj(body['preconditions']) ? body['preconditions'] : {};
    const target = this.#target(scope, name);
    if (scope.resource.kind === 'NetworkPolicy' && name.startsWith(KNP_PREFIX)) {
      throw failure(
        'InternalError',
        `operation Delete is not supported on NetworkPolicy(${scope.namespace ?? 'default'}/${name}): kubernetes network policies must be managed through the kubernetes API`,
      );
    }
    if (TIERED_KINDS.includes(scope.resource.kind) && opts.gate !== undefined)
      await opts.gate(tierOf(await this.get(scope, name)), name);
    if (scope.resource.kind === 'Tier') await checkTierDeletable(this.#backend, name);
    if (opts.dryRun) return this.get(scope, name);
    try {
      const deleted = await this.#backend.delete(this.#key(scope, name), {
        ...(typeof pre['uid'] === 'string' ? { uid: pre['uid'] } : {}),
        ...(typeof pre['resourceVersion'] === 'string' ? { resourceVersion: pre['resourceVersion'] } : {}),
      });
      if (deleted === undefined)
        throw failure(
          'InternalError',
          `${scope.resource.plural} "${name}": the stored value was not a resource`,
        );
      return deleted;
    } catch (e) {
      if (e instanceof ConflictError) throw conflict(target, `Precondition failed: ${e.message}`);
      throw statusFromError(e, target);
    }
  }

  async deleteCollection(scope: Scope, query: URLSearchParams, opts: WriteOptions): Promise<Resource[]> {
    const { items } = await this.list(scope, query);
    const out: Resource[] = [];
    for (const i of items) {
      const s = { ...scope, namespace: i.metadata.namespace };
      try {
        out.push(await this.delete(s, i.metadata.name, undefined, opts));
      } catch (e) {
        if (
          e instanceof Error &&
          'status' in e &&
          (e as { status: { reason?: string } }).status.reason === 'NotFound'
        )
          continue;
        throw e;
      }
    }
    return out;
  }
}

/** Everything but server-owned metadata compared, key order ignored. */
function sameObject(a: Resource, b: Resource): boolean {
  const strip = (r: Resource): unknown => {
    const meta: Obj = { ...(r.metadata as unknown as Obj) };
    for (const k of SERVER_METADATA) Reflect.deleteProperty(meta, k);
    return canonical({ ...r, metadata: meta });
  };
  return JSON.stringify(strip(a)) === JSON.stringify(strip(b));
}

function canonical(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(canonical);
  if (!isObj(v)) return v;
  return Object.fromEntries(
    Object.keys(v)
      .sort()
      .map((k) => [k, canonical(v[k])]),
  );
}

/** A Status for a failed write naming the object (used by the server for unexpected errors). */
export function writeFailure(e: unknown, scope: Scope, name?: string): Error {
  return statusFromError(e, {
    plural: scope.resource.plural,
    kind: scope.resource.kind,
    ...(name === undefined ? {} : { name }),
  });
}

export { notFound };
