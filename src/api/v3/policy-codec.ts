/**
 * Shared decoding, validation and defaulting of the Calico policy kinds (reference §1.2, §3.2): the spec
 * field decoders, GlobalNetworkPolicy's doNotTrack/preDNAT constraints, the staged `Delete` constraint,
 * and Calico's defaults (tier, types, the tier label). Rule checks, per direction, are in `rule-codec.ts`.
 */
import {
  bool,
  checked,
  type Decoder,
  type FieldSpec,
  type Issues,
  isRecord,
  list,
  num,
  oneOf,
  opt,
  schemaOf,
  show,
  withDefault,
  withSchema,
} from '../decoder.js';
import type { ObjectMeta } from '../meta.js';
import { checkSubdomain } from '../names.js';
import { selectorField } from '../selector-field.js';
import type { PolicyType } from './rule.js';
import { rulesField } from './rule-codec.js';
import type { GlobalNetworkPolicySpec, PolicySpecCommon, StagedAction } from './policy.js';

export const DEFAULT_TIER = 'default';
/** Label Calico sets on every policy to the name of its tier. */
export const TIER_LABEL = 'projectcalico.org/tier';

/**
 * A policy's tier: a resource name (`validate:"name"`, a DNS subdomain, as in Calico v3.32; the Tier itself
 * must exist, which the client checks); empty means the default tier (Calico's TierOrDefault).
 */
export const tierField: Decoder<string> = withSchema({ type: 'string' }, (v, path, issues) => {
  if (v === '') return DEFAULT_TIER;
  return checked((s) => checkSubdomain(s, 'tier name'))(v, path, issues);
});

const policyTypeList = list(oneOf(['Ingress', 'Egress'], 'policy type'), { maxItems: 2, unique: true });

/** Policy types; an empty list counts as absent, so that the types are inferred. */
export const policyTypesField: Decoder<PolicyType[]> = withSchema(
  schemaOf(policyTypeList),
  (v, path, issues) => {
    const types = policyTypeList(v, path, issues);
    return types === undefined || types.length === 0 ? undefined : types;
  },
);

const performanceHintsField = list(oneOf(['AssumeNeededOnEveryNode'], 'performance hint'), { unique: true });
export const stagedActionField: Decoder<StagedAction> = oneOf(
  ['Set', 'Delete', 'Learn', 'Ignore'],
  'stagedAction',
);

/** Types inferred from the rules; a staged Delete policy keeps none. */
function typesDefault(decoded: Readonly<Record<string, unknown>>): PolicyType[] | undefined {
  if (decoded['stagedAction'] === 'Delete') return undefined;
  return inferTypes(decoded);
}

/**
 * Field specs common to NetworkPolicy and GlobalNetworkPolicy, grouped so that each kind can list them
 * in Calico's JSON order.
 */
export function commonHead(scope: 'namespaced' | 'global') {
  return {
    tier: withDefault(tierField, DEFAULT_TIER),
    order: opt(num),
    ingress: opt(rulesField({ direction: 'ingress', scope })),
    egress: opt(rulesField({ direction: 'egress', scope })),
    selector: opt(selectorField()),
    types: withDefault(policyTypesField, typesDefault),
  } satisfies Partial<Record<keyof PolicySpecCommon, FieldSpec<unknown>>>;
}

export const commonTail = {
  serviceAccountSelector: opt(selectorField()),
  performanceHints: opt(performanceHintsField),
} satisfies Partial<Record<keyof PolicySpecCommon, FieldSpec<unknown>>>;

export const globalOnly = {
  doNotTrack: opt(bool),
  preDNAT: opt(bool),
  applyOnForward: opt(bool),
  namespaceSelector: opt(selectorField()),
} satisfies Partial<Record<keyof GlobalNetworkPolicySpec, FieldSpec<unknown>>>;

/** doNotTrack / preDNAT / applyOnForward (GlobalNetworkPolicy only). */
export function checkGlobalPolicyFlags(spec: GlobalNetworkPolicySpec, issues: Issues): void {
  const doNotTrack = spec.doNotTrack === true;
  const preDNAT = spec.preDNAT === true;
  if (doNotTrack && preDNAT) issues.add('spec.preDNAT', 'preDNAT and doNotTrack cannot both be true');
  if (preDNAT && (spec.egress ?? []).length > 0) {
    issues.add('spec.egress', `preDNAT policy cannot have egress rules (has ${(spec.egress ?? []).length})`);
  }
  if (preDNAT && (spec.types ?? []).includes('Egress')) {
    issues.add('spec.types', `preDNAT policy cannot have type "Egress" (types are ${show(spec.types)})`);
  }
  if ((doNotTrack || preDNAT) && spec.applyOnForward !== true) {
    issues.add(
      'spec.applyOnForward',
      `applyOnForward must be true when ${doNotTrack ? 'doNotTrack' : 'preDNAT'} is true (applyOnForward is ${spec.applyOnForward ?? false})`,
    );
  }
}

/** A value left at Go's zero value (absent, "", false, empty list, nil pointer). */
function isZero(v: unknown): boolean {
  if (Array.isArray(v)) return v.length === 0;
  if (isRecord(v)) return Object.keys(v).length === 0;
  return v === undefined || v === '' || v === false;
}

/** A staged policy with stagedAction Delete may set nothing but the tier (and the action). */
export function checkStagedDelete(spec: object, issues: Issues, keep: readonly string[]): void {
  for (const [k, v] of Object.entries(spec)) {
    if (keep.includes(k) || isZero(v)) continue;
    issues.add(`spec.${k}`, `must not be set when stagedAction is "Delete" (value ${show(v)})`);
  }
}

/** Policy types inferred from the rules when none are given (reference §3.2). */
export function inferTypes(spec: PolicySpecCommon): PolicyType[] {
  if ((spec.types ?? []).length > 0) return [...(spec.types ?? [])];
  const ingress = (spec.ingress ?? []).length > 0;
  const egress = (spec.egress ?? []).length > 0;
  if (!egress) return ['Ingress'];
  return ingress ? ['Ingress', 'Egress'] : ['Egress'];
}

/** Calico sets the `projectcalico.org/tier` label of every policy to its tier (on create and on read). */
export function withTierLabel(metadata: ObjectMeta, tier: string | undefined): ObjectMeta {
  return { ...metadata, labels: { ...metadata.labels, [TIER_LABEL]: tier ?? DEFAULT_TIER } };
}
