/**
 * Where Calico's `crd.projectcalico.org/v1` types differ from projectcalico.org/v3 (libcalico-go/lib/apis/
 * internalapi/*.go and the IPAM clients in libcalico-go/lib/backend/k8s/resources/), and the custom resource
 * names that are not the v3 name. Pure; specs that are not objects are passed through for the syncer's
 * validation filter to report.
 *
 * - BlockAffinity: `spec.deleted` is the string "true"/"false" in v1 (ipam_affinity_v3.go `buildCRD` writes
 *   `%t`; reading treats only "true" as true).
 * - IPAMBlock: an allocation attribute's alternate owner is `alternateOwnerAttrs` in v1 (ipam_block.go);
 *   calico-ts's v3 IPAMBlock calls it `alternate`.
 * - IPAMHandle: the custom resource's name is the handle ID lower-cased (ipam_handle.go `parseKey`); the
 *   calico-ts name is the handle ID itself, restored from `spec.handleID` on reading (crd.ts).
 * - Every other kind: the v3 spec verbatim. In v3.32 a policy's custom resource name is its v3 name (the
 *   `default.` prefix of older releases is only undone on reading, crd.ts).
 */
import type { Resource } from '../api.js';

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The custom resource's `metadata.name` for a calico-ts resource of `kind`. */
export function crdName(kind: string, obj: Resource): string {
  return kind === 'IPAMHandle' ? obj.metadata.name.toLowerCase() : obj.metadata.name;
}

function renameAttributeKey(
  spec: Record<string, unknown>,
  from: string,
  to: string,
): Record<string, unknown> {
  const attrs = spec.attributes;
  if (!Array.isArray(attrs)) return spec;
  return {
    ...spec,
    attributes: attrs.map((a: unknown) => {
      if (!isRecord(a) || !Object.hasOwn(a, from)) return a;
      const { [from]: value, ...rest } = a;
      return { ...rest, [to]: value };
    }),
  };
}

/** The v1 spec for a v3 spec of `kind`. */
export function specToV1(kind: string, spec: unknown): unknown {
  if (!isRecord(spec)) return spec;
  switch (kind) {
    case 'BlockAffinity':
      return { ...spec, deleted: spec.deleted === true ? 'true' : 'false' };
    case 'IPAMBlock':
      return renameAttributeKey(spec, 'alternate', 'alternateOwnerAttrs');
    default:
      return spec;
  }
}

/** The v3 spec for a v1 spec of `kind`. */
export function specFromV1(kind: string, spec: unknown): unknown {
  if (!isRecord(spec)) return spec;
  switch (kind) {
    case 'BlockAffinity':
      return { ...spec, deleted: spec.deleted === 'true' || spec.deleted === true };
    case 'IPAMBlock':
      return renameAttributeKey(spec, 'alternateOwnerAttrs', 'alternate');
    default:
      return spec;
  }
}
