import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  type DnsMessage,
  type DnsParseErrorKind,
  DNS_HEADER_BYTES,
  RR_CLASS_IN,
  RR_TYPE,
  parseMessage,
  parseName,
} from './wire.js';
import { type DnsMessageInput, encodeMessage, encodeQuery } from './wire-encode.js';

const answer: DnsMessageInput = {
  header: { id: 0xbeef, qr: true, rd: true, ra: true },
  questions: [{ name: 'www.Example.com', type: RR_TYPE.A, class: RR_CLASS_IN }],
  answers: [
    {
      name: 'www.Example.com',
      type: RR_TYPE.CNAME,
      class: 1,
      ttl: 300,
      data: { kind: 'CNAME', target: 'edge.example.com' },
    },
    {
      name: 'edge.example.com',
      type: RR_TYPE.A,
      class: 1,
      ttl: 60,
      data: { kind: 'A', address: '192.0.2.10' },
    },
    {
      name: 'edge.example.com',
      type: RR_TYPE.AAAA,
      class: 1,
      ttl: 60,
      data: { kind: 'AAAA', address: '2001:db8::10' },
    },
    {
      name: 'edge.example.com',
      type: RR_TYPE.TXT,
      class: 1,
      ttl: 5,
      data: { kind: 'opaque', bytes: Uint8Array.of(2, 104, 105) },
    },
  ],
};

function parsed(bytes: Uint8Array): DnsMessage {
  const r = parseMessage(bytes);
  assert.ok(r.ok, r.ok ? '' : r.error.message);
  return r.value;
}

function parseErrorKind(bytes: Uint8Array): DnsParseErrorKind {
  const r = parseMessage(bytes);
  assert.ok(!r.ok, 'expected a parse error');
  return r.error.kind;
}

/** Header with the given counts followed by `body`. */
function withBody(counts: [number, number, number, number], body: number[]): Uint8Array {
  const h = [0x12, 0x34, 0x81, 0x80];
  for (const c of counts) h.push(c >> 8, c & 0xff);
  return Uint8Array.from([...h, ...body]);
}

describe('DNS wire codec', () => {
  it('round-trips a compressed answer with a CNAME chain, A, AAAA and an opaque record', () => {
    const bytes = encodeMessage(answer);
    const uncompressed = encodeMessage(answer, { compress: false });
    assert.ok(bytes.length < uncompressed.length, 'compression shortens the message');
    for (const b of [bytes, uncompressed]) {
      const m = parsed(b);
      assert.equal(m.header.id, 0xbeef);
      assert.equal(m.header.qr, true);
      assert.deepEqual(m.questions, answer.questions);
      assert.deepEqual(
        m.answers.map((r) => r.data),
        answer.answers!.map((r) => r.data),
      );
      assert.equal(m.answers[0]!.name, 'www.Example.com');
      assert.deepEqual(
        m.answers.map((r) => r.ttl),
        [300, 60, 60, 5],
      );
    }
  });

  it('reads a query built by encodeQuery, and escapes odd label bytes so names stay distinct', () => {
    const q = parsed(encodeQuery(7, 'a\\.b.c\\000d', RR_TYPE.AAAA));
    assert.equal(q.header.rd, true);
    assert.equal(q.header.qr, false);
    assert.deepEqual(q.questions, [{ name: 'a\\.b.c\\000d', type: RR_TYPE.AAAA, class: 1 }]);
    assert.equal(parsed(encodeQuery(1, '.', RR_TYPE.A)).questions[0]!.name, '.');
  });

  it('gives typed errors for truncation, counts, labels, long names and bad pointers', () => {
    assert.equal(parseErrorKind(Uint8Array.of(1, 2, 3)), 'truncated');
    // 1 question announced, 5 bytes of room needed, 2 given.
    assert.equal(parseErrorKind(withBody([1, 0, 0, 0], [0, 0])), 'countExceedsData');
    assert.equal(parseErrorKind(withBody([65535, 65535, 0, 0], [])), 'countExceedsData');
    assert.equal(parseErrorKind(withBody([1, 0, 0, 0], [3, 97, 98, 99, 0, 0, 1])), 'truncated');
    assert.equal(
      parseErrorKind(withBody([1, 0, 0, 0], [64, ...Array<number>(70).fill(97), 0, 0, 1, 0, 1])),
      'labelTooLong',
    );
    const long: number[] = [];
    for (let i = 0; i < 5; i++) long.push(63, ...Array<number>(63).fill(97));
    assert.equal(parseErrorKind(withBody([1, 0, 0, 0], [...long, 0, 0, 1, 0, 1])), 'nameTooLong');
    // A pointer to itself, one forward, and two names pointing at each other.
    assert.equal(parseErrorKind(withBody([1, 0, 0, 0], [0xc0, 12, 0, 1, 0, 1])), 'pointerLoop');
    assert.equal(parseErrorKind(withBody([1, 0, 0, 0], [0xc0, 20, 0, 1, 0, 1, 0, 0, 0])), 'forwardPointer');
    const loop = withBody([1, 0, 0, 0], [1, 97, 0xc0, 12, 0, 1, 0, 1]);
    assert.equal(parseErrorKind(loop), 'pointerLoop');
    assert.equal(parseName(loop, 12).ok, false);
  });

  it('rejects A/AAAA RDATA of the wrong size and a CNAME whose name overruns its RDATA', () => {
    const good = encodeMessage({ header: { qr: true }, answers: [answer.answers![1]!] }, { compress: false });
    const bad = Uint8Array.from([...good.slice(0, good.length - 6), 0, 3, 192, 0, 2]);
    assert.equal(parseErrorKind(bad), 'badRdata');
    const cname = encodeMessage(
      { header: { qr: true }, answers: [answer.answers![0]!] },
      { compress: false },
    );
    // Shrink the CNAME's RDLENGTH by one: the target's terminating zero now lies outside it.
    const rdlenAt = cname.length - 'edge.example.com'.length - 2 - 2;
    const shrunk = Uint8Array.from(cname);
    shrunk[rdlenAt + 1] = shrunk[rdlenAt + 1]! - 1;
    assert.ok(!parseMessage(shrunk).ok);
  });

  it('ignores bytes after the last record', () => {
    const bytes = encodeMessage(answer);
    assert.equal(parsed(Uint8Array.from([...bytes, 1, 2, 3])).answers.length, 4);
  });

  it('never throws and always ends on random bytes (property)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 0, maxLength: 600 }), (bytes) => {
        const r = parseMessage(bytes);
        return r.ok || typeof r.error.message === 'string';
      }),
      { numRuns: 5_000 },
    );
  });

  it('never throws on mutated valid messages (property)', () => {
    const base = [
      encodeMessage(answer),
      encodeMessage(answer, { compress: false }),
      encodeQuery(1, 'api.example.com', 1),
    ];
    const mutation = fc.record({
      which: fc.nat(base.length - 1),
      edits: fc.array(fc.tuple(fc.nat(600), fc.integer({ min: 0, max: 255 })), {
        minLength: 1,
        maxLength: 8,
      }),
      cut: fc.option(fc.nat(600), { nil: undefined }),
      pointer: fc.option(fc.tuple(fc.nat(600), fc.nat(0x3fff)), { nil: undefined }),
    });
    fc.assert(
      fc.property(mutation, ({ which, edits, cut, pointer }) => {
        const bytes = Uint8Array.from(base[which]!);
        for (const [at, v] of edits) if (at < bytes.length) bytes[at] = v;
        if (pointer !== undefined && pointer[0] + 1 < bytes.length) {
          bytes[pointer[0]] = 0xc0 | (pointer[1] >> 8);
          bytes[pointer[0] + 1] = pointer[1] & 0xff;
        }
        const input = cut === undefined ? bytes : bytes.subarray(0, cut);
        const r = parseMessage(input);
        if (r.ok) assert.ok(input.length >= DNS_HEADER_BYTES);
        return true;
      }),
      { numRuns: 20_000 },
    );
  });
});
