/**
 * create / apply / replace of a validated input, in two phases:
 * 1. `planWrites` refuses the reserved names of views (`knp.default.*` NetworkPolicies, `kns.`/`ksa.`
 *    Profiles, as Calico does) and reads what is stored to check what needs the datastore: the policy's tier
 *    exists (or is in the same input), read-only objects stay unchanged. Any problem there means nothing is
 *    written. It then decides one step
 *    per resource (Calico's Apply = create or update; Create fails if it exists; Update fails if missing;
 *    a given resourceVersion must be current), and drops writes that would change nothing.
 * 2. `executeWrites` performs the steps: plain applies in one `applyMany` (batched by the backend),
 *    creates and compare-and-swap updates one by one, a few at a time.
 */
import { DEFAULT_ALLOW_PROFILE_NAME } from '../api/tiers.js';
import { formatKey, keyString, type Resource, type ResourceKey } from '../datastore/index.js';
import { AlreadyExistsError, ConflictError, errorMessage } from '../lib/errors.js';
import { CLUSTER_INFO_KIND, TIERED_KINDS, type CalicoClient } from './client.js';
import { fieldAt, mergeForUpdate, prepareForCreate, sameContent } from './objects.js';
import { reservedNameProblem } from './views.js';
import { mapLimit } from './async-pool.js';
import type { InputResource } from './resource-input.js';

export type WriteAction = 'apply' | 'create' | 'replace';

export type WriteStep =
  | { readonly type: 'noop' }
  | { readonly type: 'error'; readonly message: string }
  | { readonly type: 'batch'; readonly obj: Resource }
  | { readonly type: 'create'; readonly obj: Resource }
  | { readonly type: 'update'; readonly obj: Resource; readonly resourceVersion: string };

export interface WritePlan {
  /** Input problems found against the datastore: when any, nothing may be written. */
  readonly problems: readonly string[];
  /** One step per input resource, in input order. */
  readonly steps: readonly WriteStep[];
}

export interface WriteOptions {
  /** `create --skip-exists`: an existing resource counts as created. */
  readonly skipExists: boolean;
}

/** Calico's ErrorOperationNotSupported wording per action. */
const CLUSTER_INFO_OPERATION: Record<WriteAction, string> = {
  apply: 'apply',
  create: 'create or apply',
  replace: 'apply or replace',
};

/**
 * The operation Calico names when it refuses a write (resourcemgr: create -> "create or apply"; apply falls
 * back to update -> "apply or replace"). `validate` checks what create and apply would do.
 */
export const WRITE_OPERATION: Record<WriteAction | 'validate', string> = {
  create: 'create or apply',
  apply: 'apply or replace',
  replace: 'apply or replace',
  validate: 'create or apply',
};

const CONCURRENCY = 32;

export function conflictMessage(key: ResourceKey, given: string, latest: string | undefined): string {
  return (
    `update conflict: ${formatKey(key)}: resource version '${given}' is out of date (latest: ${latest ?? 'none'}). ` +
    'Update the resource YAML/JSON in order to make changes.'
  );
}

interface Context {
  readonly action: WriteAction;
  readonly opts: WriteOptions;
  readonly existing: ReadonlyMap<string, Resource>;
  readonly tiers: ReadonlySet<string>;
}

/** Problems that block the whole input (checked against the datastore). */
function checkItem(item: InputResource, ctx: Context): string | undefined {
  const { key, resource, label } = item;
  const reserved = reservedNameProblem(key, WRITE_OPERATION[ctx.action]);
  if (reserved !== undefined) return `${label}: ${reserved}`;
  if (key.kind === CLUSTER_INFO_KIND) {
    return `${label}: operation ${CLUSTER_INFO_OPERATION[ctx.action]} is not supported on ClusterInformation: resource is readonly`;
  }
  if (TIERED_KINDS.includes(key.kind)) {
    const tier = fieldAt(resource, 'spec.tier');
    if (typeof tier === 'string' && !ctx.tiers.has(tier)) {
      return `${label}: spec.tier: tier "${tier}" does not exist (create the Tier first)`;
    }
  }
  if (key.kind === 'Profile' && key.name === DEFAULT_ALLOW_PROFILE_NAME) {
    const stored = ctx.existing.get(keyString(key));
    if (stored !== undefined && !sameContent(stored, mergeForUpdate(stored, resource))) {
      return `${label}: operation ${ctx.action} is not supported on Profile(${key.name}): the default-allow profile is built in and read-only`;
    }
  }
  return undefined;
}

function stepFor(item: InputResource, ctx: Context, superseded: boolean, seen: Set<string>): WriteStep {
  const { key, resource, resourceVersion: rv } = item;
  const k = keyString(key);
  const stored = ctx.existing.get(k);
  if (ctx.action === 'create') {
    if (stored !== undefined || seen.has(k)) {
      return ctx.opts.skipExists
        ? { type: 'noop' }
        : { type: 'error', message: `resource already exists: ${formatKey(key)}` };
    }
    seen.add(k);
    return { type: 'create', obj: prepareForCreate(resource) };
  }
  // apply and replace: when a key repeats in the input, the last document wins.
  if (superseded) return { type: 'noop' };
  if (stored === undefined) {
    if (ctx.action === 'replace')
      return { type: 'error', message: `resource does not exist: ${formatKey(key)}` };
    return { type: 'batch', obj: prepareForCreate(resource) };
  }
  const latest = stored.metadata.resourceVersion;
  if (rv !== undefined && rv !== latest) return { type: 'error', message: conflictMessage(key, rv, latest) };
  const merged = mergeForUpdate(stored, resource);
  if (sameContent(stored, merged)) return { type: 'noop' };
  if (rv !== undefined || ctx.action === 'replace') {
    return { type: 'update', obj: merged, resourceVersion: rv ?? latest ?? '' };
  }
  return { type: 'batch', obj: merged };
}

export async function planWrites(
  client: CalicoClient,
  items: readonly InputResource[],
  action: WriteAction,
  opts: WriteOptions,
): Promise<WritePlan> {
  const needTiers = items.some((i) => TIERED_KINDS.includes(i.key.kind));
  const [existing, stored] = await Promise.all([
    client.fetch(items.map((i) => i.key)),
    needTiers ? client.tierNames() : Promise.resolve(new Set<string>()),
  ]);
  const tiers = new Set(stored);
  for (const i of items) if (i.key.kind === 'Tier') tiers.add(i.key.name);
  const ctx: Context = { action, opts, existing, tiers };
  const problems = items.map((i) => checkItem(i, ctx)).filter((p): p is string => p !== undefined);
  if (problems.length > 0) return { problems, steps: [] };
  const last = new Map<string, number>();
  items.forEach((i, n) => last.set(keyString(i.key), n));
  const seen = new Set<string>();
  const steps = items.map((i, n) => stepFor(i, ctx, last.get(keyString(i.key)) !== n, seen));
  return { problems, steps };
}

async function runSingle(
  client: CalicoClient,
  step: WriteStep,
  skipExists: boolean,
): Promise<string | undefined> {
  try {
    if (step.type === 'create') await client.backend.create(step.obj);
    else if (step.type === 'update') {
      const obj = { ...step.obj, metadata: { ...step.obj.metadata, resourceVersion: step.resourceVersion } };
      await client.backend.update(obj);
    }
    return undefined;
  } catch (e) {
    if (e instanceof AlreadyExistsError && skipExists) return undefined;
    if (e instanceof ConflictError) {
      return `${e.message}: the resource changed while this command ran; get it again and retry`;
    }
    return errorMessage(e);
  }
}

/** Performs the plan; returns the errors, one per resource that failed (in input order). */
export async function executeWrites(
  client: CalicoClient,
  plan: WritePlan,
  opts: WriteOptions,
): Promise<string[]> {
  const results: (string | undefined)[] = plan.steps.map((s) => (s.type === 'error' ? s.message : undefined));
  const batch: { index: number; obj: Resource }[] = [];
  const singles: { index: number; step: WriteStep }[] = [];
  plan.steps.forEach((s, index) => {
    if (s.type === 'batch') batch.push({ index, obj: s.obj });
    else if (s.type === 'create' || s.type === 'update') singles.push({ index, step: s });
  });
  if (batch.length > 0) {
    try {
      await client.backend.applyMany(batch.map((b) => b.obj));
    } catch (e) {
      for (const b of batch) results[b.index] = errorMessage(e);
    }
  }
  const outcomes = await mapLimit(singles, CONCURRENCY, (s) => runSingle(client, s.step, opts.skipExists));
  singles.forEach((s, i) => (results[s.index] = outcomes[i]));
  return results.filter((r): r is string => r !== undefined);
}
