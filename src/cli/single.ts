/**
 * Shared by `patch` and `label`, which change one stored object named by KIND NAME: resolving the key,
 * and storing the changed object with the same checks as apply (validation and defaults of the kind,
 * existing tier, read-only objects) as a compare-and-swap on the version that was read.
 */
import { kindArgument } from './resource-types.js';
import { decodeResource } from '../api/decode.js';
import { CALICO_API_VERSION } from '../api/meta.js';
import { DEFAULT_ALLOW_PROFILE_NAME } from '../api/tiers.js';
import type { Resource, ResourceKey } from '../datastore/index.js';
import { ConflictError, formatIssue } from '../lib/errors.js';
import { CLUSTER_INFO_KIND, TIERED_KINDS, type CalicoClient } from './client.js';
import type { OptionValues } from './command.js';
import { CliError } from './io.js';
import { KNP_KIND } from './knp.js';
import { resolveNamespace } from './namespaces.js';
import { fieldAt, mergeForUpdate, sameContent } from './objects.js';
import { namespaceFlags } from './options.js';
import { reservedNameProblem } from './views.js';

export interface NamedTarget {
  readonly key: ResourceKey;
  /** The document kind, as calicoctl names it in messages (`NetworkPolicy` for Kubernetes ones too). */
  readonly documentKind: string;
}

export function namedTarget(values: OptionValues, kindArg: string, name: string): NamedTarget {
  const info = kindArgument(kindArg);
  if (name === '') throw new CliError('resource name may not be empty');
  const ns = resolveNamespace(info.kind, info.namespaced, undefined, namespaceFlags(values));
  if (!ns.ok) throw new CliError(ns.error);
  const key =
    ns.value === undefined ? { kind: info.kind, name } : { kind: info.kind, namespace: ns.value, name };
  if (info.kind === CLUSTER_INFO_KIND) {
    throw new CliError('operation apply or replace is not supported on ClusterInformation');
  }
  // label and patch update the object: Calico's update wording.
  const reserved = reservedNameProblem(key, 'apply or replace');
  if (reserved !== undefined) throw new CliError(reserved);
  return { key, documentKind: info.kind === KNP_KIND ? 'NetworkPolicy' : info.kind };
}

function sameIdentity(a: Resource, b: Resource): boolean {
  return (
    a.apiVersion === b.apiVersion &&
    a.kind === b.kind &&
    a.metadata.name === b.metadata.name &&
    a.metadata.namespace === b.metadata.namespace
  );
}

/**
 * Validates `candidate` (a changed copy of `stored`) and writes it unless nothing changed. Throws
 * CliError with the reason (invalid field, missing tier, read-only object, concurrent change).
 */
export async function storeChanged(
  client: CalicoClient,
  stored: Resource,
  candidate: Resource,
): Promise<Resource> {
  if (!sameIdentity(stored, candidate)) {
    throw new CliError('apiVersion, kind, metadata.name and metadata.namespace cannot be changed');
  }
  const decoded = decodeResource(mergeForUpdate(stored, candidate));
  if (!decoded.ok) throw new CliError(`error with field(s): ${decoded.error.map(formatIssue).join('; ')}`);
  const next = decoded.value as Resource;
  if (sameContent(stored, next)) return stored;
  if (next.kind === 'Profile' && next.metadata.name === DEFAULT_ALLOW_PROFILE_NAME) {
    throw new CliError(`the ${DEFAULT_ALLOW_PROFILE_NAME} profile is built in and read-only`);
  }
  if (TIERED_KINDS.includes(next.kind) && next.apiVersion === CALICO_API_VERSION) {
    const tier = fieldAt(next, 'spec.tier');
    if (typeof tier === 'string' && !(await client.tierNames()).has(tier)) {
      throw new CliError(`spec.tier: tier "${tier}" does not exist (create the Tier first)`);
    }
  }
  try {
    return await client.backend.update({
      ...next,
      metadata: { ...next.metadata, resourceVersion: stored.metadata.resourceVersion ?? '' },
    });
  } catch (e) {
    if (e instanceof ConflictError) {
      throw new CliError(`${e.message}: the resource changed while this command ran; try again`);
    }
    throw e;
  }
}
