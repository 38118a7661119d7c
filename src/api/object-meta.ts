/**
 * Decoding and validation of `metadata` (reference §1.0): the per-kind name rule, namespace scope, label
 * keys and values, annotation keys and their total size. Also the label and annotation checks reused by
 * other fields (Profile labelsToApply, rule metadata).
 */
import type { ObjectMeta, OwnerReference } from './meta.js';
import {
  bool,
  type Decoder,
  entry,
  int,
  type Issues,
  list,
  opt,
  req,
  show,
  str,
  stringMap,
  struct,
  withSchema,
} from './decoder.js';
import { STRING_MAP_SCHEMA } from './json-schema.js';
import { checkDnsLabel, checkLabelValue, checkQualifiedName } from './names.js';

/** Total size of annotation keys and values, in bytes. */
export const MAX_ANNOTATIONS_BYTES = 256 * 1024;

const utf8 = new TextEncoder();

export function validateLabels(labels: Readonly<Record<string, string>>, path: string, issues: Issues): void {
  for (const [k, v] of Object.entries(labels)) {
    const keyProblem = checkQualifiedName(k, 'label key');
    if (keyProblem !== undefined) issues.add(entry(path, k), keyProblem);
    const valueProblem = checkLabelValue(v);
    if (valueProblem !== undefined) issues.add(entry(path, k), valueProblem);
  }
}

export function validateAnnotations(
  annotations: Readonly<Record<string, string>>,
  path: string,
  issues: Issues,
): void {
  let size = 0;
  for (const [k, v] of Object.entries(annotations)) {
    // Calico lower-cases annotation keys before the qualified-name check.
    const problem = checkQualifiedName(k.toLowerCase(), 'annotation key');
    if (problem !== undefined) issues.add(entry(path, k), problem.replace(show(k.toLowerCase()), show(k)));
    size += utf8.encode(k).length + utf8.encode(v).length;
  }
  if (size > MAX_ANNOTATIONS_BYTES) {
    issues.add(
      path,
      `total size of annotations is too large by ${size - MAX_ANNOTATIONS_BYTES} bytes (max ${MAX_ANNOTATIONS_BYTES})`,
    );
  }
}

export const labelsField: Decoder<Record<string, string>> = withSchema(
  STRING_MAP_SCHEMA,
  (v, path, issues) => {
    const m = stringMap(v, path, issues);
    if (m !== undefined) validateLabels(m, path, issues);
    return m;
  },
);

export const annotationsField: Decoder<Record<string, string>> = withSchema(
  STRING_MAP_SCHEMA,
  (v, path, issues) => {
    const m = stringMap(v, path, issues);
    if (m !== undefined) validateAnnotations(m, path, issues);
    return m;
  },
);

const ownerReference = struct<OwnerReference>({
  apiVersion: req(str),
  kind: req(str),
  name: req(str),
  uid: req(str),
  controller: opt(bool),
  blockOwnerDeletion: opt(bool),
});

const metaFields = {
  name: req(str),
  namespace: opt(str),
  labels: opt(labelsField),
  annotations: opt(annotationsField),
  resourceVersion: opt(str),
  uid: opt(str),
  creationTimestamp: opt(str),
  generation: opt(int(0, Number.MAX_SAFE_INTEGER)),
  generateName: opt(str),
  deletionTimestamp: opt(str),
  deletionGracePeriodSeconds: opt(int(0, Number.MAX_SAFE_INTEGER)),
  finalizers: opt(list(str)),
  ownerReferences: opt(list(ownerReference)),
};

// Server-managed bookkeeping that carries no meaning here: accepted, not kept.
const strictMeta = struct<Omit<ObjectMeta, 'managedFields'>>(metaFields, {
  ignore: ['managedFields', 'selfLink'],
});
const lenientMeta = struct<Omit<ObjectMeta, 'managedFields'>>(metaFields, { strict: false });

export interface MetaRules {
  readonly kind: string;
  readonly namespaced: boolean;
  /** The kind's name rule (returns a message or undefined). */
  readonly checkName: (name: string) => string | undefined;
  /** Unknown metadata fields are errors unless false. */
  readonly strict: boolean;
}

/**
 * Decodes `metadata`. The namespace is optional for namespaced kinds (the CLI fills it in) and forbidden
 * for cluster-scoped ones.
 */
export function decodeObjectMeta(
  value: unknown,
  path: string,
  issues: Issues,
  rules: MetaRules,
): ObjectMeta | undefined {
  const decoded = (rules.strict ? strictMeta : lenientMeta)(value, path, issues);
  if (decoded === undefined) return undefined;
  // An empty namespace means "not given" (the CLI fills in the default); do not keep it.
  const meta: ObjectMeta = { ...decoded };
  if (meta.namespace === '') delete meta.namespace;
  const nameProblem = rules.checkName(meta.name);
  if (nameProblem !== undefined) issues.add(`${path}.name`, nameProblem);
  if (meta.namespace !== undefined) {
    if (!rules.namespaced) {
      issues.add(
        `${path}.namespace`,
        `${rules.kind} is cluster-scoped: namespace ${show(meta.namespace)} must not be set`,
      );
    } else {
      const problem = checkDnsLabel(meta.namespace, 'namespace');
      if (problem !== undefined) issues.add(`${path}.namespace`, problem);
    }
  }
  return meta;
}
