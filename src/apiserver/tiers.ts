/**
 * Calico's tier rules in its API server (v3.32.1 `apiserver/pkg/registry/projectcalico/authorizer`, the
 * policy storages, libcalico-go `clientv3/tier.go` and the policy clients):
 * - **Tier RBAC** for the tiered policy kinds: besides the verb on the policy resource, the user needs `get`
 *   on `tiers` named the policy's tier, and the verb on the pseudo-resource `tier.<resource>` named either
 *   the policy or `<tier>.*`. Asked by SubjectAccessReview; refused 403 with Calico's message
 *   (`User "u" cannot create globalnetworkpolicies.projectcalico.org in tier "sec" (user cannot get tier)`).
 *   Checked on get, create, update (old and new tier), patch and delete; lists and watches are not
 *   tier-filtered here.
 * - A policy whose tier does not exist is not written: libcalico's tier lookup fails, which Calico's API
 *   server answers as NotFound naming the policy.
 * - A tier that still has policies (of any tiered kind) is not deleted (`operation delete is not supported
 *   on <tier>: Cannot delete a non-empty tier`), nor a built-in tier (`operation Delete is not supported on
 *   default: Cannot delete default tier`), both as InternalError with libcalico's text.
 */
import { isBuiltInTier } from '../api/tiers.js';
import type { Backend, Resource } from '../datastore/index.js';
import type { DelegatingAuthorizer, RequestAttributes, UserInfo } from './auth.js';
import { GROUP } from './resources.js';
import { failure } from './status.js';

export const TIERED_KINDS: readonly string[] = [
  'NetworkPolicy',
  'GlobalNetworkPolicy',
  'StagedNetworkPolicy',
  'StagedGlobalNetworkPolicy',
];

export const DEFAULT_TIER = 'default';

/** Calico's `names.TierOrDefault` of a document's `spec.tier`. */
export function tierOf(doc: unknown): string {
  const spec = typeof doc === 'object' && doc !== null ? (doc as { spec?: unknown }).spec : undefined;
  const tier = typeof spec === 'object' && spec !== null ? (spec as { tier?: unknown }).tier : undefined;
  return typeof tier === 'string' && tier !== '' ? tier : DEFAULT_TIER;
}

/** Whether a tier of that name is stored (or built in). */
export async function tierExists(backend: Backend, tier: string): Promise<boolean> {
  if (isBuiltInTier(tier)) return true;
  const tiers = await backend.list({ kind: 'Tier' });
  return tiers.items.some((t) => t.metadata.name === tier);
}

/** Refuses the deletion of a built-in or non-empty tier, with libcalico's text. */
export async function checkTierDeletable(backend: Backend, tier: string): Promise<void> {
  if (isBuiltInTier(tier))
    throw failure(
      'InternalError',
      `operation Delete is not supported on ${tier}: Cannot delete ${tier} tier`,
    );
  for (const kind of TIERED_KINDS) {
    const listed = await backend.list({ kind });
    if (listed.items.some((p: Resource) => tierOf(p) === tier))
      throw failure(
        'InternalError',
        `operation delete is not supported on ${tier}: Cannot delete a non-empty tier`,
      );
  }
}

type ResourceAttributes = Extract<RequestAttributes, { type: 'resource' }>;

/** Calico's tier authoriser: throws 403 with its message unless the user may act on policies in `tier`. */
export async function authorizeTier(
  authorizer: DelegatingAuthorizer,
  user: UserInfo,
  attrs: ResourceAttributes,
  policyName: string,
  tier: string,
): Promise<void> {
  const scoped = `tier.${attrs.resource}`;
  const base = {
    type: 'resource' as const,
    verb: attrs.verb,
    resource: scoped,
    ...(attrs.namespace === undefined ? {} : { namespace: attrs.namespace }),
  };
  const [getTier, byName, wildcard] = await Promise.all([
    authorizer.authorize(user, { type: 'resource', verb: 'get', resource: 'tiers', name: tier }),
    authorizer.authorize(user, { ...base, ...(policyName === '' ? {} : { name: policyName }) }),
    authorizer.authorize(user, { ...base, name: `${tier}.*` }),
  ]);
  if (getTier.allowed && (byName.allowed || wildcard.allowed)) return;
  const resource = `${attrs.resource}.${GROUP}`;
  let reason =
    attrs.namespace === undefined
      ? `User ${JSON.stringify(user.name)} cannot ${attrs.verb} ${resource} in tier ${JSON.stringify(tier)}`
      : `User ${JSON.stringify(user.name)} cannot ${attrs.verb} ${resource} in tier ${JSON.stringify(tier)} and namespace ${JSON.stringify(attrs.namespace)}`;
  if (!getTier.allowed) reason += ' (user cannot get tier)';
  const what = policyName === '' ? resource : `${resource} ${JSON.stringify(policyName)}`;
  throw failure('Forbidden', `${what} is forbidden: ${reason}`, {
    name: policyName,
    group: GROUP,
    kind: attrs.resource,
  });
}
