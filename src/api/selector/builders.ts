/**
 * Small constructors for selector trees, for code that builds selectors rather than parsing them (policy
 * conversion, tests). They do not validate label names: render with `selectorFromNode(...).canonical` and check
 * `isValidLabel` where input comes from users.
 */
import { sortedUnique, type SelectorNode } from './ast.js';

export const allNode = (): SelectorNode => ({ kind: 'all' });
export const globalNode = (): SelectorNode => ({ kind: 'global' });
export const hasNode = (label: string): SelectorNode => ({ kind: 'has', label });
export const eqNode = (label: string, value: string): SelectorNode => ({ kind: 'eq', label, value });
export const neNode = (label: string, value: string): SelectorNode => ({ kind: 'ne', label, value });
export const containsNode = (label: string, value: string): SelectorNode => ({
  kind: 'contains',
  label,
  value,
});
export const startsWithNode = (label: string, value: string): SelectorNode => ({
  kind: 'startsWith',
  label,
  value,
});
export const endsWithNode = (label: string, value: string): SelectorNode => ({
  kind: 'endsWith',
  label,
  value,
});

/** `label in {values}`; values are stored sorted and de-duplicated, as the parser stores them. */
export const inNode = (label: string, values: readonly string[]): SelectorNode => ({
  kind: 'in',
  label,
  values: sortedUnique(values),
});

export const notInNode = (label: string, values: readonly string[]): SelectorNode => ({
  kind: 'notIn',
  label,
  values: sortedUnique(values),
});

export const notNode = (operand: SelectorNode): SelectorNode => ({ kind: 'not', operand });

/**
 * Conjunction of `nodes` as given: no operands gives `all()`, one gives that node. Nested `and` operands are kept
 * as groups (the canonical form shows them), exactly like parenthesised input.
 */
export function andNodes(...nodes: SelectorNode[]): SelectorNode {
  const [first, second] = nodes;
  if (first === undefined) return { kind: 'all' };
  if (second === undefined) return first;
  return { kind: 'and', operands: nodes };
}

/** Disjunction of `nodes`: one operand gives that node. With no operands there is nothing to match: `!all()`. */
export function orNodes(...nodes: SelectorNode[]): SelectorNode {
  const [first, second] = nodes;
  if (first === undefined) return { kind: 'not', operand: { kind: 'all' } };
  if (second === undefined) return first;
  return { kind: 'or', operands: nodes };
}
