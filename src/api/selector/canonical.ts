/**
 * Canonical rendering, unique IDs and tree visitors (reference §4.4). The canonical string is what Calico's
 * `Selector.String()` prints; its hash names IP sets, so every byte of it matters.
 */
import { createHash } from 'node:crypto';
import { sortedUnique, type SelectorNode } from './ast.js';

/** Double quotes unless the value contains one (values never hold both kinds when they come from the parser). */
function quote(value: string): string {
  return value.includes('"') ? `'${value}'` : `"${value}"`;
}

const VALUE_OP_TEXT = {
  eq: ' == ',
  ne: ' != ',
  contains: ' contains ',
  startsWith: ' starts with ',
  endsWith: ' ends with ',
} as const;

function render(node: SelectorNode, out: string[]): void {
  switch (node.kind) {
    case 'all':
      out.push('all()');
      return;
    case 'global':
      out.push('global()');
      return;
    case 'has':
      out.push('has(', node.label, ')');
      return;
    case 'eq':
    case 'ne':
    case 'contains':
    case 'startsWith':
    case 'endsWith':
      out.push(node.label, VALUE_OP_TEXT[node.kind], quote(node.value));
      return;
    case 'in':
    case 'notIn':
      out.push(
        node.label,
        node.kind === 'in' ? ' in {' : ' not in {',
        sortedUnique(node.values).map(quote).join(', '),
        '}',
      );
      return;
    case 'not':
      out.push('!');
      render(node.operand, out);
      return;
    case 'and':
    case 'or': {
      const sep = node.kind === 'and' ? ' && ' : ' || ';
      out.push('(');
      node.operands.forEach((op, i) => {
        if (i > 0) out.push(sep);
        render(op, out);
      });
      out.push(')');
      return;
    }
  }
}

/** The canonical string of a tree: single spaces around operators, sorted sets, every `&&`/`||` group in parentheses. */
export function canonicalString(node: SelectorNode): string {
  const out: string[] = [];
  render(node, out);
  return out.join('');
}

/** `"s:" + base64url_nopad(sha224("s:" + canonical))`, Calico's `hash.MakeUniqueID("s", canonical)`. */
export function uniqueIdOf(canonical: string): string {
  return (
    's:' +
    createHash('sha224')
      .update('s:' + canonical, 'utf8')
      .digest('base64url')
  );
}

/** Rebuilds the tree with `f` applied to every label name (all label-bearing node kinds). */
export function mapLabels(node: SelectorNode, f: (label: string) => string): SelectorNode {
  switch (node.kind) {
    case 'all':
    case 'global':
      return node;
    case 'has':
    case 'eq':
    case 'ne':
    case 'contains':
    case 'startsWith':
    case 'endsWith':
    case 'in':
    case 'notIn':
      return { ...node, label: f(node.label) };
    case 'not':
      return { kind: 'not', operand: mapLabels(node.operand, f) };
    case 'and':
    case 'or':
      return { kind: node.kind, operands: node.operands.map((op) => mapLabels(op, f)) };
  }
}

/** Calico's PrefixVisitor: prepends `prefix` to every label name (used for `pcns.`/`pcsa.` selectors). */
export function prefixLabels(node: SelectorNode, prefix: string): SelectorNode {
  return mapLabels(node, (label) => prefix + label);
}

/** Calls `visit` for every node, parents before children. */
export function walk(node: SelectorNode, visit: (n: SelectorNode) => void): void {
  visit(node);
  if (node.kind === 'not') walk(node.operand, visit);
  else if (node.kind === 'and' || node.kind === 'or') for (const op of node.operands) walk(op, visit);
}

/** Every label name the tree refers to. */
export function collectLabelNames(node: SelectorNode): Set<string> {
  const names = new Set<string>();
  walk(node, (n) => {
    if ('label' in n) names.add(n.label);
  });
  return names;
}

/** True when `global()` occurs anywhere in the tree. */
export function containsGlobal(node: SelectorNode): boolean {
  let found = false;
  walk(node, (n) => {
    if (n.kind === 'global') found = true;
  });
  return found;
}
