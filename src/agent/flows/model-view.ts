/**
 * The flow collector's model of the cluster: every endpoint, network set, policy (staged ones included, which
 * the calc graph drops) and profile, from the same syncer updates as the calc graph. It names the ends of a
 * flow (flows/endpoints.ts) and evaluates the pending trace with the reference evaluator (staged policies as
 * if enforced). While flow logs are off only the raw updates of the model kinds are kept (no conversion);
 * the model is built when they are first turned on, then kept up to date, and its snapshot, index and
 * evaluator are rebuilt at most once per flush after a change.
 */
import { modelInputOf, type ResourceUpdate } from '../../calc/inputs.js';
import { FlowEndpointIndex } from '../../flows/endpoints.js';
import { ModelConverter } from '../../model/converter.js';
import { snapshotOf } from '../../model/snapshot.js';
import { PolicyEvaluator } from '../../policy/evaluator.js';
import type { ResolvedNames } from '../../model/dns-cache.js';

const MODEL_KINDS: ReadonlySet<string> = new Set([
  'GlobalNetworkPolicy',
  'NetworkPolicy',
  'StagedGlobalNetworkPolicy',
  'StagedNetworkPolicy',
  'StagedKubernetesNetworkPolicy',
  'KubernetesNetworkPolicy',
  'AdminNetworkPolicy',
  'BaselineAdminNetworkPolicy',
  'ClusterNetworkPolicy',
  'Node',
  'Tier',
  'Profile',
  'Namespace',
  'ServiceAccount',
  'NetworkSet',
  'GlobalNetworkSet',
  'HostEndpoint',
  'WorkloadEndpoint',
  'Pod',
]);

function keyString(k: ResourceUpdate['key']): string {
  return `${k.kind}/${k.namespace ?? ''}/${k.name}`;
}

function generateNameOf(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const meta = (value as { metadata?: { generateName?: unknown } }).metadata;
  return typeof meta?.generateName === 'string' && meta.generateName !== '' ? meta.generateName : undefined;
}

export interface ModelViews {
  readonly endpoints: FlowEndpointIndex;
  readonly evaluator: PolicyEvaluator;
  /** Bumped whenever the model changed: pending traces cached under an older one are stale. */
  readonly version: number;
}

export class FlowModelView {
  /** Latest update per resource while the converter is not built. */
  readonly #raw = new Map<string, ResourceUpdate>();
  /** Pods' generateName by `<namespace>/<pod>`. */
  readonly #generateNames = new Map<string, string>();
  #converter: ModelConverter | undefined;
  #views: ModelViews | undefined;
  #version = 0;
  readonly #resolvedNames: ResolvedNames | undefined;

  /** `resolvedNames`: DNS policy's learned names, read live by every pending evaluation. */
  constructor(resolvedNames?: ResolvedNames) {
    this.#resolvedNames = resolvedNames;
  }

  onUpdates(updates: readonly ResourceUpdate[]): void {
    for (const u of updates) {
      if (!MODEL_KINDS.has(u.key.kind)) continue;
      if (u.key.kind === 'Pod') {
        const k = `${u.key.namespace ?? ''}/${u.key.name}`;
        const gn = generateNameOf(u.value);
        if (gn === undefined) this.#generateNames.delete(k);
        else this.#generateNames.set(k, gn);
      }
      if (this.#converter !== undefined) {
        this.#converter.update(u.key, modelInputOf(u));
        this.#views = undefined;
      } else if (u.value === null) this.#raw.delete(keyString(u.key));
      else this.#raw.set(keyString(u.key), u);
    }
  }

  /** Builds the model (flow logs turned on). */
  activate(): void {
    if (this.#converter !== undefined) return;
    const c = new ModelConverter();
    for (const u of this.#raw.values()) c.update(u.key, modelInputOf(u));
    this.#raw.clear();
    this.#converter = c;
    this.#views = undefined;
  }

  /**
   * Flow logs turned off: the derived views are released. The model itself stays (kept current by the
   * updates), since the raw updates it was built from are gone.
   */
  release(): void {
    this.#views = undefined;
  }

  views(): ModelViews {
    this.activate();
    if (this.#views === undefined) {
      const snapshot = snapshotOf(this.#converter as ModelConverter);
      this.#views = {
        endpoints: new FlowEndpointIndex(snapshot, (ns, pod) => this.#generateNames.get(`${ns}/${pod}`)),
        evaluator: new PolicyEvaluator(
          snapshot,
          this.#resolvedNames !== undefined ? { resolvedNames: this.#resolvedNames } : {},
        ),
        version: ++this.#version,
      };
    }
    return this.#views;
  }
}
