/**
 * Validates desired objects (model.ts) and turns them into the driver's internal form: rule text normalised,
 * given its `counter` (syntax.ts withCounter) and paired with its `cali:<hash>` comment, set elements
 * canonical, verdicts canonical, references scanned. Every problem is reported at once as FieldIssues. Pure.
 */
import type { FieldIssue } from '../../lib/errors.js';
import { err, ok, type Result } from '../../lib/result.js';
import { canonicalElement, canonicalIfname, intervalAllowed, timeoutAllowed } from './elements.js';
import {
  SET_ELEMENT_TYPES,
  type BaseChainHook,
  type ChainSpec,
  type MapKeyType,
  type MapSpec,
  type RuleInput,
  type SetElementType,
  type SetSpec,
  type TableSpec,
} from './model.js';
import {
  canonicalVerdict,
  checkObjectName,
  checkRuleText,
  normaliseRuleText,
  ruleComment,
  ruleRefs,
  withCounter,
} from './syntax.js';

export interface DesiredRule {
  readonly text: string;
  /** The full kernel comment, `cali:<hash>[ note]`; two rules are the same rule when their comments are. */
  readonly comment: string;
}

export interface DesiredChain {
  readonly name: string;
  readonly hook: BaseChainHook | undefined;
  readonly rules: readonly DesiredRule[];
  /** Sets/maps and chains the rules refer to. */
  readonly setRefs: ReadonlySet<string>;
  readonly chainRefs: ReadonlySet<string>;
}

export interface DesiredSet {
  readonly name: string;
  readonly type: SetElementType;
  readonly interval: boolean;
  /** A learned-address set (`flags timeout`): no desired elements; the planner never diffs its elements. */
  readonly timeout: boolean;
  /** Canonical elements, before interval normalisation. Mutated in place by member updates. */
  readonly elements: Set<string>;
}

export interface DesiredMap {
  readonly name: string;
  readonly keyType: MapKeyType;
  /** Canonical key (interface name, port or port range) → canonical verdict. */
  readonly elements: Map<string, string>;
}

export interface DesiredState {
  readonly chains: Map<string, DesiredChain>;
  readonly sets: Map<string, DesiredSet>;
  readonly maps: Map<string, DesiredMap>;
}

const HOOKS_BY_TYPE: Readonly<Record<BaseChainHook['type'], readonly string[]>> = {
  filter: ['prerouting', 'input', 'forward', 'output', 'postrouting'],
  nat: ['prerouting', 'input', 'output', 'postrouting'],
  route: ['output'],
};

function checkHook(hook: BaseChainHook, path: string): FieldIssue[] {
  const issues: FieldIssue[] = [];
  const allowed = Object.hasOwn(HOOKS_BY_TYPE, hook.type) ? HOOKS_BY_TYPE[hook.type] : undefined;
  if (allowed === undefined)
    issues.push({ path: `${path}.type`, message: `unknown chain type ${JSON.stringify(hook.type)}` });
  else if (!allowed.includes(hook.hook)) {
    issues.push({
      path: `${path}.hook`,
      message: `a ${hook.type} chain cannot use hook ${JSON.stringify(hook.hook)}`,
    });
  }
  if (!Number.isSafeInteger(hook.priority) || Math.abs(hook.priority) > 2 ** 31 - 1) {
    issues.push({
      path: `${path}.priority`,
      message: `priority must be a 32-bit integer, got ${hook.priority}`,
    });
  }
  return issues;
}

function nameIssues(name: string, path: string): FieldIssue[] {
  const issue = checkObjectName(name);
  return issue === undefined ? [] : [{ path, message: issue }];
}

export function compileChain(
  name: string,
  rules: readonly RuleInput[],
  hook: BaseChainHook | undefined,
  path = `chains[${name}]`,
): Result<DesiredChain, FieldIssue[]> {
  const issues = nameIssues(name, `${path}.name`);
  if (hook !== undefined) issues.push(...checkHook(hook, `${path}.hook`));
  const out: DesiredRule[] = [];
  const setRefs = new Set<string>();
  const chainRefs = new Set<string>();
  rules.forEach((input, i) => {
    const { rule, comment } = typeof input === 'string' ? { rule: input, comment: undefined } : input;
    const issue = checkRuleText(rule);
    if (issue !== undefined) {
      issues.push({ path: `${path}.rules[${i}]`, message: `${issue}: ${JSON.stringify(rule)}` });
      return;
    }
    const text = withCounter(normaliseRuleText(rule));
    out.push({ text, comment: ruleComment(name, text, comment) });
    const refs = ruleRefs(text);
    refs.sets.forEach((s) => setRefs.add(s));
    refs.chains.forEach((c) => chainRefs.add(c));
  });
  if (issues.length > 0) return err(issues);
  return ok({ name, hook: hook === undefined ? undefined : { ...hook }, rules: out, setRefs, chainRefs });
}

/** Canonical forms of `raws` for a set of this type, with an issue per bad element. */
export function compileElements(
  type: SetElementType,
  interval: boolean,
  raws: Iterable<string>,
  path: string,
): Result<string[], FieldIssue[]> {
  const issues: FieldIssue[] = [];
  const out: string[] = [];
  let i = 0;
  for (const raw of raws) {
    const c = canonicalElement(type, interval, raw);
    if (c.ok) out.push(c.value);
    else issues.push({ path: `${path}[${i}]`, message: c.error });
    i++;
  }
  return issues.length > 0 ? err(issues) : ok(out);
}

function timeoutIssues(spec: SetSpec, path: string): FieldIssue[] {
  const issues: FieldIssue[] = [];
  if (!timeoutAllowed(spec.type) || spec.interval) {
    const what = spec.interval ? `interval sets` : `sets of type ${spec.type}`;
    issues.push({ path: `${path}.timeout`, message: `${what} cannot be timeout sets` });
  }
  if (spec.elements.length > 0) {
    issues.push({
      path: `${path}.elements`,
      message: 'a timeout set is declared empty: its elements are learned (programLearned), not desired',
    });
  }
  return issues;
}

export function compileSet(spec: SetSpec, path = `sets[${spec.name}]`): Result<DesiredSet, FieldIssue[]> {
  const issues = nameIssues(spec.name, `${path}.name`);
  if (!SET_ELEMENT_TYPES.includes(spec.type)) {
    issues.push({ path: `${path}.type`, message: `unsupported set type ${JSON.stringify(spec.type)}` });
    return err(issues);
  }
  if (spec.interval && !intervalAllowed(spec.type)) {
    issues.push({
      path: `${path}.interval`,
      message: `interval sets of type ${spec.type} are not supported`,
    });
    return err(issues);
  }
  const timeout = spec.timeout === true;
  if (timeout) issues.push(...timeoutIssues(spec, path));
  const elements = compileElements(spec.type, spec.interval, spec.elements, `${path}.elements`);
  if (!elements.ok) issues.push(...elements.error);
  if (issues.length > 0 || !elements.ok) return err(issues);
  const { name, type, interval } = spec;
  return ok({ name, type, interval, timeout, elements: new Set(elements.value) });
}

/** Canonical map entries, with an issue per bad key or verdict. */
export function compileMapEntries(
  entries: Iterable<readonly [string, string]>,
  path: string,
  keyType: MapKeyType = 'ifname',
): Result<Map<string, string>, FieldIssue[]> {
  const issues: FieldIssue[] = [];
  const out = new Map<string, string>();
  for (const [key, verdict] of entries) {
    const k = keyType === 'ifname' ? canonicalIfname(key.trim()) : canonicalElement(keyType, true, key);
    const v = canonicalVerdict(verdict);
    if (!k.ok) issues.push({ path: `${path}[${key}]`, message: k.error });
    if (!v.ok) issues.push({ path: `${path}[${key}]`, message: v.error });
    if (k.ok && v.ok) out.set(k.value, v.value);
  }
  return issues.length > 0 ? err(issues) : ok(out);
}

export function compileMap(spec: MapSpec, path = `maps[${spec.name}]`): Result<DesiredMap, FieldIssue[]> {
  const issues = nameIssues(spec.name, `${path}.name`);
  const entries = compileMapEntries(spec.elements, `${path}.elements`, spec.keyType);
  if (!entries.ok) issues.push(...entries.error);
  if (issues.length > 0 || !entries.ok) return err(issues);
  return ok({ name: spec.name, keyType: spec.keyType, elements: entries.value });
}

function compileAll<S extends { readonly name: string }, D>(
  specs: readonly S[],
  kind: string,
  compile: (spec: S) => Result<D, FieldIssue[]>,
  taken: Set<string>,
  issues: FieldIssue[],
): Map<string, D> {
  const out = new Map<string, D>();
  for (const spec of specs) {
    if (taken.has(spec.name)) {
      issues.push({ path: `${kind}[${spec.name}]`, message: `duplicate name ${JSON.stringify(spec.name)}` });
      continue;
    }
    taken.add(spec.name);
    const r = compile(spec);
    if (r.ok) out.set(spec.name, r.value);
    else issues.push(...r.error);
  }
  return out;
}

/** Validates a whole table. Sets and maps share one namespace in nft; chains have their own. */
export function compileTable(spec: TableSpec): Result<DesiredState, FieldIssue[]> {
  const issues: FieldIssue[] = [];
  const chains = compileAll(
    spec.chains,
    'chains',
    (c: ChainSpec) => compileChain(c.name, c.rules, c.hook),
    new Set(),
    issues,
  );
  const setNames = new Set<string>();
  const sets = compileAll(spec.sets, 'sets', (s: SetSpec) => compileSet(s), setNames, issues);
  const maps = compileAll(spec.maps, 'maps', (m: MapSpec) => compileMap(m), setNames, issues);
  return issues.length > 0 ? err(issues) : ok({ chains, sets, maps });
}
