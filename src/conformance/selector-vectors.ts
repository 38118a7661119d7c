/** Runs a selector-vector file (testdata/conformance/README.md "Selector vectors") against src/api/selector. */
import { parseSelector } from '../api/selector/index.js';

export interface VectorFailure {
  readonly where: string;
  readonly message: string;
}

export interface VectorResult {
  readonly passed: number;
  readonly failed: number;
  readonly failures: readonly VectorFailure[];
}

function isRecord(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

export const VECTOR_ARRAYS = [
  'matchVectors',
  'invalidSelectors',
  'validSelectors',
  'canonicalForms',
  'prefixVisitor',
] as const;

export function isSelectorVectorFile(x: unknown): boolean {
  return isRecord(x) && VECTOR_ARRAYS.some((k) => Array.isArray(x[k]));
}

type Check = (v: Record<string, unknown>) => string | undefined;

const CHECKS: Record<(typeof VECTOR_ARRAYS)[number], Check> = {
  matchVectors: (v) => {
    const sel = parseSelector(String(v.selector));
    if (!sel.ok) return `selector ${JSON.stringify(v.selector)} did not parse: ${sel.error.message}`;
    const got = sel.value.matches((v.labels ?? {}) as Record<string, string>);
    return got === v.matches
      ? undefined
      : `selector ${JSON.stringify(v.selector)} on labels ${JSON.stringify(v.labels)}: expected ${String(v.matches)}, got ${String(got)}`;
  },
  invalidSelectors: (v) => {
    const sel = parseSelector(String(v.selector));
    return sel.ok ? `selector ${JSON.stringify(v.selector)} parsed but must be rejected` : undefined;
  },
  validSelectors: (v) => {
    const sel = parseSelector(String(v.selector));
    return sel.ok ? undefined : `selector ${JSON.stringify(v.selector)} must parse: ${sel.error.message}`;
  },
  canonicalForms: (v) => {
    const sel = parseSelector(String(v.selector));
    if (!sel.ok) return `selector ${JSON.stringify(v.selector)} did not parse: ${sel.error.message}`;
    if (sel.value.canonical !== v.canonical) {
      return `canonical form of ${JSON.stringify(v.selector)}: expected ${JSON.stringify(v.canonical)}, got ${JSON.stringify(sel.value.canonical)}`;
    }
    if (typeof v.uniqueId === 'string' && sel.value.uniqueId !== v.uniqueId) {
      return `unique id of ${JSON.stringify(v.selector)}: expected ${v.uniqueId}, got ${sel.value.uniqueId}`;
    }
    return undefined;
  },
  prefixVisitor: (v) => {
    const sel = parseSelector(String(v.selector));
    if (!sel.ok) return `selector ${JSON.stringify(v.selector)} did not parse: ${sel.error.message}`;
    const got = sel.value.withPrefix(String(v.prefix)).canonical;
    return got === v.output
      ? undefined
      : `prefix ${JSON.stringify(v.prefix)} on ${JSON.stringify(v.selector)}: expected ${JSON.stringify(v.output)}, got ${JSON.stringify(got)}`;
  },
};

export function runSelectorVectors(file: Record<string, unknown>): VectorResult {
  let passed = 0;
  const failures: VectorFailure[] = [];
  for (const name of VECTOR_ARRAYS) {
    const arr = file[name];
    if (!Array.isArray(arr)) continue;
    arr.forEach((v: unknown, i) => {
      const problem = isRecord(v) ? CHECKS[name](v) : 'not an object';
      if (problem === undefined) passed++;
      else failures.push({ where: `${name}[${i}]`, message: problem });
    });
  }
  return { passed, failed: failures.length, failures };
}
