import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  canonicalVerdict,
  checkObjectName,
  checkRuleText,
  normaliseRuleText,
  ruleComment,
  ruleHash,
  ruleRefs,
  sanitizeComment,
  withCounter,
} from './syntax.js';

describe('checkObjectName', () => {
  test('accepts Calico-style names', () => {
    for (const n of [
      'filter-INPUT',
      'filter-cali-pi-_owbIPjETZHWce0m416k',
      'cali40s-5y5I3VdRZfDU01O',
      'a/b',
      '_x',
      '.x',
      'Input',
    ]) {
      assert.equal(checkObjectName(n), undefined, n);
    }
  });

  test('rejects names nft cannot take or could read as a keyword', () => {
    for (const n of [
      '',
      '9a',
      'a b',
      'a"b',
      'a;b',
      'counter',
      'ip6',
      'map',
      'x'.repeat(256),
      'cali:x',
      '-x',
    ]) {
      assert.notEqual(checkObjectName(n), undefined, n);
    }
  });
});

describe('checkRuleText', () => {
  test('accepts ordinary rules, including quoted strings with special characters', () => {
    assert.equal(checkRuleText('ip saddr @cali40s-abc tcp dport { 80, 443 } accept'), undefined);
    assert.equal(checkRuleText('log prefix "a;b #c comment" drop'), undefined);
  });

  test('rejects anything that could escape its line or add a second comment', () => {
    assert.match(checkRuleText('accept; delete table inet calico') ?? '', /";"/);
    assert.match(checkRuleText('accept\ndelete table inet calico') ?? '', /line break/);
    assert.match(checkRuleText('accept # x') ?? '', /"#"/);
    assert.match(checkRuleText('log prefix "x drop') ?? '', /unterminated/);
    assert.match(checkRuleText('accept comment "x"') ?? '', /own comment/);
    assert.match(checkRuleText('   ') ?? '', /empty/);
  });
});

describe('rule comments', () => {
  test('normalises whitespace outside strings only', () => {
    assert.equal(
      normaliseRuleText('  ip  saddr\t@s   log prefix "a  b"  accept '),
      'ip saddr @s log prefix "a  b" accept',
    );
  });

  test('the hash depends on chain and text', () => {
    const h = ruleHash('c1', 'accept');
    assert.match(h, /^[A-Za-z0-9_-]{16}$/);
    assert.equal(ruleHash('c1', 'accept'), h);
    assert.notEqual(ruleHash('c2', 'accept'), h);
    assert.notEqual(ruleHash('c1', 'drop'), h);
  });

  test('comment = cali:<hash> plus a sanitised, byte-limited note', () => {
    assert.equal(ruleComment('c', 'accept'), `cali:${ruleHash('c', 'accept')}`);
    assert.equal(ruleComment('c', 'accept', 'say "hi"\\\n'), `cali:${ruleHash('c', 'accept')} say 'hi''`);
    const long = ruleComment('c', 'accept', 'é'.repeat(100));
    assert.ok(Buffer.byteLength(long) <= 127);
    assert.ok(long.endsWith('é'));
    assert.equal(sanitizeComment('  a\tb  '), 'a b');
  });
});

describe('ruleRefs', () => {
  test('finds sets and chains outside quoted strings', () => {
    assert.deepEqual(ruleRefs('ip saddr @s-1 ip daddr @s-2 log prefix "@nope jump no" jump c-1'), {
      sets: ['s-1', 's-2'],
      chains: ['c-1'],
    });
    assert.deepEqual(ruleRefs('iifname vmap { "a" : goto c-2, "b" : jump c-3 }'), {
      sets: [],
      chains: ['c-2', 'c-3'],
    });
  });
});

describe('canonicalVerdict', () => {
  test('accepts verdicts and normalises spacing', () => {
    assert.deepEqual(canonicalVerdict(' goto   filter-x '), { ok: true, value: 'goto filter-x' });
    assert.deepEqual(canonicalVerdict('drop'), { ok: true, value: 'drop' });
  });

  test('rejects anything else', () => {
    for (const v of ['goto', 'goto a b', 'queue', 'jump counter', 'accept; flush ruleset']) {
      assert.equal(canonicalVerdict(v).ok, false, v);
    }
  });
});

describe('withCounter', () => {
  test('puts the counter between the matches and the statements', () => {
    const cases: [string, string][] = [
      ['ct state established,related accept', 'ct state established,related counter accept'],
      [
        'ip saddr @cali40s-x tcp dport { 80, 443 } drop',
        'ip saddr @cali40s-x tcp dport { 80, 443 } counter drop',
      ],
      ['meta mark set meta mark | 0x00010000 return', 'counter meta mark set meta mark | 0x00010000 return'],
      ['meta mark & 0x00010000 == 0x00010000 accept', 'meta mark & 0x00010000 == 0x00010000 counter accept'],
      [
        'meta l4proto 6 log prefix "drop accept: " level info',
        'meta l4proto 6 counter log prefix "drop accept: " level info',
      ],
      ['iifname vmap @cali-from-wl-dispatch', 'counter iifname vmap @cali-from-wl-dispatch'],
      ['reject with icmpx admin-prohibited', 'counter reject with icmpx admin-prohibited'],
      [
        'oifname "vxlan.calico" fib saddr type local masquerade',
        'oifname "vxlan.calico" fib saddr type local counter masquerade',
      ],
      ['ip saddr 10.0.0.1', 'ip saddr 10.0.0.1 counter'],
      ['ip saddr 10.0.0.1 counter drop', 'ip saddr 10.0.0.1 counter drop'],
    ];
    for (const [input, want] of cases) assert.equal(withCounter(input), want, input);
  });
});
