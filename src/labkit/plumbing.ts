/**
 * How the lab wires nodes and pods, as Calico's CNI plugin does (reference §7.2), inside namespaces only.
 *
 * Node: a namespace whose `eth0` is a veth into the "fabric" namespace, on its rack's bridge (addresses in
 * topology.ts). The default route through it matters even with one node: proxy ARP answers for 169.254.1.1
 * only when the host routes that address out of another interface. The fabric routes between racks and to
 * the outside namespace, never to pods: packets for a pod without a cluster route die there.
 *
 * Pod: a namespace joined to its node by a veth, host side `cali<11 hex>` with MAC ee:ee:ee:ee:ee:ee,
 * proxy_arp, proxy_delay 0, forwarding; pod side `eth0` with the pod's /32 (/128), a link route to
 * 169.254.1.1 and a default route through it (IPv6: default via fe80::ecee:eeff:feee:eeee, the host side's
 * link-local address, DAD off); the node routes the pod's address to the host veth.
 *
 * Hairpin. Kubernetes truth tables judge pod -> own IP connections like any other, but a pod reaches its own
 * address through the loopback device, which never crosses the node and so is never policed. Inside the pod
 * the `local` routing rule is moved from priority 0 to 100, and a rule at priority 10 sends locally generated
 * packets (`iif lo`) for the pod's own address to table 100, whose only route leads out of eth0 via the
 * gateway. The node forwards them back into the same veth, through its forward hook, where the policy of
 * both directions applies. Arriving on eth0 with the pod's own source address they would be dropped as
 * martians, hence `accept_local=1` and `rp_filter=0` on eth0 (IPv6 has no such check). Replies take the same
 * path. The node sends no ICMP redirects for this (send_redirects=0) and the pod would ignore them.
 */
import { CalicoError } from '../lib/errors.js';
import type { IpFamily } from '../lib/net/ip.js';
import type { CommandRunner } from '../dataplane/exec/command-runner.js';
import { netnsRunner } from '../dataplane/exec/command-runner.js';
import { runChecked } from './netns.js';
import { OUTSIDE, nodeAddresses, rackAddresses, type NodeAddresses } from './topology.js';

export const HOST_VETH_MAC = 'ee:ee:ee:ee:ee:ee';
export const IPV4_GATEWAY = '169.254.1.1';
export const IPV6_GATEWAY = 'fe80::ecee:eeff:feee:eeee';
export const HAIRPIN_TABLE = 100;
export const HAIRPIN_RULE_PREF = 10;
export const LOCAL_RULE_PREF = 100;
export const NODE_UPLINK = 'eth0';
export const POD_IFNAME = 'eth0';

type Signal = { readonly signal?: AbortSignal };

/** One `ip -batch` script for one address family in one namespace. */
export interface IpBatch {
  readonly ns: string;
  /** Needed where a line names no address (`rule add … lookup local`); absent = inferred per line. */
  readonly family?: IpFamily;
  readonly lines: readonly string[];
}

function hostCidr(ip: string, family: IpFamily): string {
  return `${ip}/${family === 4 ? 32 : 128}`;
}

/** Sysctls of a node namespace, set before any interface exists (new interfaces inherit `default`). */
export function nodeSysctls(): string[] {
  return [
    'net.ipv4.ip_forward=1',
    'net.ipv6.conf.all.forwarding=1',
    'net.ipv6.conf.default.accept_dad=0',
    'net.ipv6.conf.all.accept_dad=0',
    'net.ipv4.conf.all.send_redirects=0',
    'net.ipv4.conf.default.send_redirects=0',
  ];
}

/** The fabric routes between racks and to the outside (it has no route to any pod). */
export function fabricSysctls(): string[] {
  return [
    'net.ipv4.ip_forward=1',
    'net.ipv6.conf.all.forwarding=1',
    'net.ipv6.conf.default.accept_dad=0',
    'net.ipv6.conf.all.accept_dad=0',
  ];
}

/** A rack's bridge in the fabric, with the rack's gateway addresses. */
export function rackBatch(fabricNs: string, rack: number): IpBatch {
  const r = rackAddresses(rack);
  return {
    ns: fabricNs,
    lines: [
      `link add ${r.bridge} type bridge`,
      `addr add ${r.v4Gateway}/24 dev ${r.bridge}`,
      `addr add ${r.v6Gateway}/64 dev ${r.bridge} nodad`,
      `link set ${r.bridge} up`,
    ],
  };
}

/** Joins node `index` to its rack's bridge: the veth, its addresses and default routes. */
export function nodeUplinkBatches(fabricNs: string, nodeNs: string, index: number, rack = 1): IpBatch[] {
  const a = nodeAddresses(index, rack);
  const r = rackAddresses(rack);
  const port = `node${index}`;
  return [
    {
      ns: fabricNs,
      lines: [
        `link add ${port} type veth peer name ${NODE_UPLINK} netns ${nodeNs}`,
        `link set ${port} master ${r.bridge}`,
        `link set ${port} up`,
      ],
    },
    {
      ns: nodeNs,
      lines: [
        `addr add ${a.v4}/24 dev ${NODE_UPLINK}`,
        `addr add ${a.v6}/64 dev ${NODE_UPLINK} nodad`,
        `link set ${NODE_UPLINK} up`,
        `route add default via ${r.v4Gateway} dev ${NODE_UPLINK}`,
      ],
    },
    { ns: nodeNs, family: 6, lines: [`route add default via ${r.v6Gateway} dev ${NODE_UPLINK}`] },
  ];
}

/** The outside namespace on its own link from the fabric (see topology.ts). */
export function outsideBatches(fabricNs: string, outsideNs: string): IpBatch[] {
  const o = OUTSIDE;
  return [
    {
      ns: fabricNs,
      lines: [
        `link add ${o.fabricIfname} type veth peer name eth0 netns ${outsideNs}`,
        `addr add ${o.gateway}/${o.prefix} dev ${o.fabricIfname}`,
        `link set ${o.fabricIfname} up`,
      ],
    },
    {
      ns: outsideNs,
      family: 4,
      lines: [
        `addr add ${o.address}/${o.prefix} dev eth0`,
        'link set eth0 up',
        `route add default via ${o.gateway} dev eth0`,
      ],
    },
  ];
}

export interface PodWiring {
  readonly nodeNs: string;
  readonly podNs: string;
  readonly hostIfname: string;
  readonly ip: string;
  readonly family: IpFamily;
  /** Both ends' MTU; absent: the kernel's default (1500). */
  readonly mtu?: number;
}

/** Creates the veth in the node namespace with its peer in the pod namespace (both still down). */
export function vethBatch(w: PodWiring): IpBatch {
  const mtu = w.mtu === undefined ? '' : ` mtu ${w.mtu}`;
  return {
    ns: w.nodeNs,
    family: w.family,
    lines: [
      `link add ${w.hostIfname} address ${HOST_VETH_MAC}${mtu} type veth peer name ${POD_IFNAME}${mtu} netns ${w.podNs}`,
    ],
  };
}

/** Sysctls of the host side (CNI step 6), set before the link comes up. */
export function hostInterfaceSysctls(w: PodWiring): string[] {
  const i = w.hostIfname;
  if (w.family === 4) {
    return [
      `net.ipv4.conf.${i}.route_localnet=1`,
      `net.ipv4.neigh.${i}.proxy_delay=0`,
      `net.ipv4.conf.${i}.proxy_arp=1`,
      `net.ipv4.conf.${i}.forwarding=1`,
      `net.ipv4.conf.${i}.send_redirects=0`,
    ];
  }
  return [
    `net.ipv6.conf.${i}.accept_dad=0`,
    `net.ipv6.conf.${i}.disable_ipv6=0`,
    `net.ipv6.conf.${i}.proxy_ndp=1`,
    `net.ipv6.conf.${i}.forwarding=1`,
    `net.ipv6.conf.${i}.accept_ra=0`,
  ];
}

/** Sysctls inside the pod, for its eth0 and the hairpin (see the module comment). */
export function podSysctls(w: Pick<PodWiring, 'family'>): string[] {
  const e = POD_IFNAME;
  if (w.family === 4) {
    return [
      'net.ipv4.conf.all.rp_filter=0',
      `net.ipv4.conf.${e}.rp_filter=0`,
      `net.ipv4.conf.${e}.accept_local=1`,
      'net.ipv4.conf.all.accept_redirects=0',
      `net.ipv4.conf.${e}.accept_redirects=0`,
    ];
  }
  return [
    `net.ipv6.conf.${e}.disable_ipv6=0`,
    `net.ipv6.conf.${e}.accept_dad=0`,
    `net.ipv6.conf.${e}.accept_ra=0`,
    `net.ipv6.conf.${e}.accept_redirects=0`,
  ];
}

/** The host side up and the node's route to the pod (CNI step 7; `replace`: the agent may own it too). */
export function hostUpBatch(w: PodWiring): IpBatch {
  const scope = w.family === 4 ? ' scope link' : '';
  return {
    ns: w.nodeNs,
    family: w.family,
    lines: [
      `link set ${w.hostIfname} up`,
      `route replace ${hostCidr(w.ip, w.family)} dev ${w.hostIfname}${scope}`,
    ],
  };
}

/** The pod side: address, routes through the gateway, and the hairpin rules. */
export function podBatch(w: PodWiring): IpBatch {
  const e = POD_IFNAME;
  const cidr = hostCidr(w.ip, w.family);
  const lines =
    w.family === 4
      ? [
          `addr add ${cidr} dev ${e}`,
          `link set ${e} up`,
          `route add ${IPV4_GATEWAY}/32 dev ${e} scope link`,
          `route add default via ${IPV4_GATEWAY} dev ${e}`,
        ]
      : [
          `addr add ${cidr} dev ${e} nodad`,
          `link set ${e} up`,
          `route add default via ${IPV6_GATEWAY} dev ${e}`,
        ];
  return { ns: w.podNs, family: w.family, lines: [...lines, ...hairpinBatch(w).lines] };
}

/** The hairpin (module comment): pod -> own address leaves through eth0 and crosses the node. */
export function hairpinBatch(w: Pick<PodWiring, 'podNs' | 'ip' | 'family'>): IpBatch {
  const cidr = hostCidr(w.ip, w.family);
  const gw = w.family === 4 ? IPV4_GATEWAY : IPV6_GATEWAY;
  return {
    ns: w.podNs,
    family: w.family,
    lines: [
      `route add ${cidr} via ${gw} dev ${POD_IFNAME} onlink table ${HAIRPIN_TABLE}`,
      `rule add pref ${HAIRPIN_RULE_PREF} iif lo to ${cidr} lookup ${HAIRPIN_TABLE}`,
      `rule add pref ${LOCAL_RULE_PREF} lookup local`,
      'rule del pref 0 lookup local',
    ],
  };
}

/** The hairpin of a pod whose eth0 the CNI plugin made: its sysctls and routing rules (module comment). */
export async function wireCniPodHairpin(
  runner: CommandRunner,
  w: Pick<PodWiring, 'podNs' | 'ip' | 'family'>,
  options: Signal = {},
): Promise<void> {
  await setSysctls(runner, w.podNs, podSysctls(w), options);
  await runBatch(runner, hairpinBatch(w), options);
}

/** A route on another node to this pod, through its node's fabric address (multi-node labs, no BGP). */
export function crossNodeRouteBatch(
  otherNodeNs: string,
  ip: string,
  family: IpFamily,
  via: NodeAddresses,
): IpBatch {
  return {
    ns: otherNodeNs,
    family,
    lines: [`route replace ${hostCidr(ip, family)} via ${family === 4 ? via.v4 : via.v6} dev ${NODE_UPLINK}`],
  };
}

export async function runBatch(runner: CommandRunner, batch: IpBatch, options: Signal = {}): Promise<void> {
  const family = batch.family === undefined ? [] : [`-${batch.family}`];
  await runChecked(runner, 'ip', [...family, '-n', batch.ns, '-batch', '-'], {
    ...options,
    stdin: `${batch.lines.join('\n')}\n`,
  });
}

export async function setSysctls(
  runner: CommandRunner,
  ns: string,
  settings: readonly string[],
  options: Signal = {},
): Promise<void> {
  if (settings.length === 0) return;
  await runChecked(netnsRunner(runner, ns), 'sysctl', ['-q', '-w', ...settings], options);
}

/** Wires a pod into its node (both namespaces exist); returns the pod's eth0 MAC address. */
export async function wirePod(runner: CommandRunner, w: PodWiring, options: Signal = {}): Promise<string> {
  // A host veth of the same name left by an earlier pod goes first, as the CNI plugin does.
  const old = await runner.run('ip', ['-n', w.nodeNs, 'link', 'del', w.hostIfname], options);
  if (old.code !== 0 && !/Cannot find device/.test(old.stderr))
    throw new CalicoError('CALICO_ERR_IO', `cannot delete old ${w.hostIfname}: ${old.stderr.trim()}`);
  await runBatch(runner, vethBatch(w), options);
  await setSysctls(runner, w.nodeNs, hostInterfaceSysctls(w), options);
  await setSysctls(runner, w.podNs, podSysctls(w), options);
  await runBatch(runner, podBatch(w), options);
  await runBatch(runner, hostUpBatch(w), options);
  return interfaceMac(runner, w.podNs, POD_IFNAME, options);
}

export async function interfaceMac(
  runner: CommandRunner,
  ns: string,
  ifname: string,
  options: Signal = {},
): Promise<string> {
  const out = await runChecked(runner, 'ip', ['-j', '-n', ns, 'link', 'show', 'dev', ifname], options);
  const parsed: unknown = JSON.parse(out);
  const first: unknown = Array.isArray(parsed) ? parsed[0] : undefined;
  if (typeof first === 'object' && first !== null && 'address' in first && typeof first.address === 'string')
    return first.address;
  throw new CalicoError('CALICO_ERR_IO', `no MAC address for ${ifname} in ${ns}`);
}
