/**
 * Lines of the `conntrack` tool (conntrack-tools 1.4, `-o extended`): the events of `conntrack -E` (the
 * collector subscribes to DESTROY only; NEW lines parse too) and the entries of `conntrack -L`. With
 * accounting on (net.netfilter.nf_conntrack_acct=1) each direction carries `packets=` and `bytes=`; a DESTROY carries the connection's final counts. Pure.
 *
 *       [NEW] ipv4     2 tcp      6 120 SYN_SENT src=A dst=B sport=P dport=Q [UNREPLIED] src=B dst=A sport=Q dport=P id=N
 *   [DESTROY] ipv4     2 udp      17 src=A dst=B sport=P dport=Q packets=1 bytes=29 [UNREPLIED] src=B ... id=N
 *             ipv4     2 tcp      6 119 TIME_WAIT src=A ... packets=5 bytes=273 src=B ... packets=3 bytes=164 ...
 *
 * ICMP tuples carry `type= code= id=` instead of ports; the entry's own `id=` comes last.
 */

export interface ConntrackTuple {
  readonly src: string;
  readonly dst: string;
  /** TCP/UDP/SCTP ports; for ICMP the echo id as both (Felix's tuple keeps it in the source port). */
  readonly sport: number;
  readonly dport: number;
}

export interface ConntrackCounters {
  readonly packets: number;
  readonly bytes: number;
}

export interface ConntrackEntry {
  /** `new` and `destroy` from `-E`, `entry` from `-L`. */
  readonly event: 'new' | 'destroy' | 'update' | 'entry';
  readonly family: 4 | 6;
  readonly protocol: number;
  readonly original: ConntrackTuple;
  readonly reply: ConntrackTuple;
  /** Counts of the original direction (initiator → responder) and of the reply; zero without accounting. */
  readonly originalCounters: ConntrackCounters;
  readonly replyCounters: ConntrackCounters;
  /** The kernel's id of the entry (distinguishes a reused tuple), when printed. */
  readonly id?: number;
}

const EVENTS: Readonly<Record<string, ConntrackEntry['event']>> = {
  '[NEW]': 'new',
  '[DESTROY]': 'destroy',
  '[UPDATE]': 'update',
};

interface Side {
  src?: string;
  dst?: string;
  sport?: number;
  dport?: number;
  packets?: number;
  bytes?: number;
}

function tupleOf(s: Side): ConntrackTuple | undefined {
  if (s.src === undefined || s.dst === undefined) return undefined;
  return { src: s.src, dst: s.dst, sport: s.sport ?? 0, dport: s.dport ?? 0 };
}

/** One line of `conntrack -E -o extended,id` or `conntrack -L -o extended,id`; undefined for anything else. */
export function parseConntrackLine(line: string): ConntrackEntry | undefined {
  const words = line.trim().split(/\s+/);
  let at = 0;
  const first = words[0] ?? '';
  const event = EVENTS[first] ?? (first.startsWith('[') ? undefined : 'entry');
  if (event === undefined) return undefined;
  if (event !== 'entry') at++;
  const familyWord = words[at];
  if (familyWord !== 'ipv4' && familyWord !== 'ipv6') return undefined;
  const family = familyWord === 'ipv4' ? 4 : 6;
  const protocol = Number(words[at + 3]);
  if (!Number.isInteger(protocol)) return undefined;
  const sides: Side[] = [{}, {}];
  let side = 0;
  let id: number | undefined;
  let icmpIds = 0;
  for (const w of words.slice(at + 4)) {
    const eq = w.indexOf('=');
    if (eq < 0) continue;
    const k = w.slice(0, eq);
    const v = w.slice(eq + 1);
    const cur = sides[side] as Side;
    if (k === 'src') {
      if (cur.src !== undefined) side = 1;
      (sides[side] as Side).src = v;
    } else if (k === 'dst') cur.dst = v;
    else if (k === 'sport') cur.sport = Number(v);
    else if (k === 'dport') cur.dport = Number(v);
    else if (k === 'packets') cur.packets = Number(v);
    else if (k === 'bytes') cur.bytes = Number(v);
    else if (k === 'id') {
      // ICMP: the first id of each side is the echo id; the last id is the entry's.
      if ((protocol === 1 || protocol === 58) && icmpIds < 2 && cur.sport === undefined) {
        cur.sport = Number(v);
        cur.dport = Number(v);
        icmpIds++;
      } else id = Number(v);
    }
  }
  const [o, r] = sides as [Side, Side];
  const original = tupleOf(o);
  const reply = tupleOf(r);
  if (original === undefined || reply === undefined) return undefined;
  return {
    event,
    family,
    protocol,
    original,
    reply,
    originalCounters: { packets: o.packets ?? 0, bytes: o.bytes ?? 0 },
    replyCounters: { packets: r.packets ?? 0, bytes: r.bytes ?? 0 },
    ...(id !== undefined && Number.isSafeInteger(id) ? { id } : {}),
  };
}

/** A connection's identity as the packet filter saw its first packet: protocol and both ends. */
export function tupleKey(protocol: number, t: ConntrackTuple): string {
  // ICMP: NFLOG records carry no echo id, so the pair of addresses identifies the exchange.
  const icmp = protocol === 1 || protocol === 58;
  return `${protocol} ${t.src} ${icmp ? 0 : t.sport} ${t.dst} ${icmp ? 0 : t.dport}`;
}

/**
 * The keys under which an NFLOG record of this connection may come: the original tuple, and the reply tuple
 * reversed (the packet after DNAT, as filter chains see it).
 */
export function conntrackKeys(e: ConntrackEntry): [string, string] {
  const r = e.reply;
  return [
    tupleKey(e.protocol, e.original),
    tupleKey(e.protocol, { src: r.dst, dst: r.src, sport: r.dport, dport: r.sport }),
  ];
}
