import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseNflogPcap } from './nflog.js';

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

const IPV4_UDP = [0x45, 0, 0, 28, 0, 0, 0, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2];
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
];

describe('parseNflogPcap', () => {
  it('reads the group, the log prefix and the packet addresses of each record', () => {
    const records = parseNflogPcap(
      pcap(239, [nflog(20, 'calico-packet: ', IPV4_UDP), nflog(20, 'gnp/deny: ', IPV6_TCP)]),
    );
    assert.deepEqual(records, [
      { group: 20, prefix: 'calico-packet: ', family: 4, src: '10.0.0.1', dst: '10.0.0.2', protocol: 17 },
      { group: 20, prefix: 'gnp/deny: ', family: 6, src: 'fd00::1', dst: 'fd00::2', protocol: 6 },
    ]);
  });

  it('keeps the complete records of a capture cut short, and refuses what is not an NFLOG pcap', () => {
    const whole = pcap(239, [nflog(20, 'a: ', IPV4_UDP), nflog(20, 'b: ', IPV4_UDP)]);
    assert.equal(parseNflogPcap(whole.subarray(0, whole.length - 5)).length, 1);
    assert.throws(() => parseNflogPcap(pcap(1, [])), /not an NFLOG capture: link type 1/);
    assert.throws(() => parseNflogPcap(Buffer.from('hello, this is not a capture')), /not a pcap capture/);
  });
});
