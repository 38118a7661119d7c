import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decodeUtf16, type TextProblem, YamlTextChecker } from './text-check.js';

/** Feeds `bytes` in chunks of `size` and returns the first problem. */
function check(bytes: readonly number[], size: number): TextProblem | undefined {
  const c = new YamlTextChecker();
  for (let i = 0; i < bytes.length; i += size) {
    const p = c.push(Uint8Array.from(bytes.slice(i, i + size)));
    if (p !== undefined) return p;
  }
  return c.end();
}

const ascii = (s: string): number[] => Array.from(Buffer.from(s, 'utf8'));

describe("YamlTextChecker (go-yaml's reader checks)", () => {
  const cases: [string, number[], TextProblem | undefined][] = [
    ['plain text', ascii('kind: A\n\tb: "é ✓ 😀"\r\n'), undefined],
    ['a UTF-8 byte-order mark', [0xef, 0xbb, 0xbf, ...ascii('a: b\n')], undefined],
    ['a stray 0xff', [...ascii('name: a'), 0xff], { offset: 7, message: 'invalid leading UTF-8 octet' }],
    [
      'a cut sequence at the end',
      [...ascii('ab'), 0xe2, 0x82],
      { offset: 2, message: 'incomplete UTF-8 octet sequence' },
    ],
    [
      'a bad trailing octet',
      [...ascii('a'), 0xe2, 0x28, 0xa1],
      { offset: 2, message: 'invalid trailing UTF-8 octet' },
    ],
    [
      'an overlong sequence',
      [...ascii('a'), 0xc0, 0x80],
      { offset: 1, message: 'invalid length of a UTF-8 sequence' },
    ],
    ['a surrogate', [0xed, 0xa0, 0x80], { offset: 0, message: 'invalid Unicode character' }],
    ['a NUL byte', [...ascii('abc'), 0], { offset: 3, message: 'control characters are not allowed' }],
    ['DEL', [...ascii('a'), 0x7f], { offset: 1, message: 'control characters are not allowed' }],
    [
      'a C1 control character',
      [...ascii('a'), 0xc2, 0x81],
      { offset: 1, message: 'control characters are not allowed' },
    ],
  ];
  for (const [name, bytes, want] of cases) {
    it(`${name}: the same answer whatever the chunking`, () => {
      for (const size of [1, 2, 3, 4096]) assert.deepEqual(check(bytes, size), want, `chunks of ${size}`);
    });
  }

  it('recognises a UTF-16 byte-order mark; the text is then decoded and checked', () => {
    const le = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from('kind: A\n', 'utf16le')]);
    const c = new YamlTextChecker();
    assert.equal(c.push(le), undefined);
    assert.equal(c.end(), undefined);
    assert.ok(c.utf16);
    assert.deepEqual(decodeUtf16(le), { text: 'kind: A\n' });
    const nul = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from('a\u0000', 'utf16le')]);
    assert.deepEqual(decodeUtf16(nul), {
      problem: { offset: 4, message: 'control characters are not allowed' },
    });
  });
});
