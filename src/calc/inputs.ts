/**
 * Update processing at the graph's entrance (libcalico-go's update processors + Felix's validation filter):
 * datastore resources become backend model values; anything that cannot be converted is treated as missing,
 * so downstream nodes never see invalid data. Resolves the one key conflict the inputs have: a Pod and a
 * WorkloadEndpoint describing the same workload (the WorkloadEndpoint wins, as the CNI-written record).
 * Cluster-networking inputs (Node, IPPool, IPAMBlock, BlockAffinity) become the small values of
 * network-model.ts.
 */
import type { Resource } from '../api/decode.js';
import { decodeResource } from '../api/decode.js';
import { policyIdString } from '../model/ids.js';
import {
  hostEndpointToModel,
  networkSetToModel,
  profileToModel,
  tierToModel,
  workloadEndpointToModel,
} from '../model/endpoints.js';
import {
  namespaceToProfile,
  podToWorkloadEndpoint,
  serviceAccountToProfile,
} from '../model/k8s-resources.js';
import { toModelPolicy } from '../model/policies.js';
import type { PolicyResource } from '../model/policies.js';
import type { ModelEndpoint, ModelNetworkSet, ModelPolicy, ModelProfile, ModelTier } from '../model/types.js';
import { endpointKeyString, networkSetKeyString, serviceAccountProfileName } from '../model/ids.js';
import {
  affinityInfo,
  type AffinityInfo,
  blockInfo,
  type BlockInfo,
  nodeInfo,
  type NodeInfo,
  poolInfo,
  type PoolInfo,
} from './network-model.js';

/** A resource-level change as the syncer delivers it (value null = deleted). */
export interface ResourceUpdate {
  readonly key: { readonly kind: string; readonly namespace?: string; readonly name: string };
  readonly value: unknown;
  readonly revision: number;
}

/** What the graph is told, per model key; `undefined` means gone. */
export interface ModelSink {
  policy(id: string, p: ModelPolicy | undefined): void;
  profile(name: string, p: ModelProfile | undefined): void;
  tier(name: string, t: ModelTier | undefined): void;
  endpoint(id: string, e: ModelEndpoint | undefined): void;
  networkSet(id: string, s: ModelNetworkSet | undefined): void;
  felixConfig(name: string, spec: Readonly<Record<string, unknown>> | undefined): void;
  node(name: string, n: NodeInfo | undefined): void;
  ipPool(name: string, p: PoolInfo | undefined): void;
  ipamBlock(name: string, b: BlockInfo | undefined): void;
  blockAffinity(name: string, a: AffinityInfo | undefined): void;
}

const POLICY_KINDS: ReadonlySet<string> = new Set([
  'GlobalNetworkPolicy',
  'NetworkPolicy',
  'StagedGlobalNetworkPolicy',
  'StagedNetworkPolicy',
  'StagedKubernetesNetworkPolicy',
]);

function isPolicyResource(r: Resource): r is PolicyResource {
  return POLICY_KINDS.has(r.kind);
}

function decoded(value: unknown): Resource | undefined {
  if (value === null || value === undefined) return undefined;
  const r = decodeResource(value);
  return r.ok ? r.value : undefined;
}

function rawSpec(value: unknown): Readonly<Record<string, unknown>> | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const spec = (value as { spec?: unknown }).spec;
  return typeof spec === 'object' && spec !== null ? (spec as Record<string, unknown>) : {};
}

export class InputProcessor {
  private readonly sink: ModelSink;
  /** Per internal key, the model key it produced (so a delete removes the right thing). */
  private readonly produced = new Map<string, string>();
  /** Workload endpoints per model key by source: explicit WEP and Pod-derived. */
  private readonly wepSources = new Map<string, { wep?: ModelEndpoint; pod?: ModelEndpoint }>();
  private readonly explicitSaProfiles = new Set<string>();
  private readonly namespaces = new Set<string>();

  constructor(sink: ModelSink) {
    this.sink = sink;
  }

  private keyOf(u: ResourceUpdate): string {
    return `${u.key.kind}/${u.key.namespace ?? ''}/${u.key.name}`;
  }

  process(u: ResourceUpdate): void {
    const k = this.keyOf(u);
    switch (u.key.kind) {
      case 'GlobalNetworkPolicy':
      case 'NetworkPolicy':
      case 'StagedGlobalNetworkPolicy':
      case 'StagedNetworkPolicy':
      case 'StagedKubernetesNetworkPolicy':
      case 'KubernetesNetworkPolicy': {
        this.processPolicy(k, u);
        return;
      }
      case 'Tier': {
        const r = decoded(u.value);
        this.sink.tier(u.key.name, r?.kind === 'Tier' ? tierToModel(r) : undefined);
        return;
      }
      case 'Profile': {
        const r = decoded(u.value);
        this.sink.profile(u.key.name, r?.kind === 'Profile' ? profileToModel(r) : undefined);
        return;
      }
      case 'Namespace': {
        this.processNamespace(u);
        return;
      }
      case 'ServiceAccount': {
        this.processServiceAccount(u);
        return;
      }
      case 'NetworkSet':
      case 'GlobalNetworkSet': {
        const r = decoded(u.value);
        const set =
          r?.kind === 'NetworkSet' || r?.kind === 'GlobalNetworkSet' ? networkSetToModel(r) : undefined;
        const id = networkSetKeyString(
          u.key.kind === 'NetworkSet'
            ? { namespace: u.key.namespace ?? 'default', name: u.key.name }
            : { name: u.key.name },
        );
        this.sink.networkSet(id, set);
        return;
      }
      case 'HostEndpoint': {
        const r = decoded(u.value);
        this.sink.endpoint(
          endpointKeyString({ kind: 'hep', name: u.key.name }),
          r?.kind === 'HostEndpoint' ? hostEndpointToModel(r) : undefined,
        );
        return;
      }
      case 'WorkloadEndpoint':
      case 'Pod': {
        this.processWorkload(k, u);
        return;
      }
      case 'FelixConfiguration':
        this.sink.felixConfig(u.key.name, rawSpec(u.value));
        return;
      case 'Node':
      case 'IPPool':
      case 'IPAMBlock':
      case 'BlockAffinity':
        this.processNetwork(u);
        return;
      default:
        return;
    }
  }

  private processNetwork(u: ResourceUpdate): void {
    const r = decoded(u.value);
    const name = u.key.name;
    switch (u.key.kind) {
      case 'Node':
        this.sink.node(name, r?.kind === 'Node' ? nodeInfo(r) : undefined);
        return;
      case 'IPPool':
        this.sink.ipPool(name, r?.kind === 'IPPool' ? poolInfo(r) : undefined);
        return;
      case 'IPAMBlock':
        this.sink.ipamBlock(name, r?.kind === 'IPAMBlock' ? blockInfo(r.spec) : undefined);
        return;
      default:
        this.sink.blockAffinity(name, r?.kind === 'BlockAffinity' ? affinityInfo(r.spec) : undefined);
    }
  }

  private processPolicy(k: string, u: ResourceUpdate): void {
    const r = decoded(u.value);
    const model: ModelPolicy | undefined =
      r !== undefined && isPolicyResource(r) ? toModelPolicy(r) : undefined;
    const old = this.produced.get(k);
    const id = model !== undefined ? policyIdString(model.key) : old;
    if (old !== undefined && old !== id) this.sink.policy(old, undefined);
    if (id === undefined) return;
    if (model === undefined) this.produced.delete(k);
    else this.produced.set(k, id);
    this.sink.policy(id, model);
  }

  private processNamespace(u: ResourceUpdate): void {
    const r = decoded(u.value);
    const ns = u.key.name;
    const defaultSa = serviceAccountProfileName(ns, 'default');
    if (r?.kind === 'Namespace') {
      this.namespaces.add(ns);
      this.sink.profile(`kns.${ns}`, profileToModel(namespaceToProfile(r)));
      if (!this.explicitSaProfiles.has(defaultSa)) {
        const sa = serviceAccountToProfile({
          apiVersion: 'v1',
          kind: 'ServiceAccount',
          metadata: { name: 'default', namespace: ns },
        });
        this.sink.profile(defaultSa, profileToModel(sa));
      }
    } else {
      this.namespaces.delete(ns);
      this.sink.profile(`kns.${ns}`, undefined);
      if (!this.explicitSaProfiles.has(defaultSa)) this.sink.profile(defaultSa, undefined);
    }
  }

  private processServiceAccount(u: ResourceUpdate): void {
    const r = decoded(u.value);
    const ns = u.key.namespace ?? 'default';
    const name = serviceAccountProfileName(ns, u.key.name);
    if (r?.kind === 'ServiceAccount') {
      this.explicitSaProfiles.add(name);
      this.sink.profile(name, profileToModel(serviceAccountToProfile(r)));
      return;
    }
    this.explicitSaProfiles.delete(name);
    if (u.key.name === 'default' && this.namespaces.has(ns)) {
      const sa = serviceAccountToProfile({
        apiVersion: 'v1',
        kind: 'ServiceAccount',
        metadata: { name: 'default', namespace: ns },
      });
      this.sink.profile(name, profileToModel(sa));
    } else {
      this.sink.profile(name, undefined);
    }
  }

  private processWorkload(k: string, u: ResourceUpdate): void {
    const r = decoded(u.value);
    let model: ModelEndpoint | undefined;
    if (r?.kind === 'WorkloadEndpoint') model = workloadEndpointToModel(r);
    else if (r?.kind === 'Pod') {
      const wep = podToWorkloadEndpoint(r);
      model = wep !== undefined ? workloadEndpointToModel(wep) : undefined;
    }
    const old = this.produced.get(k);
    const id = model !== undefined ? endpointKeyString(model.key) : old;
    const source = u.key.kind === 'Pod' ? 'pod' : 'wep';
    if (old !== undefined && old !== id) this.setWorkloadSource(old, source, undefined);
    if (id === undefined) return;
    if (model === undefined) this.produced.delete(k);
    else this.produced.set(k, id);
    this.setWorkloadSource(id, source, model);
  }

  private setWorkloadSource(id: string, source: 'pod' | 'wep', model: ModelEndpoint | undefined): void {
    const old = this.wepSources.get(id) ?? {};
    const entry =
      source === 'pod'
        ? {
            ...(old.wep !== undefined ? { wep: old.wep } : {}),
            ...(model !== undefined ? { pod: model } : {}),
          }
        : {
            ...(old.pod !== undefined ? { pod: old.pod } : {}),
            ...(model !== undefined ? { wep: model } : {}),
          };
    if (entry.wep === undefined && entry.pod === undefined) this.wepSources.delete(id);
    else this.wepSources.set(id, entry);
    this.sink.endpoint(id, entry.wep ?? entry.pod);
  }
}
