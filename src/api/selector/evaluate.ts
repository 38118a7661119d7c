/**
 * Selector evaluation (reference §4.3), twice: `evaluateNode` is a plain recursive interpreter that states the
 * semantics, and `compileNode` turns a tree into a closure for the hot path (label index, policy matching).
 * Property tests hold the two to the same answers.
 *
 * Label maps are plain objects, so a key such as `constructor` or `__proto__` must only count when it is an own
 * property. The compiled closures read the value first and call `Object.hasOwn` only when that value could
 * decide the answer, which keeps the common "absent" and "different value" cases cheap.
 */
import type { Labels, SelectorNode } from './ast.js';

/** A compiled selector: true when the labels match. */
export type Matcher = (labels: Labels) => boolean;

function own(labels: Labels, label: string): string | undefined {
  return Object.hasOwn(labels, label) ? labels[label] : undefined;
}

/** The reference interpreter: direct transcription of the semantics table, no optimisation. */
export function evaluateNode(node: SelectorNode, labels: Labels): boolean {
  switch (node.kind) {
    case 'all':
    case 'global':
      return true;
    case 'has':
      return Object.hasOwn(labels, node.label);
    case 'eq':
      return own(labels, node.label) === node.value;
    case 'ne':
      return own(labels, node.label) !== node.value;
    case 'in': {
      const v = own(labels, node.label);
      return v !== undefined && node.values.includes(v);
    }
    case 'notIn': {
      const v = own(labels, node.label);
      return v === undefined || !node.values.includes(v);
    }
    case 'contains':
      return own(labels, node.label)?.includes(node.value) ?? false;
    case 'startsWith':
      return own(labels, node.label)?.startsWith(node.value) ?? false;
    case 'endsWith':
      return own(labels, node.label)?.endsWith(node.value) ?? false;
    case 'not':
      return !evaluateNode(node.operand, labels);
    case 'and':
      return node.operands.every((op) => evaluateNode(op, labels));
    case 'or':
      return node.operands.some((op) => evaluateNode(op, labels));
  }
}

/** A compiled sub-tree: a constant when it does not depend on the labels, else a closure. */
type Compiled = boolean | Matcher;

const ALWAYS: Matcher = () => true;
const NEVER: Matcher = () => false;

/** Compiles a tree into a closure; the tree is not retained beyond what the closures capture. */
export function compileNode(node: SelectorNode): Matcher {
  const c = compile(node);
  if (c === true) return ALWAYS;
  if (c === false) return NEVER;
  return c;
}

function compile(node: SelectorNode): Compiled {
  switch (node.kind) {
    case 'all':
    case 'global':
      return true;
    case 'has':
      return hasMatcher(node.label);
    case 'eq':
      return eqMatcher(node.label, node.value);
    case 'ne':
      return negate(eqMatcher(node.label, node.value));
    case 'in':
      return inMatcher(node.label, node.values);
    case 'notIn':
      return negate(inMatcher(node.label, node.values));
    case 'contains':
    case 'startsWith':
    case 'endsWith':
      return stringTestMatcher(node.kind, node.label, node.value);
    case 'not':
      return compileNot(node.operand);
    case 'and':
      return compileJunction(flatten(node.operands, 'and').map(compile), true);
    case 'or':
      return compileJunction(flatten(node.operands, 'or').map(compile), false);
  }
}

/** `a && (b && c)` ≡ `a && b && c`: splice nested groups of the same kind into one operand list. */
function flatten(operands: readonly SelectorNode[], kind: 'and' | 'or'): SelectorNode[] {
  const out: SelectorNode[] = [];
  for (const op of operands) {
    if (op.kind === kind) out.push(...flatten(op.operands, kind));
    else out.push(op);
  }
  return out;
}

function compileNot(operand: SelectorNode): Compiled {
  if (operand.kind === 'not') return compile(operand.operand);
  if (operand.kind === 'has') {
    const label = operand.label;
    return (l) => !Object.hasOwn(l, label);
  }
  return negate(compile(operand));
}

function negate(c: Compiled): Compiled {
  if (typeof c === 'boolean') return !c;
  return (l) => !c(l);
}

function hasMatcher(label: string): Matcher {
  return (l) => Object.hasOwn(l, label);
}

function eqMatcher(label: string, value: string): Matcher {
  // An inherited property is never a string on a plain object, so the own-property check runs only on a hit.
  return (l) => l[label] === value && Object.hasOwn(l, label);
}

function inMatcher(label: string, values: readonly string[]): Compiled {
  const [first, second, third] = values;
  if (first === undefined) return false;
  if (second === undefined) return eqMatcher(label, first);
  if (third === undefined) {
    return (l) => {
      const v = l[label];
      return (v === first || v === second) && Object.hasOwn(l, label);
    };
  }
  const set: ReadonlySet<string> = new Set(values);
  return (l) => {
    const v = l[label];
    return v !== undefined && set.has(v) && Object.hasOwn(l, label);
  };
}

function stringTestMatcher(
  kind: 'contains' | 'startsWith' | 'endsWith',
  label: string,
  value: string,
): Matcher {
  switch (kind) {
    case 'contains':
      return (l) => {
        const v = l[label];
        return typeof v === 'string' && v.includes(value) && Object.hasOwn(l, label);
      };
    case 'startsWith':
      return (l) => {
        const v = l[label];
        return typeof v === 'string' && v.startsWith(value) && Object.hasOwn(l, label);
      };
    case 'endsWith':
      return (l) => {
        const v = l[label];
        return typeof v === 'string' && v.endsWith(value) && Object.hasOwn(l, label);
      };
  }
}

/**
 * AND (`isAnd`) or OR of compiled operands with constant folding: a neutral constant is dropped, an absorbing one
 * decides the result. Small arities get straight-line closures; larger ones loop over an array.
 */
function compileJunction(parts: readonly Compiled[], isAnd: boolean): Compiled {
  const fns: Matcher[] = [];
  for (const p of parts) {
    if (p === isAnd) continue; // true in an AND, false in an OR: neutral
    if (typeof p === 'boolean') return p; // absorbing
    fns.push(p);
  }
  const [a, b, c, d] = fns;
  if (a === undefined) return isAnd;
  if (b === undefined) return a;
  if (c === undefined) return isAnd ? (l) => a(l) && b(l) : (l) => a(l) || b(l);
  if (d === undefined) return isAnd ? (l) => a(l) && b(l) && c(l) : (l) => a(l) || b(l) || c(l);
  if (fns.length === 4)
    return isAnd ? (l) => a(l) && b(l) && c(l) && d(l) : (l) => a(l) || b(l) || c(l) || d(l);
  const n = fns.length;
  if (isAnd) {
    return (l) => {
      for (let i = 0; i < n; i++) if (!fns[i]!(l)) return false;
      return true;
    };
  }
  return (l) => {
    for (let i = 0; i < n; i++) if (fns[i]!(l)) return true;
    return false;
  };
}
