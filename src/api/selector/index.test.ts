import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { BugError, CalicoError } from '../../lib/errors.js';
import {
  andNodes,
  eqNode,
  evaluateNode,
  hasNode,
  inNode,
  mustParseSelector,
  normaliseSelector,
  notNode,
  orNodes,
  parseSelector,
  SelectorCache,
  SelectorError,
  selectorFromNode,
  type Labels,
  type Selector,
} from './index.js';

// ---- conformance vectors (testdata/conformance/selectors.json) ---------------------------------------------

/**
 * The repository root: the nearest ancestor holding package.json and the test data. Tests run both from
 * `src/api/selector/` (tsx) and from `dist/src/api/selector/` (compiled), so a fixed relative path would not do.
 */
function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'testdata', 'conformance'))) return dir;
    const parent = dirname(dir);
    if (parent === dir) throw new Error('repository root not found above ' + fileURLToPath(import.meta.url));
    dir = parent;
  }
}

interface VectorFile {
  readonly matchVectors?: readonly { selector: string; labels: Labels; matches: boolean }[];
  readonly invalidSelectors?: readonly { selector: string }[];
  readonly validSelectors?: readonly { selector: string }[];
  readonly canonicalForms?: readonly { selector: string; canonical: string; uniqueId?: string }[];
  readonly prefixVisitor?: readonly { selector: string; prefix: string; output: string }[];
}

const vectors = JSON.parse(
  readFileSync(join(repoRoot(), 'testdata', 'conformance', 'selectors.json'), 'utf8'),
) as VectorFile;

function mustParse(text: string): Selector {
  const r = parseSelector(text);
  assert.ok(r.ok, `expected ${JSON.stringify(text)} to parse: ${r.ok ? '' : r.error.message}`);
  return r.value;
}

describe('selectors.json conformance vectors', () => {
  test('matchVectors: compiled and naive evaluators', () => {
    const list = vectors.matchVectors ?? [];
    assert.ok(list.length > 0);
    for (const v of list) {
      const sel = mustParse(v.selector);
      const what = `${v.selector} on ${JSON.stringify(v.labels)}`;
      assert.equal(sel.matches(v.labels), v.matches, `compiled: ${what}`);
      assert.equal(evaluateNode(sel.root, v.labels), v.matches, `naive: ${what}`);
    }
  });

  test('invalidSelectors are rejected with a position inside the input', () => {
    const list = vectors.invalidSelectors ?? [];
    assert.ok(list.length > 0);
    for (const v of list) {
      const r = parseSelector(v.selector);
      assert.ok(!r.ok, `accepted ${JSON.stringify(v.selector)}`);
      assert.ok(r.error.position >= 0 && r.error.position <= v.selector.length, v.selector);
    }
  });

  test('validSelectors parse', () => {
    const list = vectors.validSelectors ?? [];
    assert.ok(list.length > 0);
    for (const v of list) mustParse(v.selector);
  });

  test('canonicalForms and asserted uniqueIds', () => {
    const list = vectors.canonicalForms ?? [];
    assert.ok(list.length > 0);
    let ids = 0;
    for (const v of list) {
      const sel = mustParse(v.selector);
      assert.equal(sel.canonical, v.canonical, v.selector);
      assert.equal(normaliseSelector(v.selector), v.canonical);
      if (v.uniqueId !== undefined) {
        assert.equal(sel.uniqueId, v.uniqueId, v.selector);
        ids++;
      }
    }
    assert.ok(ids >= 3);
  });

  test('prefixVisitor', () => {
    const list = vectors.prefixVisitor ?? [];
    assert.ok(list.length > 0);
    for (const v of list)
      assert.equal(mustParse(v.selector).withPrefix(v.prefix).canonical, v.output, v.selector);
  });
});

// ---- public API ------------------------------------------------------------------------------------------

describe('Selector API', () => {
  test('fields of a parsed selector', () => {
    const sel = mustParse("  a == 'x' && b in {'q', 'p'} && !has(c)  ");
    assert.equal(sel.source, "a == 'x' && b in {'q', 'p'} && !has(c)");
    assert.equal(sel.canonical, '(a == "x" && b in {"p", "q"} && !has(c))');
    assert.match(sel.uniqueId, /^s:/);
    assert.equal(sel.usesGlobal, false);
    assert.deepEqual(sel.labelNames(), new Set(['a', 'b', 'c']));
    assert.equal(sel.matches({ a: 'x', b: 'p' }), true);
    assert.equal(sel.matches({ a: 'x', b: 'p', c: '' }), false);
    // `matches` is a detached-safe closure.
    const maps: Labels[] = [
      { a: 'x', b: 'q' },
      { a: 'y', b: 'q' },
    ];
    assert.deepEqual(maps.filter(sel.matches), [{ a: 'x', b: 'q' }]);
    assert.equal(String(sel), sel.canonical);
    assert.equal(mustParse('has(a) || global()').usesGlobal, true);
  });

  test('parse errors are SelectorErrors with code and position', () => {
    const r = parseSelector('a == "b" && c');
    assert.ok(!r.ok);
    assert.ok(r.error instanceof SelectorError);
    assert.ok(r.error instanceof CalicoError);
    assert.equal(r.error.code, 'CALICO_ERR_PARSE');
    assert.equal(r.error.position, 13);
    assert.match(r.error.message, /at character 13/);
    assert.match(r.error.detail, /expected an operator after label "c"/);
  });

  test('newlines are not whitespace to the parser, but normalise trims them', () => {
    assert.ok(!parseSelector('has(a)\n').ok);
    assert.equal(normaliseSelector('\n has( a )\r\n'), 'has(a)');
    assert.equal(normaliseSelector('  not valid  '), 'not valid');
    assert.equal(normaliseSelector(''), 'all()');
  });

  test('withPrefix returns a new selector and leaves the original alone', () => {
    const sel = mustParse('app == "web" || has(tier)');
    const pre = sel.withPrefix('pcns.');
    assert.equal(pre.canonical, '(pcns.app == "web" || has(pcns.tier))');
    assert.equal(sel.canonical, '(app == "web" || has(tier))');
    assert.equal(pre.matches({ 'pcns.app': 'web' }), true);
    assert.equal(pre.matches({ app: 'web' }), false);
  });

  test('mustParseSelector throws BugError on invalid input', () => {
    assert.equal(mustParseSelector('has(a)').canonical, 'has(a)');
    assert.throws(() => mustParseSelector('has('), BugError);
  });

  test('builders and selectorFromNode', () => {
    const node = andNodes(eqNode('a', 'x'), inNode('b', ['q', 'p', 'q']), notNode(hasNode('c')));
    const sel = selectorFromNode(node);
    assert.equal(sel.canonical, '(a == "x" && b in {"p", "q"} && !has(c))');
    assert.equal(sel.source, sel.canonical);
    assert.equal(sel.uniqueId, mustParse('a == "x" && b in {"p","q"} && !has(c)').uniqueId);
    assert.equal(selectorFromNode(andNodes()).canonical, 'all()');
    assert.equal(selectorFromNode(andNodes(hasNode('a'))).canonical, 'has(a)');
    assert.equal(selectorFromNode(orNodes()).matches({}), false);
    assert.equal(selectorFromNode(orNodes(hasNode('a'), hasNode('b'))).canonical, '(has(a) || has(b))');
  });
});

describe('SelectorCache', () => {
  test('interns by text, caches failures, evicts least recently used', () => {
    const cache = new SelectorCache(2);
    const a1 = cache.parse('has(a)');
    const a2 = cache.parse('has(a)');
    assert.ok(a1.ok && a2.ok);
    assert.equal(a1.value, a2.value);
    const bad1 = cache.parse('has(');
    assert.equal(cache.parse('has('), bad1);
    assert.equal(cache.size, 2);
    cache.parse('has(a)'); // a is now most recent; the failure is the oldest
    cache.parse('has(b)');
    assert.equal(cache.size, 2);
    assert.notEqual(cache.parse('has('), bad1); // evicted, parsed again
    const a3 = cache.parse('has(a)');
    assert.ok(a3.ok);
    assert.notEqual(a3.value, a1.value); // evicted by the re-parse of 'has(' above
    assert.throws(() => new SelectorCache(0), BugError);
    cache.clear();
    assert.equal(cache.size, 0);
  });
});
