/**
 * Calico's number-or-string scalars (reference §1.18): protocols and ports. Parsing accepts what Calico's
 * JSON decoding accepts and normalises the way Calico marshals back: protocol strings that are numbers
 * become numbers, names take their canonical spelling; single ports become numbers.
 */
import { err, ok, type Result } from '../lib/result.js';
import { show } from './decoder.js';

export const PROTOCOL_NAMES = ['TCP', 'UDP', 'ICMP', 'ICMPv6', 'SCTP', 'UDPLite'] as const;
export type ProtocolName = (typeof PROTOCOL_NAMES)[number];
/** A protocol by canonical name, or by number 1-255. */
export type Protocol = ProtocolName | number;

const PROTOCOL_NUMBERS: Readonly<Record<ProtocolName, number>> = {
  TCP: 6,
  UDP: 17,
  ICMP: 1,
  ICMPv6: 58,
  SCTP: 132,
  UDPLite: 136,
};

/**
 * Parses a protocol: a number 1-255, a string holding such a number (normalised to the number), or a
 * protocol name spelled exactly as Calico's validator requires (`TCP`, `ICMPv6`; `tcp` is refused).
 */
export function parseProtocol(value: unknown): Result<Protocol, string> {
  if (typeof value === 'number') {
    if (!Number.isInteger(value) || value < 0 || value > 255) {
      return err(`invalid protocol ${show(value)} (must be 1-255 or one of ${PROTOCOL_NAMES.join(', ')})`);
    }
    return value === 0 ? err('invalid protocol number 0 (must be 1-255)') : ok(value);
  }
  if (typeof value !== 'string') {
    return err(`invalid protocol ${show(value)} (must be a number or a name)`);
  }
  // Calico's Uint8OrString turns a string that parses as a uint8 into a number.
  if (/^[0-9]+$/.test(value) && Number(value) <= 255) {
    const n = Number(value);
    return n === 0 ? err('invalid protocol number 0 (must be 1-255)') : ok(n);
  }
  const name = PROTOCOL_NAMES.find((n) => n === value);
  if (name === undefined) {
    const folded = PROTOCOL_NAMES.find((n) => n.toLowerCase() === value.toLowerCase());
    const hint =
      folded === undefined ? '' : `; protocol names are case-sensitive: did you mean ${show(folded)}?`;
    return err(
      `invalid protocol ${show(value)} (must be 1-255 or one of ${PROTOCOL_NAMES.join(', ')}${hint})`,
    );
  }
  return ok(name);
}

/** A protocol name typed on a command line, in any case (`tcp`, `icmpv6`), to its canonical spelling. */
export function protocolNameFolded(text: string): ProtocolName | undefined {
  return PROTOCOL_NAMES.find((n) => n.toLowerCase() === text.toLowerCase());
}

export function protocolNumber(p: Protocol): number {
  return typeof p === 'number' ? p : PROTOCOL_NUMBERS[p];
}

/** True for TCP, UDP and SCTP (by name or number): the protocols whose rules may match ports. */
export function supportsPorts(p: Protocol): boolean {
  const n = protocolNumber(p);
  return n === 6 || n === 17 || n === 132;
}

export function isIcmpV4(p: Protocol): boolean {
  return protocolNumber(p) === 1;
}

export function isIcmpV6(p: Protocol): boolean {
  return protocolNumber(p) === 58;
}

export type ParsedPort =
  | { readonly kind: 'range'; readonly min: number; readonly max: number }
  | { readonly kind: 'named'; readonly name: string };

const NAMED_PORT = /^[a-zA-Z0-9_.-]{1,128}$/;
const MAX_PORT = 65535;

function portNumber(text: string): number | undefined {
  const n = Number(text);
  return n >= 1 && n <= MAX_PORT ? n : undefined;
}

/**
 * Parses a port: a number 1-65535, `"N"`, `"min:max"` with min <= max, or a named port. Named ports are
 * checked here only against Calico's own pattern; callers that need the Kubernetes port-name rule apply
 * `checkPortName` as well.
 */
export function parsePort(value: unknown): Result<ParsedPort, string> {
  if (typeof value === 'number') {
    if (!Number.isInteger(value) || value < 1 || value > MAX_PORT) {
      return err(`invalid port ${show(value)} (port number must be between 1 and ${MAX_PORT})`);
    }
    return ok({ kind: 'range', min: value, max: value });
  }
  if (typeof value !== 'string') return err(`invalid port ${show(value)} (must be a number or a string)`);
  if (/^[0-9]+$/.test(value)) {
    const n = portNumber(value);
    return n === undefined
      ? err(`invalid port ${show(value)} (port number must be between 1 and ${MAX_PORT})`)
      : ok({ kind: 'range', min: n, max: n });
  }
  const range = /^([0-9]+):([0-9]+)$/.exec(value);
  if (range !== null) {
    const min = portNumber(range[1] ?? '');
    const max = portNumber(range[2] ?? '');
    if (min === undefined || max === undefined) {
      return err(`invalid port range ${show(value)} (port numbers must be between 1 and ${MAX_PORT})`);
    }
    if (min > max) {
      return err(
        `invalid port range ${show(value)} (minimum port ${min} is greater than maximum port ${max})`,
      );
    }
    return ok({ kind: 'range', min, max });
  }
  if (!NAMED_PORT.test(value)) return err(`invalid port ${show(value)} (not a number, range or port name)`);
  return ok({ kind: 'named', name: value });
}

/** The form Calico writes a port back in: a number, `"min:max"`, or the name. */
export function formatPort(p: ParsedPort): number | string {
  if (p.kind === 'named') return p.name;
  return p.min === p.max ? p.min : `${p.min}:${p.max}`;
}
