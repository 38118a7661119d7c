import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  formatPort,
  parsePort,
  parseProtocol,
  protocolNameFolded,
  protocolNumber,
  supportsPorts,
} from './numorstring.js';

describe('parseProtocol', () => {
  it("accepts names only in Calico's spelling (the validator's protocol regex is case-sensitive)", () => {
    for (const name of ['TCP', 'UDP', 'ICMP', 'ICMPv6', 'SCTP', 'UDPLite'] as const) {
      assert.deepEqual(parseProtocol(name), { ok: true, value: name });
    }
    for (const [input, want] of [
      ['tcp', 'TCP'],
      ['Udp', 'UDP'],
      ['icmpv6', 'ICMPv6'],
      ['udplite', 'UDPLite'],
    ] as const) {
      const r = parseProtocol(input);
      assert.ok(!r.ok);
      assert.match(r.error, new RegExp(`case-sensitive: did you mean "${want}"`));
      assert.equal(protocolNameFolded(input), want);
    }
  });

  it('turns numeric strings into numbers and accepts numbers 1-255', () => {
    assert.deepEqual(parseProtocol('6'), { ok: true, value: 6 });
    assert.deepEqual(parseProtocol('255'), { ok: true, value: 255 });
    assert.deepEqual(parseProtocol(132), { ok: true, value: 132 });
    assert.deepEqual(parseProtocol(1), { ok: true, value: 1 });
  });

  it('rejects 0, out-of-range numbers, unknown names and other types, naming the value', () => {
    for (const bad of [0, '0', 256, '256', -1, 1.5, 'tcpx', 'any', true]) {
      const r = parseProtocol(bad);
      assert.ok(!r.ok, `expected ${JSON.stringify(bad)} to be rejected`);
      assert.ok(r.error.includes(String(bad)), r.error);
    }
    assert.equal(parseProtocol('').ok, false);
    assert.equal(parseProtocol(null).ok, false);
  });
});

describe('protocolNumber and supportsPorts', () => {
  it('maps names to IANA numbers', () => {
    assert.equal(protocolNumber('TCP'), 6);
    assert.equal(protocolNumber('UDP'), 17);
    assert.equal(protocolNumber('ICMP'), 1);
    assert.equal(protocolNumber('ICMPv6'), 58);
    assert.equal(protocolNumber('SCTP'), 132);
    assert.equal(protocolNumber('UDPLite'), 136);
    assert.equal(protocolNumber(47), 47);
  });

  it('only TCP, UDP and SCTP (by name or number) support ports', () => {
    for (const p of ['TCP', 'UDP', 'SCTP', 6, 17, 132] as const)
      assert.equal(supportsPorts(p), true, String(p));
    for (const p of ['ICMP', 'ICMPv6', 'UDPLite', 1, 58, 136, 47] as const)
      assert.equal(supportsPorts(p), false, String(p));
  });
});

describe('parsePort', () => {
  it('parses numbers, numeric strings, ranges and names', () => {
    assert.deepEqual(parsePort(80), { ok: true, value: { kind: 'range', min: 80, max: 80 } });
    assert.deepEqual(parsePort('443'), { ok: true, value: { kind: 'range', min: 443, max: 443 } });
    assert.deepEqual(parsePort('1000:2000'), { ok: true, value: { kind: 'range', min: 1000, max: 2000 } });
    assert.deepEqual(parsePort('7:7'), { ok: true, value: { kind: 'range', min: 7, max: 7 } });
    assert.deepEqual(parsePort('http'), { ok: true, value: { kind: 'named', name: 'http' } });
    assert.deepEqual(parsePort(65535), { ok: true, value: { kind: 'range', min: 65535, max: 65535 } });
  });

  it('rejects bad ports with the value in the message', () => {
    for (const [bad, fragment] of [
      [0, '0'],
      [70000, '70000'],
      ['70000', '"70000"'],
      ['0', '"0"'],
      ['10:5', '"10:5"'],
      ['1:70000', '"1:70000"'],
      ['a b', '"a b"'],
      ['x'.repeat(129), 'xxxx'],
      [1.5, '1.5'],
      [true, 'true'],
    ] as const) {
      const r = parsePort(bad);
      assert.ok(!r.ok, `expected ${JSON.stringify(bad)} to be rejected`);
      assert.ok(r.error.includes(fragment), `${r.error} should mention ${fragment}`);
    }
  });

  it('formats back the way Calico marshals ports', () => {
    assert.equal(formatPort({ kind: 'range', min: 53, max: 53 }), 53);
    assert.equal(formatPort({ kind: 'range', min: 1, max: 2 }), '1:2');
    assert.equal(formatPort({ kind: 'named', name: 'dns' }), 'dns');
  });
});
