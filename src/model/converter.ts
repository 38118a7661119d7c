/**
 * The one conversion from a set of resources to the backend model (libcalico-go's update processors plus the
 * KDD converters): incremental, pure, keyed by resource key. Both the agent's calculation graph (through
 * calc/inputs.ts) and `buildSnapshot` (sim dataplane, `calicoctl policy explain`, the conformance runner) go
 * through it, so what the kernel enforces and what the evaluator explains cannot differ in conversion.
 *
 *   update(key, resource | undefined) ──► contributions of that key ──► per model id, the winning value ──► sink
 *
 * Each resource contributes model values under model ids (a Pod its workload endpoint, a Namespace its
 * `kns.` profile and the implicit `ksa.<ns>.default` profile, ...). Several resources may contribute to the
 * same id; the value of the highest-ranked contributor wins, ties going to the lowest resource key:
 *
 *   rank 4  built in: the protected tiers and the `projectcalico-default-allow` profile (read-only)
 *   rank 3  a Kubernetes Namespace's or ServiceAccount's own `kns.`/`ksa.` profile
 *   rank 2  every stored resource as such (Tier, Profile, WorkloadEndpoint, policies, sets, HostEndpoint)
 *   rank 1  stand-ins: a Pod's workload endpoint (the CNI-written WorkloadEndpoint wins), a namespace's
 *           implicit `default` service-account profile (an explicit ServiceAccount wins)
 *
 * Node contract (felix/design/calc-graph.md): existence is decided from the value (undefined = gone, whatever
 * the update type), updates may come in any order, repeated or spurious, and the output depends only on the
 * current set of resources. The sink hears an id whenever its winning value changes (a new object each time
 * the winning resource is updated), and `undefined` when nothing contributes to it any more.
 */
import { internalKind } from '../api/kinds.js';
import { builtInTiers, defaultAllowProfile } from '../api/tiers.js';
import {
  hostEndpointToModel,
  networkSetToModel,
  profileToModel,
  tierToModel,
  workloadEndpointToModel,
} from './endpoints.js';
import { endpointKeyString, networkSetKeyString, policyIdString } from './ids.js';
import {
  defaultServiceAccount,
  namespaceToProfile,
  podToWorkloadEndpoint,
  serviceAccountToProfile,
} from './k8s-resources.js';
import {
  type AdminPolicyResource,
  convertAdminPolicy,
  hasNodesPeer,
  type NodeAddressBook,
  nodeAddressBook,
} from './admin-policy.js';
import { adminToModelPolicy, toModelPolicy } from './policies.js';
import type { Node } from '../api/v3/bgp-types.js';
import type { ModelInput } from './inputs.js';
import type { ModelEndpoint, ModelNetworkSet, ModelPolicy, ModelProfile, ModelTier } from './types.js';

/** What the model is told, per model id; `undefined` means gone. */
export interface ModelUpdateSink {
  tier(name: string, t: ModelTier | undefined): void;
  profile(name: string, p: ModelProfile | undefined): void;
  policy(id: string, p: ModelPolicy | undefined): void;
  endpoint(id: string, e: ModelEndpoint | undefined): void;
  networkSet(id: string, s: ModelNetworkSet | undefined): void;
}

/** A resource's identity in the set: internal kind (`KubernetesNetworkPolicy` for K8s ones), namespace, name. */
export interface SourceKey {
  readonly kind: string;
  readonly namespace?: string;
  readonly name: string;
}

export function sourceKeyOf(r: ModelInput): SourceKey {
  const kind = internalKind(r.apiVersion, r.kind);
  const { name, namespace } = r.metadata;
  return namespace === undefined ? { kind, name } : { kind, namespace, name };
}

function sourceKeyString(k: SourceKey): string {
  return `${k.kind}/${k.namespace ?? ''}/${k.name}`;
}

const RANK_BUILT_IN = 4;
const RANK_K8S_PROFILE = 3;
const RANK_STORED = 2;
const RANK_STAND_IN = 1;

/** The model's tables (named as the sink's methods) and the value each holds. */
interface TableValues {
  readonly tier: ModelTier;
  readonly profile: ModelProfile;
  readonly policy: ModelPolicy;
  readonly endpoint: ModelEndpoint;
  readonly networkSet: ModelNetworkSet;
}

type Table = keyof TableValues;

interface ContributionTo<T extends Table> {
  readonly table: T;
  readonly id: string;
  readonly rank: number;
  readonly value: TableValues[T];
}

type Contribution = { [T in Table]: ContributionTo<T> }[Table];

function profileContribution(rank: number, p: ModelProfile): Contribution {
  return { table: 'profile', id: p.name, rank, value: p };
}

/** An admin policy's contribution and its converted form as JSON (to tell whether a Node change moved it). */
function adminContributions(
  r: AdminPolicyResource,
  nodes: NodeAddressBook,
): { contributions: Contribution[]; converted: string } {
  const c = convertAdminPolicy(r, nodes);
  if (c === undefined) return { contributions: [], converted: '' };
  const p = adminToModelPolicy(c);
  return {
    contributions: [{ table: 'policy', id: policyIdString(p.key), rank: RANK_STORED, value: p }],
    converted: JSON.stringify(c),
  };
}

/**
 * The model values one resource contributes (none for a staged Delete policy, a host-networked pod or a
 * Node, whose labels and addresses only resolve admin policies' `nodes` peers).
 */
function contributionsOf(r: ModelInput, nodes: NodeAddressBook): Contribution[] {
  switch (r.kind) {
    case 'AdminNetworkPolicy':
    case 'BaselineAdminNetworkPolicy':
    case 'ClusterNetworkPolicy':
      return adminContributions(r, nodes).contributions;
    case 'Node':
      return [];
    case 'GlobalNetworkPolicy':
    case 'NetworkPolicy':
    case 'StagedGlobalNetworkPolicy':
    case 'StagedNetworkPolicy':
    case 'StagedKubernetesNetworkPolicy': {
      const p = toModelPolicy(r);
      return p === undefined
        ? []
        : [{ table: 'policy', id: policyIdString(p.key), rank: RANK_STORED, value: p }];
    }
    case 'Tier':
      return [{ table: 'tier', id: r.metadata.name, rank: RANK_STORED, value: tierToModel(r) }];
    case 'Profile':
      return [profileContribution(RANK_STORED, profileToModel(r))];
    case 'Namespace':
      return [
        profileContribution(RANK_K8S_PROFILE, profileToModel(namespaceToProfile(r))),
        profileContribution(
          RANK_STAND_IN,
          profileToModel(serviceAccountToProfile(defaultServiceAccount(r.metadata.name))),
        ),
      ];
    case 'ServiceAccount':
      return [profileContribution(RANK_K8S_PROFILE, profileToModel(serviceAccountToProfile(r)))];
    case 'NetworkSet':
    case 'GlobalNetworkSet': {
      const s = networkSetToModel(r);
      return [{ table: 'networkSet', id: networkSetKeyString(s.key), rank: RANK_STORED, value: s }];
    }
    case 'HostEndpoint': {
      const e = hostEndpointToModel(r);
      return [{ table: 'endpoint', id: endpointKeyString(e.key), rank: RANK_STORED, value: e }];
    }
    case 'WorkloadEndpoint': {
      const e = workloadEndpointToModel(r);
      return [{ table: 'endpoint', id: endpointKeyString(e.key), rank: RANK_STORED, value: e }];
    }
    case 'Pod': {
      const wep = podToWorkloadEndpoint(r);
      if (wep === undefined) return [];
      const e = workloadEndpointToModel(wep);
      return [{ table: 'endpoint', id: endpointKeyString(e.key), rank: RANK_STAND_IN, value: e }];
    }
  }
}

interface NodeEntry {
  readonly labels: Readonly<Record<string, string>>;
  readonly addresses: readonly string[];
}

/** A Calico Node's labels and addresses: spec.addresses (on KDD: with the Node's InternalIP) and the BGP ones. */
function nodeEntry(n: Node): NodeEntry {
  const addresses = [
    ...(n.spec.addresses ?? []).map((a) => a.address),
    ...[n.spec.bgp?.ipv4Address, n.spec.bgp?.ipv6Address].filter((a): a is string => a !== undefined),
  ];
  return { labels: n.metadata.labels ?? {}, addresses: [...new Set(addresses)].sort() };
}

function isAdminPolicy(r: ModelInput): r is AdminPolicyResource {
  return (
    r.kind === 'AdminNetworkPolicy' ||
    r.kind === 'BaselineAdminNetworkPolicy' ||
    r.kind === 'ClusterNetworkPolicy'
  );
}

/** The pseudo-resource holding what Calico creates itself; sorts before every real key. */
const BUILT_IN_SOURCE = '';

function builtInContributions(): Contribution[] {
  return [
    ...builtInTiers().map((t): Contribution => ({
      table: 'tier',
      id: t.metadata.name,
      rank: RANK_BUILT_IN,
      value: tierToModel(t),
    })),
    profileContribution(RANK_BUILT_IN, profileToModel(defaultAllowProfile())),
  ];
}

/** Higher rank wins; on equal rank the lower source key (deterministic, whatever the update order). */
function better(a: [string, { readonly rank: number }], b: [string, { readonly rank: number }]): boolean {
  return a[1].rank > b[1].rank || (a[1].rank === b[1].rank && a[0] < b[0]);
}

/** Per model id, every contributing resource; the winner is what the model holds. */
class ContestedTable<T extends Table> {
  readonly #contenders = new Map<string, Map<string, ContributionTo<T>>>();
  readonly #winners = new Map<string, ContributionTo<T>>();

  /** Sets (or with `c` undefined, removes) one source's contribution; returns the new winner if it changed. */
  put(
    id: string,
    source: string,
    c: ContributionTo<T> | undefined,
  ): { changed: false } | { changed: true; winner: ContributionTo<T> | undefined } {
    let entries = this.#contenders.get(id);
    if (c !== undefined) {
      if (entries === undefined) {
        entries = new Map<string, ContributionTo<T>>();
        this.#contenders.set(id, entries);
      }
      entries.set(source, c);
    } else if (entries !== undefined) {
      entries.delete(source);
      if (entries.size === 0) this.#contenders.delete(id);
    }
    let best: [string, ContributionTo<T>] | undefined;
    for (const e of entries ?? []) if (best === undefined || better(e, best)) best = e;
    const winner = best?.[1];
    if (winner === this.#winners.get(id)) return { changed: false };
    if (winner === undefined) this.#winners.delete(id);
    else this.#winners.set(id, winner);
    return { changed: true, winner };
  }

  winners(): ContributionTo<T>[] {
    return [...this.#winners.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, c]) => c);
  }
}

/** Tells the sink table `table`'s new value for `id`. */
function emit<T extends Table>(
  sink: ModelUpdateSink,
  table: T,
  id: string,
  value: TableValues[T] | undefined,
): void {
  const send: { readonly [K in Table]: (id: string, value: TableValues[K] | undefined) => void } = sink;
  send[table](id, value);
}

const TABLES = ['tier', 'profile', 'policy', 'endpoint', 'networkSet'] as const satisfies readonly Table[];

function slot(c: { readonly table: Table; readonly id: string }): string {
  return `${c.table}\u0000${c.id}`;
}

/** The current model values, each table sorted by id (independent of the order updates arrived in). */
export interface ModelValues {
  readonly tiers: readonly ModelTier[];
  readonly profiles: readonly ModelProfile[];
  readonly policies: readonly ModelPolicy[];
  readonly endpoints: readonly ModelEndpoint[];
  readonly networkSets: readonly ModelNetworkSet[];
}

export class ModelConverter {
  readonly #sink: ModelUpdateSink | undefined;
  readonly #tables: { readonly [T in Table]: ContestedTable<T> } = {
    tier: new ContestedTable(),
    profile: new ContestedTable(),
    policy: new ContestedTable(),
    endpoint: new ContestedTable(),
    networkSet: new ContestedTable(),
  };
  /** Per resource key, what it contributes now (so a change or delete retracts exactly that). */
  readonly #bySource = new Map<string, Contribution[]>();
  /** Per Node name, its labels and addresses (for admin policies' `nodes` peers). */
  readonly #nodes = new Map<string, NodeEntry>();
  #nodeBook: NodeAddressBook = nodeAddressBook([]);
  /** The admin policies with a `nodes` peer, by resource key, with their converted form (JSON). */
  readonly #nodeDependent = new Map<string, { resource: AdminPolicyResource; converted: string }>();

  /** Holds the built-in values from the start; tells `sink` nothing until `replay` or `update`. */
  constructor(sink?: ModelUpdateSink) {
    // Never retracted: no resource key is the empty string. Held before the sink is set: it hears of them
    // at `replay`.
    for (const c of builtInContributions()) this.#put<Table>(c.table, c.id, BUILT_IN_SOURCE, c);
    this.#sink = sink;
  }

  /** A resource was set (`value`) or is gone (`undefined`: deleted, or a value that does not convert). */
  update(key: SourceKey, value: ModelInput | undefined): void {
    const source = sourceKeyString(key);
    if (key.kind === 'Node') {
      this.#updateNode(key.name, value?.kind === 'Node' ? value : undefined);
      return;
    }
    if (value !== undefined && isAdminPolicy(value) && hasNodesPeer(value)) {
      const { contributions, converted } = adminContributions(value, this.#nodeBook);
      this.#nodeDependent.set(source, { resource: value, converted });
      this.#set(source, contributions);
      return;
    }
    this.#nodeDependent.delete(source);
    this.#set(source, value === undefined ? [] : contributionsOf(value, this.#nodeBook));
  }

  /** A Node changed: re-converts the admin policies whose `nodes` peers now resolve differently. */
  #updateNode(name: string, node: Node | undefined): void {
    const entry = node === undefined ? undefined : nodeEntry(node);
    const before = this.#nodes.get(name);
    if (JSON.stringify(before) === JSON.stringify(entry)) return;
    if (entry === undefined) this.#nodes.delete(name);
    else this.#nodes.set(name, entry);
    this.#nodeBook = nodeAddressBook(this.#nodes.values());
    for (const [source, dep] of this.#nodeDependent) {
      const { contributions, converted } = adminContributions(dep.resource, this.#nodeBook);
      if (converted === dep.converted) continue;
      this.#nodeDependent.set(source, { resource: dep.resource, converted });
      this.#set(source, contributions);
    }
  }

  /** Tells the sink every current value (e.g. the built-ins, to a sink that starts empty). */
  replay(): void {
    const sink = this.#sink;
    if (sink === undefined) return;
    for (const table of TABLES) {
      for (const c of this.#tables[table].winners()) emit(sink, table, c.id, c.value);
    }
  }

  values(): ModelValues {
    const valuesOf = <T extends Table>(table: T): TableValues[T][] =>
      this.#tables[table].winners().map((c) => c.value);
    return {
      tiers: valuesOf('tier'),
      profiles: valuesOf('profile'),
      policies: valuesOf('policy'),
      endpoints: valuesOf('endpoint'),
      networkSets: valuesOf('networkSet'),
    };
  }

  #set(source: string, next: Contribution[]): void {
    const before = this.#bySource.get(source) ?? [];
    if (next.length === 0) this.#bySource.delete(source);
    else this.#bySource.set(source, next);
    const kept = new Set(next.map(slot));
    for (const old of before) if (!kept.has(slot(old))) this.#put(old.table, old.id, source, undefined);
    for (const c of next) this.#put<Table>(c.table, c.id, source, c);
  }

  #put<T extends Table>(table: T, id: string, source: string, c: ContributionTo<T> | undefined): void {
    const r = this.#tables[table].put(id, source, c);
    if (r.changed && this.#sink !== undefined) emit(this.#sink, table, id, r.winner?.value);
  }
}
