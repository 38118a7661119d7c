/**
 * The YAML form calicoctl prints (`calicoctl get -o yaml`): keys sorted at every level, as calicoctl's YAML
 * (generated from JSON) has them, block sequences not indented under their key, no line folding, YAML 1.1.
 * Shared by calicoctl's printers and the flow viewer's policy view.
 */
import { stringify } from 'yaml';

/** A copy with object keys sorted at every level (the order calicoctl's YAML output uses). */
export function sortKeysDeep(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeysDeep);
  if (typeof v !== 'object' || v === null) return v;
  const obj = v as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(obj).sort()) out[k] = sortKeysDeep(obj[k]);
  return out;
}

export function toYaml(value: unknown): string {
  return stringify(sortKeysDeep(value), { indentSeq: false, lineWidth: 0, version: '1.1' });
}
