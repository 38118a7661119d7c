/**
 * `calicoctl get -o go-template=...` / `go-template-file=...`: runs a Go text/template (the subset parsed
 * by go-template-parse.ts) over the list of resources, as calicoctl does (`.` is the list, so templates
 * start `{{range .}}`). Field names are Go's: `.ObjectMeta.Name` (also `.Name`, promoted from the embedded
 * ObjectMeta), `.Spec.CIDR`, `.Spec.IPIPMode`; they are matched against the JSON fields case-insensitively,
 * and the JSON names work too (`.metadata.name`). A field the object does not have is empty. Functions:
 * and, or, not, len, index, slice, eq, ne, lt, le, gt, ge, print, printf, println, and calicoctl's join,
 * joinAndTruncate and `config "asnumber"`.
 */
import { goJoin } from './go-format.js';
import {
  FLOAT_FIELDS,
  GoFloat,
  goValue,
  isObject,
  plain,
  sprint,
  sprintf,
  truthy,
  typeOf,
  type Value,
} from './go-template-values.js';
import {
  type ControlNode,
  type Node,
  type Operand,
  type Pipeline,
  parseTemplate,
  TemplateError,
} from './go-template-parse.js';

export { TemplateError } from './go-template-parse.js';
export { goValue, sprintf } from './go-template-values.js';

export interface TemplateContext {
  /** calicoctl's `config` template function (`asnumber`: the cluster's default AS number). */
  readonly config: (name: string) => string;
}

/** `.Name` on a resource: the Go field name, matched against JSON names (see the file comment). */
function field(v: Value, name: string): Value {
  if (v === undefined || v === null) return undefined;
  if (!isObject(v)) throw new Error(`can't evaluate field ${name} in type ${typeOf(v)}`);
  if (name === 'ObjectMeta') return v['metadata'];
  if (name === 'TypeMeta') return v;
  const lower = name.toLowerCase();
  const key = Object.hasOwn(v, name) ? name : Object.keys(v).find((k) => k.toLowerCase() === lower);
  if (key !== undefined) {
    const found = v[key];
    return typeof found === 'number' && FLOAT_FIELDS.has(key) ? new GoFloat(found) : found;
  }
  const meta = v['metadata'];
  if (isObject(meta)) {
    const promoted = Object.keys(meta).find((k) => k.toLowerCase() === lower);
    if (promoted !== undefined) return meta[promoted];
  }
  return undefined;
}

function compare(x: Value, y: Value, op: string): number {
  const [a, b] = [plain(x), plain(y)];
  const ok = (x: Value): boolean => typeof x === 'number' || typeof x === 'string';
  if (!ok(a) || !ok(b) || typeof a !== typeof b) {
    throw new Error(`incompatible types for comparison: ${op} ${typeOf(a)} ${typeOf(b)}`);
  }
  return (a as number | string) < (b as number | string) ? -1 : a === b ? 0 : 1;
}

function equal(x: Value, y: Value): boolean {
  const [a, b] = [plain(x), plain(y)];
  if (a === undefined || a === null || b === undefined || b === null) return (a ?? null) === (b ?? null);
  if (typeof a === 'object' || typeof b === 'object') {
    throw new Error(`non-comparable type ${typeOf(typeof a === 'object' ? a : b)}`);
  }
  if (typeof a !== typeof b) throw new Error(`incompatible types for comparison`);
  return a === b;
}

function lengthOf(value: Value): number {
  const v = plain(value);
  if (typeof v === 'string') return Buffer.byteLength(v, 'utf8');
  if (Array.isArray(v)) return v.length;
  if (isObject(v)) return Object.keys(v).length;
  throw new Error(`len of type ${typeOf(v)}`);
}

function indexOf(v: Value, keys: readonly Value[]): Value {
  let cur = v;
  for (const key of keys) {
    const k = plain(key);
    if (Array.isArray(cur)) {
      if (typeof k !== 'number' || !Number.isInteger(k))
        throw new Error(`cannot index slice with ${typeOf(k)}`);
      if (k < 0 || k >= cur.length) throw new Error(`error calling index: index out of range: ${k}`);
      cur = cur[k];
    } else if (isObject(cur)) {
      cur = typeof k === 'string' && Object.hasOwn(cur, k) ? cur[k] : undefined;
    } else if (cur === undefined || cur === null) {
      throw new Error('error calling index: index of untyped nil');
    } else {
      throw new Error(`can't index item of type ${typeOf(cur)}`);
    }
  }
  return cur;
}

function sliceOf(v: Value, bounds: readonly Value[]): Value {
  const [from = 0, to] = bounds.map((b) => Number(plain(b)));
  if (typeof v === 'string' || Array.isArray(v)) return v.slice(from, to);
  throw new Error(`can't slice item of type ${typeOf(v)}`);
}

type Func = (args: readonly Value[]) => Value;

function functions(ctx: TemplateContext): Readonly<Record<string, Func>> {
  const two = (name: string, args: readonly Value[]): [Value, Value] => {
    if (args.length !== 2) throw new Error(`wrong number of args for ${name}: want 2 got ${args.length}`);
    return [args[0], args[1]];
  };
  return {
    and: (a) => a.find((x) => !truthy(x)) ?? a.at(-1),
    or: (a) => a.find(truthy) ?? a.at(-1),
    not: (a) => !truthy(a[0]),
    len: (a) => lengthOf(a[0]),
    index: (a) => indexOf(a[0], a.slice(1)),
    slice: (a) => sliceOf(a[0], a.slice(1)),
    eq: (a) => a.slice(1).some((b) => equal(a[0], b)),
    ne: (a) => !equal(...two('ne', a)),
    lt: (a) => compare(...two('lt', a), 'lt') < 0,
    le: (a) => compare(...two('le', a), 'le') <= 0,
    gt: (a) => compare(...two('gt', a), 'gt') > 0,
    ge: (a) => compare(...two('ge', a), 'ge') >= 0,
    print: sprint,
    println: (a) => `${a.map(goValue).join(' ')}\n`,
    printf: (a) => sprintf(goValue(a[0]), a.slice(1)),
    join: (a) => goJoin(a[0], goValue(a[1])),
    joinAndTruncate: (a) => goJoin(a[0], goValue(a[1]), Number(plain(a[2] ?? 0))),
    config: (a) => ctx.config(goValue(a[0])),
  };
}

/** Signals `{{break}}` / `{{continue}}` out of the nodes of a range body. */
class LoopControl extends Error {
  readonly kind: 'break' | 'continue';
  constructor(kind: 'break' | 'continue') {
    super(`{{${kind}}}`);
    this.kind = kind;
  }
}

class Exec {
  readonly #funcs: Readonly<Record<string, Func>>;
  readonly #vars: Map<string, Value>[];
  readonly #write: (text: string) => void;

  constructor(root: Value, ctx: TemplateContext, write: (text: string) => void) {
    this.#funcs = functions(ctx);
    this.#vars = [new Map([['', root]])];
    this.#write = write;
  }

  run(nodes: readonly Node[], dot: Value): void {
    for (const n of nodes) {
      switch (n.type) {
        case 'text':
          this.#write(n.text);
          break;
        case 'action': {
          const v = this.#guard(n.line, () => this.#pipeline(n.pipe, dot));
          if (n.pipe.decl.length === 0) this.#write(goValue(v));
          break;
        }
        case 'if':
        case 'with': {
          this.#vars.push(new Map());
          const v = this.#guard(n.line, () => this.#pipeline(n.pipe, dot));
          if (truthy(v)) this.run(n.body, n.type === 'with' ? v : dot);
          else this.run(n.otherwise, dot);
          this.#vars.pop();
          break;
        }
        case 'range':
          this.#range(n, dot);
          break;
        case 'break':
        case 'continue':
          throw new LoopControl(n.type);
      }
    }
  }

  #range(n: ControlNode, dot: Value): void {
    const decl = n.pipe.decl;
    const v = this.#guard(n.line, () => this.#pipeline({ ...n.pipe, decl: [] }, dot));
    let entries: [Value, Value][];
    if (Array.isArray(v)) entries = v.map((e, i) => [i, e]);
    else if (isObject(v))
      entries = Object.keys(v)
        .sort()
        .map((k) => [k, v[k]]);
    else if (v === undefined || v === null) entries = [];
    else throw new TemplateError(`template: get:${n.line}: range can't iterate over ${goValue(v)}`);
    if (entries.length === 0) {
      this.run(n.otherwise, dot);
      return;
    }
    for (const [k, e] of entries) {
      const scope = new Map<string, Value>();
      if (decl.length === 1) scope.set(decl[0] ?? '', e);
      if (decl.length === 2) {
        scope.set(decl[0] ?? '', k);
        scope.set(decl[1] ?? '', e);
      }
      this.#vars.push(scope);
      try {
        this.run(n.body, e);
      } catch (c) {
        if (!(c instanceof LoopControl)) throw c;
        if (c.kind === 'break') break;
      } finally {
        this.#vars.pop();
      }
    }
  }

  #guard<T>(line: number, fn: () => T): T {
    try {
      return fn();
    } catch (e) {
      if (e instanceof TemplateError || e instanceof LoopControl) throw e;
      throw new TemplateError(
        `template: get:${line}: executing "get": ${e instanceof Error ? e.message : String(e)}`,
      );
    }
  }

  #variable(name: string): Value {
    for (let i = this.#vars.length - 1; i >= 0; i--) {
      const scope = this.#vars[i];
      if (scope?.has(name) === true) return scope.get(name);
    }
    throw new Error(`undefined variable: $${name}`);
  }

  #pipeline(p: Pipeline, dot: Value): Value {
    let v: Value;
    let first = true;
    for (const cmd of p.cmds) {
      v = this.#command(cmd, dot, first ? [] : [v]);
      first = false;
    }
    if (p.decl.length > 0) {
      const name = p.decl[0] ?? '';
      const scope = p.assign ? this.#vars.findLast((s) => s.has(name)) : this.#vars.at(-1);
      if (scope === undefined) throw new Error(`undefined variable: $${name}`);
      scope.set(name, v);
    }
    return v;
  }

  #command(cmd: readonly Operand[], dot: Value, piped: readonly Value[]): Value {
    const [head, ...rest] = cmd;
    if (head?.type === 'func') {
      const fn = this.#funcs[head.name];
      if (fn === undefined) throw new Error(`function "${head.name}" not defined`);
      return fn([...rest.map((o) => this.#operand(o, dot)), ...piped]);
    }
    if (head === undefined) return undefined;
    if (rest.length > 0 || piped.length > 0) throw new Error(`can't give argument to non-function`);
    return this.#operand(head, dot);
  }

  #operand(o: Operand, dot: Value): Value {
    switch (o.type) {
      case 'literal':
        return o.float === true && typeof o.value === 'number' ? new GoFloat(o.value) : o.value;
      case 'func': {
        const fn = this.#funcs[o.name];
        if (fn === undefined) throw new Error(`function "${o.name}" not defined`);
        return fn([]);
      }
      case 'dot':
        return o.fields.reduce(field, dot);
      case 'var':
        return o.fields.reduce(field, this.#variable(o.name));
      case 'pipe':
        return o.fields.reduce(field, this.#pipeline(o.pipe, dot));
    }
  }
}

/** Runs `source` over `data`, writing the output piece by piece. Throws TemplateError. */
export function runTemplate(
  source: string,
  data: Value,
  ctx: TemplateContext,
  write: (text: string) => void,
): void {
  const nodes = parseTemplate(source);
  new Exec(data, ctx, write).run(nodes, data);
}
