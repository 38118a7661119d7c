/** The selector AST (reference §4.2). Nodes are plain, immutable data. */
export type SelectorNode =
  | { readonly kind: 'all' }
  | { readonly kind: 'global' }
  | { readonly kind: 'has'; readonly label: string }
  | { readonly kind: 'eq'; readonly label: string; readonly value: string }
  | { readonly kind: 'ne'; readonly label: string; readonly value: string }
  | { readonly kind: 'in'; readonly label: string; readonly values: readonly string[] }
  | { readonly kind: 'notIn'; readonly label: string; readonly values: readonly string[] }
  | { readonly kind: 'contains'; readonly label: string; readonly value: string }
  | { readonly kind: 'startsWith'; readonly label: string; readonly value: string }
  | { readonly kind: 'endsWith'; readonly label: string; readonly value: string }
  | { readonly kind: 'not'; readonly operand: SelectorNode }
  | { readonly kind: 'and'; readonly operands: readonly SelectorNode[] }
  | { readonly kind: 'or'; readonly operands: readonly SelectorNode[] };

/** An endpoint's effective labels (own labels, then inherited profile labels for missing keys). */
export type Labels = Readonly<Record<string, string>>;

/** The label operators that compare a label with one string value. */
export type ValueOpKind = 'eq' | 'ne' | 'contains' | 'startsWith' | 'endsWith';
/** The label operators that compare a label with a set of values. */
export type SetOpKind = 'in' | 'notIn';

/**
 * Orders strings by Unicode code point, which is the byte order of their UTF-8 encodings (Go's string order);
 * plain `<` on JS strings compares UTF-16 code units and differs for characters above U+FFFF.
 */
export function compareCodePoints(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x === y) continue;
    // Surrogates (0xD800-0xDFFF) encode code points above every BMP character, so they sort last.
    const xs = x >= 0xd800 && x <= 0xdfff;
    const ys = y >= 0xd800 && y <= 0xdfff;
    if (xs !== ys) return xs ? 1 : -1;
    return x - y;
  }
  return a.length - b.length;
}

/** The set-literal values as Calico stores them: sorted by code point and de-duplicated. */
export function sortedUnique(values: readonly string[]): readonly string[] {
  const sorted = [...values].sort(compareCodePoints);
  return sorted.filter((v, i) => i === 0 || v !== sorted[i - 1]);
}
