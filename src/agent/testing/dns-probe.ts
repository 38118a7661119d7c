/**
 * A pod's "look up, then connect at once" probe for DNS policy kernel tests, run inside the pod's network
 * namespace (`ip netns exec <pod> node dist/src/agent/testing/dns-probe.js '<json>'`): for every name, one
 * query (UDP or TCP) to the given server, then, as soon as the answer arrives, a TCP connection to its first
 * address. Prints one JSON array of results. Names are probed concurrently (the 1,000-names test).
 */
import { connect } from 'node:net';
import { errorMessage } from '../../lib/errors.js';
import { tcpExchange, udpExchange } from '../../dns/testing.js';
import { RR_TYPE, parseMessage } from '../../dns/wire.js';
import { encodeQuery } from '../../dns/wire-encode.js';

export interface DnsProbeRequest {
  readonly server: { readonly ip: string; readonly port: number };
  readonly transport: 'udp' | 'tcp';
  readonly type: 'A' | 'AAAA';
  readonly names: readonly string[];
  /** TCP port to connect to on the answer's address; 0: do not connect. */
  readonly connectPort: number;
  readonly timeoutMs?: number;
  /** How long a connection may take (default timeoutMs). */
  readonly connectTimeoutMs?: number;
  /** UDP: how many times a query is sent before giving up, as a stub resolver retries (`options attempts`). */
  readonly attempts?: number;
}

export interface DnsProbeResult {
  readonly name: string;
  readonly rcode?: number;
  readonly addresses: readonly string[];
  /** True: connected; false: refused/timed out/reset; undefined: nothing to connect to. */
  readonly connected?: boolean;
  /** UDP queries sent (more than one when a datagram was lost). */
  readonly sent?: number;
  readonly error?: string;
}

function tryConnect(ip: string, port: number, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host: ip, port });
    const t = setTimeout(() => {
      s.destroy();
      resolve(false);
    }, timeoutMs);
    s.once('connect', () => {
      clearTimeout(t);
      s.destroy();
      resolve(true);
    });
    s.once('error', () => {
      clearTimeout(t);
      resolve(false);
    });
  });
}

async function probe(req: DnsProbeRequest, name: string, id: number): Promise<DnsProbeResult> {
  const timeoutMs = req.timeoutMs ?? 3_000;
  try {
    const q = encodeQuery(id, name, req.type === 'A' ? RR_TYPE.A : RR_TYPE.AAAA);
    let sent = 0;
    let reply: Buffer | undefined;
    if (req.transport === 'tcp') reply = (await tcpExchange(req.server, [q], { timeoutMs }))[0];
    else
      for (let attempt = 0; attempt < (req.attempts ?? 1) && reply === undefined; attempt++) {
        sent += 1;
        reply = await udpExchange(req.server, q, timeoutMs).catch((e: unknown) => {
          if (attempt + 1 >= (req.attempts ?? 1)) throw e;
          return undefined;
        });
      }
    if (reply === undefined) return { name, addresses: [], error: 'no reply' };
    const m = parseMessage(reply);
    if (!m.ok) return { name, addresses: [], error: 'unparsable reply' };
    const addresses = m.value.answers.flatMap((r) =>
      r.data.kind === 'A' || r.data.kind === 'AAAA' ? [r.data.address] : [],
    );
    const first = addresses[0];
    if (first === undefined || req.connectPort === 0)
      return { name, rcode: m.value.header.rcode, addresses, sent };
    const connected = await tryConnect(first, req.connectPort, req.connectTimeoutMs ?? timeoutMs);
    return { name, rcode: m.value.header.rcode, addresses, connected, sent };
  } catch (e) {
    return { name, addresses: [], error: errorMessage(e) };
  }
}

const arg = process.argv[2];
if (arg !== undefined) {
  const req = JSON.parse(arg) as DnsProbeRequest;
  const results = await Promise.all(req.names.map((n, i) => probe(req, n, (i * 7919 + 1) % 65536)));
  process.stdout.write(`${JSON.stringify(results)}\n`);
}
