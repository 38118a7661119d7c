import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { SelectorNode } from './ast.js';
import { MAX_NESTING, parseSelectorText, type SyntaxIssue } from './parser.js';

function parse(text: string): SelectorNode {
  const r = parseSelectorText(text);
  assert.ok(r.ok, `expected ${JSON.stringify(text)} to parse: ${r.ok ? '' : r.error.message}`);
  return r.value;
}

function issue(text: string): SyntaxIssue {
  const r = parseSelectorText(text);
  assert.ok(!r.ok, `expected ${JSON.stringify(text)} to be rejected`);
  return r.error;
}

const eq = (label: string, value: string): SelectorNode => ({ kind: 'eq', label, value });
const has = (label: string): SelectorNode => ({ kind: 'has', label });

describe('parser', () => {
  test('empty selector is all()', () => {
    assert.deepEqual(parse(''), { kind: 'all' });
    assert.deepEqual(parse('  \t'), { kind: 'all' });
  });

  test('every primary', () => {
    assert.deepEqual(parse('all()'), { kind: 'all' });
    assert.deepEqual(parse('global()'), { kind: 'global' });
    assert.deepEqual(parse('has(a)'), has('a'));
    assert.deepEqual(parse('a == "b"'), eq('a', 'b'));
    assert.deepEqual(parse("a != 'b'"), { kind: 'ne', label: 'a', value: 'b' });
    assert.deepEqual(parse('a contains "b"'), { kind: 'contains', label: 'a', value: 'b' });
    assert.deepEqual(parse('a starts with "b"'), { kind: 'startsWith', label: 'a', value: 'b' });
    assert.deepEqual(parse('a ends with "b"'), { kind: 'endsWith', label: 'a', value: 'b' });
    assert.deepEqual(parse('a in {"y", "x", "y"}'), { kind: 'in', label: 'a', values: ['x', 'y'] });
    assert.deepEqual(parse('a not in {}'), { kind: 'notIn', label: 'a', values: [] });
    assert.deepEqual(parse('a in {"x",}'), { kind: 'in', label: 'a', values: ['x'] });
  });

  test('precedence: || < && < !, and ! binds to one primary', () => {
    assert.deepEqual(parse('has(a) || has(b) && has(c)'), {
      kind: 'or',
      operands: [has('a'), { kind: 'and', operands: [has('b'), has('c')] }],
    });
    assert.deepEqual(parse('!a == "b" && c == "d"'), {
      kind: 'and',
      operands: [{ kind: 'not', operand: eq('a', 'b') }, eq('c', 'd')],
    });
    assert.deepEqual(parse('has(a) && has(b) && has(c)'), {
      kind: 'and',
      operands: [has('a'), has('b'), has('c')],
    });
  });

  test('runs of ! collapse by parity; parenthesised negations do not', () => {
    assert.deepEqual(parse('!!has(a)'), has('a'));
    assert.deepEqual(parse('!!!has(a)'), { kind: 'not', operand: has('a') });
    assert.deepEqual(parse('! ! !! has(a)'), has('a'));
    assert.deepEqual(parse('!(!has(a))'), { kind: 'not', operand: { kind: 'not', operand: has('a') } });
  });

  test('user grouping is kept, redundant parentheses are not nodes', () => {
    assert.deepEqual(parse('((has(a)))'), has('a'));
    assert.deepEqual(parse('(has(a) && has(b)) && has(c)'), {
      kind: 'and',
      operands: [{ kind: 'and', operands: [has('a'), has('b')] }, has('c')],
    });
  });

  test('error messages and positions', () => {
    assert.deepEqual(issue('a'), {
      message: 'expected an operator after label "a", found end of selector',
      pos: 1,
    });
    assert.deepEqual(issue('b == b'), {
      message: `expected a quoted string after '==', found label "b"`,
      pos: 5,
    });
    assert.deepEqual(issue("'b1' == b"), {
      message: 'expected a selector expression, found string "b1"',
      pos: 0,
    });
    assert.deepEqual(issue('a in "x"'), {
      message: `expected a set literal '{...}' after 'in', found string "x"`,
      pos: 5,
    });
    assert.deepEqual(issue('a in {"x" "y"}'), { message: `expected ',' or '}', found string "y"`, pos: 10 });
    assert.deepEqual(issue('a in {,}'), { message: `expected a string or '}', found ','`, pos: 6 });
    assert.deepEqual(issue('a in {"x",,}'), { message: `expected ',' or '}', found ','`, pos: 10 });
    assert.deepEqual(issue('(a == "foo"'), { message: `expected ')', found end of selector`, pos: 11 });
    assert.deepEqual(issue('()'), { message: `expected a selector expression, found ')'`, pos: 1 });
    assert.deepEqual(issue('has(a) has(b)'), {
      message: `unexpected 'has()' after a complete expression`,
      pos: 7,
    });
    assert.deepEqual(issue('has(a) )'), { message: `unexpected ')' after a complete expression`, pos: 7 });
    assert.deepEqual(issue('has(a) &&'), {
      message: 'expected a selector expression, found end of selector',
      pos: 9,
    });
    assert.deepEqual(issue('!'), {
      message: 'expected a selector expression, found end of selector',
      pos: 1,
    });
    assert.deepEqual(issue('has (x)'), {
      message: `expected an operator after label "has", found '('`,
      pos: 4,
    });
    assert.deepEqual(issue('global() && bad').pos, 15);
    assert.deepEqual(issue('a == "b" &&\n c == "d"').pos, 11); // lexical errors come through with their position
  });

  test('nesting limit turns a stack overflow into a parse error', () => {
    const ok = '('.repeat(MAX_NESTING) + 'has(a)' + ')'.repeat(MAX_NESTING);
    assert.deepEqual(parse(ok), has('a'));
    const deep = '('.repeat(MAX_NESTING + 1) + 'has(a)' + ')'.repeat(MAX_NESTING + 1);
    const e = issue(deep);
    assert.equal(e.pos, MAX_NESTING);
    assert.match(e.message, /nested/);
    const hugeNot = '!'.repeat(100_001) + 'has(a)';
    assert.deepEqual(parse(hugeNot), { kind: 'not', operand: has('a') });
  });
});
