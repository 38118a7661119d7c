/**
 * calico-node's flow collector state (Felix's collector: its per-tuple Data and the flow log aggregator's
 * started/completed/live bookkeeping), pure and driven by its inputs:
 *
 *   NFLOG records (groups 1 inbound, 2 outbound) ──► per connection and direction: the prefixes of the first
 *                                                     packet's walk through the policy chains (its trace)
 *   conntrack NEW / DESTROY / -L entries          ──► per connection: packets and bytes each way, its end
 *   flush(now)                                    ──► one FlowRecord per connection and reporting direction
 *
 * A connection is keyed by the tuple the filter chains saw (after DNAT); a conntrack entry is found under its
 * original tuple or its reply tuple reversed, so DNAT'd connections match. Connections without a conntrack
 * entry (denied ones: their packets never confirm one) count the packets NFLOG logged and end when an
 * interval passes without one. Everything is bounded: `maxConnections` live connections and as many conntrack
 * entries; past that new ones are dropped and counted.
 */
import type { ConntrackCounters, ConntrackEntry } from './conntrack.js';
import { conntrackKeys, tupleKey } from './conntrack.js';
import type { NflogDirection, NflogPrefix } from '../model/nflog-prefix.js';
import { nflogGroupDirection } from '../model/nflog-prefix.js';

/** What the collector needs of an NFLOG record (src/dataplane/nflog.ts NflogRecord has this shape). */
export interface PacketLog {
  readonly group: number;
  readonly prefix: string;
  readonly src: string | undefined;
  readonly dst: string | undefined;
  readonly protocol: number | undefined;
  readonly srcPort?: number;
  readonly dstPort?: number;
  readonly length?: number;
}

export interface ConnectionTuple {
  readonly protocol: number;
  readonly src: string;
  readonly dst: string;
  readonly srcPort: number;
  readonly dstPort: number;
}

/** One connection's report for one direction of policy: the collector's input to aggregation. */
export interface FlowRecord {
  readonly tuple: ConnectionTuple;
  /** `egress`: the source endpoint's egress policy decided (reporter Src); `ingress`: the destination's (Dst). */
  readonly direction: NflogDirection;
  /** The kernel's walk through the policy chains for the connection's first packet, in order. */
  readonly prefixes: readonly NflogPrefix[];
  /** Counts since the previous flush, from the reporting endpoint's point of view. */
  readonly packetsIn: number;
  readonly packetsOut: number;
  readonly bytesIn: number;
  readonly bytesOut: number;
  /** The connection started (was first seen) in this interval. */
  readonly started: boolean;
  /** The connection ended in this interval. */
  readonly completed: boolean;
}

export interface FlowTableStats {
  readonly connections: number;
  readonly conntrackEntries: number;
  /** Prefixes in groups 1/2 that do not read as Calico's (Felix's felix_nflog_parse_errors). */
  readonly prefixErrors: number;
  /** Connections or conntrack entries not tracked because the table was full. */
  readonly dropped: number;
}

interface DirState {
  /** The packet walk being read (a terminal prefix completes it). */
  walk: NflogPrefix[];
  trace: NflogPrefix[] | undefined;
  packets: number;
  bytes: number;
  /** Reported in an earlier interval (the other direction's log may come an interval later). */
  reported: boolean;
}

interface Conn {
  readonly tuple: ConnectionTuple;
  readonly dirs: Map<NflogDirection, DirState>;
  lastPacketMs: number;
  /**
   * What was reported as sent from NFLOG's counts while no conntrack entry was known (the listing comes after
   * a flush); when the entry turns up, its counters are reported from there, so those packets count once.
   */
  sentWithoutCt: ConntrackCounters;
}

interface CtState {
  keys: [string, string];
  original: ConntrackCounters;
  reply: ConntrackCounters;
  reportedOriginal: ConntrackCounters;
  reportedReply: ConntrackCounters;
  destroyed: boolean;
  updatedMs: number;
}

const STAGED_ID = /^(sgnp|snp|sknp)\//;
const ZERO: ConntrackCounters = { packets: 0, bytes: 0 };

/** A prefix that ends a packet's walk: a verdict of an enforced policy or profile, a tier's drop, no profile. */
export function isTerminal(p: NflogPrefix): boolean {
  switch (p.kind) {
    case 'rule':
      return p.action !== 'Pass' && (p.owner === 'profile' || !STAGED_ID.test(p.policyId));
    case 'endOfTier':
      return p.action === 'Deny';
    case 'noProfileMatch':
      return true;
  }
}

function delta(now: ConntrackCounters, before: ConntrackCounters): ConntrackCounters {
  return { packets: Math.max(0, now.packets - before.packets), bytes: Math.max(0, now.bytes - before.bytes) };
}

export interface FlowTableOptions {
  /** Reads a prefix (with the hashed-prefix lookup of the current policies). */
  readonly parsePrefix: (text: string) => NflogPrefix | undefined;
  readonly maxConnections?: number;
}

export class FlowTable {
  readonly #parse: (text: string) => NflogPrefix | undefined;
  readonly #max: number;
  readonly #conns = new Map<string, Conn>();
  /** Conntrack entries under both of their keys. */
  readonly #ct = new Map<string, CtState>();
  #ctCount = 0;
  #prefixErrors = 0;
  #dropped = 0;
  #lastFlushMs: number;

  constructor(opts: FlowTableOptions, startMs: number) {
    this.#parse = opts.parsePrefix;
    this.#max = opts.maxConnections ?? 100_000;
    this.#lastFlushMs = startMs;
  }

  stats(): FlowTableStats {
    return {
      connections: this.#conns.size,
      conntrackEntries: this.#ctCount,
      prefixErrors: this.#prefixErrors,
      dropped: this.#dropped,
    };
  }

  /** False when the record is in group 1 or 2 but its prefix is not one of Calico's (a parse error). */
  onPacketLog(r: PacketLog, nowMs: number): boolean {
    const direction = nflogGroupDirection(r.group);
    if (direction === undefined || r.src === undefined || r.dst === undefined || r.protocol === undefined)
      return true;
    const prefix = this.#parse(r.prefix);
    if (prefix === undefined) {
      this.#prefixErrors++;
      return false;
    }
    const tuple: ConnectionTuple = {
      protocol: r.protocol,
      src: r.src,
      dst: r.dst,
      srcPort: r.srcPort ?? 0,
      dstPort: r.dstPort ?? 0,
    };
    const key = tupleKey(tuple.protocol, {
      src: r.src,
      dst: r.dst,
      sport: tuple.srcPort,
      dport: tuple.dstPort,
    });
    let conn = this.#conns.get(key);
    if (conn === undefined) {
      if (this.#conns.size >= this.#max) {
        this.#dropped++;
        return true;
      }
      conn = { tuple, dirs: new Map(), lastPacketMs: nowMs, sentWithoutCt: ZERO };
      this.#conns.set(key, conn);
    }
    conn.lastPacketMs = nowMs;
    let dir = conn.dirs.get(direction);
    if (dir === undefined) {
      dir = { walk: [], trace: undefined, packets: 0, bytes: 0, reported: false };
      conn.dirs.set(direction, dir);
    }
    dir.walk.push(prefix);
    if (isTerminal(prefix)) {
      dir.trace ??= dir.walk;
      dir.walk = [];
      dir.packets++;
      dir.bytes += r.length ?? 0;
    } else if (dir.walk.length > 64) {
      // No walk is this long (one prefix per tier, one per profile): the terminal one was lost.
      dir.walk = [];
    }
    return true;
  }

  onConntrack(e: ConntrackEntry, nowMs: number): void {
    const keys = conntrackKeys(e);
    let st = this.#ct.get(keys[0]) ?? this.#ct.get(keys[1]);
    if (st === undefined) {
      if (e.event === 'destroy' && !this.#conns.has(keys[0]) && !this.#conns.has(keys[1])) return;
      if (this.#ctCount >= this.#max) {
        this.#dropped++;
        return;
      }
      st = {
        keys,
        original: ZERO,
        reply: ZERO,
        reportedOriginal: ZERO,
        reportedReply: ZERO,
        destroyed: false,
        updatedMs: nowMs,
      };
      this.#ctCount++;
      for (const k of keys) this.#ct.set(k, st);
    }
    // Counters only grow; an event without accounting (NEW) must not reset them.
    if (e.originalCounters.packets >= st.original.packets) st.original = e.originalCounters;
    if (e.replyCounters.packets >= st.reply.packets) st.reply = e.replyCounters;
    if (e.event === 'destroy') st.destroyed = true;
    st.updatedMs = nowMs;
  }

  /**
   * The connections `conntrack -L` listed: an entry not among them is gone (its DESTROY event was missed, or
   * the entry died before the collector started listening). `startedMs`: when the listing was asked for; an
   * entry heard of since then may simply be too new to be listed.
   */
  onConntrackSnapshot(entries: readonly ConntrackEntry[], startedMs: number, nowMs: number): void {
    const present = new Set<CtState>();
    for (const e of entries) {
      this.onConntrack(e, nowMs);
      const st = this.#ct.get(conntrackKeys(e)[0]);
      if (st !== undefined) present.add(st);
    }
    for (const st of new Set(this.#ct.values()))
      if (!present.has(st) && st.updatedMs < startedMs) st.destroyed = true;
  }

  #ctOf(conn: Conn): CtState | undefined {
    const t = conn.tuple;
    return this.#ct.get(tupleKey(t.protocol, { src: t.src, dst: t.dst, sport: t.srcPort, dport: t.dstPort }));
  }

  #forget(st: CtState): void {
    for (const k of st.keys) this.#ct.delete(k);
    this.#ctCount--;
  }

  /** The interval's records; connections that ended are forgotten, live ones start a new interval. */
  flush(nowMs: number): FlowRecord[] {
    const out: FlowRecord[] = [];
    for (const [key, conn] of this.#conns) {
      const ct = this.#ctOf(conn);
      if (ct !== undefined && conn.sentWithoutCt !== ZERO) {
        const before = ct.reportedOriginal;
        ct.reportedOriginal = {
          packets: Math.min(ct.original.packets, Math.max(before.packets, conn.sentWithoutCt.packets)),
          bytes: Math.min(ct.original.bytes, Math.max(before.bytes, conn.sentWithoutCt.bytes)),
        };
        conn.sentWithoutCt = ZERO;
      }
      const completed = ct !== undefined ? ct.destroyed : conn.lastPacketMs < this.#lastFlushMs;
      const orig = ct !== undefined ? delta(ct.original, ct.reportedOriginal) : undefined;
      const reply = ct !== undefined ? delta(ct.reply, ct.reportedReply) : undefined;
      for (const [direction, dir] of conn.dirs) {
        if (dir.trace === undefined) continue;
        // Seen from the reporting endpoint: the source sends the original direction, the destination gets it.
        const sent = orig ?? { packets: dir.packets, bytes: dir.bytes };
        const back = reply ?? ZERO;
        const [inC, outC] = direction === 'egress' ? [back, sent] : [sent, back];
        out.push({
          tuple: conn.tuple,
          direction,
          prefixes: dir.trace,
          packetsIn: inC.packets,
          packetsOut: outC.packets,
          bytesIn: inC.bytes,
          bytesOut: outC.bytes,
          started: !dir.reported,
          completed,
        });
        if (ct === undefined)
          conn.sentWithoutCt = {
            packets: Math.max(conn.sentWithoutCt.packets, dir.packets),
            bytes: Math.max(conn.sentWithoutCt.bytes, dir.bytes),
          };
        dir.packets = 0;
        dir.bytes = 0;
        dir.reported = true;
      }
      if (ct !== undefined) {
        ct.reportedOriginal = ct.original;
        ct.reportedReply = ct.reply;
      }
      if (completed) {
        this.#conns.delete(key);
        if (ct !== undefined) this.#forget(ct);
      }
    }
    // Entries of connections the filter never logged (established before, or host traffic) end unseen.
    for (const st of new Set(this.#ct.values())) if (st.destroyed) this.#forget(st);
    this.#lastFlushMs = nowMs;
    return out;
  }
}
