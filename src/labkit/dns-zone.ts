/**
 * The lab's cluster DNS (pure): the names it serves for addresses of the outside namespace, the dnsmasq
 * configuration that serves them, and the resolv.conf of the lab's pods. The outside namespace
 * (topology.ts) carries one extra address per name so that allowing one name opens exactly that address
 * (enforcement is by IP): a policy allowing `*.example.com` must not open `evil.test`, nor the outside's
 * own address the demo's matrix probes.
 *
 *   api.example.com         A      203.0.113.20
 *   www.example.com         A      203.0.113.21
 *   cdn.example.com         CNAME  edge.cdn-provider.test
 *   edge.cdn-provider.test  A      203.0.113.22
 *   evil.test               A      203.0.113.66
 *
 * The outside namespace is IPv4 only (the fabric gives it no IPv6 address), so there are no AAAA records;
 * AAAA queries for these names get an empty NOERROR. Other names under example.com and test are NXDOMAIN;
 * names elsewhere are REFUSED (the lab has no upstream: nothing leaves the machine).
 */
import { CalicoError } from '../lib/errors.js';

/** The cluster DNS pod, as in a kubeadm cluster (Service kube-system/kube-dns selects it). */
export const CLUSTER_DNS_POD = { namespace: 'kube-system', name: 'coredns' } as const;
export const CLUSTER_DNS_LABELS: Readonly<Record<string, string>> = { 'k8s-app': 'kube-dns' };
export const CLUSTER_DNS_PORT = 53;
/** The default TTL of the lab's records, short so that expiry is seen within a lab session. */
export const DEFAULT_DNS_TTL = 30;
export const MAX_DNS_TTL = 86_400;
/** The cluster DNS pod's address in a `static` lab (no IPAM pools there: the lab picks it). */
export const STATIC_CLUSTER_DNS_IP = '10.96.0.10';

export type ZoneRecord =
  | { readonly name: string; readonly type: 'A'; readonly address: string }
  | { readonly name: string; readonly type: 'CNAME'; readonly target: string };

export const LAB_ZONE: readonly ZoneRecord[] = [
  { name: 'api.example.com', type: 'A', address: '203.0.113.20' },
  { name: 'www.example.com', type: 'A', address: '203.0.113.21' },
  { name: 'cdn.example.com', type: 'CNAME', target: 'edge.cdn-provider.test' },
  { name: 'edge.cdn-provider.test', type: 'A', address: '203.0.113.22' },
  { name: 'evil.test', type: 'A', address: '203.0.113.66' },
];

/** Domains the cluster DNS answers for itself (NXDOMAIN for names it does not know there). */
export const LAB_LOCAL_DOMAINS: readonly string[] = ['example.com', 'test'];

/** The extra addresses the outside namespace carries for the zone's names (each /32 of its subnet). */
export function zoneAddresses(zone: readonly ZoneRecord[] = LAB_ZONE): string[] {
  return zone.flatMap((r) => (r.type === 'A' ? [r.address] : []));
}

export function dnsTtlProblem(ttl: number): string | undefined {
  return Number.isInteger(ttl) && ttl >= 1 && ttl <= MAX_DNS_TTL
    ? undefined
    : `a DNS TTL must be 1..${MAX_DNS_TTL} seconds`;
}

/**
 * dnsmasq's configuration file: port 53 on every address of the pod, no upstream, no /etc/hosts, queries
 * logged to stderr (the process's log file), the zone with `ttl`.
 */
export function dnsmasqConfig(ttl: number, zone: readonly ZoneRecord[] = LAB_ZONE): string {
  const problem = dnsTtlProblem(ttl);
  if (problem !== undefined) throw new CalicoError('CALICO_ERR_USAGE', problem);
  const lines = [
    '# calico-lab cluster DNS (kube-system/coredns); written by calico-lab, do not edit',
    `port=${CLUSTER_DNS_PORT}`,
    'no-resolv',
    'no-hosts',
    'pid-file',
    'log-facility=-',
    'log-queries',
    ...LAB_LOCAL_DOMAINS.map((d) => `local=/${d}/`),
    ...zone.map((r) =>
      r.type === 'A' ? `host-record=${r.name},${r.address},${ttl}` : `cname=${r.name},${r.target},${ttl}`,
    ),
  ];
  return `${lines.join('\n')}\n`;
}

/** The resolv.conf of the lab's pods: the cluster DNS pod, as a kubelet's ClusterFirst policy writes it. */
export function podResolvConf(dnsIp: string): string {
  return [
    '# calico-lab: the cluster DNS (kube-system/coredns)',
    `nameserver ${dnsIp}`,
    'options ndots:1',
    '',
  ].join('\n');
}

/** The first `nameserver` of a resolv.conf, or undefined. */
export function resolvConfNameserver(text: string): string | undefined {
  for (const line of text.split('\n')) {
    const m = /^\s*nameserver\s+(\S+)\s*$/.exec(line);
    if (m !== null) return m[1];
  }
  return undefined;
}

/** The names a zone record's chain passes through and the address it ends at (CNAMEs followed, bounded). */
export function zoneChain(
  name: string,
  zone: readonly ZoneRecord[] = LAB_ZONE,
): { readonly names: readonly string[]; readonly address: string } | undefined {
  const names: string[] = [];
  let current = name.toLowerCase().replace(/\.$/, '');
  for (let hops = 0; hops <= zone.length; hops++) {
    const r = zone.find((z) => z.name === current);
    if (r === undefined) return undefined;
    names.push(current);
    if (r.type === 'A') return { names, address: r.address };
    current = r.target;
  }
  return undefined;
}
