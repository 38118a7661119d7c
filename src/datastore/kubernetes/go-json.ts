/**
 * Go's encoding/json writes a map's keys in sorted order; Calico's annotations that hold JSON (the custom
 * resources' `projectcalico.org/metadata`, a Node's `projectcalico.org/labels`) are therefore sorted, and so
 * are ours, byte for byte.
 */

/** A copy of `m` with its keys in Go's order (byte order of the UTF-8 key; ASCII keys sort as in JS). */
export function goMap<V>(m: Readonly<Record<string, V>>): Record<string, V> {
  const keys = Object.keys(m).sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
  const out: Record<string, V> = {};
  for (const k of keys) out[k] = m[k] as V;
  return out;
}
