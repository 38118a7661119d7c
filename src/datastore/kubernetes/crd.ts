/**
 * A calico-ts resource (projectcalico.org/v3) <-> the custom resource Calico v3.32.1 writes for it in
 * `crd.projectcalico.org/v1` (libcalico-go/lib/backend/k8s/resources/resources.go
 * `ConvertCalicoResourceToK8sResource` / `ConvertK8sResourceToCalicoResource`). Pure.
 *
 * Writing: the custom resource keeps name, namespace and resourceVersion; its uid is the v3 uid translated
 * (uid.ts); its labels and annotations are only Calico's own (keys containing `projectcalico.org/` or
 * `operator.tigera.io/`); everything else of the v3 metadata (labels, annotations, creationTimestamp, owner
 * references with Calico owners translated, finalizers, ...) goes as JSON into the annotation
 * `projectcalico.org/metadata`, with the name only for the four Calico policy kinds. The spec is the v3 spec,
 * except where the v1 types differ (spec-v1.ts).
 *
 * Reading: the metadata annotation, when present, replaces the custom resource's metadata (labels and
 * annotations are merged over the custom resource's, the annotation itself removed); a policy whose annotation
 * has no name was written before v3.30 as `default.<name>` and loses that prefix in the default tier.
 * Without the annotation the custom resource's metadata is kept as is. The uid is always translated.
 */
import { internalKind } from '../../api/kinds.js';
import { CALICO_API_VERSION, type ObjectMeta, type OwnerReference } from '../../api/meta.js';
import { ValidationError } from '../../lib/errors.js';
import type { Resource } from '../api.js';
import { CRD_API_VERSION, crdNamesOf, kddPlacement, kindOfCrd } from './kinds.js';
import { crdName, specFromV1, specToV1 } from './spec-v1.js';
import { goMap } from './go-json.js';
import { convertUid } from './uid.js';

/** A `crd.projectcalico.org/v1` object as sent to and read from the API server. */
export interface CustomResource {
  readonly apiVersion: string;
  readonly kind: string;
  readonly metadata: ObjectMeta;
  readonly spec?: unknown;
  readonly status?: unknown;
}

export const METADATA_ANNOTATION = 'projectcalico.org/metadata';

/** The kinds whose v3 name is kept in the metadata annotation (resources.go). */
const NAME_IN_ANNOTATION = new Set([
  'NetworkPolicy',
  'GlobalNetworkPolicy',
  'StagedNetworkPolicy',
  'StagedGlobalNetworkPolicy',
]);

/** Labels and annotations Calico keeps on the custom resource itself (resources.go `isOurs`). */
export function isCalicoOwnedKey(key: string): boolean {
  return key.includes('projectcalico.org/') || key.includes('operator.tigera.io/');
}

function ownKeys(m: Readonly<Record<string, string>> | undefined): Record<string, string> | undefined {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(m ?? {})) if (isCalicoOwnedKey(k)) out[k] = v;
  return Object.keys(out).length === 0 ? undefined : out;
}

function nonEmpty<T extends object>(v: T | undefined): T | undefined {
  return v === undefined || Object.keys(v).length === 0 ? undefined : v;
}

/** Owner references to Calico objects name the other group, with the uid valid there (resources.go). */
function translateOwners(refs: readonly OwnerReference[] | undefined, from: readonly string[], to: string) {
  if (refs === undefined || refs.length === 0) return undefined;
  return refs.map((r, i) =>
    from.includes(r.apiVersion)
      ? { ...r, apiVersion: to, uid: convertUid(r.uid, `metadata.ownerReferences[${i}].uid`) }
      : r,
  );
}

/**
 * The metadata annotation's value: Go's ObjectMeta JSON (fields in its order, empty ones omitted) without
 * namespace, uid and resourceVersion, and without the name except for policies.
 */
function metadataAnnotation(kind: string, m: ObjectMeta): string {
  const meta: Record<string, unknown> = {};
  const put = (k: string, v: unknown): void => {
    if (v !== undefined) meta[k] = v;
  };
  put('name', NAME_IN_ANNOTATION.has(kind) ? m.name : undefined);
  put('generateName', m.generateName === '' ? undefined : m.generateName);
  put('generation', m.generation === 0 ? undefined : m.generation);
  put('creationTimestamp', m.creationTimestamp);
  put('deletionTimestamp', m.deletionTimestamp);
  put('deletionGracePeriodSeconds', m.deletionGracePeriodSeconds);
  put('labels', m.labels === undefined ? undefined : nonEmpty(goMap(m.labels)));
  put('annotations', m.annotations === undefined ? undefined : nonEmpty(goMap(m.annotations)));
  put('ownerReferences', translateOwners(m.ownerReferences, [CALICO_API_VERSION], CRD_API_VERSION));
  put('finalizers', m.finalizers !== undefined && m.finalizers.length > 0 ? m.finalizers : undefined);
  put(
    'managedFields',
    m.managedFields !== undefined && m.managedFields.length > 0 ? m.managedFields : undefined,
  );
  return JSON.stringify(meta);
}

/** The custom resource Calico's KDD stores for `obj`. ValidationError for a kind not stored as a CRD. */
export function toCustomResource(obj: Resource): CustomResource {
  const kind = internalKind(obj.apiVersion, obj.kind);
  if (obj.apiVersion !== CALICO_API_VERSION || kddPlacement(kind)?.store !== 'crd') {
    throw new ValidationError(
      [{ path: 'kind', message: `${kind} (${obj.apiVersion}) is not stored as a custom resource` }],
      `${kind}(${obj.metadata.name})`,
    );
  }
  const names = crdNamesOf(kind);
  const m = obj.metadata;
  const annotations: Record<string, string> = {
    ...ownKeys(m.annotations),
    [METADATA_ANNOTATION]: metadataAnnotation(kind, m),
  };
  const labels = ownKeys(m.labels);
  const metadata: ObjectMeta = {
    name: crdName(kind, obj),
    ...(m.namespace === undefined ? {} : { namespace: m.namespace }),
    ...(m.resourceVersion === undefined ? {} : { resourceVersion: m.resourceVersion }),
    ...(m.uid === undefined ? {} : { uid: convertUid(m.uid) }),
    ...(labels === undefined ? {} : { labels }),
    annotations,
  };
  const { spec, status } = obj as { spec?: unknown; status?: unknown };
  return {
    apiVersion: CRD_API_VERSION,
    kind: names.kind,
    metadata,
    ...(spec === undefined ? {} : { spec: specToV1(kind, spec) }),
    ...(status === undefined ? {} : { status }),
  };
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function parseMetadataAnnotation(text: string, context: string): ObjectMeta & Record<string, unknown> {
  const path = `metadata.annotations["${METADATA_ANNOTATION}"]`;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    const why = e instanceof Error ? e.message : String(e);
    throw new ValidationError([{ path, message: `contained invalid JSON: ${why}` }], context);
  }
  if (!isRecord(parsed)) throw new ValidationError([{ path, message: 'is not a JSON object' }], context);
  return parsed as ObjectMeta & Record<string, unknown>;
}

/** libcalico-go/lib/backend/model/keys.go `determinePolicyName`: pre-v3.30 names in the default tier. */
function legacyPolicyName(crName: string, spec: unknown): string {
  const tier = isRecord(spec) && typeof spec.tier === 'string' ? spec.tier : '';
  return (tier === '' || tier === 'default') && crName.startsWith('default.') ? crName.slice(8) : crName;
}

function merged(
  base: Readonly<Record<string, string>> | undefined,
  over: Readonly<Record<string, string>> | undefined,
): Record<string, string> | undefined {
  return nonEmpty({ ...base, ...over });
}

/**
 * The calico-ts resource for a custom resource read from the API server. ValidationError (naming the field)
 * for an object that is not one of Calico's custom resources or whose metadata annotation is not JSON.
 */
export function fromCustomResource(cr: CustomResource): Resource {
  const crMeta: unknown = (cr as unknown as Record<string, unknown>).metadata;
  if (!isRecord(crMeta) || typeof crMeta.name !== 'string' || crMeta.name === '') {
    throw new ValidationError([{ path: 'metadata.name', message: 'missing' }], `custom resource ${cr.kind}`);
  }
  const ns = typeof crMeta.namespace === 'string' ? `${crMeta.namespace}/` : '';
  const context = `${cr.kind}(${ns}${crMeta.name})`;
  if (cr.apiVersion !== CRD_API_VERSION) {
    const message = `expected "${CRD_API_VERSION}", got ${JSON.stringify(cr.apiVersion)}`;
    throw new ValidationError([{ path: 'apiVersion', message }], context);
  }
  const found = kindOfCrd(cr.kind);
  if (found === undefined) {
    throw new ValidationError([{ path: 'kind', message: 'not a Calico custom resource kind' }], context);
  }
  const { kind } = found;
  const m = crMeta as ObjectMeta & Record<string, unknown>;
  const spec = cr.spec === undefined ? undefined : specFromV1(kind, cr.spec);
  const metadata = v3Metadata(kind, m, cr.spec, context);
  if (m.uid !== undefined) metadata.uid = convertUid(m.uid);
  if (kind === 'IPAMHandle') metadata.name = handleName(spec, metadata.name);
  const status = cr.status;
  return {
    apiVersion: CALICO_API_VERSION,
    kind,
    metadata,
    ...(spec === undefined ? {} : { spec }),
    ...(status === undefined ? {} : { status }),
  };
}

/** The v3 metadata of a custom resource (its uid still untranslated). */
function v3Metadata(kind: string, m: ObjectMeta, v1Spec: unknown, context: string): ObjectMeta {
  const ann = m.annotations ?? {};
  const stored = Object.hasOwn(ann, METADATA_ANNOTATION) ? ann[METADATA_ANNOTATION] : undefined;
  if (stored === undefined) return { ...m };
  const meta = parseMetadataAnnotation(stored, context);
  const rest = without(ann, [METADATA_ANNOTATION]);
  const name =
    typeof meta.name === 'string' && meta.name !== ''
      ? meta.name
      : NAME_IN_ANNOTATION.has(kind)
        ? legacyPolicyName(m.name, v1Spec)
        : m.name;
  const labels = merged(m.labels, meta.labels);
  const annotations = merged(rest, meta.annotations);
  const owners = translateOwners(
    meta.ownerReferences,
    [CRD_API_VERSION, CALICO_API_VERSION],
    CALICO_API_VERSION,
  );
  const creationTimestamp = meta.creationTimestamp ?? m.creationTimestamp;
  const others = without(meta, [
    'name',
    'namespace',
    'resourceVersion',
    'uid',
    'creationTimestamp',
    'labels',
    'annotations',
    'ownerReferences',
  ]);
  return {
    ...others,
    name,
    ...(m.namespace === undefined ? {} : { namespace: m.namespace }),
    ...(m.resourceVersion === undefined ? {} : { resourceVersion: m.resourceVersion }),
    ...(creationTimestamp === undefined ? {} : { creationTimestamp }),
    ...(labels === undefined ? {} : { labels }),
    ...(annotations === undefined ? {} : { annotations }),
    ...(owners === undefined ? {} : { ownerReferences: owners }),
  };
}

function without<V>(obj: Readonly<Record<string, V>>, keys: readonly string[]): Record<string, V> {
  return Object.fromEntries(Object.entries(obj).filter(([k]) => !keys.includes(k)));
}

/** An IPAMHandle's calico-ts name is its handle ID (the custom resource's name is that ID lower-cased). */
function handleName(spec: unknown, fallback: string): string {
  return isRecord(spec) && typeof spec.handleID === 'string' && spec.handleID !== ''
    ? spec.handleID
    : fallback;
}
