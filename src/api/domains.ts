/**
 * Domain names in policy (Calico Enterprise's `destination.domains` and network sets'
 * `allowedEgressDomains`): the syntax check and the canonical form. A pattern is a DNS name whose labels
 * are letters, digits, `-` and `_` (1-63 characters, no leading or trailing `-`), at most 253 characters,
 * an optional trailing dot; at most one label may be `*`, which matches one or more labels in its position
 * (matching itself: src/model/domain-match.ts). Names are case-insensitive: the canonical form is lower
 * case without the trailing dot. Pure.
 */
import { type IpAddr, parseIp } from '../lib/net/ip.js';
import { err, ok, type Result } from '../lib/result.js';
import { show } from './decoder.js';

export const DOMAIN_MAX = 253;
export const DOMAIN_LABEL_MAX = 63;
/** At most this many domains per rule or network set (as many as nets). */
export const MAX_DOMAINS = 256;

const LABEL = /^[a-z0-9_]([-a-z0-9_]*[a-z0-9_])?$/;

/** Lower case, without one trailing dot: the form matching, ids and sets use. */
export function canonicalDomain(s: string): string {
  const lower = s.toLowerCase();
  return lower.endsWith('.') ? lower.slice(0, -1) : lower;
}

/** Why `s` is not a valid domain pattern, or undefined. */
export function checkDomainPattern(s: string): string | undefined {
  if (s === '' || s === '.') return 'domain must not be empty';
  const name = canonicalDomain(s);
  if (name.length > DOMAIN_MAX) {
    return `domain ${show(s)} is too long by ${name.length - DOMAIN_MAX} characters (max ${DOMAIN_MAX})`;
  }
  const labels = name.split('.');
  let stars = 0;
  for (const label of labels) {
    if (label === '*') {
      stars += 1;
      continue;
    }
    if (label === '') return `invalid domain ${show(s)}: empty label`;
    if (label.includes('*')) {
      return `invalid domain ${show(s)}: a wildcard '*' must be a whole label (as in "*.example.com")`;
    }
    if (label.length > DOMAIN_LABEL_MAX) {
      return `invalid domain ${show(s)}: label ${show(label)} is longer than ${DOMAIN_LABEL_MAX} characters`;
    }
    if (!LABEL.test(label)) {
      return `invalid domain ${show(s)}: labels must consist of alphanumeric characters, '-' or '_', and not start or end with '-'`;
    }
  }
  if (stars > 1) return `invalid domain ${show(s)}: at most one wildcard '*' is allowed`;
  return undefined;
}

// ── FelixConfiguration dnsTrustedServers entries ────────────────────────────────────────────────────

/** One trusted DNS server: a Kubernetes Service (its cluster IPs and endpoints), or an address and port. */
export type TrustedDnsServer =
  | { readonly kind: 'k8s-service'; readonly namespace: string; readonly name: string }
  | { readonly kind: 'address'; readonly ip: IpAddr; readonly port: number };

const K8S_SERVICE = 'k8s-service:';
const NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/**
 * `k8s-service:[namespace/]name` (namespace `kube-system` when omitted), `IP`, `IP:port`, or `[IPv6]:port`
 * (port 53 when omitted), as Calico Enterprise's dnsTrustedServers takes them.
 */
export function parseTrustedDnsServer(s: string): Result<TrustedDnsServer, string> {
  const bad = (why: string): Result<TrustedDnsServer, string> =>
    err(`invalid trusted DNS server ${show(s)}: ${why}`);
  if (s.startsWith(K8S_SERVICE)) {
    const rest = s.slice(K8S_SERVICE.length);
    const parts = rest.split('/');
    if (parts.length > 2) return bad('expected k8s-service:[namespace/]name');
    const [namespace, name] = parts.length === 2 ? [parts[0] ?? '', parts[1] ?? ''] : ['kube-system', rest];
    if (!NAME.test(namespace) || namespace.length > 63)
      return bad(`namespace ${show(namespace)} is not valid`);
    if (!NAME.test(name) || name.length > 63) return bad(`service name ${show(name)} is not valid`);
    return ok({ kind: 'k8s-service', namespace, name });
  }
  const bracketed = /^\[([^\]]+)\](?::([0-9]+))?$/.exec(s);
  const v4port = /^([0-9.]+):([0-9]+)$/.exec(s);
  const [host, portText] = bracketed
    ? [bracketed[1] ?? '', bracketed[2]]
    : v4port
      ? [v4port[1] ?? '', v4port[2]]
      : [s, undefined];
  const ip = parseIp(host);
  if (ip === undefined) return bad('expected k8s-service:[namespace/]name, IP, IP:port or [IPv6]:port');
  if (bracketed && ip.family !== 6) return bad('only IPv6 addresses are written in brackets');
  const port = portText === undefined ? 53 : Number(portText);
  if (!Number.isInteger(port) || port < 1 || port > 65535) return bad(`port ${portText ?? ''} out of range`);
  return ok({ kind: 'address', ip, port });
}

export function trustedDnsServerProblem(s: string): string | undefined {
  const r = parseTrustedDnsServer(s);
  return r.ok ? undefined : r.error;
}
