/**
 * Reading the packets nftables rules send to NFLOG, from a pcap capture of the group: `tcpdump -i nflog:<group>
 * -w - -U`, run inside the node's network namespace (the kernel log of `log ... level info` cannot be seen
 * there). Used for `Log` rules (rules/rule.ts: LOG_ACTION_NFLOG_GROUP) and, with flow logs on, for the verdict
 * logs of groups 1 and 2 the collector reads (agent/flows). Each record gives the rule's log prefix, the
 * packet's addresses, protocol, ports (ICMP type/code) and its length on the wire. Pure: parses bytes
 * (libpcap's DLT_NFLOG, linktype 239), whole (`parseNflogPcap`) or as a stream in chunks (`NflogPcapStream`).
 *
 *   pcap header (24 bytes) | per record: header (16) + NFLOG: family, version, group (BE) + TLVs
 *   TLV: length, type (the capturing host's byte order, as the pcap magic says), value padded to 4 bytes
 */
import { formatIp } from '../lib/net/ip.js';

/** NFLOG TLV types (linux/netfilter/nfnetlink_log.h) and the pcap link type of an NFLOG capture. */
const NFULA = { payload: 9, prefix: 10 } as const;
const LINKTYPE_NFLOG = 239;
const PCAP_HEADER = 24;
const RECORD_HEADER = 16;
/** Larger than any record an NFLOG capture holds (a 64 KiB packet plus its TLVs): anything above is corrupt. */
const MAX_RECORD = 70_000;

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
  /** TCP/UDP/SCTP ports; ICMP type and code. Absent when the packet does not carry them (or was cut short). */
  readonly srcPort?: number;
  readonly dstPort?: number;
  readonly icmpType?: number;
  readonly icmpCode?: number;
  /** The packet's length on the wire (the IP header's total length), though the capture may hold less. */
  readonly length?: number;
  /** When the packet was logged (the pcap record's time), Unix milliseconds. */
  readonly timeMs?: number;
}

type Summary = Omit<NflogRecord, 'group' | 'prefix' | 'timeMs'>;

function address(family: 4 | 6, b: Uint8Array): string {
  return formatIp(
    family,
    b.reduce((v, byte) => (v << 8n) | BigInt(byte), 0n),
  );
}

/** Ports or ICMP type/code of the L4 header at `l4` (Felix's tuple: ICMP records type/code, not ports). */
function l4Summary(p: Uint8Array, l4: number, protocol: number): Partial<Summary> {
  const u16 = (at: number): number => ((p[at] ?? 0) << 8) | (p[at + 1] ?? 0);
  if ((protocol === 6 || protocol === 17 || protocol === 132) && p.length >= l4 + 4)
    return { srcPort: u16(l4), dstPort: u16(l4 + 2) };
  if ((protocol === 1 || protocol === 58) && p.length >= l4 + 2)
    return { icmpType: p[l4] ?? 0, icmpCode: p[l4 + 1] ?? 0 };
  return {};
}

function packetSummary(p: Uint8Array): Summary {
  const version = (p[0] ?? 0) >> 4;
  if (version === 4 && p.length >= 20) {
    const protocol = p[9] ?? 0;
    const ihl = ((p[0] ?? 0) & 0x0f) * 4;
    const fragmentOffset = (((p[6] ?? 0) & 0x1f) << 8) | (p[7] ?? 0);
    return {
      family: 4,
      src: address(4, p.subarray(12, 16)),
      dst: address(4, p.subarray(16, 20)),
      protocol,
      length: ((p[2] ?? 0) << 8) | (p[3] ?? 0),
      ...(fragmentOffset === 0 ? l4Summary(p, ihl, protocol) : {}),
    };
  }
  if (version === 6 && p.length >= 40) {
    const protocol = p[6] ?? 0;
    return {
      family: 6,
      src: address(6, p.subarray(8, 24)),
      dst: address(6, p.subarray(24, 40)),
      protocol,
      length: 40 + (((p[4] ?? 0) << 8) | (p[5] ?? 0)),
      ...l4Summary(p, 40, protocol),
    };
  }
  return { family: undefined, src: undefined, dst: undefined, protocol: undefined };
}

function record(data: Uint8Array, little: boolean, timeMs: number | undefined): NflogRecord {
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
  return { group, prefix, ...packetSummary(payload), ...(timeMs !== undefined ? { timeMs } : {}) };
}

/** The pcap file header: byte order and link type. Throws on anything that is not an NFLOG pcap. */
function pcapHeader(bytes: Uint8Array): { little: boolean; nanos: boolean } {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const le = view.getUint32(0, true);
  const be = view.getUint32(0, false);
  const known = (m: number): boolean => m === 0xa1b2c3d4 || m === 0xa1b23c4d;
  if (!known(le) && !known(be)) throw new Error(`not a pcap capture: magic 0x${le.toString(16)}`);
  const little = known(le);
  const linktype = view.getUint32(20, little);
  if (linktype !== LINKTYPE_NFLOG)
    throw new Error(`not an NFLOG capture: link type ${linktype}, want ${LINKTYPE_NFLOG}`);
  return { little, nanos: (little ? le : be) === 0xa1b23c4d };
}

/**
 * An NFLOG pcap read as it arrives (tcpdump's stdout): chunks in, the complete records out. Holds at most one
 * incomplete record between chunks. Throws (and stays failed) on a stream that is not an NFLOG pcap or holds a
 * record no capture can hold: the reader restarts the capture.
 */
export class NflogPcapStream {
  #pending: Buffer = Buffer.alloc(0);
  #header: { little: boolean; nanos: boolean } | undefined;

  push(chunk: Uint8Array): NflogRecord[] {
    let buf = this.#pending.length === 0 ? Buffer.from(chunk) : Buffer.concat([this.#pending, chunk]);
    if (this.#header === undefined) {
      if (buf.length < PCAP_HEADER) {
        this.#pending = buf;
        return [];
      }
      this.#header = pcapHeader(buf);
      buf = buf.subarray(PCAP_HEADER);
    }
    const { little, nanos } = this.#header;
    const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    const out: NflogRecord[] = [];
    let at = 0;
    while (at + RECORD_HEADER <= buf.length) {
      const captured = view.getUint32(at + 8, little);
      if (captured > MAX_RECORD) throw new Error(`NFLOG capture: a record of ${captured} bytes`);
      if (at + RECORD_HEADER + captured > buf.length) break;
      const seconds = view.getUint32(at, little);
      const fraction = view.getUint32(at + 4, little);
      const timeMs = seconds * 1000 + Math.floor(fraction / (nanos ? 1_000_000 : 1000));
      out.push(record(buf.subarray(at + RECORD_HEADER, at + RECORD_HEADER + captured), little, timeMs));
      at += RECORD_HEADER + captured;
    }
    // Copied so the retained tail does not pin the whole chunk.
    this.#pending = Buffer.from(buf.subarray(at));
    return out;
  }

  /** Bytes held back: an incomplete record (or header). */
  get buffered(): number {
    return this.#pending.length;
  }
}

/**
 * The records of a pcap capture of an `nflog:<group>` interface. A capture cut short (tcpdump stopped while
 * writing) yields the complete records before the cut. Throws on anything that is not an NFLOG pcap.
 */
export function parseNflogPcap(bytes: Uint8Array): NflogRecord[] {
  if (bytes.length < PCAP_HEADER) throw new Error('not a pcap capture: shorter than its header');
  return new NflogPcapStream().push(bytes);
}
