/**
 * natOutgoing in `table inet calico` (Felix's rules/nat.go and the nat POSTROUTING hook, reference §6.2, §8.5):
 *
 *   nat-POSTROUTING (type nat, hook postrouting, priority srcnat + 10)
 *     └─ jump nat-cali-POSTROUTING
 *          ├─ jump nat-cali-nat-outgoing:
 *          │    ip saddr @cali40masq-ipam-pools ip daddr != @cali40all-ipam-pools [ip daddr != @cali40all-hosts-net]
 *          │    masquerade   (and the same for IPv6)
 *          └─ host-sourced traffic leaving a tunnel device with a source address that is not the device's:
 *               masquerade (so the far end can answer through the tunnel)
 *
 * Sets: `masq-ipam-pools` = CIDRs of the pools with natOutgoing, `all-ipam-pools` = CIDRs of every pool,
 * `all-hosts-net` = every node IP (used with natOutgoingExclusions `IPPoolsAndHostIPs`). Traffic between
 * pods (inside the pools) is never masqueraded. Pure.
 */
import type { HostMetadataMsg, IpPoolMsg } from '../../calc/messages.js';
import type { ChainSpec, NftRule, SetSpec } from '../nftables/model.js';
import { BASE_CHAIN, CHAIN, ipSetName, SET_ID } from './names.js';

/** Netfilter's srcnat priority; the nat POSTROUTING hook runs at srcnat + 10 as in Felix's nftables mode. */
const SRCNAT_PRIORITY = 100;

export interface NatConfig {
  /** natOutgoingExclusions `IPPoolsAndHostIPs`: also exclude destinations that are node IPs. */
  readonly excludeHostIps: boolean;
  /** Tunnel devices whose host-sourced traffic gets the device's address (`vxlan.calico`, `tunl0`). */
  readonly tunnelDevices: readonly string[];
}

function familyOf(cidr: string): 4 | 6 {
  return cidr.includes(':') ? 6 : 4;
}

function setSpec(family: 4 | 6, id: string, elements: Iterable<string>): SetSpec {
  return {
    name: ipSetName(family, id),
    type: family === 4 ? 'ipv4_addr' : 'ipv6_addr',
    interval: true,
    elements: [...new Set([...elements].filter((e) => familyOf(e) === family))].sort(),
  };
}

/** The three sets per family, from the current pools and hosts. */
export function renderNatSets(pools: Iterable<IpPoolMsg>, hosts: Iterable<HostMetadataMsg>): SetSpec[] {
  const all = [...pools];
  const masq = all.filter((p) => p.natOutgoing).map((p) => p.cidr);
  const cidrs = all.map((p) => p.cidr);
  const hostIps = [...hosts].flatMap((h) => [h.ipv4Addr, h.ipv6Addr].filter((a) => a !== undefined));
  return ([4, 6] as const).flatMap((f) => [
    setSpec(f, SET_ID.masqPools, masq),
    setSpec(f, SET_ID.allPools, cidrs),
    setSpec(f, SET_ID.allHosts, hostIps),
  ]);
}

function natOutgoingRule(family: 4 | 6, cfg: NatConfig): NftRule {
  const ip = family === 4 ? 'ip' : 'ip6';
  const hosts = cfg.excludeHostIps ? ` ${ip} daddr != @${ipSetName(family, SET_ID.allHosts)}` : '';
  return {
    rule:
      `${ip} saddr @${ipSetName(family, SET_ID.masqPools)}` +
      ` ${ip} daddr != @${ipSetName(family, SET_ID.allPools)}${hosts} masquerade`,
    comment: 'natOutgoing',
  };
}

export function renderNatChains(cfg: NatConfig): ChainSpec[] {
  return [
    {
      name: BASE_CHAIN.natPostrouting,
      hook: { type: 'nat', hook: 'postrouting', priority: SRCNAT_PRIORITY + 10, policy: 'accept' },
      rules: [`jump ${CHAIN.natPostrouting}`],
    },
    {
      name: CHAIN.natPostrouting,
      rules: [
        `jump ${CHAIN.natOutgoing}`,
        ...cfg.tunnelDevices.map((dev) => ({
          rule: `oifname "${dev}" fib saddr . oif type != local fib saddr type local masquerade`,
          comment: `host traffic leaving ${dev}`,
        })),
      ],
    },
    { name: CHAIN.natOutgoing, rules: [natOutgoingRule(4, cfg), natOutgoingRule(6, cfg)] },
  ];
}
