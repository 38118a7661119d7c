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
