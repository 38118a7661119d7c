import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { compileDomainPattern, DomainMatcher, domainMatches } from './domain-match.js';

const label = fc.stringMatching(/^[a-z0-9]([a-z0-9-]{0,6}[a-z0-9])?$/);
const labels = (min: number, max: number): fc.Arbitrary<string[]> =>
  fc.array(label, { minLength: min, maxLength: max });

describe('domain patterns', () => {
  it('match exactly and case-insensitively without a wildcard', () => {
    const p = compileDomainPattern('Example.COM.');
    assert.ok(domainMatches(p, 'example.com'));
    assert.ok(domainMatches(p, 'EXAMPLE.com.'));
    assert.ok(!domainMatches(p, 'www.example.com'));
    assert.ok(!domainMatches(p, 'example.co'));
  });

  it('match one or more labels at the wildcard position (Calico Enterprise examples)', () => {
    const star = compileDomainPattern('*.google.com');
    assert.ok(domainMatches(star, 'www.google.com'));
    assert.ok(domainMatches(star, 'www.ipv6.google.com'));
    assert.ok(!domainMatches(star, 'google.com'));
    const mid = compileDomainPattern('www.*.com');
    assert.ok(domainMatches(mid, 'www.sun.com'));
    assert.ok(domainMatches(mid, 'www.a.b.com'));
    assert.ok(!domainMatches(mid, 'www.com'));
    const tail = compileDomainPattern('update.*.mycompany.com');
    assert.ok(domainMatches(tail, 'update.tools.mycompany.com'));
    assert.ok(!domainMatches(tail, 'update.mycompany.com'));
  });

  it('property: prefix.<one or more labels>.suffix always matches prefix.*.suffix, and fewer labels never do', () => {
    fc.assert(
      fc.property(labels(0, 3), labels(1, 3), labels(0, 3), (prefix, middle, suffix) => {
        const p = compileDomainPattern([...prefix, '*', ...suffix].join('.'));
        assert.ok(domainMatches(p, [...prefix, ...middle, ...suffix].join('.').toUpperCase()));
        assert.ok(!domainMatches(p, [...prefix, ...suffix].join('.')));
      }),
    );
  });

  it('property: an exact pattern matches only its own name', () => {
    fc.assert(
      fc.property(labels(1, 4), labels(1, 4), (a, b) => {
        const p = compileDomainPattern(a.join('.'));
        assert.equal(domainMatches(p, b.join('.')), a.join('.') === b.join('.'));
      }),
    );
  });

  it('a matcher reports the pattern that matched, exact names first, duplicates folded', () => {
    const m = new DomainMatcher(['*.example.com', 'API.example.com', 'api.example.com.', 'x.*']);
    assert.equal(m.size, 3);
    assert.equal(m.match('api.example.com'), 'api.example.com');
    assert.equal(m.match('www.Example.com'), '*.example.com');
    assert.equal(m.match('x.y'), 'x.*');
    assert.equal(m.match('example.com'), undefined);
  });
});
