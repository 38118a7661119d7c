/**
 * Reads resource files: multi-document YAML, JSON (one object or an array of objects), and `kind: List` /
 * `kind: <Kind>List` documents, whose items are expanded. Each raw document remembers where it came from,
 * for messages. Nothing is validated here beyond syntax; `decodeResource` does the rest.
 *
 * JSON is a subset of YAML and means the same either way; a text that parses as JSON takes the fast JSON
 * parser (about fifty times faster), anything else the YAML parser, one document at a time so that the
 * syntax trees of a large file are never all held at once.
 */
import { Composer, LineCounter, Parser, type YAMLError } from 'yaml';
import { err, ok, type Result } from '../lib/result.js';
import { isRecord, show, typeName } from './decoder.js';

export interface RawDocument {
  /** The file name (or `-` for stdin), as given by the caller. */
  readonly source: string;
  /** 0-based index of the document in the file (empty documents count, so it matches the file). */
  readonly index: number;
  /** 0-based index within a List's items or a top-level array, for documents that came from one. */
  readonly item?: number;
  /** Where the document is, for messages: `document 2` or `document 2 item 3`. */
  readonly location: string;
  readonly value: unknown;
}

export interface LoadIssue {
  readonly source: string;
  readonly location: string;
  /** 1-based position reported by the YAML parser, when it has one. */
  readonly line?: number;
  readonly column?: number;
  readonly message: string;
}

export function formatLoadIssue(issue: LoadIssue): string {
  const pos = issue.line === undefined ? '' : ` line ${issue.line}, column ${issue.column ?? 1}:`;
  return `${issue.source}: ${issue.location}:${pos} ${issue.message}`;
}

export function documentLocation(index: number, item?: number): string {
  return item === undefined ? `document ${index}` : `document ${index} item ${item}`;
}

/** Deepest nesting accepted in one document (deeper input is refused before anything recurses into it). */
export const MAX_DOCUMENT_DEPTH = 200;

function yamlIssue(source: string, index: number, e: YAMLError, lines: LineCounter): LoadIssue {
  // The parser's message repeats the position and quotes the source; keep the first line, minus position.
  const first = (e.message.split('\n')[0] ?? e.message).replace(/ at line \d+, column \d+:?$/, '');
  const pos = lines.linePos(e.pos[0]);
  if (first.includes('Maximum call stack size exceeded')) {
    // The parser ran out of stack on deeply nested input.
    return { source, location: documentLocation(index), message: tooDeepToParse() };
  }
  return { source, location: documentLocation(index), message: first, line: pos.line, column: pos.col };
}

function tooDeepToParse(): string {
  return `document is nested too deeply to parse (at most ${MAX_DOCUMENT_DEPTH} levels are accepted)`;
}

/** True when `value` nests objects/arrays deeper than `max` (checked without recursion). */
function tooDeep(value: unknown, max: number): boolean {
  const stack: { v: unknown; depth: number }[] = [{ v: value, depth: 0 }];
  while (stack.length > 0) {
    const { v, depth } = stack.pop() ?? { v: undefined, depth: 0 };
    if (typeof v !== 'object' || v === null) continue;
    if (depth >= max) return true;
    for (const child of Array.isArray(v) ? v : Object.values(v)) stack.push({ v: child, depth: depth + 1 });
  }
  return false;
}

/** A list kind: `List` or `<Kind>List`; returns the item kind (undefined for a plain List). */
function listItemKind(
  value: Readonly<Record<string, unknown>>,
): { itemKind: string | undefined } | undefined {
  const kind = value['kind'];
  if (typeof kind !== 'string' || !kind.endsWith('List') || !('items' in value)) return undefined;
  return { itemKind: kind === 'List' ? undefined : kind.slice(0, -'List'.length) };
}

/** Items of a typed list may leave out apiVersion and kind; they are taken from the list. */
function fillItem(
  item: unknown,
  list: Readonly<Record<string, unknown>>,
  itemKind: string | undefined,
): unknown {
  if (!isRecord(item) || itemKind === undefined) return item;
  const filled: Record<string, unknown> = { ...item };
  if (filled['kind'] === undefined) filled['kind'] = itemKind;
  if (filled['apiVersion'] === undefined && list['apiVersion'] !== undefined)
    filled['apiVersion'] = list['apiVersion'];
  return filled;
}

function expand(
  value: unknown,
  source: string,
  index: number,
  out: RawDocument[],
  issues: LoadIssue[],
): void {
  const push = (v: unknown, item?: number): void => {
    if (v === null || v === undefined) return;
    const location = documentLocation(index, item);
    out.push(
      item === undefined
        ? { source, index, location, value: v }
        : { source, index, item, location, value: v },
    );
  };
  if (Array.isArray(value)) {
    value.forEach((v: unknown, i) => {
      push(v, i);
    });
    return;
  }
  const list = isRecord(value) ? listItemKind(value) : undefined;
  if (list === undefined || !isRecord(value)) {
    push(value);
    return;
  }
  const items = value['items'];
  if (items === null || items === undefined) return;
  if (!Array.isArray(items)) {
    issues.push({
      source,
      location: documentLocation(index),
      message: `items of ${show(value['kind'])} must be a list, got ${typeName(items)}`,
    });
    return;
  }
  items.forEach((v: unknown, i) => {
    push(fillItem(v, value, list.itemKind), i);
  });
}

function jsonValue(text: string): { value: unknown } | undefined {
  const start = /\S/.exec(text)?.[0];
  if (start !== '{' && start !== '[') return undefined;
  try {
    return { value: JSON.parse(text) as unknown };
  } catch {
    // Not plain JSON (YAML flow style, a syntax error): the YAML parser reads it and reports its errors.
    return undefined;
  }
}

/**
 * Splits a file into raw documents. Syntax errors are reported for every bad document, with the
 * parser's line and column; empty documents are skipped.
 */
export function parseDocuments(text: string, source: string): Result<RawDocument[], LoadIssue[]> {
  const out: RawDocument[] = [];
  const issues: LoadIssue[] = [];
  const accept = (value: unknown, index: number): void => {
    if (tooDeep(value, MAX_DOCUMENT_DEPTH)) {
      issues.push({
        source,
        location: documentLocation(index),
        message: `document is nested more than ${MAX_DOCUMENT_DEPTH} levels deep`,
      });
      return;
    }
    expand(value, source, index, out, issues);
  };
  const json = jsonValue(text);
  if (json !== undefined) {
    accept(json.value, 0);
    return issues.length > 0 ? err(issues) : ok(out);
  }
  const lines = new LineCounter();
  const composer = new Composer();
  let index = 0;
  try {
    for (const doc of composer.compose(new Parser(lines.addNewLine).parse(text), true, text.length)) {
      const i = index++;
      if (doc.errors.length > 0) {
        for (const e of doc.errors) issues.push(yamlIssue(source, i, e, lines));
        continue;
      }
      let value: unknown;
      try {
        value = doc.toJS();
      } catch (e) {
        const message = e instanceof Error ? e.message : String(e);
        issues.push({ source, location: documentLocation(i), message });
        continue;
      }
      accept(value, i);
    }
  } catch (e) {
    // The YAML parser recurses per nesting level: input nested deep enough exhausts the stack.
    if (!(e instanceof RangeError)) throw e;
    issues.push({ source, location: documentLocation(index), message: tooDeepToParse() });
  }
  return issues.length > 0 ? err(issues) : ok(out);
}
