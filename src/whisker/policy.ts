/**
 * `GET /policy?kind=&namespace=&name=`: the policy a flow's policy hit names, read from the datastore and
 * printed as `calicoctl get -o yaml` prints it (projectcalico.org/v3, keys sorted), with each ingress and
 * egress rule as its own YAML so that the viewer can show the rule at a hit's rule_index. `kind` is the hit's
 * kind (Goldmane's PolicyKind names). A Kubernetes NetworkPolicy (kind `NetworkPolicy`) is printed as stored
 * (networking.k8s.io/v1) and its rules as Calico enforces them (the converted Calico rules, whose indexes the
 * hits carry). Profiles, end of tier and ClusterNetworkPolicies are not policies stored under that name: a 400
 * says so.
 */
import { decodeResource } from '../api/decode.js';
import { CALICO_API_VERSION } from '../api/meta.js';
import { toYaml } from '../api/yaml-output.js';
import type { Backend, Resource, ResourceKey } from '../datastore/index.js';
import { validatedValue } from '../datastore/index.js';
import type { PolicyKind } from '../flows/types.js';
import { POLICY_KINDS } from '../flows/types.js';
import { err, ok, type Result } from '../lib/result.js';
import { k8sNetworkPolicyToCalico } from '../model/k8s-policy.js';

export interface PolicyView {
  readonly kind: PolicyKind;
  readonly namespace: string;
  readonly name: string;
  /** The whole object as `calicoctl get -o yaml` (or, for a Kubernetes NetworkPolicy, kubectl) prints it. */
  readonly yaml: string;
  /** Each rule as YAML, by index, as the hits' rule_index counts them. */
  readonly ingress: readonly string[];
  readonly egress: readonly string[];
  /** Set when the rules are not the printed object's own (a Kubernetes NetworkPolicy's converted rules). */
  readonly rulesNote?: string;
}

/** The datastore kind a hit's kind is stored as (undefined: not a stored policy). */
function storedKind(kind: PolicyKind): { kind: string; namespaced: boolean } | string {
  switch (kind) {
    case 'CalicoNetworkPolicy':
      return { kind: 'NetworkPolicy', namespaced: true };
    case 'GlobalNetworkPolicy':
    case 'StagedGlobalNetworkPolicy':
      return { kind, namespaced: false };
    case 'StagedNetworkPolicy':
    case 'StagedKubernetesNetworkPolicy':
      return { kind, namespaced: true };
    case 'NetworkPolicy':
      return { kind: 'KubernetesNetworkPolicy', namespaced: true };
    case 'Profile':
      return 'a profile is not shown as a policy (its rules allow what the namespace or service account allows)';
    case 'EndOfTier':
      return 'end of tier is not a policy: no policy in the tier matched, so the tier denied';
    case 'AdminNetworkPolicy':
    case 'BaselineAdminNetworkPolicy':
    case 'ClusterNetworkPolicy':
      return { kind, namespaced: false };
    case 'KindUnspecified':
      return 'kind: required';
  }
}

export type PolicyRequest = { readonly key: ResourceKey; readonly kind: PolicyKind };

/** The query of `GET /policy`, checked: the key to read, or what is wrong with the query. */
export function parsePolicyQuery(q: URLSearchParams): Result<PolicyRequest, string> {
  const kindText = q.get('kind') ?? '';
  if (!(POLICY_KINDS as readonly string[]).includes(kindText))
    return err(
      `kind: unknown value ${JSON.stringify(kindText)}; allowed values are '${POLICY_KINDS.join("', '")}'`,
    );
  const kind = kindText as PolicyKind;
  const stored = storedKind(kind);
  if (typeof stored === 'string') return err(`kind ${kind}: ${stored}`);
  const name = q.get('name') ?? '';
  if (name === '') return err('name: required');
  const namespace = q.get('namespace') ?? '';
  if (stored.namespaced && (namespace === '' || namespace === '-'))
    return err(`namespace: required for kind ${kind}`);
  const key: ResourceKey = stored.namespaced
    ? { kind: stored.kind, namespace, name }
    : { kind: stored.kind, name };
  return ok({ key, kind });
}

function rulesOf(spec: unknown, field: 'ingress' | 'egress'): string[] {
  const rules =
    typeof spec === 'object' && spec !== null ? (spec as Record<string, unknown>)[field] : undefined;
  return Array.isArray(rules) ? rules.map((r) => toYaml(r)) : [];
}

/** Reads the policy (NotFoundError when absent; StoredValueError when the stored value is not valid). */
export async function readPolicy(backend: Backend, req: PolicyRequest): Promise<PolicyView> {
  const stored = validatedValue(req.key, await backend.get(req.key));
  const base = {
    kind: req.kind,
    namespace: req.key.namespace ?? '',
    name: req.key.name,
    yaml: toYaml(stored),
  };
  if (req.key.kind !== 'KubernetesNetworkPolicy') {
    const spec = (stored as Resource & { spec?: unknown }).spec;
    return { ...base, ingress: rulesOf(spec, 'ingress'), egress: rulesOf(spec, 'egress') };
  }
  const decoded = decodeResource(stored);
  const spec =
    decoded.ok && decoded.value.kind === 'NetworkPolicy' && decoded.value.apiVersion !== CALICO_API_VERSION
      ? k8sNetworkPolicyToCalico(decoded.value.spec)
      : undefined;
  return {
    ...base,
    ingress: rulesOf(spec, 'ingress'),
    egress: rulesOf(spec, 'egress'),
    rulesNote: 'rules as Calico enforces this Kubernetes NetworkPolicy (projectcalico.org/v3 form)',
  };
}
