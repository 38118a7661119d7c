import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { NflogPcapStream, parseNflogPcap } from './nflog.js';

/** A little-endian pcap of NFLOG records, as tcpdump writes them on x86. */
function pcap(linktype: number, records: Uint8Array[]): Uint8Array {
  const head = Buffer.alloc(24);
  head.writeUInt32LE(0xa1b2c3d4, 0);
  head.writeUInt16LE(2, 4);
  head.writeUInt16LE(4, 6);
  head.writeUInt32LE(262144, 16);
  head.writeUInt32LE(linktype, 20);
  const parts: Buffer[] = [head];
  for (const r of records) {
    const rh = Buffer.alloc(16);
    rh.writeUInt32LE(1_765_000_000, 0);
    rh.writeUInt32LE(250_000, 4);
    rh.writeUInt32LE(r.length, 8);
    rh.writeUInt32LE(r.length, 12);
    parts.push(rh, Buffer.from(r));
  }
  return Buffer.concat(parts);
}

function tlv(type: number, value: Uint8Array): Buffer {
  const len = 4 + value.length;
  const b = Buffer.alloc((len + 3) & ~3);
  b.writeUInt16LE(len, 0);
  b.writeUInt16LE(type, 2);
  Buffer.from(value).copy(b, 4);
  return b;
}

function nflog(group: number, prefix: string, packet: number[]): Uint8Array {
  const head = Buffer.from([2, 0, group >> 8, group & 0xff]);
  return Buffer.concat([head, tlv(10, Buffer.from(`${prefix}\0`)), tlv(9, Uint8Array.from(packet))]);
}

const IPV4_UDP = [
  ...[0x45, 0, 0, 28, 0, 0, 0, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2],
  ...[0x9c, 0x40, 0, 53, 0, 8, 0, 0],
];
const IPV4_ICMP_ECHO = [
  ...[0x45, 0, 0, 84, 0, 0, 0, 0, 64, 1, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2],
  ...[8, 0, 0, 0, 0, 1, 0, 1],
];
/** A later fragment: bytes after the IP header are not an L4 header. */
const IPV4_UDP_FRAGMENT = [
  ...[0x45, 0, 5, 0xdc, 0, 0, 0, 0xb9, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2],
  ...[0x9c, 0x40, 0, 53],
];
const IPV6_TCP = [
  0x60,
  0,
  0,
  0,
  0,
  20,
  6,
  64,
  ...[0xfd, 0, ...Array<number>(13).fill(0), 1],
  ...[0xfd, 0, ...Array<number>(13).fill(0), 2],
  ...[0x01, 0xbb, 0x1f, 0x90, 0, 0, 0, 0, 0, 0, 0, 0, 0x50, 0x02, 0, 0, 0, 0, 0, 0],
];

describe('parseNflogPcap', () => {
  it('reads the group, the log prefix and the packet addresses of each record', () => {
    const records = parseNflogPcap(
      pcap(239, [nflog(20, 'calico-packet: ', IPV4_UDP), nflog(20, 'gnp/deny: ', IPV6_TCP)]),
    );
    assert.deepEqual(records, [
      {
        group: 20,
        prefix: 'calico-packet: ',
        family: 4,
        src: '10.0.0.1',
        dst: '10.0.0.2',
        protocol: 17,
        length: 28,
        srcPort: 40000,
        dstPort: 53,
        timeMs: 1_765_000_000_250,
      },
      {
        group: 20,
        prefix: 'gnp/deny: ',
        family: 6,
        src: 'fd00::1',
        dst: 'fd00::2',
        protocol: 6,
        length: 60,
        srcPort: 443,
        dstPort: 8080,
        timeMs: 1_765_000_000_250,
      },
    ]);
  });

  it('keeps the complete records of a capture cut short, and refuses what is not an NFLOG pcap', () => {
    const whole = pcap(239, [nflog(20, 'a: ', IPV4_UDP), nflog(20, 'b: ', IPV4_UDP)]);
    assert.equal(parseNflogPcap(whole.subarray(0, whole.length - 5)).length, 1);
    assert.throws(() => parseNflogPcap(pcap(1, [])), /not an NFLOG capture: link type 1/);
    assert.throws(() => parseNflogPcap(Buffer.from('hello, this is not a capture')), /not a pcap capture/);
  });
});

describe('NflogPcapStream', () => {
  it('gives the same records whatever the chunking, holding back only an incomplete record', () => {
    const whole = pcap(239, [
      nflog(1, 'API0|gnp/allow', IPV4_UDP),
      nflog(2, 'DPE|default', IPV6_TCP),
      nflog(1, 'DRI', IPV4_ICMP_ECHO),
    ]);
    const expected = parseNflogPcap(whole);
    assert.equal(expected.length, 3);
    for (const size of [1, 7, 23, 24, 25, 61, whole.length]) {
      const s = new NflogPcapStream();
      const got = [];
      for (let at = 0; at < whole.length; at += size) got.push(...s.push(whole.subarray(at, at + size)));
      assert.deepEqual(got, expected, `chunks of ${size}`);
      assert.equal(s.buffered, 0);
    }
    const s = new NflogPcapStream();
    assert.equal(s.push(whole.subarray(0, whole.length - 3)).length, 2);
    assert.ok(s.buffered > 0 && s.buffered < 200);
  });

  it('reads ICMP type and code, and no ports from a later fragment', () => {
    const [icmp, fragment] = parseNflogPcap(
      pcap(239, [nflog(1, 'x', IPV4_ICMP_ECHO), nflog(1, 'y', IPV4_UDP_FRAGMENT)]),
    );
    assert.equal(icmp?.icmpType, 8);
    assert.equal(icmp.icmpCode, 0);
    assert.equal(icmp.srcPort, undefined);
    assert.equal(icmp.length, 84);
    assert.equal(fragment?.protocol, 17);
    assert.equal(fragment.srcPort, undefined);
    assert.equal(fragment.length, 1500);
  });

  it('fails on a stream that is not an NFLOG pcap or holds an impossible record', () => {
    assert.throws(() => new NflogPcapStream().push(pcap(1, [])), /link type 1/);
    const bad = Buffer.from(pcap(239, [nflog(1, 'x', IPV4_UDP)]));
    bad.writeUInt32LE(1 << 24, 24 + 8);
    assert.throws(() => new NflogPcapStream().push(bad), /a record of 16777216 bytes/);
  });
});
