/**
 * The contract each resource kind implements (one file per kind, registered in `registry.ts`), and the
 * shared envelope handling: top-level fields, metadata with the kind's name rule and scope, and the spec.
 */
import { child, type Decoder, type Issues, schemaOf, show } from './decoder.js';
import type { Schema } from './json-schema.js';
import { kindInfo } from './kinds.js';
import type { ObjectMeta, ResourceEnvelope } from './meta.js';
import { CALICO_API_VERSION } from './meta.js';
import { decodeObjectMeta } from './object-meta.js';

export interface KindCodec<K extends string, R> {
  /** The internal kind (the name in `kinds.ts`; `KubernetesNetworkPolicy` for networking.k8s.io NetworkPolicy). */
  readonly kind: K;
  /** The `apiVersion` and `kind` a document of this kind carries. */
  readonly apiVersion: string;
  readonly documentKind: string;
  /**
   * Decodes, validates and defaults one document whose apiVersion and kind have already been matched.
   * Records every problem in `issues`; returns a new object (never the input) when the document is usable.
   */
  decode(doc: Readonly<Record<string, unknown>>, issues: Issues): R | undefined;
  /** The shape of `spec` the decoder accepts (from its decoders; absent for kinds without one). */
  readonly specSchema?: Schema;
  /** The shape of a `status` the decoder keeps (absent when a status is dropped or not accepted). */
  readonly statusSchema?: Schema;
}

export interface EnvelopeRules {
  /** Internal kind, used to look up the scope in `kinds.ts` and in messages. */
  readonly kind: string;
  readonly checkName: (name: string) => string | undefined;
  /** Top-level fields besides apiVersion, kind and metadata. */
  readonly topLevel: readonly string[];
  /** Unknown fields (top level and metadata) are errors unless false. */
  readonly strict: boolean;
}

/** Checks the top-level field set and decodes metadata. */
export function decodeEnvelopeMeta(
  doc: Readonly<Record<string, unknown>>,
  issues: Issues,
  rules: EnvelopeRules,
): ObjectMeta | undefined {
  if (rules.strict) {
    const known = new Set(['apiVersion', 'kind', 'metadata', ...rules.topLevel]);
    for (const k of Object.keys(doc)) {
      if (!known.has(k)) issues.add(child('', k), `unknown field ${show(k)}`);
    }
  }
  const namespaced = kindInfo(rules.kind)?.namespaced ?? false;
  const raw = doc['metadata'];
  if (raw === undefined || raw === null) {
    issues.add('metadata', 'metadata is required (with at least a name)');
    return undefined;
  }
  return decodeObjectMeta(raw, 'metadata', issues, {
    kind: rules.kind,
    namespaced,
    checkName: rules.checkName,
    strict: rules.strict,
  });
}

/** Decodes `spec`, treating an absent or null spec as empty (Go's zero value). */
export function decodeSpec<S>(
  doc: Readonly<Record<string, unknown>>,
  issues: Issues,
  spec: Decoder<S>,
): S | undefined {
  const raw = doc['spec'];
  return spec(raw === undefined || raw === null ? {} : raw, 'spec', issues);
}

export interface CalicoKindDefinition<K extends string, S> {
  readonly kind: K;
  readonly checkName: (name: string) => string | undefined;
  readonly spec: Decoder<S>;
  /** Checks that need both metadata and spec. */
  readonly check?: (metadata: ObjectMeta, spec: S, issues: Issues) => void;
  /** Calico's defaulting on create; must return new objects. */
  readonly defaults?: (metadata: ObjectMeta, spec: S) => { metadata: ObjectMeta; spec: S };
  /** Extra top-level fields accepted but not kept (e.g. a server-managed `status`). */
  readonly ignoredTopLevel?: readonly string[];
}

/** A projectcalico.org/v3 kind with the usual envelope (document kind = internal kind), decoded strictly. */
export function calicoKind<K extends string, S>(
  def: CalicoKindDefinition<K, S>,
): KindCodec<K, ResourceEnvelope<K, S>> {
  return {
    kind: def.kind,
    apiVersion: CALICO_API_VERSION,
    documentKind: def.kind,
    specSchema: schemaOf(def.spec),
    decode(doc, issues) {
      const metadata = decodeEnvelopeMeta(doc, issues, {
        kind: def.kind,
        checkName: def.checkName,
        topLevel: ['spec', ...(def.ignoredTopLevel ?? [])],
        strict: true,
      });
      const spec = decodeSpec(doc, issues, def.spec);
      if (metadata === undefined || spec === undefined) return undefined;
      def.check?.(metadata, spec, issues);
      const out = def.defaults?.(metadata, spec) ?? { metadata, spec };
      return { apiVersion: CALICO_API_VERSION, kind: def.kind, metadata: out.metadata, spec: out.spec };
    },
  };
}
