/**
 * libcalico-go's `client.EnsureInitialized` (clientv3/client.go), shared by calicoctl (before its first write)
 * and calico-node's start-up: the `default` ClusterInformation and the built-in tiers.
 *
 * ClusterInformation `default` is created when missing (a fresh cluster GUID, `datastoreReady: true`, the
 * caller's version and cluster type); an existing one is completed, never overwritten: the version is set
 * when the caller has one and it differs, a missing GUID is generated, a missing `datastoreReady` becomes
 * true (an explicit false, a locked datastore, stays), and cluster types the caller adds are appended to the
 * comma-separated list. calicoctl passes no version or type (as Calico's does) or asks for creation only.
 * On the Kubernetes datastore `kdd` is appended to the caller's cluster types, as Calico does.
 *
 * `ensureResource` is the one create-or-complete step behind it and behind calico-node's default
 * FelixConfiguration and BGPConfiguration: create when missing, otherwise fill in what is absent and write
 * with compare-and-swap, retried on a conflict or a racing create (bounded); a stored object that is not a
 * valid resource is left as it is (reported, never overwritten).
 */
import { randomBytes } from 'node:crypto';
import { builtInTiers } from '../api/tiers.js';
import { CALICO_API_VERSION } from '../api/meta.js';
import { AlreadyExistsError, ConflictError, NotFoundError } from '../lib/errors.js';
import type { Backend, Resource, ResourceKey } from './api.js';
import { StoredValueError } from './stored.js';
import { resourceProblem } from './validation.js';

export const CLUSTER_INFORMATION_KIND = 'ClusterInformation';
export const CLUSTER_INFORMATION_NAME = 'default';

const MAX_ATTEMPTS = 10;

/** What `ensureResource` did. `invalid`: the stored object does not decode, and was left alone. */
export type EnsureOutcome = 'created' | 'updated' | 'unchanged' | 'invalid';

/**
 * Creates `initial()` when `key` does not exist; otherwise passes a copy of the stored object to `complete`,
 * which returns the object to write, or undefined when nothing is missing.
 */
export async function ensureResource(
  backend: Backend,
  key: ResourceKey,
  initial: () => Resource,
  complete: (stored: Resource) => Resource | undefined,
): Promise<EnsureOutcome> {
  for (let attempt = 1; ; attempt++) {
    let stored: Resource | undefined;
    try {
      stored = await backend.get(key);
    } catch (e) {
      // A stored value that is not even a resource: left alone, as an invalid one.
      if (e instanceof StoredValueError) return 'invalid';
      if (!(e instanceof NotFoundError)) throw e;
    }
    try {
      if (stored === undefined) {
        await backend.create(initial());
        return 'created';
      }
      if (resourceProblem(key, stored) !== undefined) return 'invalid';
      const next = complete(structuredClone(stored));
      if (next === undefined) return 'unchanged';
      await backend.update(next);
      return 'updated';
    } catch (e) {
      const raced = e instanceof AlreadyExistsError || e instanceof ConflictError;
      if (!raced || attempt >= MAX_ATTEMPTS) throw e;
    }
  }
}

/** Who initialises: the version it reports and the cluster types it adds ('' for none of either). */
export interface ClusterIdentity {
  readonly calicoVersion: string;
  readonly clusterType: string;
}

export interface EnsureInitializedOptions {
  /** false: create ClusterInformation when missing but leave an existing one alone (default true). */
  readonly completeExisting?: boolean;
}

interface ClusterInformationSpec {
  clusterGUID?: string;
  clusterType?: string;
  calicoVersion?: string;
  datastoreReady?: boolean;
  [field: string]: unknown;
}

function specOf(r: Resource): ClusterInformationSpec {
  const spec = (r as Resource & { spec?: unknown }).spec;
  return typeof spec === 'object' && spec !== null ? (spec as ClusterInformationSpec) : {};
}

function newGuid(): string {
  return randomBytes(16).toString('hex');
}

function mergeClusterTypes(existing: string, added: string): string {
  const all = existing.split(',');
  for (const t of added.split(',')) if (!all.includes(t)) all.push(t);
  return all.join(',');
}

/** Calico's ensureClusterInformation: the completed spec, or undefined when nothing is missing. */
export function completeClusterInformation(
  current: ClusterInformationSpec,
  id: ClusterIdentity,
): ClusterInformationSpec | undefined {
  const next = { ...current };
  if (id.calicoVersion !== '' && next.calicoVersion !== id.calicoVersion)
    next.calicoVersion = id.calicoVersion;
  if (next.clusterGUID === undefined || next.clusterGUID === '') next.clusterGUID = newGuid();
  next.datastoreReady ??= true;
  if (id.clusterType !== '') {
    const existing = next.clusterType ?? '';
    next.clusterType = existing === '' ? id.clusterType : mergeClusterTypes(existing, id.clusterType);
  }
  return JSON.stringify(next) === JSON.stringify(current) ? undefined : next;
}

/**
 * The cluster types a client on `backend` adds: on the Kubernetes datastore, Calico's ensureClusterInformation
 * appends `kdd` last (`k8s,bgp` -> `k8s,bgp,kdd`; none -> `kdd`).
 */
export function clusterTypeFor(backend: Pick<Backend, 'type'>, clusterType: string): string {
  if (backend.type !== 'kubernetes') return clusterType;
  const trimmed = clusterType.endsWith(',') ? clusterType.slice(0, -1) : clusterType;
  return trimmed === '' ? 'kdd' : `${trimmed},kdd`;
}

export function ensureClusterInformation(
  backend: Backend,
  identity: ClusterIdentity,
  opts: EnsureInitializedOptions = {},
): Promise<EnsureOutcome> {
  const id = { ...identity, clusterType: clusterTypeFor(backend, identity.clusterType) };
  return ensureResource(
    backend,
    { kind: CLUSTER_INFORMATION_KIND, name: CLUSTER_INFORMATION_NAME },
    () =>
      ({
        apiVersion: CALICO_API_VERSION,
        kind: CLUSTER_INFORMATION_KIND,
        metadata: { name: CLUSTER_INFORMATION_NAME },
        spec: {
          clusterGUID: newGuid(),
          clusterType: id.clusterType,
          calicoVersion: id.calicoVersion,
          datastoreReady: true,
        },
      }) as Resource,
    (stored) => {
      if (opts.completeExisting === false) return undefined;
      const spec = completeClusterInformation(specOf(stored), id);
      return spec === undefined ? undefined : ({ ...stored, spec } as Resource);
    },
  );
}

/**
 * ClusterInformation, then the built-in tiers (kube-admin, default, kube-baseline; existing ones are left
 * as they are). Every step is tried; the first failure is thrown afterwards.
 */
export async function ensureInitialized(
  backend: Backend,
  id: ClusterIdentity,
  opts: EnsureInitializedOptions = {},
): Promise<void> {
  const errors: unknown[] = [];
  try {
    await ensureClusterInformation(backend, id, opts);
  } catch (e) {
    errors.push(e);
  }
  await Promise.all(
    builtInTiers().map(async (tier) => {
      try {
        await backend.create(tier);
      } catch (e) {
        if (!(e instanceof AlreadyExistsError)) errors.push(e);
      }
    }),
  );
  if (errors.length > 0) throw errors[0];
}
