import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { compareCodePoints, sortedUnique, type SelectorNode } from './ast.js';
import { canonicalString, collectLabelNames, containsGlobal, prefixLabels, uniqueIdOf } from './canonical.js';
import { parseSelectorText } from './parser.js';

function canon(text: string): string {
  const r = parseSelectorText(text);
  assert.ok(r.ok, `expected ${JSON.stringify(text)} to parse`);
  return canonicalString(r.value);
}

function root(text: string): SelectorNode {
  const r = parseSelectorText(text);
  assert.ok(r.ok);
  return r.value;
}

describe('canonical form', () => {
  test('spacing, quoting and keyword spelling', () => {
    assert.equal(canon(''), 'all()');
    assert.equal(canon('all( )'), 'all()');
    assert.equal(canon(' global( ) '), 'global()');
    assert.equal(canon('has( a )'), 'has(a)');
    assert.equal(canon("a=='b'"), 'a == "b"');
    assert.equal(canon('a!="b"'), 'a != "b"');
    assert.equal(canon(`a == 'x"y'`), `a == 'x"y'`);
    assert.equal(canon(`a == "it's"`), `a == "it's"`);
    assert.equal(canon("a startswith 'v'"), 'a starts with "v"');
    assert.equal(canon("a ends   with 'v'"), 'a ends with "v"');
    assert.equal(canon("a contains''"), 'a contains ""');
    assert.equal(canon('a notin {}'), 'a not in {}');
    assert.equal(canon(`a in {'b"', "c", "a", "c"}`), `a in {"a", 'b"', "c"}`);
  });

  test('groups always parenthesised, redundant parentheses dropped, ! without space', () => {
    assert.equal(canon('has(a) && has(b) || has(c)'), '((has(a) && has(b)) || has(c))');
    assert.equal(canon('((has(a)))'), 'has(a)');
    assert.equal(canon('(has(a) && has(b)) && has(c)'), '((has(a) && has(b)) && has(c))');
    assert.equal(canon('! (has( b)||! has(a ))'), '!(has(b) || !has(a))');
    assert.equal(canon('! (a == "b"&&! c != "d")'), '!(a == "b" && !c != "d")');
    assert.equal(canon('!!has(a)'), 'has(a)');
    assert.equal(canon('!(!has(a))'), '!!has(a)');
  });

  test('the unique IDs asserted by Calico (reference §9)', () => {
    assert.equal(uniqueIdOf(canon('')), 's:5y5I3VdRZfDU01O--xXAPx2yxCQQqMf0M6IWug');
    assert.equal(uniqueIdOf(canon('!(has(b) || !has(a))')), 's:Iss0uCleLYv1GSv_pNm7hAO58kE9jAx1NKyG3Q');
    assert.equal(uniqueIdOf(canon('!(a == "b" && !c != "d")')), 's:lh3haoY1ikTRkd4UZu0nWSaIBknYLPJLX16d-w');
    // The ID hashes the canonical text, so spelling differences do not change it.
    assert.equal(uniqueIdOf(canon("a=='b'")), uniqueIdOf(canon('a == "b"')));
    assert.notEqual(uniqueIdOf(canon("a=='b'")), uniqueIdOf(canon('a == "c"')));
    assert.match(uniqueIdOf('x'), /^s:[A-Za-z0-9_-]{38}$/);
  });

  test('set values sort by code point (UTF-8 byte order), not UTF-16 units', () => {
    // U+FF5E (one UTF-16 unit, 0xFF5E) sorts before U+1F600 (surrogates 0xD83D...) by code point.
    assert.deepEqual(sortedUnique(['😀', '～', 'a', 'a', '']), ['', 'a', '～', '😀']);
    assert.ok(compareCodePoints('～', '😀') < 0);
    assert.ok(compareCodePoints('ab', 'a') > 0);
    assert.equal(compareCodePoints('x', 'x'), 0);
    assert.equal(canon(`a in {"😀", "～"}`), `a in {"～", "😀"}`);
  });

  test('nodes built by hand are rendered with sorted sets too', () => {
    const node: SelectorNode = { kind: 'notIn', label: 'a', values: ['b', 'a', 'b'] };
    assert.equal(canonicalString(node), 'a not in {"a", "b"}');
  });

  test('prefix visitor touches every label-bearing node', () => {
    const r = root(`!(!(k == 'v' && has(t) || all()) && (a in {'b', 'c'})) || x contains 'q' || global()`);
    assert.equal(
      canonicalString(prefixLabels(r, 'pcns.')),
      '(!(!((pcns.k == "v" && has(pcns.t)) || all()) && pcns.a in {"b", "c"}) || pcns.x contains "q" || global())',
    );
    // The input tree is not modified.
    assert.deepEqual(collectLabelNames(r), new Set(['k', 't', 'a', 'x']));
  });

  test('label names and global detection', () => {
    assert.deepEqual(
      collectLabelNames(root('a == "1" && (b != "2" || !has(c)) && d starts with "x" && e not in {}')),
      new Set(['a', 'b', 'c', 'd', 'e']),
    );
    assert.equal(containsGlobal(root('has(a) && !(global() || all())')), true);
    assert.equal(containsGlobal(root('has(global)')), false);
  });
});
