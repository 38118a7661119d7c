import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { parseIp } from '../lib/net/ip.js';
import { DnsNameCache, StaticResolvedNames } from './dns-cache.js';

function clock(): { now: () => number; advance: (ms: number) => void } {
  let t = 1_000_000;
  return { now: () => t, advance: (ms) => (t += ms) };
}

const ip = (s: string) => {
  const p = parseIp(s);
  if (p === undefined) throw new Error(s);
  return p;
};

describe('DnsNameCache', () => {
  it('maps names to A and AAAA addresses until TTL plus dnsExtraTTL', () => {
    const c = clock();
    const cache = new DnsNameCache({ now: c.now, extraTtlMs: 5_000 });
    assert.ok(cache.addAddress('API.example.com.', '192.0.2.1', 30));
    assert.ok(cache.addAddress('api.example.com', 'FD00::1', 30));
    assert.ok(!cache.addAddress('api.example.com', 'not-an-ip', 30));
    assert.deepEqual(cache.namesFor(ip('192.0.2.1')), ['api.example.com']);
    assert.deepEqual(cache.namesFor(ip('fd00::1')), ['api.example.com']);
    c.advance(34_999);
    assert.equal(cache.resolve('api.example.com').length, 2);
    c.advance(1);
    assert.deepEqual(cache.resolve('api.example.com'), []);
    assert.deepEqual(cache.namesFor(ip('192.0.2.1')), []);
    assert.equal(cache.expire(), 2);
    assert.deepEqual(cache.snapshot(), []);
  });

  it('a changed dnsExtraTTL applies to records learned after it; a restored snapshot keeps its expiries', () => {
    const c = clock();
    const cache = new DnsNameCache({ now: c.now });
    cache.addAddress('a.example.com', '192.0.2.1', 10);
    cache.setExtraTtl(20_000);
    cache.addAddress('b.example.com', '192.0.2.2', 10);
    c.advance(10_000);
    assert.deepEqual(cache.resolve('a.example.com'), []);
    assert.equal(cache.resolve('b.example.com').length, 1);
    const copy = new DnsNameCache({ now: c.now });
    copy.restore(cache.snapshot());
    assert.deepEqual(copy.resolve('b.example.com'), cache.resolve('b.example.com'));
    c.advance(20_000);
    assert.deepEqual(copy.resolve('b.example.com'), []);
  });

  it('gives the addresses at the end of a CNAME chain to the first name, living as long as the chain', () => {
    const c = clock();
    const cache = new DnsNameCache({ now: c.now });
    cache.addCname('www.example.com', 'edge.cdn.test', 60);
    cache.addCname('edge.cdn.test', 'pop1.cdn.test', 10);
    cache.addAddress('pop1.cdn.test', '198.51.100.7', 300);
    assert.deepEqual(cache.resolve('www.example.com'), [{ ip: '198.51.100.7', expiresAt: c.now() + 10_000 }]);
    assert.deepEqual([...cache.namesFor(ip('198.51.100.7'))].sort(), [
      'edge.cdn.test',
      'pop1.cdn.test',
      'www.example.com',
    ]);
    c.advance(10_000);
    assert.deepEqual(cache.resolve('www.example.com'), []);
    assert.deepEqual(cache.namesFor(ip('198.51.100.7')), ['pop1.cdn.test']);
  });

  it('bounds chains and survives CNAME loops', () => {
    const c = clock();
    const cache = new DnsNameCache({ now: c.now, maxChain: 3 });
    cache.addCname('a.test', 'b.test', 60);
    cache.addCname('b.test', 'a.test', 60);
    assert.deepEqual(cache.resolve('a.test'), []);
    for (let i = 0; i < 5; i++) cache.addCname(`n${i}.test`, `n${i + 1}.test`, 60);
    cache.addAddress('n5.test', '192.0.2.9', 60);
    assert.deepEqual(cache.resolve('n2.test').length, 1, 'three links: n2 -> n3 -> n4 -> n5');
    assert.deepEqual(cache.resolve('n1.test'), [], 'four links: beyond the bound');
  });

  it('a repeated answer extends a mapping but never shortens it', () => {
    const c = clock();
    const cache = new DnsNameCache({ now: c.now });
    cache.addAddress('a.test', '192.0.2.1', 100);
    cache.addAddress('a.test', '192.0.2.1', 1);
    c.advance(50_000);
    assert.equal(cache.resolve('a.test').length, 1);
  });

  it('property: a resolved address expires exactly when the shortest record on its chain does', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: 1000 }), { minLength: 1, maxLength: 8 }), (ttls) => {
        const c = clock();
        const cache = new DnsNameCache({ now: c.now, extraTtlMs: 0 });
        const last = ttls.length - 1;
        ttls.forEach((ttl, i) => {
          if (i === last) cache.addAddress(`n${i}.test`, '192.0.2.1', ttl);
          else cache.addCname(`n${i}.test`, `n${i + 1}.test`, ttl);
        });
        const min = Math.min(...ttls);
        c.advance(min * 1000 - 1);
        assert.equal(cache.resolve('n0.test').length, 1);
        c.advance(1);
        assert.equal(cache.resolve('n0.test').length, 0);
      }),
    );
  });
});

describe('StaticResolvedNames', () => {
  it('maps addresses to canonical names without expiry', () => {
    const s = new StaticResolvedNames();
    s.add('API.Example.com', ip('192.0.2.1'));
    s.add('api.example.com.', ip('192.0.2.1'));
    assert.deepEqual(s.namesFor(ip('192.0.2.1')), ['api.example.com']);
    assert.deepEqual(s.namesFor(ip('192.0.2.2')), []);
  });
});
