/**
 * Update processing at the graph's entrance (Felix's validation filter in front of libcalico-go's update
 * processors): a value that does not decode, or decodes to a kind other than its key's, is treated as
 * missing, so downstream nodes never see invalid data. Policy-model kinds then go through the one
 * resource -> model conversion (model/converter.ts, shared with `buildSnapshot`), which also resolves Pod vs
 * WorkloadEndpoint and the implicit default service account. FelixConfiguration passes through as raw spec;
 * cluster-networking inputs (Node, IPPool, IPAMBlock, BlockAffinity) become the small values of
 * network-model.ts.
 */
import type { Resource } from '../api/decode.js';
import { decodeResource } from '../api/decode.js';
import { internalKind } from '../api/kinds.js';
import { ModelConverter } from '../model/converter.js';
import type { ModelUpdateSink } from '../model/converter.js';
import { isModelInput, type ModelInput } from '../model/inputs.js';
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
export interface ModelSink extends ModelUpdateSink {
  felixConfig(name: string, spec: Readonly<Record<string, unknown>> | undefined): void;
  node(name: string, n: NodeInfo | undefined): void;
  ipPool(name: string, p: PoolInfo | undefined): void;
  ipamBlock(name: string, b: BlockInfo | undefined): void;
  blockAffinity(name: string, a: AffinityInfo | undefined): void;
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

/**
 * The model input an update of a policy-model kind carries; undefined when deleted, invalid, or of another
 * kind than its key's. (Also used by the flow collector's model of staged policies, agent/flows.)
 */
export function modelInputOf(u: ResourceUpdate): ModelInput | undefined {
  const r = decoded(u.value);
  return r !== undefined && isModelInput(r) && internalKind(r.apiVersion, r.kind) === u.key.kind
    ? r
    : undefined;
}

export class InputProcessor {
  private readonly sink: ModelSink;
  private readonly model: ModelConverter;

  constructor(sink: ModelSink) {
    this.sink = sink;
    this.model = new ModelConverter(sink);
  }

  /** Tells the sink the values that exist before any update: the built-in tiers and default-allow profile. */
  start(): void {
    this.model.replay();
  }

  process(u: ResourceUpdate): void {
    switch (u.key.kind) {
      case 'GlobalNetworkPolicy':
      case 'NetworkPolicy':
      case 'StagedGlobalNetworkPolicy':
      case 'StagedNetworkPolicy':
      case 'StagedKubernetesNetworkPolicy':
      case 'KubernetesNetworkPolicy':
      case 'AdminNetworkPolicy':
      case 'BaselineAdminNetworkPolicy':
      case 'ClusterNetworkPolicy':
      case 'Tier':
      case 'Profile':
      case 'Namespace':
      case 'ServiceAccount':
      case 'NetworkSet':
      case 'GlobalNetworkSet':
      case 'HostEndpoint':
      case 'WorkloadEndpoint':
      case 'Pod':
        this.model.update(u.key, modelInputOf(u));
        return;
      case 'FelixConfiguration':
        this.sink.felixConfig(u.key.name, rawSpec(u.value));
        return;
      case 'Node':
        // Its labels and addresses resolve admin policies' `nodes` peers; its networking goes on below.
        this.model.update(u.key, modelInputOf(u));
        this.processNetwork(u);
        return;
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
}
