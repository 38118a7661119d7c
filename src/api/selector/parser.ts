/**
 * Recursive-descent parser for the selector grammar (reference §4.2): `||` binds loosest, then `&&`, then unary
 * `!`, which applies to a single primary. A run of `!` collapses to one negation or none. The tree keeps the
 * user's grouping (a parenthesised `&&` inside an `&&` stays a nested node) because the canonical form does.
 */
import { err, ok, type Result } from '../../lib/result.js';
import { sortedUnique, type SelectorNode, type SetOpKind, type ValueOpKind } from './ast.js';
import { tokenize, type Token, type TokenKind } from './tokenizer.js';

/** A syntax error at a character offset of the input. */
export interface SyntaxIssue {
  readonly message: string;
  readonly pos: number;
}

/**
 * Parenthesis nesting limit. Calico has none; it guards the JS call stack so that hostile input yields a parse
 * error instead of a RangeError. No real selector comes near it.
 */
export const MAX_NESTING = 1000;

const VALUE_OPS: ReadonlySet<TokenKind> = new Set<ValueOpKind>([
  'eq',
  'ne',
  'contains',
  'startsWith',
  'endsWith',
]);
const SET_OPS: ReadonlySet<TokenKind> = new Set<SetOpKind>(['in', 'notIn']);

const SPELLING: Readonly<Record<TokenKind, string>> = {
  label: 'label',
  string: 'string',
  lbrace: "'{'",
  rbrace: "'}'",
  comma: "','",
  eq: "'=='",
  ne: "'!='",
  in: "'in'",
  not: "'!'",
  notIn: "'not in'",
  contains: "'contains'",
  startsWith: "'starts with'",
  endsWith: "'ends with'",
  all: "'all()'",
  has: "'has()'",
  global: "'global()'",
  lparen: "'('",
  rparen: "')'",
  and: "'&&'",
  or: "'||'",
  eof: 'end of selector',
};

function describe(t: Token): string {
  if (t.kind === 'label' || t.kind === 'string') return `${t.kind} ${JSON.stringify(t.value)}`;
  return SPELLING[t.kind];
}

/** Thrown only inside this module and turned into a Result at the boundary. */
class Failure extends Error {
  readonly issue: SyntaxIssue;
  constructor(message: string, pos: number) {
    super(message);
    this.issue = { message, pos };
  }
}

class Parser {
  readonly tokens: readonly Token[];
  i = 0;
  depth = 0;

  constructor(tokens: readonly Token[]) {
    this.tokens = tokens;
  }

  /** The current token; the token list always ends with `eof`, which is never consumed. */
  peek(): Token {
    return this.tokens[this.i] ?? this.tokens[this.tokens.length - 1]!;
  }

  next(): Token {
    const t = this.peek();
    if (t.kind !== 'eof') this.i++;
    return t;
  }

  fail(t: Token, expected: string): never {
    throw new Failure(`expected ${expected}, found ${describe(t)}`, t.pos);
  }

  parseOr(): SelectorNode {
    const operands = [this.parseAnd()];
    while (this.peek().kind === 'or') {
      this.i++;
      operands.push(this.parseAnd());
    }
    return operands.length === 1 ? operands[0]! : { kind: 'or', operands };
  }

  parseAnd(): SelectorNode {
    const operands = [this.parseUnary()];
    while (this.peek().kind === 'and') {
      this.i++;
      operands.push(this.parseUnary());
    }
    return operands.length === 1 ? operands[0]! : { kind: 'and', operands };
  }

  parseUnary(): SelectorNode {
    let negated = false;
    while (this.peek().kind === 'not') {
      this.i++;
      negated = !negated;
    }
    const operand = this.parsePrimary();
    return negated ? { kind: 'not', operand } : operand;
  }

  parsePrimary(): SelectorNode {
    const t = this.next();
    if (t.kind === 'has') return { kind: 'has', label: t.value };
    if (t.kind === 'all' || t.kind === 'global') return { kind: t.kind };
    if (t.kind === 'label') return this.parseLabelOperation(t.value);
    if (t.kind === 'lparen') return this.parseGroup(t);
    return this.fail(t, 'a selector expression');
  }

  parseGroup(open: Token): SelectorNode {
    if (++this.depth > MAX_NESTING) {
      throw new Failure(`parentheses nested more than ${MAX_NESTING} deep`, open.pos);
    }
    const inner = this.parseOr();
    const close = this.next();
    if (close.kind !== 'rparen') this.fail(close, "')'");
    this.depth--;
    return inner;
  }

  parseLabelOperation(label: string): SelectorNode {
    const op = this.next();
    const kind = op.kind;
    if (VALUE_OPS.has(kind)) {
      const value = this.next();
      if (value.kind !== 'string') this.fail(value, `a quoted string after ${SPELLING[kind]}`);
      return { kind: kind as ValueOpKind, label, value: value.value };
    }
    if (SET_OPS.has(kind)) {
      return { kind: kind as SetOpKind, label, values: this.parseSet(kind) };
    }
    return this.fail(op, `an operator after label ${JSON.stringify(label)}`);
  }

  /** `{` [ string ( `,` string )* [`,`] ] `}`: empty sets and a trailing comma are allowed. */
  parseSet(op: TokenKind): readonly string[] {
    const open = this.next();
    if (open.kind !== 'lbrace') this.fail(open, `a set literal '{...}' after ${SPELLING[op]}`);
    const values: string[] = [];
    while (this.peek().kind === 'string') {
      values.push(this.next().value);
      if (this.peek().kind !== 'comma') break;
      this.i++;
    }
    const close = this.next();
    if (close.kind !== 'rbrace') this.fail(close, values.length === 0 ? "a string or '}'" : "',' or '}'");
    return sortedUnique(values);
  }
}

/** Parses selector text; the empty (or all-whitespace) selector is `all()`. */
export function parseSelectorText(text: string): Result<SelectorNode, SyntaxIssue> {
  const lexed = tokenize(text);
  if (!lexed.ok) return err(lexed.error);
  const tokens = lexed.value;
  if (tokens[0]?.kind === 'eof') return ok({ kind: 'all' });
  const parser = new Parser(tokens);
  try {
    const root = parser.parseOr();
    const rest = parser.peek();
    if (rest.kind !== 'eof') {
      return err({ message: `unexpected ${describe(rest)} after a complete expression`, pos: rest.pos });
    }
    return ok(root);
  } catch (e) {
    if (e instanceof Failure) return err(e.issue);
    throw e;
  }
}
