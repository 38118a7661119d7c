/**
 * Test helper: the `nft -j -p list table inet calico` output a kernel would print for a table, so that
 * reconciler tests can script "what the kernel has" (a previous run's table, drift, leftovers) without a kernel.
 */
import { compileTable } from '../compile.js';
import { normaliseElements } from '../elements.js';
import type { TableSpec } from '../model.js';

type Json = unknown;

export interface KernelRuleJson {
  readonly comment?: string;
  /** Stands in for the rule's expression; fingerprints are computed from it. */
  readonly expr?: Json;
}

export interface KernelTableJson {
  readonly chains?: Readonly<
    Record<
      string,
      {
        readonly hook?: {
          readonly type: string;
          readonly hook: string;
          readonly prio: number;
          readonly policy: string;
        };
        readonly rules?: readonly KernelRuleJson[];
      }
    >
  >;
  readonly sets?: Readonly<
    Record<
      string,
      {
        readonly type: string | readonly string[];
        readonly flags?: readonly string[];
        readonly elem?: readonly Json[];
      }
    >
  >;
  readonly maps?: Readonly<
    Record<string, { readonly elem?: readonly Json[]; readonly type?: string; readonly map?: string }>
  >;
  readonly foreign?: readonly { readonly kind: string; readonly name: string }[];
}

const META = { metainfo: { version: '1.0.6', release_name: 'Lester Gooch #5', json_schema_version: 1 } };

/** Renders the description as nft's JSON listing. */
export function nftJson(t: KernelTableJson): string {
  const base = { family: 'inet', table: 'calico' };
  const items: Json[] = [META, { table: { family: 'inet', name: 'calico', handle: 1 } }];
  let handle = 2;
  for (const [name, s] of Object.entries(t.sets ?? {})) {
    items.push({
      set: {
        ...base,
        name,
        handle: handle++,
        type: s.type,
        ...(s.flags ? { flags: s.flags } : {}),
        ...(s.elem ? { elem: s.elem } : {}),
      },
    });
  }
  for (const [name, m] of Object.entries(t.maps ?? {})) {
    items.push({
      map: {
        ...base,
        name,
        handle: handle++,
        type: m.type ?? 'ifname',
        map: m.map ?? 'verdict',
        ...(m.elem ? { elem: m.elem } : {}),
      },
    });
  }
  for (const f of t.foreign ?? []) items.push({ [f.kind]: { ...base, name: f.name, handle: handle++ } });
  for (const [name, c] of Object.entries(t.chains ?? {})) {
    items.push({ chain: { ...base, name, handle: handle++, ...(c.hook ?? {}) } });
  }
  for (const [name, c] of Object.entries(t.chains ?? {})) {
    for (const r of c.rules ?? []) {
      items.push({
        rule: {
          ...base,
          chain: name,
          handle: handle++,
          ...(r.comment === undefined ? {} : { comment: r.comment }),
          expr: r.expr ?? [{ accept: null }],
        },
      });
    }
  }
  return JSON.stringify({ nftables: items });
}

/** nft's JSON for a canonical element. */
export function elementJson(canonical: string): Json {
  if (canonical.includes(' . ')) {
    const [addr, proto, port] = canonical.split(' . ');
    return { concat: [addr, Number(proto), Number(port)] };
  }
  const slash = canonical.indexOf('/');
  if (slash >= 0)
    return { prefix: { addr: canonical.slice(0, slash), len: Number(canonical.slice(slash + 1)) } };
  const range = /^(\d+)-(\d+)$/.exec(canonical);
  if (range) return { range: [Number(range[1]), Number(range[2])] };
  if (/^\d+$/.test(canonical)) return Number(canonical);
  return canonical;
}

/** nft's JSON for a canonical verdict. */
export function verdictJson(v: string): Json {
  const [verb, target] = v.split(' ');
  return target === undefined ? { [verb!]: null } : { [verb!]: { target } };
}

/** What the kernel holds after a previous run programmed `spec` exactly (rule expressions faked from the text). */
export function describeProgrammed(spec: TableSpec): KernelTableJson {
  const compiled = compileTable(spec);
  if (!compiled.ok) throw new Error(JSON.stringify(compiled.error));
  const d = compiled.value;
  const chains: Record<string, NonNullable<KernelTableJson['chains']>[string]> = {};
  for (const c of d.chains.values()) {
    chains[c.name] = {
      ...(c.hook
        ? {
            hook: {
              type: c.hook.type,
              hook: c.hook.hook,
              prio: c.hook.priority,
              policy: c.hook.policy ?? 'accept',
            },
          }
        : {}),
      rules: c.rules.map((r) => ({ comment: r.comment, expr: [{ text: r.text }] })),
    };
  }
  const sets: Record<string, NonNullable<KernelTableJson['sets']>[string]> = {};
  for (const s of d.sets.values()) {
    sets[s.name] = {
      type: s.type.includes(' . ') ? s.type.split(' . ') : s.type,
      ...(s.interval ? { flags: ['interval'] } : {}),
      ...(s.timeout ? { flags: ['timeout'] } : {}),
      elem: normaliseElements(s.type, s.interval, s.elements).map(elementJson),
    };
  }
  const maps: Record<string, NonNullable<KernelTableJson['maps']>[string]> = {};
  for (const m of d.maps.values())
    maps[m.name] = { elem: [...m.elements].map(([k, v]) => [k, verdictJson(v)]) };
  return { chains, sets, maps };
}
