/**
 * Kubernetes list filters for `labelSelector` and `fieldSelector` query parameters (apimachinery
 * `labels.Parse` and `fields.ParseSelector`), for the forms kubectl sends: `k=v`, `k==v`, `k!=v`, `k`, `!k`,
 * `k in (a,b)`, `k notin (a,b)`; fields `metadata.name`, `metadata.namespace` (and `spec.tier` for policies,
 * as Calico's API server allows) with `=`, `==`, `!=`. Pure.
 */
export type Matcher = (labels: Readonly<Record<string, string>>) => boolean;

export class SelectorError extends Error {}

const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

function checkValue(v: string, t: string): string {
  if (!LABEL_VALUE.test(v))
    throw new SelectorError(
      `unable to parse requirement: invalid label value ${JSON.stringify(v)} in ${JSON.stringify(t)}`,
    );
  return v;
}

/** Splits at commas outside parentheses. */
function terms(s: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let cur = '';
  for (const c of s) {
    if (c === '(') depth++;
    if (c === ')') depth--;
    if (c === ',' && depth === 0) {
      out.push(cur);
      cur = '';
    } else cur += c;
  }
  out.push(cur);
  return out.map((t) => t.trim()).filter((t) => t !== '');
}

function term(t: string): Matcher {
  const set = /^(\S+)\s+(in|notin)\s+\(([^)]*)\)$/.exec(t);
  if (set !== null) {
    const [, key, op, values] = set as unknown as [string, string, string, string];
    const vs = values.split(',').map((v) => checkValue(v.trim(), t));
    return op === 'in'
      ? (l) => Object.hasOwn(l, key) && vs.includes(l[key]!)
      : (l) => !Object.hasOwn(l, key) || !vs.includes(l[key]!);
  }
  const cmp = /^([^=!\s]+)\s*(==|=|!=)\s*(\S*)$/.exec(t);
  if (cmp !== null) {
    const [, key, op, value] = cmp as unknown as [string, string, string, string];
    checkValue(value, t);
    return op === '!='
      ? (l) => !Object.hasOwn(l, key) || l[key] !== value
      : (l) => Object.hasOwn(l, key) && l[key] === value;
  }
  if (/^![^=!\s(),]+$/.test(t)) {
    const key = t.slice(1);
    return (l) => !Object.hasOwn(l, key);
  }
  if (/^[^=!\s(),]+$/.test(t)) return (l) => Object.hasOwn(l, t);
  throw new SelectorError(`unable to parse requirement: ${JSON.stringify(t)}`);
}

/** A label selector; the empty selector matches everything. */
export function parseLabelSelector(s: string | null): Matcher {
  if (s === null || s.trim() === '') return () => true;
  const ms = terms(s).map(term);
  return (l) => ms.every((m) => m(l));
}

const FIELDS = ['metadata.name', 'metadata.namespace', 'spec.tier'];

/** A field selector over the selectable fields (`fields`: path -> value of one object). */
export function parseFieldSelector(s: string | null): Matcher {
  if (s === null || s.trim() === '') return () => true;
  const ms = terms(s).map((t) => {
    const m = /^([^=!\s]+)\s*(==|=|!=)\s*(\S*)$/.exec(t);
    if (m === null) throw new SelectorError(`invalid field selector: ${JSON.stringify(t)}`);
    const [, field, op, value] = m as unknown as [string, string, string, string];
    if (!FIELDS.includes(field)) {
      throw new SelectorError(`field label not supported: ${field}`);
    }
    return op === '!='
      ? (f: Readonly<Record<string, string>>) => f[field] !== value
      : (f: Readonly<Record<string, string>>) => f[field] === value;
  });
  return (f) => ms.every((m) => m(f));
}

/** The selectable fields of an object (Calico's PolicyToSelectableFields for policies). */
export function selectableFields(obj: {
  readonly metadata: { readonly name: string; readonly namespace?: string };
  readonly spec?: unknown;
}): Record<string, string> {
  const tier = (obj.spec as { tier?: unknown } | undefined)?.tier;
  return {
    'metadata.name': obj.metadata.name,
    'metadata.namespace': obj.metadata.namespace ?? '',
    ...(typeof tier === 'string' ? { 'spec.tier': tier } : {}),
  };
}
