/**
 * Reads resource files: multi-document YAML, JSON (one object or an array of objects; JSON is read by the
 * YAML parser, of which it is a subset), and `kind: List` / `kind: <Kind>List` documents, whose items are
 * expanded. Each raw document remembers where it came from, for messages. Nothing is validated here
 * beyond syntax; `decodeResource` does the rest.
 */
import { parseAllDocuments, type YAMLError } from 'yaml';
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

function yamlIssue(source: string, index: number, e: YAMLError): LoadIssue {
  // The parser's message repeats the position and quotes the source; keep the first line, minus position.
  const first = (e.message.split('\n')[0] ?? e.message).replace(/ at line \d+, column \d+:?$/, '');
  const pos = e.linePos?.[0];
  const base = { source, location: documentLocation(index), message: first };
  return pos === undefined ? base : { ...base, line: pos.line, column: pos.col };
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

/**
 * Splits a file into raw documents. Syntax errors are reported for every bad document, with the
 * parser's line and column; empty documents are skipped.
 */
export function parseDocuments(text: string, source: string): Result<RawDocument[], LoadIssue[]> {
  const out: RawDocument[] = [];
  const issues: LoadIssue[] = [];
  const docs = parseAllDocuments(text);
  docs.forEach((doc, index) => {
    if (doc.errors.length > 0) {
      for (const e of doc.errors) issues.push(yamlIssue(source, index, e));
      return;
    }
    let value: unknown;
    try {
      value = doc.toJS();
    } catch (e) {
      const message = e instanceof Error ? e.message : String(e);
      issues.push({ source, location: documentLocation(index), message });
      return;
    }
    expand(value, source, index, out, issues);
  });
  return issues.length > 0 ? err(issues) : ok(out);
}
