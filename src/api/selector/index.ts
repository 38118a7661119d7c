/**
 * Calico's label-selector language: parse once, match many times. A `Selector` bundles the tree, its canonical
 * text and unique ID (lazily computed), and a compiled matcher. Parsing returns a `Result`; only
 * `mustParseSelector`, for selectors the program wrote itself, throws.
 */
import { BugError, CalicoError } from '../../lib/errors.js';
import { err, ok, type Result } from '../../lib/result.js';
import type { Labels, SelectorNode } from './ast.js';
import { canonicalString, collectLabelNames, containsGlobal, prefixLabels, uniqueIdOf } from './canonical.js';
import { compileNode } from './evaluate.js';
import { parseSelectorText } from './parser.js';

export type { Labels, SelectorNode } from './ast.js';
export { compareCodePoints } from './ast.js';
export { evaluateNode, compileNode, type Matcher } from './evaluate.js';
export { canonicalString, uniqueIdOf, prefixLabels, mapLabels, walk } from './canonical.js';
export { isValidLabel, MAX_LABEL_LENGTH } from './tokenizer.js';
export { MAX_NESTING } from './parser.js';
export * from './builders.js';

export interface Selector {
  /** The input text, trimmed (for a selector built from a tree: its canonical form). */
  readonly source: string;
  readonly root: SelectorNode;
  /** Canonical form (Calico's `Selector.String()`), computed on first use. */
  readonly canonical: string;
  /** `"s:" + base64url_nopad(sha224("s:" + canonical))`, computed on first use. */
  readonly uniqueId: string;
  /** True if `global()` occurs anywhere (it only has a special meaning in an EntityRule namespaceSelector). */
  readonly usesGlobal: boolean;
  /** The compiled matcher. A property holding a closure, so `labels.filter(sel.matches)` is safe. */
  readonly matches: (labels: Labels) => boolean;
  /** A new selector with `prefix` prepended to every label name (Calico's PrefixVisitor). */
  withPrefix(prefix: string): Selector;
  /** Every label name the selector refers to (for indexing). */
  labelNames(): ReadonlySet<string>;
  /** The canonical form, so selectors print readably in messages and logs. */
  toString(): string;
}

/**
 * A selector that does not parse. `position` is the offset (UTF-16 code units) in the text given to the parser;
 * `message` is `<detail> (at character <position>)`, without the selector text (`input` holds that).
 */
export class SelectorError extends CalicoError {
  readonly position: number;
  /** The problem without the position and input, e.g. `unterminated string`. */
  readonly detail: string;
  readonly input: string;
  constructor(detail: string, position: number, input: string) {
    // Like Calico's parser errors, the message does not repeat the selector: callers add their own context.
    super('CALICO_ERR_PARSE', `${detail} (at character ${position})`);
    this.detail = detail;
    this.position = position;
    this.input = input;
  }
}

class CompiledSelector implements Selector {
  readonly source: string;
  readonly root: SelectorNode;
  readonly matches: (labels: Labels) => boolean;
  #canonical: string | undefined;
  #uniqueId: string | undefined;
  #usesGlobal: boolean | undefined;
  #labelNames: ReadonlySet<string> | undefined;

  constructor(source: string, root: SelectorNode) {
    this.source = source;
    this.root = root;
    this.matches = compileNode(root);
  }

  get canonical(): string {
    return (this.#canonical ??= canonicalString(this.root));
  }

  get uniqueId(): string {
    return (this.#uniqueId ??= uniqueIdOf(this.canonical));
  }

  get usesGlobal(): boolean {
    return (this.#usesGlobal ??= containsGlobal(this.root));
  }

  withPrefix(prefix: string): Selector {
    return selectorFromNode(prefixLabels(this.root, prefix));
  }

  labelNames(): ReadonlySet<string> {
    return (this.#labelNames ??= collectLabelNames(this.root));
  }

  toString(): string {
    return this.canonical;
  }
}

/**
 * Go's `strings.TrimSpace`: Unicode White_Space at both ends (like JS `trim()`, but U+0085 is space and U+FEFF is
 * not). Used for `source` and by `normaliseSelector`; the parser itself accepts only space and TAB.
 */
const GO_SPACE =
  /^[\t\n\v\f\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+|[\t\n\v\f\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+$/g;

function trimSpace(text: string): string {
  return text.replace(GO_SPACE, '');
}

/**
 * Parses selector text exactly as Calico's parser does: the empty selector is `all()`, and characters other than
 * space and TAB around the selector (a trailing newline, say) are an error, as in Calico's validator.
 */
export function parseSelector(text: string): Result<Selector, SelectorError> {
  const parsed = parseSelectorText(text);
  if (!parsed.ok) return err(new SelectorError(parsed.error.message, parsed.error.pos, text));
  return ok(new CompiledSelector(trimSpace(text), parsed.value));
}

/** For selectors the program itself wrote: invalid text is a bug, not bad input. */
export function mustParseSelector(text: string): Selector {
  const r = parseSelector(text);
  if (!r.ok)
    throw new BugError(`internal selector ${JSON.stringify(text)} does not parse: ${r.error.message}`);
  return r.value;
}

/** Calico's `selector.Normalise`: trim, parse, return the canonical form; unparseable input comes back trimmed. */
export function normaliseSelector(text: string): string {
  const trimmed = trimSpace(text);
  const r = parseSelector(trimmed);
  return r.ok ? r.value.canonical : trimmed;
}

/** Wraps a tree (e.g. one built with the node builders) as a Selector; `source` is its canonical form. */
export function selectorFromNode(node: SelectorNode): Selector {
  return new CompiledSelector(canonicalString(node), node);
}

/**
 * Interns parse results by exact text, so the same selector string shared by many policies is parsed and compiled
 * once. Bounded: least recently used entries are dropped beyond `maxEntries`. Failures are cached too.
 */
export class SelectorCache {
  readonly maxEntries: number;
  readonly #entries = new Map<string, Result<Selector, SelectorError>>();

  constructor(maxEntries = 10_000) {
    if (!Number.isInteger(maxEntries) || maxEntries < 1) {
      throw new BugError(`SelectorCache maxEntries must be a positive integer, got ${maxEntries}`);
    }
    this.maxEntries = maxEntries;
  }

  get size(): number {
    return this.#entries.size;
  }

  parse(text: string): Result<Selector, SelectorError> {
    const hit = this.#entries.get(text);
    if (hit !== undefined) {
      // Re-insert to mark as most recently used (Map iterates in insertion order).
      this.#entries.delete(text);
      this.#entries.set(text, hit);
      return hit;
    }
    const result = parseSelector(text);
    this.#entries.set(text, result);
    if (this.#entries.size > this.maxEntries) {
      const oldest = this.#entries.keys().next();
      if (oldest.done !== true) this.#entries.delete(oldest.value);
    }
    return result;
  }

  clear(): void {
    this.#entries.clear();
  }
}
