/**
 * Reading the packets `Log` rules send to NFLOG (rules/rule.ts: group LOG_ACTION_NFLOG_GROUP), from a pcap
 * capture of that group: `tcpdump -i nflog:20 -w - -U`, run inside the node's network namespace, where the
 * kernel log of `log ... level info` cannot be seen. Each record gives the rule's log prefix and the packet's
 * addresses and protocol. Pure: parses bytes (libpcap's DLT_NFLOG, linktype 239).
 *
 *   pcap header (24 bytes) | per record: header (16) + NFLOG: family, version, group (BE) + TLVs
 *   TLV: length, type (the capturing host's byte order, as the pcap magic says), value padded to 4 bytes
 */
import { formatIp } from '../lib/net/ip.js';

/** NFLOG TLV types (linux/netfilter/nfnetlink_log.h) and the pcap link type of an NFLOG capture. */
const NFULA = { payload: 9, prefix: 10 } as const;
const LINKTYPE_NFLOG = 239;

export interface NflogRecord {
  /** The NFLOG group the packet was sent to. */
  readonly group: number;
  /** The rule's log prefix (`calico-packet: `). */
  readonly prefix: string;
  readonly family: 4 | 6 | undefined;
  readonly src: string | undefined;
  readonly dst: string | undefined;
  /** IP protocol number (6 TCP, 17 UDP, 1 ICMP, 58 ICMPv6). */
  readonly protocol: number | undefined;
  /** TCP and UDP ports (IPv6: when no extension header comes first); undefined otherwise. */
  readonly srcPort?: number;
  readonly dstPort?: number;
}

function address(family: 4 | 6, b: Uint8Array): string {
  return formatIp(
    family,
    b.reduce((v, byte) => (v << 8n) | BigInt(byte), 0n),
  );
}

type Summary = Pick<NflogRecord, 'family' | 'src' | 'dst' | 'protocol' | 'srcPort' | 'dstPort'>;

/** The ports of a TCP or UDP header starting at `at`, when the capture holds them. */
function ports(
  p: Uint8Array,
  protocol: number | undefined,
  at: number,
): Pick<NflogRecord, 'srcPort' | 'dstPort'> {
  if ((protocol !== 6 && protocol !== 17) || p.length < at + 4) return {};
  return {
    srcPort: ((p[at] ?? 0) << 8) | (p[at + 1] ?? 0),
    dstPort: ((p[at + 2] ?? 0) << 8) | (p[at + 3] ?? 0),
  };
}

function packetSummary(p: Uint8Array): Summary {
  const version = (p[0] ?? 0) >> 4;
  if (version === 4 && p.length >= 20)
    return {
      family: 4,
      src: address(4, p.subarray(12, 16)),
      dst: address(4, p.subarray(16, 20)),
      protocol: p[9],
      ...ports(p, p[9], ((p[0] ?? 0) & 0x0f) * 4),
    };
  if (version === 6 && p.length >= 40)
    return {
      family: 6,
      src: address(6, p.subarray(8, 24)),
      dst: address(6, p.subarray(24, 40)),
      protocol: p[6],
      ...ports(p, p[6], 40),
    };
  return { family: undefined, src: undefined, dst: undefined, protocol: undefined };
}

function record(data: Uint8Array, little: boolean): NflogRecord {
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const group = data.length >= 4 ? view.getUint16(2, false) : 0;
  let prefix = '';
  let payload: Uint8Array = new Uint8Array();
  for (let at = 4; at + 4 <= data.length;) {
    const len = view.getUint16(at, little);
    const type = view.getUint16(at + 2, little);
    if (len < 4) break;
    const value = data.subarray(at + 4, Math.min(data.length, at + len));
    if (type === NFULA.prefix) prefix = new TextDecoder().decode(value).replace(/\0.*$/s, '');
    else if (type === NFULA.payload) payload = value;
    at += (len + 3) & ~3;
  }
  return { group, prefix, ...packetSummary(payload) };
}

/**
 * The records of a pcap capture of an `nflog:<group>` interface. A capture cut short (tcpdump stopped while
 * writing) yields the complete records before the cut. Throws on anything that is not an NFLOG pcap.
 */
export function parseNflogPcap(bytes: Uint8Array): NflogRecord[] {
  if (bytes.length < 24) throw new Error('not a pcap capture: shorter than its header');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const magic = view.getUint32(0, true);
  const little = magic === 0xa1b2c3d4 || magic === 0xa1b23c4d;
  if (!little && view.getUint32(0, false) !== 0xa1b2c3d4 && view.getUint32(0, false) !== 0xa1b23c4d)
    throw new Error(`not a pcap capture: magic 0x${magic.toString(16)}`);
  const linktype = view.getUint32(20, little);
  if (linktype !== LINKTYPE_NFLOG)
    throw new Error(`not an NFLOG capture: link type ${linktype}, want ${LINKTYPE_NFLOG}`);
  const out: NflogRecord[] = [];
  for (let at = 24; at + 16 <= bytes.length;) {
    const captured = view.getUint32(at + 8, little);
    if (at + 16 + captured > bytes.length) break;
    out.push(record(bytes.subarray(at + 16, at + 16 + captured), little));
    at += 16 + captured;
  }
  return out;
}
