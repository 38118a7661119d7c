/**
 * The DNS bench's lookup-latency probe, run inside the client pod's namespace
 * (`ip netns exec <pod> node dist/bench/dns-lookup-probe.js '<json>'`): the names are looked up one after the
 * other over UDP, as a stub resolver does (a fresh socket per query), each timed from just before the send to
 * the reply's arrival with CLOCK_MONOTONIC milliseconds (process.hrtime, shared with the agent's trace). A
 * reply counts only if it parses and carries an A record. `warmName` is looked up WARM_LOOKUPS times first and
 * not reported, so the first timed lookup does not carry the probe process's own start-up. Prints one JSON array of `LookupSample`. Bounded:
 * one query per name, each given up after `timeoutMs`.
 */
import { udpExchange } from '../src/dns/testing.js';
import { errorMessage } from '../src/lib/errors.js';
import { RR_TYPE, parseMessage } from '../src/dns/wire.js';
import { encodeQuery } from '../src/dns/wire-encode.js';

export interface LookupRequest {
  readonly server: { readonly ip: string; readonly port: number };
  readonly names: readonly string[];
  readonly timeoutMs: number;
  /** Looked up a few times first, untimed (the probe's own code warms up: first socket, JIT). */
  readonly warmName: string;
}

export interface LookupSample {
  /** When the query was sent and its answer arrived (CLOCK_MONOTONIC ms). */
  readonly t0: number;
  readonly t1: number;
  /** Undefined: an answer with an A record; otherwise what went wrong. */
  readonly error?: string;
}

const WARM_LOOKUPS = 3;

const now = (): number => Number(process.hrtime.bigint()) / 1e6;

async function lookup(req: LookupRequest, name: string, id: number): Promise<LookupSample> {
  const q = encodeQuery(id, name, RR_TYPE.A);
  const t0 = now();
  try {
    const reply = await udpExchange(req.server, q, req.timeoutMs);
    const t1 = now();
    const m = parseMessage(reply);
    if (!m.ok) return { t0, t1, error: 'unparsable reply' };
    if (!m.value.answers.some((r) => r.data.kind === 'A')) return { t0, t1, error: `no A record (${name})` };
    return { t0, t1 };
  } catch (e) {
    return { t0, t1: now(), error: errorMessage(e) };
  }
}

const arg = process.argv[2];
if (arg !== undefined) {
  const req = JSON.parse(arg) as LookupRequest;
  for (let i = 0; i < WARM_LOOKUPS; i++) await lookup(req, req.warmName, 65_000 + i);
  const out: LookupSample[] = [];
  for (const [i, name] of req.names.entries()) out.push(await lookup(req, name, (i * 7919 + 1) % 65536));
  process.stdout.write(`${JSON.stringify(out)}\n`);
}
