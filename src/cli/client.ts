/**
 * The semantics calicoctl gets from libcalico-go's clientv3, on top of a raw `Backend`: connecting with the
 * `-c`/environment configuration, the client/cluster version-mismatch check, EnsureInitialized (built-in
 * tiers, the default-allow profile and the `default` ClusterInformation exist after the first write), and
 * the user's view of objects, where Kubernetes NetworkPolicies also appear as `knp.default.*` NetworkPolicies
 * and Namespaces and ServiceAccounts as `kns.*`/`ksa.*` Profiles (views.ts).
 *
 * Commands that only read open the client with `{ create: false }`: an embedded datastore file that does not
 * exist is then read as an empty store and never created (nor its directory).
 */
import { existsSync } from 'node:fs';
import { kindInfo } from '../api/kinds.js';
import { BUILT_IN_TIER_NAMES, defaultAllowProfile } from '../api/tiers.js';
import {
  CLUSTER_INFORMATION_KIND,
  CLUSTER_INFORMATION_NAME,
  DEFAULT_CONFIG_FILE,
  ensureInitialized,
  formatKey,
  keyString,
  loadClientConfig,
  openBackend,
  StoredValueError,
  validatedList,
  validatedValue,
  type Backend,
  type DatastoreConfig,
  type ListResult,
  type Resource,
  type ResourceKey,
} from '../datastore/index.js';
import { AlreadyExistsError, DatastoreUnavailableError, NotFoundError, errorMessage } from '../lib/errors.js';
import { buildInfo, comparableVersion } from './build-info.js';
import type { OptionValues } from './command.js';
import { boolOpt, stringOpt } from './command.js';
import { CliError } from './io.js';
import type { CliIo } from './io.js';
import { KNP_KIND, knpNameOf, knpView } from './knp.js';
import { profileSource, profileView } from './views.js';
import { unavailableMessage } from './datastore-errors.js';
import { fieldAt } from './objects.js';

export const CLUSTER_INFO_KIND = CLUSTER_INFORMATION_KIND;
export const CLUSTER_INFO_NAME = CLUSTER_INFORMATION_NAME;
/** Policy kinds whose `spec.tier` must name an existing tier. */
export const TIERED_KINDS: readonly string[] = [
  'NetworkPolicy',
  'GlobalNetworkPolicy',
  'StagedNetworkPolicy',
  'StagedGlobalNetworkPolicy',
];
/** Above this many objects of one kind, one list is cheaper than one get each. */
const LIST_THRESHOLD = 16;

/** How a datastore is named to users: `embedded datastore /var/lib/calico/calico.db`. */
export function describeDatastore(config: DatastoreConfig): string {
  switch (config.datastoreType) {
    case 'embedded':
      return `embedded datastore ${config.datastorePath}`;
    case 'etcdv3':
      return `etcdv3 datastore ${config.etcd.endpoints.join(',') || `(SRV ${config.etcd.discoverySrv ?? ''})`}`;
    case 'kubernetes':
      return 'kubernetes datastore';
  }
}

export interface OpenOptions {
  /**
   * Whether this command may create the datastore (writes do). When false, an embedded datastore file that
   * does not exist is read as an empty store, and nothing is created on disk.
   */
  readonly create: boolean;
}

export class CalicoClient implements AsyncDisposable {
  readonly backend: Backend;
  /** The datastore in use, as named to users. */
  readonly datastore: string;
  /** True when the embedded datastore file does not exist (read-only commands then see an empty store). */
  readonly missing: boolean;

  constructor(backend: Backend, datastore = 'datastore', missing = false) {
    this.backend = backend;
    this.datastore = datastore;
    this.missing = missing;
  }

  /** Loads the configuration (`-c`, else the environment) and connects. */
  static async open(values: OptionValues, io: CliIo, opts: OpenOptions): Promise<CalicoClient> {
    const file = stringOpt(values, 'config') ?? DEFAULT_CONFIG_FILE;
    try {
      const config = await loadClientConfig({ file, env: io.env });
      const datastore = describeDatastore(config);
      if (!opts.create && config.datastoreType === 'embedded' && !existsSync(config.datastorePath)) {
        const empty = await openBackend({ datastoreType: 'embedded', datastorePath: ':memory:' });
        return new CalicoClient(empty, datastore, true);
      }
      return new CalicoClient(await openBackend(config), datastore);
    } catch (e) {
      const why = e instanceof DatastoreUnavailableError ? unavailableMessage(e) : errorMessage(e);
      throw new CliError(`Failed to create Calico API client: ${why}`);
    }
  }

  /**
   * When calicoctl never initialised the datastore (no file, or no ClusterInformation), a note naming it,
   * so that a user pointed at the wrong datastore sees why everything is empty.
   */
  async emptyHint(): Promise<string | undefined> {
    const choose = 'DATASTORE_TYPE, CALICO_DATASTORE_PATH, ETCD_ENDPOINTS or -c choose the datastore';
    if (this.missing) return `the ${this.datastore} does not exist yet (${choose})`;
    if ((await this.clusterInformation()) !== undefined) return undefined;
    // calico-node's start-up and calicoctl's first write both create ClusterInformation.
    return `neither calico-node nor calicoctl has initialised the ${this.datastore} yet (no ClusterInformation; ${choose})`;
  }

  close(): Promise<void> {
    return this.backend.close();
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  /** calico-ts and the datastore (on Kubernetes, initialisation appends Calico's `kdd` instead). */
  get clusterType(): string {
    return this.backend.type === 'kubernetes' ? 'calico-ts' : `calico-ts,${this.backend.type}`;
  }

  /**
   * Whether calicoctl derives the kns./ksa. profiles from Namespaces and ServiceAccounts itself; the
   * Kubernetes backend reads them as Profiles, as Calico's KDD profile client does.
   */
  private get derivesProfiles(): boolean {
    return this.backend.type !== 'kubernetes';
  }

  async clusterInformation(): Promise<Resource | undefined> {
    return this.getOrUndefined({ kind: CLUSTER_INFO_KIND, name: CLUSTER_INFO_NAME });
  }

  /**
   * calicoctl's CheckVersionMismatch: compares major.minor.patch of the client with the cluster's
   * ClusterInformation; skipped with `--allow-version-mismatch`, or when the cluster has no version yet.
   */
  async checkVersion(values: OptionValues): Promise<void> {
    if (boolOpt(values, 'allow-version-mismatch')) return;
    const info = await this.clusterInformation();
    const cluster = fieldAt(info, 'spec.calicoVersion');
    if (typeof cluster !== 'string' || cluster === '') return;
    const client = buildInfo().version;
    if (comparableVersion(cluster) !== comparableVersion(client)) {
      throw new CliError(
        `Version mismatch.\nClient Version:   ${client}\nCluster Version:  ${comparableVersion(cluster)}\n` +
          'Use --allow-version-mismatch to override.',
      );
    }
  }

  /**
   * EnsureInitialized (datastore/initialize.ts): the built-in tiers and ClusterInformation `default` when
   * missing, with this client's version and cluster type (an existing ClusterInformation is left alone), and
   * the default-allow profile.
   */
  async ensureInitialized(): Promise<void> {
    await Promise.all([
      ensureInitialized(
        this.backend,
        { calicoVersion: buildInfo().version, clusterType: this.clusterType },
        { completeExisting: false },
      ),
      // On Kubernetes the profile is built in (the backend lists it) and Profile writes are refused.
      this.backend.type === 'kubernetes'
        ? Promise.resolve()
        : this.backend.create(defaultAllowProfile()).catch((e: unknown) => {
            if (!(e instanceof AlreadyExistsError)) throw e;
          }),
    ]);
  }

  /** The stored object, or undefined when there is none or its stored value is not a resource. */
  async getOrUndefined(key: ResourceKey): Promise<Resource | undefined> {
    try {
      return await this.backend.get(key);
    } catch (e) {
      // A bad stored value counts as absent here, so that apply can replace it.
      if (e instanceof NotFoundError || e instanceof StoredValueError) return undefined;
      throw e;
    }
  }

  /**
   * An object as the user sees it (views.ts): `NetworkPolicy ns/knp.default.x` is the view of the Kubernetes
   * policy, `Profile kns.ns` and `ksa.ns.sa` the views of a Namespace and a ServiceAccount. A stored value
   * that does not validate is a StoredValueError naming the key and the problem.
   */
  async getView(key: ResourceKey): Promise<Resource> {
    const k8sName = key.kind === 'NetworkPolicy' ? knpNameOf(key.name) : undefined;
    const source =
      k8sName !== undefined
        ? { ...key, kind: KNP_KIND, name: k8sName }
        : key.kind === 'Profile' && this.derivesProfiles
          ? profileSource(key.name)
          : undefined;
    if (source === undefined) return validatedValue(key, await this.backend.get(key));
    const stored = await this.getOrUndefined(source);
    const valid = stored === undefined ? undefined : validatedValue(source, stored);
    const view =
      valid === undefined ? undefined : k8sName !== undefined ? knpView(valid) : profileView(valid);
    if (view === undefined) throw new NotFoundError(`resource does not exist: ${formatKey(key)}`);
    return view;
  }

  /**
   * A list as the user sees it: NetworkPolicies and Profiles include their views (views.ts); stored values
   * that are not valid resources are in `invalid`, not in `items`.
   */
  async listView(kind: string, namespace: string | undefined): Promise<ListResult> {
    const filter = namespace === undefined ? { kind } : { kind, namespace };
    const own = validatedList(await this.backend.list(filter));
    if (kind === 'Tier') return { ...own, items: sortTiers(own.items) };
    let sources: ListResult[];
    let view: (r: Resource) => Resource | undefined;
    if (kind === 'NetworkPolicy') {
      sources = [validatedList(await this.backend.list({ ...filter, kind: KNP_KIND }))];
      view = knpView;
    } else if (kind === 'Profile' && this.derivesProfiles) {
      sources = await Promise.all(
        ['Namespace', 'ServiceAccount'].map(async (k) => validatedList(await this.backend.list({ kind: k }))),
      );
      view = profileView;
    } else {
      return own;
    }
    const views = sources.flatMap((l) => l.items.map(view)).filter((r) => r !== undefined);
    const items = [...own.items, ...views].sort((a, b) => byNamespaceName(a.metadata, b.metadata));
    return {
      items,
      invalid: [...own.invalid, ...sources.flatMap((l) => l.invalid)],
      revision: Math.max(own.revision, ...sources.map((l) => l.revision)),
    };
  }

  /** The stored objects for `keys` (absent ones are missing from the map), keyed by `keyString`. */
  async fetch(keys: readonly ResourceKey[]): Promise<Map<string, Resource>> {
    const out = new Map<string, Resource>();
    const groups = new Map<string, ResourceKey[]>();
    for (const k of keys) {
      const g = groups.get(k.kind) ?? [];
      g.push(k);
      groups.set(k.kind, g);
    }
    for (const [kind, group] of groups) {
      if (group.length >= LIST_THRESHOLD) {
        const namespaces = new Set(group.map((k) => k.namespace));
        const only = namespaces.size === 1 ? [...namespaces][0] : undefined;
        const listed = await this.backend.list(only === undefined ? { kind } : { kind, namespace: only });
        const wanted = new Set(group.map(keyString));
        for (const item of listed.items) {
          const k = keyString({ kind, name: item.metadata.name, ...nsOf(item) });
          if (wanted.has(k)) out.set(k, item);
        }
      } else {
        const found = await Promise.all(group.map((k) => this.getOrUndefined(k)));
        group.forEach((k, i) => {
          const r = found[i];
          if (r !== undefined) out.set(keyString(k), r);
        });
      }
    }
    return out;
  }

  /** Names of the tiers that exist (the built-in ones always do). */
  async tierNames(): Promise<Set<string>> {
    const listed = await this.backend.list({ kind: 'Tier' });
    return new Set([...BUILT_IN_TIER_NAMES, ...listed.items.map((t) => t.metadata.name)]);
  }

  /** True when some policy still names the tier. */
  async tierInUse(tier: string): Promise<boolean> {
    for (const kind of TIERED_KINDS) {
      if (kindInfo(kind) === undefined) continue;
      const listed = await this.backend.list({ kind });
      if (listed.items.some((p) => fieldAt(p, 'spec.tier') === tier)) return true;
    }
    return false;
  }
}

function nsOf(r: Resource): { namespace?: string } {
  return r.metadata.namespace === undefined ? {} : { namespace: r.metadata.namespace };
}

function byNamespaceName(
  a: { namespace?: string | undefined; name: string },
  b: { namespace?: string | undefined; name: string },
): number {
  const ka = `${a.namespace ?? ''}/${a.name}`;
  const kb = `${b.namespace ?? ''}/${b.name}`;
  return ka < kb ? -1 : ka > kb ? 1 : 0;
}

/** calicoctl lists tiers by order, unordered (nil) last. */
function sortTiers(items: Resource[]): Resource[] {
  const order = (t: Resource): number => {
    const o = fieldAt(t, 'spec.order');
    return typeof o === 'number' ? o : Infinity;
  };
  return [...items].sort((a, b) => {
    const oa = order(a);
    const ob = order(b);
    return oa === ob ? 0 : oa < ob ? -1 : 1;
  });
}
