/**
 * Selector evaluation throughput: compiled closures vs the naive interpreter, on a few representative selectors
 * and a rotating set of label maps of different shapes (so property lookups are not all monomorphic).
 * Also measures parse+compile throughput. Called by the bench runner; results are evaluations (or parses) per second.
 */
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { evaluateNode, mustParseSelector, parseSelector, type Labels } from '../src/api/selector/index.js';
import type { BenchResult } from './result.js';

const SELECTORS: readonly (readonly [string, string])[] = [
  ['typical', `a == "x" && b in {"p","q"} && !has(c)`],
  ['single-eq', `app == "web"`],
  [
    'k8s-namespace',
    `projectcalico.org/namespace == "prod" && (role == "db" || role in {"cache", "queue", "search", "ml"})`,
  ],
  ['string-ops', `name starts with "web-" && zone ends with "-1" && !(tier contains "test")`],
];

/** Label maps with varied shapes and values; some match each selector, most do not. */
function labelMaps(): Labels[] {
  const maps: Labels[] = [];
  for (let i = 0; i < 64; i++) {
    const m: Record<string, string> = {};
    for (let j = 0; j < 2 + (i % 7); j++) m[`extra-${(i * 5 + j) % 19}`] = `v${j}`;
    m.a = i % 3 === 0 ? 'x' : 'y';
    m.b = ['p', 'q', 'r'][i % 3] ?? 'p';
    if (i % 5 === 0) m.c = '';
    m.app = i % 4 === 0 ? 'web' : 'api';
    m['projectcalico.org/namespace'] = i % 2 === 0 ? 'prod' : 'dev';
    m.role = ['db', 'cache', 'web', 'ml'][i % 4] ?? 'db';
    m.name = `${i % 2 === 0 ? 'web' : 'api'}-${i}`;
    m.zone = `eu-${i % 3}`;
    if (i % 6 === 0) m.tier = 'testing';
    maps.push(m);
  }
  return maps;
}

/** Runs `fn` over the maps for about `ms` milliseconds (after a warm-up) and returns calls per second. */
function rate(fn: (labels: Labels) => boolean, maps: readonly Labels[], ms: number): number {
  let sink = 0;
  const mask = maps.length - 1; // maps.length is a power of two
  for (let i = 0; i < 200_000; i++) if (fn(maps[i & mask]!)) sink++;
  let calls = 0;
  const start = performance.now();
  let elapsed = 0;
  while (elapsed < ms) {
    for (let i = 0; i < 100_000; i++) if (fn(maps[i & mask]!)) sink++;
    calls += 100_000;
    elapsed = performance.now() - start;
  }
  if (sink < 0) throw new Error('unreachable'); // keeps the result observable
  return (calls / elapsed) * 1000;
}

export async function benchSelectors(): Promise<BenchResult[]> {
  const maps = labelMaps();
  const results: BenchResult[] = [];
  for (const [name, text] of SELECTORS) {
    const sel = mustParseSelector(text);
    const root = sel.root;
    results.push({ name: `selector.${name}.compiled`, value: rate(sel.matches, maps, 300), unit: 'evals/s' });
    await yieldToLoop();
    results.push({
      name: `selector.${name}.naive`,
      value: rate((l) => evaluateNode(root, l), maps, 300),
      unit: 'evals/s',
    });
    await yieldToLoop();
  }
  const texts = SELECTORS.map(([, t]) => t);
  let parses = 0;
  const start = performance.now();
  while (performance.now() - start < 300) {
    for (const t of texts) if (parseSelector(t).ok) parses++;
  }
  results.push({
    name: 'selector.parse+compile',
    value: (parses / (performance.now() - start)) * 1000,
    unit: 'parses/s',
  });
  return results;
}
