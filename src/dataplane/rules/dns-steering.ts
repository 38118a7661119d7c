/**
 * DNS policy's steering (docs/design/dns-policy.md): a workload's DNS query to a trusted server is policed by
 * the workload's egress policy against the server it addressed, then DNATed to the node-local DNS proxy, which
 * forwards it to that server and learns the answer. Pure.
 *
 *   mangle-DNS-PREROUTING (prerouting, priority -110: after raw and mangle, before dstnat)
 *     new query from a workload interface to a trusted server -> mangle-cali-dns-policy
 *   mangle-cali-dns-policy
 *     clear marks, the workload's egress policy (the from-workload dispatch; it drops or returns accepted),
 *     accepted -> conntrack mark CT_MARK_DNS_PROXY; otherwise drop
 *   nat-PREROUTING (dstnat - 1: before kube-proxy's DNAT of a cluster IP, so a query to the DNS Service
 *   reaches the proxy, which then asks the cluster IP itself) -> nat-cali-dns-proxy
 *     marked connection to that server -> dnat to the proxy's address and port (per transport)
 *   filter-cali-INPUT (static.ts): a marked, DNATed connection from a workload is accepted (already policed).
 *
 * Queries to servers that are not trusted are not steered: they meet policy in FORWARD as any packet, and
 * their answers are never learned. The proxy's own query to the server is the host's traffic.
 */
import type { ChainSpec, NftRule } from '../nftables/model.js';
import { CLEAR_MARKS } from './endpoints.js';
import { BASE_CHAIN, CHAIN, CT_MARK_DNS_PROXY, hex, MARK_ACCEPT } from './names.js';

export interface DnsEndpoint {
  readonly ip: string;
  readonly port: number;
}

/** One trusted server and the proxy listeners that stand in for it. */
export interface DnsSteeringRoute {
  readonly server: DnsEndpoint;
  readonly proxyUdp: DnsEndpoint;
  readonly proxyTcp: DnsEndpoint;
}

const MARKED = `ct mark & ${hex(CT_MARK_DNS_PROXY)} == ${hex(CT_MARK_DNS_PROXY)}`;

function fam(ip: string): 'ip' | 'ip6' {
  return ip.includes(':') ? 'ip6' : 'ip';
}

function hostPort(e: DnsEndpoint): string {
  return e.ip.includes(':') ? `[${e.ip}]:${e.port}` : `${e.ip}:${e.port}`;
}

/** The rule in filter INPUT that admits what the steering DNATed (rendered always; static.ts). */
export function dnsProxyInputRule(prefix: string): NftRule {
  return {
    rule: `iifname "${prefix}*" ${MARKED} ct status dnat counter accept`,
    comment: 'DNS query steered to the node-local DNS proxy (policed in prerouting)',
  };
}

/**
 * The steering chains for `routes` (none: the chains exist and steer nothing). A route whose proxy is of
 * another family than its server is refused: the DNAT cannot change the family.
 */
export function renderDnsSteering(
  prefixes: readonly string[],
  routes: readonly DnsSteeringRoute[],
): ChainSpec[] {
  const pre: NftRule[] = [];
  const dnat: NftRule[] = [];
  for (const r of routes) {
    const f = fam(r.server.ip);
    if (fam(r.proxyUdp.ip) !== f || fam(r.proxyTcp.ip) !== f)
      throw new Error(`DNS proxy for ${hostPort(r.server)} must be of the server's address family`);
    const to = `${f} daddr ${r.server.ip} th dport ${r.server.port}`;
    for (const p of prefixes)
      pre.push({
        rule: `iifname "${p}*" ct state new meta l4proto { tcp, udp } ${to} jump ${CHAIN.dnsPolicy}`,
        comment: `DNS to trusted server ${hostPort(r.server)}`,
      });
    dnat.push(
      {
        rule: `${MARKED} meta l4proto udp ${to} dnat ${f} to ${hostPort(r.proxyUdp)}`,
        comment: 'DNS proxy (UDP)',
      },
      {
        rule: `${MARKED} meta l4proto tcp ${to} dnat ${f} to ${hostPort(r.proxyTcp)}`,
        comment: 'DNS proxy (TCP)',
      },
    );
  }
  return [
    {
      name: BASE_CHAIN.dnsPrerouting,
      hook: { type: 'filter', hook: 'prerouting', priority: -110, policy: 'accept' },
      rules: pre,
    },
    {
      name: CHAIN.dnsPolicy,
      rules: [
        CLEAR_MARKS,
        `jump ${CHAIN.fromWl}`,
        {
          rule: `meta mark & ${hex(MARK_ACCEPT)} == ${hex(MARK_ACCEPT)} ct mark set ct mark | ${hex(CT_MARK_DNS_PROXY)}`,
          comment: 'egress policy allowed the query: steer it to the DNS proxy',
        },
        CLEAR_MARKS,
        `${MARKED} return`,
        { rule: 'drop', comment: 'egress policy did not allow the query' },
      ],
    },
    {
      name: BASE_CHAIN.natPrerouting,
      hook: { type: 'nat', hook: 'prerouting', priority: -101, policy: 'accept' },
      rules: [`jump ${CHAIN.dnsDnat}`],
    },
    { name: CHAIN.dnsDnat, rules: dnat },
  ];
}
