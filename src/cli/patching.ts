/**
 * Patch documents for `calicoctl patch`: the JSON merge patch and JSON patch engine lives in
 * `src/lib/json-patch.ts` (shared with calico-apiserver).
 */
export { applyPatch, jsonPatch, mergePatch, type PatchType } from '../lib/json-patch.js';
