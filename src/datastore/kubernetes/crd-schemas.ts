/**
 * The structural OpenAPI v3 schemas (`openAPIV3Schema`) of the `crd.projectcalico.org/v1` CustomResourceDefinitions,
 * generated from the schemas the decoders carry (src/api/json-schema.ts), so a CRD accepts what calico-ts
 * writes and describes what its validator accepts. `spec` is typed where the custom resource holds the v3 spec
 * verbatim (spec-v1.ts); it stays open (`x-kubernetes-preserve-unknown-fields`) where the v1 form differs
 * (IPAMBlock, BlockAffinity, IPAMHandle). `status` is typed where the decoder keeps one (CalicoNodeStatus, KubeControllersConfiguration), open elsewhere.
 * Numorstring values become Kubernetes' `x-kubernetes-int-or-string` with `anyOf: [integer, string]`, as
 * controller-gen writes them. For the manifests (manifests/calico.yaml) and the lab's CRD install. Pure.
 */
import type { Schema } from '../../api/json-schema.js';
import { CALICO_API_VERSION } from '../../api/meta.js';
import { codecFor } from '../../api/registry.js';
import { crdKinds } from './kinds.js';

const OPEN_OBJECT = { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } as const;

/** Kinds whose custom resource does not hold the v3 spec verbatim (spec-v1.ts). */
const OPEN_SPEC_KINDS = new Set(['IPAMBlock', 'BlockAffinity', 'IPAMHandle']);

/** One node of a decoder's schema as a structural schema node. */
export function structural(schema: Schema): Record<string, unknown> {
  if (schema['x-kubernetes-int-or-string'] === true) {
    return {
      ...(schema.description !== undefined ? { description: schema.description } : {}),
      anyOf: [{ type: 'integer' }, { type: 'string' }],
      'x-kubernetes-int-or-string': true,
    };
  }
  const out: Record<string, unknown> = { ...schema };
  if (schema.items !== undefined) out['items'] = structural(schema.items);
  if (schema.additionalProperties !== undefined) {
    out['additionalProperties'] = structural(schema.additionalProperties);
  }
  if (schema.properties !== undefined) {
    out['properties'] = Object.fromEntries(
      Object.entries(schema.properties).map(([k, v]) => [k, structural(v)]),
    );
  }
  return out;
}

function specSchemaOf(kind: string): Schema | undefined {
  if (OPEN_SPEC_KINDS.has(kind)) return undefined;
  return codecFor(CALICO_API_VERSION, kind)?.specSchema;
}

/** The `openAPIV3Schema` of one CRD, by calico-ts kind. */
export function crdSchema(kind: string): Record<string, unknown> {
  const spec = specSchemaOf(kind);
  const status = codecFor(CALICO_API_VERSION, kind)?.statusSchema;
  return {
    type: 'object',
    properties: {
      apiVersion: {
        type: 'string',
        description: 'The versioned schema of this object: crd.projectcalico.org/v1.',
      },
      kind: { type: 'string', description: 'The kind of this object.' },
      metadata: { type: 'object' },
      spec: spec === undefined ? { ...OPEN_OBJECT } : structural(spec),
      status: status === undefined ? { ...OPEN_OBJECT } : structural(status),
    },
  };
}

/**
 * The structural `openAPIV3Schema` of every `crd.projectcalico.org/v1` CRD, keyed by the CRD's kind
 * (`GlobalNetworkPolicy`, `IPAMConfig`, ...). Fresh objects on each call.
 */
export function calicoCrdSchemas(): Record<string, Record<string, unknown>> {
  return Object.fromEntries(crdKinds().map((k) => [k.crd.kind, crdSchema(k.kind)]));
}
