/**
 * The wire protocol between the lab and a pod's probe agent (probe-agent.ts): newline-delimited JSON over a
 * unix socket in the run dir (network namespaces do not isolate the filesystem). Every request carries an
 * id that its response echoes; responses may come out of order. Pure: parsing and validation only.
 */
import { parseIp } from '../lib/net/ip.js';
import { isQueryName, type DnsQueryType, type LookupRecord } from './dns-lookup.js';

export type ProbeProtocol = 'tcp' | 'udp';

/**
 * What a connect probe found. `allowed`: TCP connected / UDP echoed. `denied`: no answer before the timeout
 * (a dropped SYN or datagram: Calico drops silently) while every hop of the path has a route.
 * `unreachable`: an ICMP host or network unreachable came back (routing or ARP failed somewhere; Calico
 * never answers a drop with one). `no-route`: no answer, and a hop of the path has no route to where the
 * packet or its reply must go (the lab checks the nodes' routes, probe-path.ts; the probe agent itself never
 * says this). `refused`: TCP RST or ICMP port unreachable, i.e. nobody listens: a lab bug, since every pod
 * serves every probed port. `error`: the probe itself failed.
 */
export type ProbeVerdict = 'allowed' | 'denied' | 'unreachable' | 'no-route' | 'refused' | 'error';

export interface ProbeRequest {
  readonly protocol: ProbeProtocol;
  readonly ip: string;
  readonly port: number;
  readonly timeoutMs: number;
  /**
   * The local address to send from (a hostNetwork pod's address among its node's); absent: the kernel
   * picks one.
   */
  readonly source?: string;
}

/**
 * `serve` sets the ports the agent serves TCP and UDP echo on (all of them, replacing the last set); the
 * answer names the ports served.
 */
export interface ServeMessage {
  readonly id: number;
  readonly op: 'serve';
  readonly ports: readonly number[];
}

/**
 * A name lookup from the pod (UDP, as a stub resolver does): `server` (an address; absent: the first
 * `nameserver` of the agent's resolv.conf) on `port` (default 53). Its verdict reads like a UDP probe's: an
 * answer (any rcode) = allowed, silence = denied, ICMP errors as for probes.
 */
export interface ResolveRequest {
  readonly name: string;
  readonly type: DnsQueryType;
  readonly server?: string;
  readonly port?: number;
  readonly timeoutMs: number;
}

export interface ResolveOutcome extends ProbeOutcome {
  /** The server asked (`ip:port`); empty when none was known. */
  readonly server: string;
  /** Present once an answer came back. */
  readonly rcode?: string;
  readonly records?: readonly LookupRecord[];
}

export type AgentRequest =
  | ({ readonly id: number; readonly op: 'probe' } & ProbeRequest)
  | ({ readonly id: number; readonly op: 'resolve' } & ResolveRequest)
  | ServeMessage
  | { readonly id: number; readonly op: 'ping' };

export interface ProbeOutcome {
  readonly verdict: ProbeVerdict;
  readonly detail: string;
  readonly elapsedMs: number;
}

export type AgentResponse =
  | ({ readonly id: number; readonly op: 'probe' } & ProbeOutcome)
  | ({ readonly id: number; readonly op: 'resolve' } & ResolveOutcome)
  | ServeMessage
  | { readonly id: number; readonly op: 'ping'; readonly pid: number }
  | { readonly id: number; readonly op: 'error'; readonly message: string };

export const MAX_PROBE_TIMEOUT_MS = 60_000;

function isRecord(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

export function isPort(x: unknown): x is number {
  return typeof x === 'number' && Number.isInteger(x) && x >= 1 && x <= 65535;
}

/** Parses one request line; the error names what is wrong (and the id when there is one). */
export function parseRequest(
  line: string,
): { ok: true; value: AgentRequest } | { ok: false; id: number; message: string } {
  let x: unknown;
  try {
    x = JSON.parse(line);
  } catch {
    return { ok: false, id: -1, message: 'not JSON' };
  }
  if (!isRecord(x) || typeof x.id !== 'number')
    return { ok: false, id: -1, message: 'a request needs an id' };
  const id = x.id;
  switch (x.op) {
    case 'ping':
      return { ok: true, value: { id, op: 'ping' } };
    case 'serve':
      if (!Array.isArray(x.ports) || !x.ports.every(isPort))
        return { ok: false, id, message: 'serve needs ports' };
      return { ok: true, value: { id, op: 'serve', ports: x.ports } };
    case 'probe': {
      const { protocol, ip, port, timeoutMs, source } = x;
      if (protocol !== 'tcp' && protocol !== 'udp')
        return { ok: false, id, message: `bad protocol ${String(protocol)}` };
      if (typeof ip !== 'string' || ip === '' || !isPort(port))
        return { ok: false, id, message: 'bad target' };
      if (typeof timeoutMs !== 'number' || !(timeoutMs > 0 && timeoutMs <= MAX_PROBE_TIMEOUT_MS))
        return { ok: false, id, message: 'bad timeoutMs' };
      if (source !== undefined && (typeof source !== 'string' || parseIp(source) === undefined))
        return { ok: false, id, message: 'bad source' };
      return {
        ok: true,
        value: {
          id,
          op: 'probe',
          protocol,
          ip,
          port,
          timeoutMs,
          ...(source !== undefined ? { source } : {}),
        },
      };
    }
    case 'resolve': {
      const { name, type, server, port, timeoutMs } = x;
      if (typeof name !== 'string' || !isQueryName(name)) return { ok: false, id, message: 'bad name' };
      if (type !== 'A' && type !== 'AAAA') return { ok: false, id, message: `bad type ${String(type)}` };
      if (server !== undefined && (typeof server !== 'string' || parseIp(server) === undefined))
        return { ok: false, id, message: 'bad server' };
      if (port !== undefined && !isPort(port)) return { ok: false, id, message: 'bad port' };
      if (typeof timeoutMs !== 'number' || !(timeoutMs > 0 && timeoutMs <= MAX_PROBE_TIMEOUT_MS))
        return { ok: false, id, message: 'bad timeoutMs' };
      const qtype: DnsQueryType = type;
      const value = {
        id,
        op: 'resolve' as const,
        name,
        type: qtype,
        timeoutMs,
        ...(server !== undefined ? { server } : {}),
        ...(port !== undefined ? { port } : {}),
      };
      return { ok: true, value };
    }
    default:
      return { ok: false, id, message: `unknown op ${JSON.stringify(x.op)}` };
  }
}

function isLookupRecord(x: unknown): x is LookupRecord {
  return (
    isRecord(x) &&
    typeof x.name === 'string' &&
    (x.type === 'A' || x.type === 'AAAA' || x.type === 'CNAME') &&
    typeof x.ttl === 'number' &&
    typeof x.data === 'string'
  );
}

const VERDICTS: readonly string[] = ['allowed', 'denied', 'unreachable', 'no-route', 'refused', 'error'];

/** The verdict, detail and time of a probe or resolve response; undefined without a known verdict. */
function outcomeOf(x: Record<string, unknown>): ProbeOutcome | undefined {
  if (typeof x.verdict !== 'string' || !VERDICTS.includes(x.verdict)) return undefined;
  return {
    verdict: x.verdict as ProbeVerdict,
    detail: typeof x.detail === 'string' ? x.detail : '',
    elapsedMs: typeof x.elapsedMs === 'number' ? x.elapsedMs : 0,
  };
}

/** Parses one response line; undefined when it is not a response. */
export function parseResponse(line: string): AgentResponse | undefined {
  let x: unknown;
  try {
    x = JSON.parse(line);
  } catch {
    return undefined;
  }
  if (!isRecord(x) || typeof x.id !== 'number') return undefined;
  const id = x.id;
  switch (x.op) {
    case 'probe': {
      const outcome = outcomeOf(x);
      return outcome === undefined ? undefined : { id, op: 'probe', ...outcome };
    }
    case 'resolve': {
      const outcome = outcomeOf(x);
      if (outcome === undefined) return undefined;
      const records = Array.isArray(x.records) ? x.records.filter(isLookupRecord) : undefined;
      return {
        id,
        op: 'resolve',
        ...outcome,
        server: typeof x.server === 'string' ? x.server : '',
        ...(typeof x.rcode === 'string' ? { rcode: x.rcode } : {}),
        ...(records !== undefined ? { records } : {}),
      };
    }
    case 'serve':
      return Array.isArray(x.ports) && x.ports.every(isPort)
        ? { id, op: 'serve', ports: x.ports }
        : undefined;
    case 'ping':
      return typeof x.pid === 'number' ? { id, op: 'ping', pid: x.pid } : undefined;
    case 'error':
      return { id, op: 'error', message: typeof x.message === 'string' ? x.message : 'unknown error' };
    default:
      return undefined;
  }
}
