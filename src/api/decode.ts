/**
 * `decodeResource`: one untyped document (from YAML/JSON) to a typed, validated and defaulted resource,
 * or every problem found, each with its field path from the document root. Pure: no datastore knowledge,
 * the input is never mutated.
 */
import type { FieldIssue } from '../lib/errors.js';
import { err, ok, type Result } from '../lib/result.js';
import { isRecord, Issues, show, typeName } from './decoder.js';
import { internalKind, kindInfo, suggestDocumentKind } from './kinds.js';
import { CALICO_API_VERSION } from './meta.js';
import { codecFor, codecsForKind, type Resource, type ResourceKind } from './registry.js';

export type { Resource, ResourceKind, ResourceOf } from './registry.js';

function header(
  doc: Readonly<Record<string, unknown>>,
  key: 'apiVersion' | 'kind',
  issues: Issues,
): string | undefined {
  const v = doc[key];
  if (v === undefined || v === null || v === '') {
    issues.add(key, `${key} is required`);
    return undefined;
  }
  if (typeof v !== 'string') {
    issues.add(key, `expected a string, got ${typeName(v)} ${show(v)}`);
    return undefined;
  }
  return v;
}

/** Top-level fields that Go's decoder matches case-insensitively (apiVersion and kind are read exactly). */
const FOLDED_TOP_LEVEL = ['metadata', 'spec', 'status'];

/**
 * A projectcalico.org/v3 document with `Metadata`/`Spec`/`Status` spelled in any case, as the canonical
 * keys (the last spelling wins, as in Go); other keys are kept as they are.
 */
function foldTopLevel(doc: Readonly<Record<string, unknown>>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(doc)) {
    const canonical = FOLDED_TOP_LEVEL.find((f) => f === k.toLowerCase()) ?? k;
    Object.defineProperty(out, canonical, { value: v, enumerable: true, writable: true, configurable: true });
  }
  return out;
}

export function decodeResource(doc: unknown): Result<Resource, FieldIssue[]> {
  const fold = isRecord(doc) && doc['apiVersion'] === CALICO_API_VERSION;
  const issues = new Issues({ foldFieldCase: fold });
  if (!isRecord(doc)) {
    return err([{ path: '', message: `expected a resource (an object), got ${typeName(doc)} ${show(doc)}` }]);
  }
  const apiVersion = header(doc, 'apiVersion', issues);
  const kind = header(doc, 'kind', issues);
  if (apiVersion === undefined || kind === undefined) return err(issues.list);
  const codec = codecFor(apiVersion, kind);
  if (codec === undefined) {
    const candidates = codecsForKind(kind);
    if (candidates.length > 0) {
      const versions = candidates.map((c) => show(c.apiVersion)).join(' or ');
      issues.add(
        'apiVersion',
        `apiVersion ${show(apiVersion)} is not supported for kind ${show(kind)} (use ${versions})`,
      );
    } else if (kindInfo(kind) !== undefined) {
      issues.add('kind', `kind ${show(kind)} is not supported yet`);
    } else {
      const hint = suggestDocumentKind(kind);
      issues.add(
        'kind',
        `unknown kind ${show(kind)}${hint === undefined ? '' : ` (did you mean ${show(hint)}?)`}`,
      );
    }
    return err(issues.list);
  }
  const resource = codec.decode(fold ? foldTopLevel(doc) : doc, issues);
  if (issues.list.length > 0) return err(issues.list);
  if (resource === undefined) return err([{ path: '', message: `could not decode ${kind} (no detail)` }]);
  return ok(resource);
}

/** The internal kind of a decoded resource (`KubernetesNetworkPolicy` for a networking.k8s.io NetworkPolicy). */
export function resourceKind(r: Resource): ResourceKind {
  return internalKind(r.apiVersion, r.kind) as ResourceKind;
}
