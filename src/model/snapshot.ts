/**
 * A complete, immutable backend model built from a set of resources: what a node's calculation graph holds
 * after sync, and what the reference evaluator decides against. Built by the same converter the agent's
 * graph uses (converter.ts), so the two cannot differ in how resources become model values.
 */
import { ModelConverter, sourceKeyOf } from './converter.js';
import type { ModelInput } from './inputs.js';
import type { ModelEndpoint, ModelNetworkSet, ModelPolicy, ModelProfile, ModelTier } from './types.js';

export { isModelInput, type ModelInput } from './inputs.js';

export interface ModelSnapshot {
  readonly tiers: ReadonlyMap<string, ModelTier>;
  /** Sorted by policy id. */
  readonly policies: readonly ModelPolicy[];
  readonly profiles: ReadonlyMap<string, ModelProfile>;
  /** Sorted by endpoint id (`hep/<name>`, `wep/<namespace>/<name>`). */
  readonly endpoints: readonly ModelEndpoint[];
  /** Sorted by set id. */
  readonly networkSets: readonly ModelNetworkSet[];
}

/** The snapshot of a converter's current values. */
export function snapshotOf(converter: ModelConverter): ModelSnapshot {
  const v = converter.values();
  return {
    tiers: new Map(v.tiers.map((t) => [t.name, t])),
    policies: v.policies,
    profiles: new Map(v.profiles.map((p) => [p.name, p])),
    endpoints: v.endpoints,
    networkSets: v.networkSets,
  };
}

/**
 * The model of a set of resources. Resources are keyed as the datastore keys them (kind, namespace, name):
 * a later resource with the same key replaces an earlier one, as a second `apply` would.
 */
export function buildSnapshot(resources: readonly ModelInput[]): ModelSnapshot {
  const converter = new ModelConverter();
  for (const r of resources) converter.update(sourceKeyOf(r), r);
  return snapshotOf(converter);
}
