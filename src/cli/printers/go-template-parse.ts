/**
 * The parser of `calicoctl get -o go-template=...`: the part of Go's text/template that such templates use.
 * Text and `{{ }}` actions (with `{{-`/`-}}` trimming and comments); `if`/`else if`/`else`, `range` (with
 * `$i, $e :=`), `with`, `end`, `break`, `continue`; pipelines of commands joined by `|`; operands: `.`,
 * field chains (`.Spec.Selector`), variables (`$`, `$x.Name`), string, raw-string, number and boolean
 * literals, `nil`, function names and parenthesised pipelines; variable declaration and assignment.
 * `define`, `template` and `block` are not supported. Errors read like Go's: `template: get:1: ...`.
 */

export type Operand =
  | { readonly type: 'dot'; readonly fields: readonly string[] }
  | { readonly type: 'var'; readonly name: string; readonly fields: readonly string[] }
  | {
      readonly type: 'literal';
      readonly value: string | number | boolean | null;
      /** A number written as a float (`1e6`, `2.5`): Go prints it as a float64. */
      readonly float?: boolean;
    }
  | { readonly type: 'func'; readonly name: string }
  | { readonly type: 'pipe'; readonly pipe: Pipeline; readonly fields: readonly string[] };

/** One command: an operand, or a function applied to arguments (`printf "%s" .Name`). */
export type Cmd = readonly Operand[];

export interface Pipeline {
  readonly decl: readonly string[];
  /** `:=` declares, `=` assigns. */
  readonly assign: boolean;
  readonly cmds: readonly Cmd[];
}

/** `{{if}}`, `{{with}}` or `{{range}}` with its body and its `{{else}}` part. */
export interface ControlNode {
  readonly type: 'if' | 'with' | 'range';
  readonly line: number;
  readonly pipe: Pipeline;
  readonly body: readonly Node[];
  readonly otherwise: readonly Node[];
}

export type Node =
  | { readonly type: 'text'; readonly text: string }
  | { readonly type: 'action'; readonly line: number; readonly pipe: Pipeline }
  | ControlNode
  | { readonly type: 'break' | 'continue'; readonly line: number };

export class TemplateError extends Error {}

type Token =
  | { readonly t: 'field'; readonly v: string }
  | { readonly t: 'var'; readonly v: string }
  | { readonly t: 'ident'; readonly v: string }
  | { readonly t: 'str'; readonly v: string }
  | { readonly t: 'num'; readonly v: number; readonly float?: boolean }
  | { readonly t: 'punct'; readonly v: '(' | ')' | '|' | ':=' | '=' | ',' | '.' };

function fail(line: number, msg: string): never {
  throw new TemplateError(`template: get:${line}: ${msg}`);
}

/** Tokens of one action's text. */
function tokenize(src: string, line: number): Token[] {
  const out: Token[] = [];
  let i = 0;
  const ident = /[A-Za-z0-9_]/;
  while (i < src.length) {
    const c = src[i] ?? '';
    if (/\s/.test(c)) {
      i++;
    } else if (c === '"' || c === '`' || c === "'") {
      let j = i + 1;
      while (j < src.length && src[j] !== c) j += src[j] === '\\' && c !== '`' ? 2 : 1;
      if (j >= src.length) fail(line, `unterminated quoted string`);
      const raw = src.slice(i, j + 1);
      if (c === '`') out.push({ t: 'str', v: raw.slice(1, -1) });
      else if (c === "'")
        out.push({ t: 'num', v: (JSON.parse(`"${raw.slice(1, -1)}"`) as string).codePointAt(0) ?? 0 });
      else {
        try {
          out.push({ t: 'str', v: JSON.parse(raw) as string });
        } catch {
          fail(line, `invalid syntax in string ${raw}`);
        }
      }
      i = j + 1;
    } else if (c === '.' || c === '$') {
      let j = i + 1;
      while (j < src.length && ident.test(src[j] ?? '')) j++;
      const name = src.slice(i + 1, j);
      if (c === '$') out.push({ t: 'var', v: name });
      else if (name === '') out.push({ t: 'punct', v: '.' });
      else if (/^[0-9]/.test(name)) fail(line, `unexpected ".${name}"`);
      else out.push({ t: 'field', v: name });
      i = j;
    } else if (/[-+0-9]/.test(c)) {
      const m = /^[-+]?(0x[0-9a-fA-F]+|[0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)/.exec(src.slice(i));
      if (m === null) fail(line, `bad number syntax: ${src.slice(i, i + 10)}`);
      const float = !/^[-+]?0x/.test(m[0]) && /[.eE]/.test(m[0]);
      out.push(float ? { t: 'num', v: Number(m[0]), float } : { t: 'num', v: Number(m[0]) });
      i += m[0].length;
    } else if (ident.test(c)) {
      let j = i;
      while (j < src.length && ident.test(src[j] ?? '')) j++;
      out.push({ t: 'ident', v: src.slice(i, j) });
      i = j;
    } else if (src.startsWith(':=', i)) {
      out.push({ t: 'punct', v: ':=' });
      i += 2;
    } else if ('()|=,'.includes(c)) {
      out.push({ t: 'punct', v: c as '(' | ')' | '|' | '=' | ',' });
      i++;
    } else {
      fail(line, `unexpected ${JSON.stringify(c)} in command`);
    }
  }
  return out;
}

class Tokens {
  pos = 0;
  readonly list: readonly Token[];
  readonly line: number;
  constructor(list: readonly Token[], line: number) {
    this.list = list;
    this.line = line;
  }
  peek(): Token | undefined {
    return this.list[this.pos];
  }
  next(): Token | undefined {
    return this.list[this.pos++];
  }
  isPunct(v: string): boolean {
    const t = this.peek();
    return t?.t === 'punct' && t.v === v;
  }
}

function fields(ts: Tokens): string[] {
  const out: string[] = [];
  for (let t = ts.peek(); t?.t === 'field'; t = ts.peek()) {
    out.push(t.v);
    ts.next();
  }
  return out;
}

function operand(ts: Tokens): Operand | undefined {
  const t = ts.peek();
  if (t === undefined) return undefined;
  if (t.t === 'punct') {
    if (t.v === '.') {
      ts.next();
      return { type: 'dot', fields: [] };
    }
    if (t.v !== '(') return undefined;
    ts.next();
    const pipe = pipeline(ts, false);
    if (!ts.isPunct(')')) fail(ts.line, 'unclosed left paren');
    ts.next();
    return { type: 'pipe', pipe, fields: fields(ts) };
  }
  ts.next();
  switch (t.t) {
    case 'field':
      return { type: 'dot', fields: [t.v, ...fields(ts)] };
    case 'var':
      return { type: 'var', name: t.v, fields: fields(ts) };
    case 'str':
      return { type: 'literal', value: t.v };
    case 'num':
      return t.float === true
        ? { type: 'literal', value: t.v, float: true }
        : { type: 'literal', value: t.v };
    case 'ident':
      if (t.v === 'true' || t.v === 'false') return { type: 'literal', value: t.v === 'true' };
      if (t.v === 'nil') return { type: 'literal', value: null };
      return { type: 'func', name: t.v };
  }
}

function pipeline(ts: Tokens, allowDecl: boolean): Pipeline {
  let decl: string[] = [];
  let assign = false;
  if (allowDecl) {
    // `$x := pipeline`, `$i, $e := pipeline` (range), `$x = pipeline`.
    const save = ts.pos;
    const names: string[] = [];
    for (let t = ts.peek(); t?.t === 'var'; t = ts.peek()) {
      names.push(t.v);
      ts.next();
      if (!ts.isPunct(',')) break;
      ts.next();
    }
    if (names.length > 0 && (ts.isPunct(':=') || ts.isPunct('='))) {
      assign = ts.isPunct('=');
      ts.next();
      decl = names;
    } else {
      ts.pos = save;
    }
  }
  const cmds: Cmd[] = [];
  let cmd: Operand[] = [];
  for (;;) {
    if (ts.isPunct('|')) {
      if (cmd.length === 0) fail(ts.line, 'missing command');
      cmds.push(cmd);
      cmd = [];
      ts.next();
      continue;
    }
    const op = operand(ts);
    if (op === undefined) break;
    cmd.push(op);
  }
  if (cmd.length === 0) fail(ts.line, 'missing value for command');
  cmds.push(cmd);
  return { decl, assign, cmds };
}

function parseAction(src: string, line: number): Pipeline {
  const ts = new Tokens(tokenize(src, line), line);
  const pipe = pipeline(ts, true);
  const rest = ts.peek();
  if (rest !== undefined) fail(line, `unexpected ${JSON.stringify(rest.v)} in operand`);
  return pipe;
}

interface RawAction {
  readonly text: string;
  readonly line: number;
}

/** Splits the source into text and action strings, applying trim markers and dropping comments. */
function scan(src: string): (string | RawAction)[] {
  const out: (string | RawAction)[] = [];
  let i = 0;
  let trimNext = false;
  while (i <= src.length) {
    const open = src.indexOf('{{', i);
    let text = src.slice(i, open < 0 ? src.length : open);
    if (trimNext) text = text.replace(/^\s+/, '');
    trimNext = false;
    if (open < 0) {
      if (text !== '') out.push(text);
      break;
    }
    let start = open + 2;
    if (/^-\s/.test(src.slice(start, start + 2))) {
      text = text.replace(/\s+$/, '');
      start += 2;
    }
    if (text !== '') out.push(text);
    const close = src.indexOf('}}', start);
    const line = src.slice(0, open).split('\n').length;
    if (close < 0) fail(line, 'unclosed action');
    let end = close;
    if (/\s-$/.test(src.slice(close - 2, close))) {
      trimNext = true;
      end = close - 2;
    }
    const body = src.slice(start, end).trim();
    if (!(body.startsWith('/*') && body.endsWith('*/'))) out.push({ text: body, line });
    i = close + 2;
  }
  return out;
}

type Terminator = 'end' | 'else' | 'eof';

/** Parses a template source into its tree. Throws TemplateError. */
export function parseTemplate(src: string): Node[] {
  const items = scan(src);
  let pos = 0;
  const list = (inLoop: boolean): { nodes: Node[]; end: Terminator; elseAction?: RawAction } => {
    const nodes: Node[] = [];
    while (pos < items.length) {
      const item = items[pos++] ?? '';
      if (typeof item === 'string') {
        nodes.push({ type: 'text', text: item });
        continue;
      }
      const [word = '', ...rest] = item.text.split(/\s+/);
      const arg = rest.join(' ');
      if (word === 'end') return { nodes, end: 'end' };
      if (word === 'else') return { nodes, end: 'else', elseAction: { text: arg, line: item.line } };
      if (word === 'if' || word === 'with' || word === 'range') {
        nodes.push(control(word, arg, item.line, inLoop || word === 'range'));
      } else if (word === 'break' || word === 'continue') {
        if (!inLoop) fail(item.line, `{{${word}}} outside {{range}}`);
        nodes.push({ type: word, line: item.line });
      } else if (word === 'define' || word === 'template' || word === 'block') {
        fail(item.line, `{{${word}}} is not supported by calico-ts`);
      } else {
        nodes.push({ type: 'action', line: item.line, pipe: parseAction(item.text, item.line) });
      }
    }
    return { nodes, end: 'eof' };
  };
  const control = (kind: 'if' | 'with' | 'range', arg: string, line: number, inLoop: boolean): Node => {
    if (arg === '') fail(line, `missing value for ${kind}`);
    const pipe = parseAction(arg, line);
    const body = list(inLoop);
    let otherwise: Node[] = [];
    if (body.end === 'eof') fail(line, `unexpected EOF`);
    if (body.end === 'else') {
      const elseArg = body.elseAction?.text ?? '';
      const chained = /^(if|with)\s+(.*)$/.exec(elseArg);
      if (chained !== null) {
        // `{{else if X}}` is `{{else}}{{if X}}...{{end}}` sharing the outer `{{end}}`.
        otherwise = [control(chained[1] as 'if' | 'with', chained[2] ?? '', line, inLoop)];
      } else {
        const tail = list(inLoop);
        if (tail.end !== 'end') fail(line, `expected end; found ${tail.end}`);
        otherwise = tail.nodes;
      }
    }
    return { type: kind, line, pipe, body: body.nodes, otherwise };
  };
  const top = list(false);
  if (top.end !== 'eof') fail(top.elseAction?.line ?? 1, `unexpected {{${top.end}}}`);
  return top.nodes;
}
