import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { isValidLabel, tokenize, type LexError, type Token } from './tokenizer.js';

function kinds(input: string): string[] {
  const r = tokenize(input);
  assert.ok(r.ok, `expected ${JSON.stringify(input)} to tokenize: ${r.ok ? '' : r.error.message}`);
  return r.value.map((t) => (t.value === '' ? t.kind : `${t.kind}:${t.value}`));
}

function lexError(input: string): LexError {
  const r = tokenize(input);
  assert.ok(!r.ok, `expected ${JSON.stringify(input)} to fail tokenizing`);
  return r.error;
}

function tokens(input: string): readonly Token[] {
  const r = tokenize(input);
  assert.ok(r.ok);
  return r.value;
}

describe('tokenizer', () => {
  test('basic operators and punctuation', () => {
    assert.deepEqual(kinds('a=="b"'), ['label:a', 'eq', 'string:b', 'eof']);
    assert.deepEqual(kinds('a!="b"'), ['label:a', 'ne', 'string:b', 'eof']);
    assert.deepEqual(kinds('!a'), ['not', 'label:a', 'eof']);
    assert.deepEqual(kinds('( ) { } , && ||'), [
      'lparen',
      'rparen',
      'lbrace',
      'rbrace',
      'comma',
      'and',
      'or',
      'eof',
    ]);
    assert.deepEqual(kinds(''), ['eof']);
    assert.deepEqual(kinds(' \t '), ['eof']);
  });

  test('only space and TAB are whitespace', () => {
    assert.deepEqual(kinds('\ta\t==\t"b"\t'), ['label:a', 'eq', 'string:b', 'eof']);
    for (const ws of ['\n', '\r', '\v', '\f', '\u00a0']) {
      const e = lexError(`a == "b"${ws}`);
      assert.equal(e.pos, 8, JSON.stringify(ws));
    }
  });

  test('string literals: either quote, no escapes, may hold the other quote', () => {
    assert.deepEqual(kinds(`a == "it's"`), ['label:a', 'eq', "string:it's", 'eof']);
    assert.deepEqual(kinds(`a == 'say "hi"'`), ['label:a', 'eq', 'string:say "hi"', 'eof']);
    assert.deepEqual(kinds(`a == "back\\"`), ['label:a', 'eq', 'string:back\\', 'eof']);
    assert.deepEqual(kinds(`a == ""`), ['label:a', 'eq', 'string', 'eof']);
    assert.deepEqual(kinds(`a == "x\ny"`), ['label:a', 'eq', 'string:x\ny', 'eof']);
    assert.deepEqual(lexError(`a == "open`), { message: 'unterminated string', pos: 5 });
    assert.deepEqual(lexError(`a == 'open"`), { message: 'unterminated string', pos: 5 });
  });

  test('labels: character set and the 512 limit', () => {
    assert.deepEqual(kinds('has(calico/k8s_NS-.1/role)'), ['has:calico/k8s_NS-.1/role', 'eof']);
    assert.ok(tokenize('x'.repeat(512) + ' == "v"').ok);
    const long = lexError('x'.repeat(513) + ' == "v"');
    assert.equal(long.pos, 0);
    assert.match(long.message, /label too long/);
    assert.match(lexError(`has(${'y'.repeat(513)})`).message, /label too long/);
    assert.deepEqual(lexError('a == "b" && %'), { message: 'unexpected character "%"', pos: 12 });
    assert.equal(lexError('ä == "b"').pos, 0);
    assert.ok(isValidLabel('a.b/c-d_e'));
    assert.ok(!isValidLabel(''));
    assert.ok(!isValidLabel('a b'));
    assert.ok(!isValidLabel('z'.repeat(513)));
  });

  test('single = & | are errors', () => {
    assert.deepEqual(lexError('label = "value"'), { message: 'expected ==', pos: 6 });
    assert.deepEqual(lexError('a == "b" & has(foo)'), { message: 'expected &&', pos: 9 });
    assert.deepEqual(lexError('a == "b" | has(foo)'), { message: 'expected ||', pos: 9 });
    assert.deepEqual(lexError('a == "b" |'), { message: 'expected ||', pos: 9 });
  });

  test('has( all( global( must be contiguous; spaces allowed inside', () => {
    assert.deepEqual(kinds('has( foo )'), ['has:foo', 'eof']);
    assert.deepEqual(kinds('all( )'), ['all', 'eof']);
    assert.deepEqual(kinds('global(\t)'), ['global', 'eof']);
    // `has (x)` is a label named has followed by a parenthesis: it tokenizes, and the parser rejects it.
    assert.deepEqual(kinds('has (x)'), ['label:has', 'lparen', 'label:x', 'rparen', 'eof']);
    assert.deepEqual(kinds('all'), ['label:all', 'eof']);
    assert.deepEqual(lexError('has()'), { message: 'expected a label name after has(', pos: 4 });
    assert.deepEqual(lexError('has(foo'), { message: "no closing ')' after has(", pos: 7 });
    assert.deepEqual(lexError('has( foo '), { message: "no closing ')' after has(", pos: 9 });
    assert.deepEqual(lexError('all('), { message: "no closing ')' after all(", pos: 4 });
    assert.deepEqual(lexError('global( x)'), { message: "no closing ')' after global(", pos: 8 });
  });

  test('operator keywords only right after a label, multi-word forms with any spacing', () => {
    assert.deepEqual(kinds('a contains"v"'), ['label:a', 'contains', 'string:v', 'eof']);
    assert.deepEqual(kinds('a starts with "v"'), ['label:a', 'startsWith', 'string:v', 'eof']);
    assert.deepEqual(kinds('a startswith "v"'), ['label:a', 'startsWith', 'string:v', 'eof']);
    assert.deepEqual(kinds('a starts \t  with"v"'), ['label:a', 'startsWith', 'string:v', 'eof']);
    assert.deepEqual(kinds('a ends  with "v"'), ['label:a', 'endsWith', 'string:v', 'eof']);
    assert.deepEqual(kinds('a notin{}'), ['label:a', 'notIn', 'lbrace', 'rbrace', 'eof']);
    assert.deepEqual(kinds('a not\tin {}'), ['label:a', 'notIn', 'lbrace', 'rbrace', 'eof']);
    assert.deepEqual(kinds('a in{}'), ['label:a', 'in', 'lbrace', 'rbrace', 'eof']);
    // Keywords are not reserved: a label may be called contains, in, not...
    assert.deepEqual(kinds('contains contains "contains"'), [
      'label:contains',
      'contains',
      'string:contains',
      'eof',
    ]);
    assert.deepEqual(kinds('in in {}'), ['label:in', 'in', 'lbrace', 'rbrace', 'eof']);
    assert.deepEqual(kinds('has == "x"'), ['label:has', 'eq', 'string:x', 'eof']);
    // After a non-label token the same words are labels again.
    assert.deepEqual(kinds('a in b'), ['label:a', 'in', 'label:b', 'eof']);
  });

  test('a word boundary must follow an operator keyword', () => {
    for (const bad of [
      'label inf "value"',
      'label containsx "v"',
      'label starts foo "value"',
      'label ends withs "value"',
      'label squiggles "value"',
      'a in-{}',
      'a b',
    ]) {
      const e = lexError(bad);
      assert.match(e.message, /expected operator after label/, bad);
      assert.equal(e.pos, bad.indexOf(' ') + 1, bad);
    }
    // Multi-word operators skip the whitespace after the last word before checking the boundary (Calico).
    assert.equal(lexError('b starts with b').pos, 2);
    assert.equal(lexError('a not in  b').pos, 2);
    assert.ok(tokenize('b contains b').ok);
  });

  test('token positions', () => {
    const ts = tokens(' a  ==\t"b" && !has( c )');
    assert.deepEqual(
      ts.map((t) => [t.kind, t.pos]),
      [
        ['label', 1],
        ['eq', 4],
        ['string', 7],
        ['and', 11],
        ['not', 14],
        ['has', 15],
        ['eof', 23],
      ],
    );
  });
});
