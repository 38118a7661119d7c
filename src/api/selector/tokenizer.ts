/**
 * Selector tokenizer (reference §4.1). A hand-written scanner over the raw input: only space and TAB are
 * whitespace, operator keywords are recognised only right after a label, and every token records the character
 * offset where it starts so that parse errors can point at the input.
 */
import { err, ok, type Result } from '../../lib/result.js';

export const MAX_LABEL_LENGTH = 512;

export type TokenKind =
  | 'label'
  | 'string'
  | 'lbrace'
  | 'rbrace'
  | 'comma'
  | 'eq'
  | 'ne'
  | 'in'
  | 'not'
  | 'notIn'
  | 'contains'
  | 'startsWith'
  | 'endsWith'
  | 'all'
  | 'has'
  | 'global'
  | 'lparen'
  | 'rparen'
  | 'and'
  | 'or'
  | 'eof';

export interface Token {
  readonly kind: TokenKind;
  /** Label name (label, has) or literal contents (string); '' otherwise. */
  readonly value: string;
  /** Offset (UTF-16 code units) of the token's first character in the input. */
  readonly pos: number;
}

/** A lexical error: what went wrong and where. */
export interface LexError {
  readonly message: string;
  readonly pos: number;
}

const CH_SPACE = 0x20;
const CH_TAB = 0x09;

/** `[a-zA-Z0-9_./-]`: the characters a label name may contain. */
export function isLabelChar(c: number): boolean {
  return (
    (c >= 0x61 && c <= 0x7a) || // a-z
    (c >= 0x41 && c <= 0x5a) || // A-Z
    (c >= 0x30 && c <= 0x39) || // 0-9
    c === 0x5f || // _
    c === 0x2e || // .
    c === 0x2f || // /
    c === 0x2d // -
  );
}

/** True when `label` is a label name the selector language can spell (1-512 label characters). */
export function isValidLabel(label: string): boolean {
  if (label.length === 0 || label.length > MAX_LABEL_LENGTH) return false;
  for (let i = 0; i < label.length; i++) {
    if (!isLabelChar(label.charCodeAt(i))) return false;
  }
  return true;
}

/** Single-character punctuation that always forms a token of its own. */
const PUNCTUATION: Readonly<Record<string, TokenKind>> = {
  '(': 'lparen',
  ')': 'rparen',
  '{': 'lbrace',
  '}': 'rbrace',
  ',': 'comma',
};

/** Operators recognised after a label, tried in this order (so `not in` is tried before `in`). */
const LABEL_OPERATORS: readonly (readonly [TokenKind, readonly string[]])[] = [
  ['contains', ['contains']],
  ['startsWith', ['starts', 'with']],
  ['endsWith', ['ends', 'with']],
  ['notIn', ['not', 'in']],
  ['in', ['in']],
];

/** Cursor over the input; methods return the new offset rather than slicing strings. */
class Scanner {
  readonly input: string;
  readonly tokens: Token[] = [];
  pos = 0;

  constructor(input: string) {
    this.input = input;
  }

  skipWhitespace(from: number): number {
    let i = from;
    while (i < this.input.length) {
      const c = this.input.charCodeAt(i);
      if (c !== CH_SPACE && c !== CH_TAB) break;
      i++;
    }
    return i;
  }

  /** End offset of the run of label characters starting at `from` (may equal `from`). */
  identifierEnd(from: number): number {
    let i = from;
    while (i < this.input.length && isLabelChar(this.input.charCodeAt(i))) i++;
    return i;
  }

  /** The end of the input or any non-label character is a word boundary. */
  atWordBoundary(at: number): boolean {
    return at >= this.input.length || !isLabelChar(this.input.charCodeAt(at));
  }

  /**
   * Matches `words` at `from`, allowing any spaces/tabs (including none) between and after the words; a word
   * boundary must follow. Returns the offset after the match, or -1.
   */
  matchWords(from: number, words: readonly string[]): number {
    const multi = words.length > 1;
    let i = from;
    for (const word of words) {
      if (!this.input.startsWith(word, i)) return -1;
      i += word.length;
      // Calico skips whitespace after every word of a multi-word operator, the last one included, and only
      // then checks the boundary: `a starts with b` is a lexical error, while `a in b` is a parse error.
      if (multi) i = this.skipWhitespace(i);
    }
    return this.atWordBoundary(i) ? i : -1;
  }

  push(kind: TokenKind, pos: number, value = ''): void {
    this.tokens.push({ kind, value, pos });
  }
}

/** Splits `input` into tokens, ending with an `eof` token whose position is the input length. */
export function tokenize(input: string): Result<readonly Token[], LexError> {
  const s = new Scanner(input);
  for (;;) {
    s.pos = s.skipWhitespace(s.pos);
    if (s.pos >= input.length) {
      s.push('eof', input.length);
      return ok(s.tokens);
    }
    const error = scanToken(s);
    if (error !== undefined) return err(error);
  }
}

/** Scans one token at `s.pos` (not whitespace, not end of input) and advances. */
function scanToken(s: Scanner): LexError | undefined {
  const input = s.input;
  const start = s.pos;
  const ch = input.charAt(start);
  const punct = PUNCTUATION[ch];
  if (punct !== undefined) {
    s.push(punct, start);
    s.pos = start + 1;
    return undefined;
  }
  switch (ch) {
    case '"':
    case "'": {
      const close = input.indexOf(ch, start + 1);
      if (close === -1) return { message: 'unterminated string', pos: start };
      s.push('string', start, input.slice(start + 1, close));
      s.pos = close + 1;
      return undefined;
    }
    case '=':
      return scanPair(s, '=', 'eq', 'expected ==');
    case '&':
      return scanPair(s, '&', 'and', 'expected &&');
    case '|':
      return scanPair(s, '|', 'or', 'expected ||');
    case '!':
      if (input.charAt(start + 1) === '=') {
        s.push('ne', start);
        s.pos = start + 2;
      } else {
        s.push('not', start);
        s.pos = start + 1;
      }
      return undefined;
    default:
      return s.tokens.at(-1)?.kind === 'label' ? scanOperator(s) : scanWord(s);
  }
}

/** Two-character operators whose single-character form is an error (`==`, `&&`, `||`). */
function scanPair(s: Scanner, second: string, kind: TokenKind, message: string): LexError | undefined {
  const start = s.pos;
  if (s.input.charAt(start + 1) !== second) return { message, pos: start };
  s.push(kind, start);
  s.pos = start + 2;
  return undefined;
}

/** After a label, only a word operator may follow (punctuation operators were handled already). */
function scanOperator(s: Scanner): LexError | undefined {
  const start = s.pos;
  for (const [kind, words] of LABEL_OPERATORS) {
    const end = s.matchWords(start, words);
    if (end !== -1) {
      s.push(kind, start);
      s.pos = end;
      return undefined;
    }
  }
  const label = s.tokens.at(-1)?.value ?? '';
  return { message: `expected operator after label ${JSON.stringify(label)}`, pos: start };
}

/** `has(label)`, `all()`, `global()` (the opening parenthesis contiguous) or a label. */
function scanWord(s: Scanner): LexError | undefined {
  const input = s.input;
  const start = s.pos;
  if (input.startsWith('has(', start)) {
    const identStart = s.skipWhitespace(start + 4);
    const ident = scanIdentifier(s, identStart);
    if (typeof ident !== 'string') {
      return s.identifierEnd(identStart) === identStart
        ? { message: 'expected a label name after has(', pos: identStart }
        : ident;
    }
    const close = s.skipWhitespace(identStart + ident.length);
    if (input.charAt(close) !== ')') return { message: "no closing ')' after has(", pos: close };
    s.push('has', start, ident);
    s.pos = close + 1;
    return undefined;
  }
  for (const [word, kind] of [
    ['all(', 'all'],
    ['global(', 'global'],
  ] as const) {
    if (input.startsWith(word, start)) {
      const close = s.skipWhitespace(start + word.length);
      if (input.charAt(close) !== ')') return { message: `no closing ')' after ${word}`, pos: close };
      s.push(kind, start);
      s.pos = close + 1;
      return undefined;
    }
  }
  const ident = scanIdentifier(s, start);
  if (typeof ident !== 'string') return ident;
  s.push('label', start, ident);
  s.pos = start + ident.length;
  return undefined;
}

function scanIdentifier(s: Scanner, start: number): string | LexError {
  const end = s.identifierEnd(start);
  if (end === start) {
    return start >= s.input.length
      ? { message: 'expected label name, found end of selector', pos: start }
      : { message: `unexpected character ${JSON.stringify(charAt(s.input, start))}`, pos: start };
  }
  if (end - start > MAX_LABEL_LENGTH) {
    return { message: `label too long (${end - start} characters, at most ${MAX_LABEL_LENGTH})`, pos: start };
  }
  return s.input.slice(start, end);
}

/** The whole code point at `i` (so an emoji in an error message is not cut in half). */
function charAt(input: string, i: number): string {
  const cp = input.codePointAt(i);
  return cp === undefined ? '' : String.fromCodePoint(cp);
}
