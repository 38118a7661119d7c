import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DnsNameCache } from './dns-cache.js';
import { DnsLearner, type LearnedElement } from './dns-learner.js';

function setup(slackMs = 1000) {
  let now = 1_000_000;
  const cache = new DnsNameCache({ now: () => now, extraTtlMs: 0 });
  const learner = new DnsLearner(cache, { now: () => now, slackMs });
  return { learner, advance: (ms: number) => (now += ms), now: () => now };
}

const brief = (els: readonly LearnedElement[]) => els.map((e) => `${e.setId} ${e.ip}`).sort();

describe('DnsLearner', () => {
  it('adds addresses of names matching a set, per family, with TTL expiry', () => {
    const { learner, now } = setup();
    learner.setDomainSet('d:a', ['*.example.com']);
    learner.setDomainSet('d:b', ['api.example.com']);
    const els = learner.learn([
      { name: 'API.example.com.', type: 'A', ttl: 30, data: '192.0.2.10' },
      { name: 'api.example.com', type: 'AAAA', ttl: 30, data: '2001:db8::10' },
    ]);
    assert.deepEqual(brief(els), [
      'd:a 192.0.2.10',
      'd:a 2001:db8::10',
      'd:b 192.0.2.10',
      'd:b 2001:db8::10',
    ]);
    assert.ok(els.every((e) => e.expiresAt === now() + 30_000));
    assert.deepEqual(els.find((e) => e.ip === '2001:db8::10')?.family, 6);
    assert.deepEqual(learner.learn([{ name: 'evil.test', type: 'A', ttl: 30, data: '192.0.2.66' }]), []);
    assert.deepEqual(learner.learn([{ name: 'example.com', type: 'A', ttl: 30, data: '192.0.2.1' }]), []);
  });

  it('follows CNAME chains from an allowed name, also when the chain ends in a later answer', () => {
    const { learner } = setup();
    learner.setDomainSet('d:a', ['www.example.com']);
    assert.deepEqual(
      learner.learn([{ name: 'www.example.com', type: 'CNAME', ttl: 60, data: 'edge.cdn.test' }]),
      [],
    );
    const els = learner.learn([{ name: 'edge.cdn.test', type: 'A', ttl: 60, data: '198.51.100.7' }]);
    assert.deepEqual(brief(els), ['d:a 198.51.100.7']);
    // The CDN's own name is not allowed by itself.
    learner.setDomainSet('d:c', ['edge.cdn.test']);
    assert.deepEqual(brief(learner.reprogram(['d:c'])), ['d:c 198.51.100.7']);
  });

  it('does not re-program an unchanged mapping, but does when an answer extends it past the slack', () => {
    const { learner, advance } = setup(1000);
    learner.setDomainSet('d:a', ['api.example.com']);
    const rec = { name: 'api.example.com', type: 'A', ttl: 30, data: '192.0.2.10' } as const;
    learner.markProgrammed(learner.learn([rec]));
    advance(500);
    assert.deepEqual(learner.learn([rec]), []);
    advance(1000);
    assert.equal(learner.learn([rec]).length, 1);
  });

  it('a new set takes what was learned before it; expiry forgets both', () => {
    const { learner, advance } = setup();
    learner.learn([{ name: 'api.example.com', type: 'A', ttl: 5, data: '192.0.2.10' }]);
    const els = learner.setDomainSet('d:a', ['*.example.com']);
    assert.deepEqual(brief(els), ['d:a 192.0.2.10']);
    learner.markProgrammed(els);
    assert.equal(learner.programmedCount, 1);
    advance(6000);
    assert.equal(learner.expire(), 1);
    assert.equal(learner.programmedCount, 0);
    assert.deepEqual(learner.reprogram(['d:a']), []);
  });

  it('ignores unparsable addresses and removed sets', () => {
    const { learner } = setup();
    learner.setDomainSet('d:a', ['api.example.com']);
    assert.deepEqual(learner.learn([{ name: 'api.example.com', type: 'A', ttl: 5, data: 'not-an-ip' }]), []);
    learner.removeDomainSet('d:a');
    assert.deepEqual(learner.learn([{ name: 'api.example.com', type: 'A', ttl: 5, data: '192.0.2.1' }]), []);
  });
});
