import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { RCODE, RR_CLASS_IN, RR_TYPE, type DnsRdata } from '../dns/wire.js';
import { encodeMessage } from '../dns/wire-encode.js';
import { addressesOf, isQueryName, lookupQuery, readLookupAnswer, type LookupAnswer } from './dns-lookup.js';

/** A response to `lookupQuery(id, qname)` with these answer records (names compressed to the question). */
function response(id: number, rcode: number, answers: Buffer[]): Buffer {
  const q = Buffer.from(lookupQuery(id, 'cdn.example.com', 'A'));
  q.writeUInt16BE(0x8180 | rcode, 2);
  q.writeUInt16BE(answers.length, 6);
  return Buffer.concat([q, ...answers]);
}

function rr(name: Buffer, type: number, ttl: number, data: Buffer): Buffer {
  const h = Buffer.alloc(10);
  h.writeUInt16BE(type, 0);
  h.writeUInt16BE(1, 2);
  h.writeUInt32BE(ttl, 4);
  h.writeUInt16BE(data.length, 8);
  return Buffer.concat([name, h, data]);
}

function cname(target: string): DnsRdata {
  return { kind: 'CNAME', target };
}

function opaque(text: string): DnsRdata {
  return { kind: 'opaque', bytes: Buffer.from(text) };
}

/** Why a parse failed (the test fails when it did not). */
function failure(r: ReturnType<typeof readLookupAnswer>): string {
  assert.ok(!r.ok, 'parsed');
  return r.error;
}

const PTR_QNAME = Buffer.from([0xc0, 12]);
const TARGET = Buffer.from('\x04edge\x0ccdn-provider\x04test\x00', 'latin1');

describe('dns-lookup', () => {
  test('a query: header with RD, one question, labels, type and class', () => {
    const q = lookupQuery(0x1234, 'API.Example.com.', 'AAAA');
    assert.equal(
      Buffer.from(q).toString('hex'),
      '123401000001000000000000' + '03617069076578616d706c6503636f6d00' + '001c0001',
    );
    assert.throws(() => lookupQuery(1, 'a..b', 'A'), /not a DNS name/);
    assert.equal(isQueryName('10.0.0.1'), false);
    assert.equal(isQueryName('outside'), true);
  });

  test('an answer: CNAME (compressed to the question) then A; the chain gives the address', () => {
    // CNAME target written in full at offset 33+12: the A record's name points to it.
    const cname = rr(PTR_QNAME, 5, 30, TARGET);
    const targetAt = 12 + 17 + 4 + 12;
    const a = rr(Buffer.from([0xc0, targetAt]), 1, 7, Buffer.from([203, 0, 113, 22]));
    const parsed = readLookupAnswer(response(7, 0, [cname, a]));
    assert.ok(parsed.ok, parsed.ok ? '' : parsed.error);
    assert.deepEqual(parsed.value.records, [
      { name: 'cdn.example.com', type: 'CNAME', ttl: 30, data: 'edge.cdn-provider.test' },
      { name: 'edge.cdn-provider.test', type: 'A', ttl: 7, data: '203.0.113.22' },
    ]);
    assert.equal(parsed.value.rcode, 'NOERROR');
    assert.deepEqual(addressesOf(parsed.value.records, 'CDN.example.com.', 'A'), ['203.0.113.22']);
  });

  test('AAAA text is compressed; NXDOMAIN; TC', () => {
    const v6 = Buffer.from('20010db8000000000000000000000001', 'hex');
    const p = readLookupAnswer(response(1, 0, [rr(PTR_QNAME, 28, 5, v6)]));
    assert.ok(p.ok);
    assert.equal(p.value.records[0]?.data, '2001:db8::1');
    const nx = readLookupAnswer(response(1, 3, []));
    assert.ok(nx.ok);
    assert.equal(nx.value.rcode, 'NXDOMAIN');
    const tc = response(1, 0, []);
    tc.writeUInt16BE(tc.readUInt16BE(2) | 0x0200, 2);
    assert.equal((readLookupAnswer(tc) as { value: LookupAnswer }).value.truncated, true);
  });

  test('names are canonical; other types and classes are skipped; a CNAME loop gives no address', () => {
    const m = encodeMessage({
      header: { id: 3, qr: true, rcode: RCODE.NOERROR },
      questions: [{ name: 'Loop.Example.COM', type: RR_TYPE.A, class: RR_CLASS_IN }],
      answers: [
        {
          name: 'Loop.Example.COM.',
          type: RR_TYPE.CNAME,
          class: RR_CLASS_IN,
          ttl: 9,
          data: cname('B.example.com'),
        },
        {
          name: 'b.example.com',
          type: RR_TYPE.CNAME,
          class: RR_CLASS_IN,
          ttl: 9,
          data: cname('loop.example.com'),
        },
        { name: 'b.example.com', type: RR_TYPE.TXT, class: RR_CLASS_IN, ttl: 9, data: opaque('x') },
        {
          name: 'b.example.com',
          type: RR_TYPE.A,
          class: 3,
          ttl: 9,
          data: { kind: 'A', address: '192.0.2.1' },
        },
      ],
    });
    const r = readLookupAnswer(m);
    assert.ok(r.ok, r.ok ? '' : r.error);
    assert.deepEqual(r.value.records, [
      { name: 'loop.example.com', type: 'CNAME', ttl: 9, data: 'b.example.com' },
      { name: 'b.example.com', type: 'CNAME', ttl: 9, data: 'loop.example.com' },
    ]);
    assert.deepEqual(addressesOf(r.value.records, 'loop.example.com', 'A'), []);
    assert.deepEqual(addressesOf(r.value.records, 'loop.example.com', 'AAAA'), []);
  });

  test('bad messages are typed failures: short, a query, forward pointer, loop, overrun', () => {
    assert.match(failure(readLookupAnswer(Buffer.alloc(5))), /shorter than a DNS header/);
    assert.match(failure(readLookupAnswer(lookupQuery(1, 'a.b', 'A'))), /not a response/);
    const fwd = response(1, 0, [rr(Buffer.from([0xc0, 0xff]), 1, 1, Buffer.from([1, 2, 3, 4]))]);
    assert.match(failure(readLookupAnswer(fwd)), /points forward/);
    const self = response(1, 0, []);
    self.writeUInt16BE(0xc000 | 12, 12);
    assert.equal(readLookupAnswer(self).ok, false);
    const over = response(1, 0, [rr(PTR_QNAME, 1, 1, Buffer.from([1, 2, 3, 4]))]);
    assert.match(failure(readLookupAnswer(over.subarray(0, over.length - 2))), /runs past/);
  });

  test('random and mutated messages never throw', () => {
    const good = response(9, 0, [rr(PTR_QNAME, 5, 30, TARGET)]);
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        readLookupAnswer(Buffer.from(bytes));
      }),
      { numRuns: 2000 },
    );
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.nat(good.length - 1), fc.nat(255)), { maxLength: 8 }), (edits) => {
        const m = Buffer.from(good);
        m.writeUInt8(0x81, 2);
        for (const [at, v] of edits) m[at] = v;
        const r = readLookupAnswer(m);
        if (r.ok) addressesOf(r.value.records, 'cdn.example.com', 'A');
      }),
      { numRuns: 2000 },
    );
  });
});
