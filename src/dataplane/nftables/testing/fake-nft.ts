/**
 * Test helper: a small simulation of `nft` for `table inet calico`, plugged into a FakeCommandRunner (Felix's
 * iptables MockDataplane idea). It executes the scripts NftTable renders (only that dialect), transactionally and
 * with the checks the kernel makes that matter to the reconciler: missing objects, objects still referenced,
 * overlapping intervals, map keys re-added with another verdict, hook changes. It lists its state as
 * `nft -j -p list table inet calico` would. Tests edit `state` directly to simulate drift or a previous run.
 */
import { parseCidr, cidrsOverlap } from '../../../lib/net/ip.js';
import type { FakeCommandRunner } from '../../exec/fake-runner.js';
import { kernelElement, kernelVerdict } from '../elements.js';
import type { SetElementType } from '../model.js';
import { ruleRefs } from '../syntax.js';
import { elementJson, nftJson, verdictJson, type KernelTableJson } from './nft-json.js';

export interface SimChain {
  hook?: { type: string; hook: string; prio: number; policy: string };
  rules: { comment?: string; text: string }[];
}

export interface SimSet {
  type: string;
  interval: boolean;
  timeout?: boolean;
  elements: Set<string>;
  /** Timeout sets: each element's timeout in seconds (the simulation never expires them by itself). */
  timeouts?: Map<string, number>;
}

export interface SimState {
  exists: boolean;
  chains: Map<string, SimChain>;
  sets: Map<string, SimSet>;
  maps: Map<string, Map<string, string>>;
  foreign: { kind: string; name: string }[];
}

class ScriptError extends Error {}

/** The rule text behind a described expression (`[{ text }]`, as describeProgrammed and listing() write it). */
function ruleText(expr: unknown): string {
  if (Array.isArray(expr) && expr.length === 1) {
    const first: unknown = expr[0];
    if (typeof first === 'object' && first !== null && 'text' in first && typeof first.text === 'string')
      return first.text;
  }
  return JSON.stringify(expr ?? null);
}

function clone(s: SimState): SimState {
  return {
    exists: s.exists,
    chains: new Map(
      [...s.chains].map(([k, c]) => [k, { ...(c.hook ? { hook: { ...c.hook } } : {}), rules: [...c.rules] }]),
    ),
    sets: new Map(
      [...s.sets].map(([k, v]) => [
        k,
        {
          ...v,
          elements: new Set(v.elements),
          ...(v.timeouts ? { timeouts: new Map(v.timeouts) } : {}),
        },
      ]),
    ),
    maps: new Map([...s.maps].map(([k, v]) => [k, new Map(v)])),
    foreign: [...s.foreign],
  };
}

function fail(message: string): never {
  throw new ScriptError(message);
}

export class FakeNft {
  state: SimState = { exists: false, chains: new Map(), sets: new Map(), maps: new Map(), foreign: [] };
  /** Scripts successfully applied, oldest first. */
  readonly applied: string[] = [];
  /** Lines for which the simulated kernel answers with an error (e.g. a rule it "cannot parse"). */
  rejectLine: (line: string) => boolean = () => false;

  /** Answers `nft -j -p list table inet calico`, `nft -j list tables inet` and `nft -f -` on `runner`. */
  install(runner: FakeCommandRunner): this {
    runner.on({ cmd: 'nft', args: ['-j', '-p', 'list', 'table', 'inet', 'calico'] }, () =>
      this.state.exists
        ? { stdout: this.listing() }
        : { code: 1, stderr: 'Error: No such file or directory' },
    );
    runner.on({ cmd: 'nft', args: ['-j', 'list', 'tables', 'inet'] }, () => ({
      stdout: JSON.stringify({
        nftables: this.state.exists ? [{ table: { family: 'inet', name: 'calico' } }] : [],
      }),
    }));
    runner.on({ cmd: 'nft', args: ['-f', '-'] }, (call) => this.run(call.stdin ?? ''));
    return this;
  }

  /** Loads a described kernel table (a previous run's leftovers). */
  load(t: KernelTableJson): this {
    const s: SimState = {
      exists: true,
      chains: new Map(),
      sets: new Map(),
      maps: new Map(),
      foreign: [...(t.foreign ?? [])],
    };
    for (const [name, c] of Object.entries(t.chains ?? {})) {
      const rules = (c.rules ?? []).map((r) => ({
        ...(r.comment === undefined ? {} : { comment: r.comment }),
        text: ruleText(r.expr),
      }));
      s.chains.set(name, { ...(c.hook ? { hook: { ...c.hook } } : {}), rules });
    }
    for (const [name, set] of Object.entries(t.sets ?? {})) {
      const type = typeof set.type === 'string' ? set.type : set.type.join(' . ');
      const elements = (set.elem ?? []).map(
        (e) => kernelElement(type as SetElementType, e) ?? JSON.stringify(e),
      );
      s.sets.set(name, {
        type,
        interval: set.flags?.includes('interval') ?? false,
        ...(set.flags?.includes('timeout') === true ? { timeout: true, timeouts: new Map() } : {}),
        elements: new Set(elements),
      });
    }
    for (const [name, m] of Object.entries(t.maps ?? {})) {
      const entries = (m.elem ?? []).map((e) => {
        const [k, v] = e as [string, unknown];
        return [k, kernelVerdict(v) ?? JSON.stringify(v)] as const;
      });
      s.maps.set(name, new Map(entries));
    }
    this.state = s;
    return this;
  }

  listing(): string {
    const s = this.state;
    return nftJson({
      chains: Object.fromEntries(
        [...s.chains].map(([name, c]) => [
          name,
          {
            ...(c.hook ? { hook: c.hook } : {}),
            rules: c.rules.map((r) => ({
              ...(r.comment === undefined ? {} : { comment: r.comment }),
              expr: [{ text: r.text }],
            })),
          },
        ]),
      ),
      sets: Object.fromEntries(
        [...s.sets].map(([name, set]) => [
          name,
          {
            type: set.type.includes(' . ') ? set.type.split(' . ') : set.type,
            ...(set.interval ? { flags: ['interval'] } : {}),
            ...(set.timeout === true ? { flags: ['timeout'] } : {}),
            elem: [...set.elements].map((e) => {
              const t = set.timeouts?.get(e);
              return t === undefined
                ? elementJson(e)
                : { elem: { val: elementJson(e), timeout: t, expires: t } };
            }),
          },
        ]),
      ),
      maps: Object.fromEntries(
        [...s.maps].map(([name, m]) => [name, { elem: [...m].map(([k, v]) => [k, verdictJson(v)]) }]),
      ),
      foreign: s.foreign,
    });
  }

  run(script: string): { code: number; stderr: string } {
    const next = clone(this.state);
    const lines = script.split('\n').filter((l) => l !== '');
    for (const [i, line] of lines.entries()) {
      try {
        if (this.rejectLine(line)) fail('Error: Could not process rule: Invalid argument');
        execLine(next, line);
      } catch (e) {
        if (!(e instanceof ScriptError)) throw e;
        return { code: 1, stderr: `/dev/stdin:${i + 1}:1: ${e.message}\n${line}\n` };
      }
    }
    this.state = next;
    this.applied.push(script);
    return { code: 0, stderr: '' };
  }
}

function refsTo(s: SimState, name: string, kind: 'set' | 'chain'): boolean {
  for (const c of s.chains.values()) {
    for (const r of c.rules) {
      const refs = ruleRefs(r.text);
      if ((kind === 'set' ? refs.sets : refs.chains).includes(name)) return true;
    }
  }
  if (kind === 'chain') {
    for (const m of s.maps.values()) for (const v of m.values()) if (v.endsWith(` ${name}`)) return true;
  }
  return false;
}

function elementsOf(body: string): string[] {
  const m = /^\{ (.*) \}$/.exec(body);
  if (!m) fail(`bad element list ${body}`);
  return m[1]!.split(', ');
}

function execLine(s: SimState, line: string): void {
  const m =
    /^(add|delete|flush) (table|chain|rule|set|map|element|[a-z]+(?: [a-z]+)?) inet calico(?: (\S+))?(?: (.*))?$/.exec(
      line,
    );
  if (!m) fail(`syntax error: ${line}`);
  const [, verb, what, name = '', rest = ''] = m;
  if (what !== 'table' && !s.exists) fail('Error: No such file or directory (table)');
  switch (`${verb} ${what}`) {
    case 'add table':
      s.exists = true;
      return;
    case 'delete table':
      s.exists = false;
      s.chains.clear();
      s.sets.clear();
      s.maps.clear();
      s.foreign = [];
      return;
    case 'add chain': {
      addChain(s, name, rest);
      return;
    }
    case 'flush chain':
      (s.chains.get(name) ?? fail(`No such file or directory: chain ${name}`)).rules = [];
      return;
    case 'delete chain':
      if (!s.chains.has(name)) fail(`No such file or directory: chain ${name}`);
      if (refsTo(s, name, 'chain')) fail(`Device or resource busy: chain ${name}`);
      s.chains.delete(name);
      return;
    case 'add rule': {
      addRule(s, name, rest);
      return;
    }
    case 'add set': {
      const t = /^\{ type (.+?);( flags interval;)?( flags timeout;)? \}$/.exec(rest) ?? fail('bad set');
      const [interval, timeout] = [t[2] !== undefined, t[3] !== undefined];
      const existing = s.sets.get(name);
      if (
        existing &&
        (existing.type !== t[1] || existing.interval !== interval || (existing.timeout ?? false) !== timeout)
      )
        fail('File exists: set');
      if (s.maps.has(name)) fail('File exists: map');
      if (!existing) {
        const learned = timeout ? { timeout, timeouts: new Map<string, number>() } : {};
        s.sets.set(name, { type: t[1]!, interval, ...learned, elements: new Set() });
      }
      return;
    }
    case 'add map':
      if (s.sets.has(name)) fail('File exists: set');
      if (!s.maps.has(name)) s.maps.set(name, new Map());
      return;
    case 'delete set':
    case 'delete map':
      if (!(what === 'set' ? s.sets : s.maps).has(name)) fail(`No such file or directory: ${what} ${name}`);
      if (refsTo(s, name, 'set')) fail(`Device or resource busy: ${what} ${name}`);
      (what === 'set' ? s.sets : s.maps).delete(name);
      return;
    case 'add element':
    case 'delete element': {
      element(s, verb === 'add', name, elementsOf(rest));
      return;
    }
    default: {
      const i = s.foreign.findIndex((f) => f.kind === what && f.name === name);
      if (verb !== 'delete' || i < 0) fail(`unsupported or missing: ${line}`);
      s.foreign.splice(i, 1);
    }
  }
}

function addChain(s: SimState, name: string, rest: string): void {
  const h = /^\{ type (\S+) hook (\S+) priority (-?\d+); policy (\S+); \}$/.exec(rest);
  if (rest !== '' && !h) fail(`bad chain spec ${rest}`);
  const hook = h ? { type: h[1]!, hook: h[2]!, prio: Number(h[3]), policy: h[4]! } : undefined;
  const existing = s.chains.get(name);
  if (!existing) {
    s.chains.set(name, { ...(hook ? { hook } : {}), rules: [] });
    return;
  }
  if (!hook) return;
  const old = existing.hook;
  if (!old || old.type !== hook.type || old.hook !== hook.hook || old.prio !== hook.prio)
    fail('Operation not supported');
  old.policy = hook.policy;
}

function addRule(s: SimState, chain: string, rest: string): void {
  const r = /^(.*) comment "([^"]*)"$/.exec(rest) ?? fail('rule without comment');
  const c = s.chains.get(chain) ?? fail(`No such file or directory: chain ${chain}`);
  const refs = ruleRefs(r[1]!);
  for (const set of refs.sets)
    if (!s.sets.has(set) && !s.maps.has(set)) fail(`No such file or directory: set ${set}`);
  for (const target of refs.chains)
    if (!s.chains.has(target)) fail(`No such file or directory: chain ${target}`);
  c.rules.push({ comment: r[2]!, text: r[1]! });
}

function element(s: SimState, add: boolean, name: string, items: string[]): void {
  const map = s.maps.get(name);
  if (map) {
    for (const item of items) {
      const [key, verdict] = item.split(' : ') as [string, string | undefined];
      const k = key.replace(/^"|"$/g, '');
      if (!add) {
        if (!map.delete(k)) fail(`No such file or directory: element ${k}`);
        continue;
      }
      const target = verdict?.split(' ')[1];
      if (target !== undefined && !s.chains.has(target)) fail(`No such file or directory: chain ${target}`);
      if (map.has(k) && map.get(k) !== verdict) fail('File exists: element');
      map.set(k, verdict ?? '');
    }
    return;
  }
  const set = s.sets.get(name) ?? fail(`No such file or directory: set ${name}`);
  for (const raw of items) {
    const timed = / timeout (\d+)s(?: expires \d+s)?$/.exec(raw);
    if (timed && set.timeout !== true)
      fail('Operation not supported: timeout on a set without flags timeout');
    const e = (timed ? raw.slice(0, timed.index) : raw).replace(/^"|"$/g, '');
    if (!add) {
      if (!set.elements.delete(e)) fail(`element does not exist: ${e}`);
      set.timeouts?.delete(e);
      continue;
    }
    // As the kernel: re-adding an element with a timeout sets its timeout; without one, it never expires.
    if (timed) set.timeouts?.set(e, Number(timed[1]));
    else set.timeouts?.delete(e);
    if (set.interval && set.type !== 'inet_service') {
      const c = parseCidr(e)!;
      for (const other of set.elements) {
        if (other !== e && cidrsOverlap(c, parseCidr(other)!)) fail('interval overlaps with an existing one');
      }
    }
    set.elements.add(e);
  }
}
