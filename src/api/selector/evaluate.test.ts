import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import type { Labels, SelectorNode } from './ast.js';
import { canonicalString } from './canonical.js';
import { compileNode, evaluateNode } from './evaluate.js';
import { parseSelectorText } from './parser.js';

function parse(text: string): SelectorNode {
  const r = parseSelectorText(text);
  assert.ok(r.ok, `expected ${JSON.stringify(text)} to parse`);
  return r.value;
}

/** Both evaluators, asserted to agree, for table tests. */
function evalBoth(text: string, labels: Labels): boolean {
  const node = parse(text);
  const naive = evaluateNode(node, labels);
  assert.equal(compileNode(node)(labels), naive, `compiled and naive disagree on ${text}`);
  return naive;
}

describe('evaluation semantics (reference §4.3)', () => {
  test('absent labels', () => {
    const none = {};
    assert.equal(evalBoth('a == "v"', none), false);
    assert.equal(evalBoth('a != "v"', none), true);
    assert.equal(evalBoth('a in {"v"}', none), false);
    assert.equal(evalBoth('a not in {"v"}', none), true);
    assert.equal(evalBoth('a contains ""', none), false);
    assert.equal(evalBoth('a starts with ""', none), false);
    assert.equal(evalBoth('a ends with ""', none), false);
    assert.equal(evalBoth('has(a)', none), false);
    assert.equal(evalBoth('!has(a)', none), true);
  });

  test('empty values and empty sets', () => {
    const empty = { a: '' };
    assert.equal(evalBoth('has(a)', empty), true);
    assert.equal(evalBoth('a == ""', empty), true);
    assert.equal(evalBoth('a contains ""', empty), true);
    assert.equal(evalBoth('a in {}', empty), false);
    assert.equal(evalBoth('a not in {}', empty), true);
    assert.equal(evalBoth('a in {""}', empty), true);
  });

  test('string tests are case-sensitive substring/prefix/suffix', () => {
    const l = { a: 'Hello-World' };
    assert.equal(evalBoth('a contains "o-W"', l), true);
    assert.equal(evalBoth('a contains "o-w"', l), false);
    assert.equal(evalBoth('a starts with "Hell"', l), true);
    assert.equal(evalBoth('a starts with "World"', l), false);
    assert.equal(evalBoth('a ends with "World"', l), true);
    assert.equal(evalBoth('a ends with "Hello"', l), false);
  });

  test('sets of every size the compiler specialises', () => {
    for (const n of [1, 2, 3, 5]) {
      const values = Array.from({ length: n }, (_, i) => `v${i}`);
      const text = `a in {${values.map((v) => `"${v}"`).join(', ')}}`;
      for (const v of [...values, 'other']) {
        assert.equal(evalBoth(text, { a: v }), v !== 'other', `${text} on ${v}`);
        assert.equal(evalBoth(text.replace(' in ', ' not in '), { a: v }), v === 'other');
      }
    }
  });

  test('all(), global() and constant folding', () => {
    assert.equal(evalBoth('all()', {}), true);
    assert.equal(evalBoth('global()', {}), true);
    assert.equal(evalBoth('!all()', {}), false);
    assert.equal(evalBoth('!all() || has(a)', { a: 'x' }), true);
    assert.equal(evalBoth('!all() || has(a)', {}), false);
    assert.equal(evalBoth('all() && !global()', { a: 'x' }), false);
    assert.equal(evalBoth('has(a) && all() && has(b)', { a: '', b: '' }), true);
  });

  test('wide junctions use the loop form', () => {
    const and = 'has(a) && has(b) && has(c) && has(d) && has(e)';
    assert.equal(evalBoth(and, { a: '', b: '', c: '', d: '', e: '' }), true);
    assert.equal(evalBoth(and, { a: '', b: '', c: '', d: '' }), false);
    const or = 'has(a) || has(b) || has(c) || has(d) || has(e)';
    assert.equal(evalBoth(or, { e: '' }), true);
    assert.equal(evalBoth(or, { f: '' }), false);
  });

  test('prototype keys are not labels', () => {
    const plain = {};
    for (const label of ['constructor', '__proto__', 'toString', 'hasOwnProperty']) {
      assert.equal(evalBoth(`has(${label})`, plain), false, label);
      assert.equal(evalBoth(`${label} != "x"`, plain), true, label);
      assert.equal(evalBoth(`${label} not in {"x"}`, plain), true, label);
      assert.equal(evalBoth(`${label} contains ""`, plain), false, label);
    }
    const own: Labels = JSON.parse('{"__proto__": "p", "constructor": "c"}') as Labels;
    assert.equal(evalBoth('__proto__ == "p"', own), true);
    assert.equal(evalBoth('has(__proto__) && constructor in {"c", "d", "e"}', own), true);
    assert.equal(evalBoth('__proto__ starts with "p"', own), true);
    // Values inherited through a prototype chain are not own labels either.
    const inherited = Object.create({ a: 'x' }) as Labels;
    assert.equal(evalBoth('a == "x"', inherited), false);
    assert.equal(evalBoth('a != "x"', inherited), true);
    assert.equal(evalBoth('a in {"x", "y"}', inherited), false);
    assert.equal(evalBoth('a in {"x", "y", "z"}', inherited), false);
    assert.equal(evalBoth('a not in {"x", "y", "z"}', inherited), true);
    assert.equal(evalBoth('a ends with "x"', inherited), false);
    const nullProto = Object.assign(Object.create(null) as Record<string, string>, { a: 'x' });
    assert.equal(evalBoth('a == "x" && !has(constructor)', nullProto), true);
  });
});

// ---- property tests: compiled vs naive, and text round trips ------------------------------------------------

const LABELS = ['a', 'b', 'c', 'k8s.io/x', 'constructor', '__proto__'];
const VALUES = ['', 'v', 'w', 'vw', 'wv', "it's", 'say "hi"', 'ü', '😀'];
const labelArb = fc.constantFrom(...LABELS);
const valueArb = fc.constantFrom(...VALUES);

const leafArb: fc.Arbitrary<SelectorNode> = fc.oneof(
  fc.constant<SelectorNode>({ kind: 'all' }),
  fc.constant<SelectorNode>({ kind: 'global' }),
  labelArb.map((label): SelectorNode => ({ kind: 'has', label })),
  fc
    .tuple(fc.constantFrom('eq', 'ne', 'contains', 'startsWith', 'endsWith'), labelArb, valueArb)
    .map(([kind, label, value]): SelectorNode => ({ kind, label, value })),
  fc
    .tuple(fc.constantFrom('in', 'notIn'), labelArb, fc.array(valueArb, { maxLength: 5 }))
    .map(([kind, label, values]): SelectorNode => ({ kind, label, values })),
);

/** Random trees; `doubleNot` allows a `not` directly over a `not` (which `!!` re-parses as no negation). */
function treeArb(doubleNot: boolean): fc.Arbitrary<SelectorNode> {
  const { node } = fc.letrec<{ node: SelectorNode; not: SelectorNode; and: SelectorNode; or: SelectorNode }>(
    (tie) => ({
      node: fc.oneof({ maxDepth: 5, depthSize: 'small' }, leafArb, tie('not'), tie('and'), tie('or')),
      not: tie('node')
        .filter((operand) => doubleNot || operand.kind !== 'not')
        .map((operand): SelectorNode => ({ kind: 'not', operand })),
      and: fc
        .array(tie('node'), { minLength: 2, maxLength: 6 })
        .map((operands): SelectorNode => ({ kind: 'and', operands })),
      or: fc
        .array(tie('node'), { minLength: 2, maxLength: 6 })
        .map((operands): SelectorNode => ({ kind: 'or', operands })),
    }),
  );
  return node;
}

/** Label maps over the small alphabet, built with own data properties (so `__proto__` is a real key). */
const labelsArb: fc.Arbitrary<Labels> = fc
  .array(fc.tuple(labelArb, valueArb), { maxLength: 6 })
  .map((entries) => Object.fromEntries(entries));

describe('property: compiled evaluator ≡ naive interpreter', () => {
  test('random trees × random label maps', () => {
    fc.assert(
      fc.property(treeArb(true), fc.array(labelsArb, { minLength: 1, maxLength: 8 }), (node, maps) => {
        const compiled = compileNode(node);
        for (const labels of maps) {
          if (compiled(labels) !== evaluateNode(node, labels)) return false;
        }
        return true;
      }),
      { numRuns: 2000 },
    );
  });

  test('canonical text re-parses to the same canonical form and the same meaning', () => {
    fc.assert(
      fc.property(treeArb(false), fc.array(labelsArb, { maxLength: 6 }), (node, maps) => {
        const text = canonicalString(node);
        const r = parseSelectorText(text);
        assert.ok(r.ok, `canonical text does not parse: ${text}`);
        assert.equal(canonicalString(r.value), text);
        for (const labels of maps) assert.equal(evaluateNode(r.value, labels), evaluateNode(node, labels));
      }),
      { numRuns: 1000 },
    );
  });

  test('with double negations, one round trip reaches a fixed point and meaning is kept', () => {
    fc.assert(
      fc.property(treeArb(true), fc.array(labelsArb, { maxLength: 6 }), (node, maps) => {
        const once = parseSelectorText(canonicalString(node));
        assert.ok(once.ok);
        const c1 = canonicalString(once.value);
        const twice = parseSelectorText(c1);
        assert.ok(twice.ok);
        assert.equal(canonicalString(twice.value), c1);
        for (const labels of maps) assert.equal(evaluateNode(once.value, labels), evaluateNode(node, labels));
      }),
      { numRuns: 1000 },
    );
  });

  test('random text never throws; whatever parses round-trips', () => {
    const fragments = [
      ' ',
      '\t',
      'a',
      'b',
      '==',
      '!=',
      '!',
      '&&',
      '||',
      '(',
      ')',
      '{',
      '}',
      ',',
      '"v"',
      "'w'",
      'has(a)',
      'all()',
      'global()',
      ' in ',
      ' not in ',
      ' contains ',
      ' starts with ',
      ' endswith ',
      '=',
      '&',
      '"',
    ];
    fc.assert(
      fc.property(fc.array(fc.constantFrom(...fragments), { maxLength: 14 }), labelsArb, (parts, labels) => {
        const r = parseSelectorText(parts.join(''));
        if (!r.ok) return true;
        const again = parseSelectorText(canonicalString(r.value));
        assert.ok(again.ok);
        assert.equal(evaluateNode(again.value, labels), evaluateNode(r.value, labels));
        assert.equal(compileNode(r.value)(labels), evaluateNode(r.value, labels));
        return true;
      }),
      { numRuns: 3000 },
    );
  });
});
