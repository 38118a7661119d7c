/**
 * The patch types of a PATCH request, by Content-Type, applied with the shared engine
 * (`src/lib/json-patch.ts`). Pure.
 * - `application/merge-patch+json`: RFC 7386.
 * - `application/strategic-merge-patch+json`: Kubernetes' strategic merge needs per-field strategies from Go
 *   struct tags; Calico's projectcalico.org/v3 types declare none (as for custom resources), so it is a merge
 *   patch with lists replaced whole. The ordering directives kubectl may add (`$setElementOrder/<field>`,
 *   `$retainKeys`, `$deleteFromPrimitiveList/<field>`) are dropped; a `$patch` directive, which needs merge
 *   keys, is refused naming it.
 * - `application/json-patch+json`: RFC 6902.
 * `application/apply-patch+yaml` (server-side apply) is not a patch of the document: rest.ts `apply`.
 */
import { applyPatch, type PatchType as EngineType } from '../lib/json-patch.js';
import { err, type Result } from '../lib/result.js';

export type PatchType = 'merge' | 'strategic' | 'json';

export const APPLY_PATCH_TYPE = 'application/apply-patch+yaml';

export function patchTypeOf(contentType: string | undefined): PatchType | undefined {
  const base = (contentType ?? '').split(';')[0]?.trim().toLowerCase();
  if (base === 'application/merge-patch+json') return 'merge';
  if (base === 'application/strategic-merge-patch+json') return 'strategic';
  if (base === 'application/json-patch+json') return 'json';
  return undefined;
}

function isDirective(key: string): boolean {
  return (
    key === '$retainKeys' ||
    key.startsWith('$setElementOrder/') ||
    key.startsWith('$deleteFromPrimitiveList/')
  );
}

/** A strategic merge patch as a merge patch: directives dropped; `$patch` refused (its path returned). */
function withoutDirectives(v: unknown, path: string): Result<unknown, string> {
  if (Array.isArray(v)) {
    const out: unknown[] = [];
    for (const [i, x] of v.entries()) {
      const r = withoutDirectives(x, `${path}[${i}]`);
      if (!r.ok) return r;
      out.push(r.value);
    }
    return { ok: true, value: out };
  }
  if (typeof v !== 'object' || v === null) return { ok: true, value: v };
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) {
    if (k === '$patch')
      return err(
        `${path === '' ? '' : `${path}.`}$patch: the directive needs a merge key, which projectcalico.org/v3 fields do not have`,
      );
    if (isDirective(k)) continue;
    const r = withoutDirectives(x, path === '' ? k : `${path}.${k}`);
    if (!r.ok) return r;
    Object.defineProperty(out, k, { value: r.value, enumerable: true, writable: true, configurable: true });
  }
  return { ok: true, value: out };
}

export function patchDocument(type: PatchType, target: unknown, patch: unknown): Result<unknown, string> {
  let engine: EngineType = 'merge';
  let doc = patch;
  if (type === 'json') engine = 'json';
  if (type === 'strategic') {
    const stripped = withoutDirectives(patch, '');
    if (!stripped.ok) return stripped;
    doc = stripped.value;
  }
  return applyPatch(target, doc, engine);
}
