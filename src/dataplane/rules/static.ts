/**
 * The static part of `table inet calico` (Felix's rules/static.go in nftables form): base chains hooked at
 * raw/mangle/filter priorities, the top-level cali chains, the dispatch chains in front of the per-interface
 * verdict maps, workload-to-host handling and the failsafe chains. Pure.
 *
 * A packet from or to a `cali*` interface whose endpoint is not programmed hits the dispatch chain's final
 * drop: there is never a window in which a new workload interface is unpoliced.
 *
 * The host-endpoint dispatch chains (`cali-from/to-host-endpoint`, `cali-from/to-hep-forward`, and mangle's
 * `cali-from-host-endpoint` for preDNAT policy) are rendered with the host endpoints (host.ts
 * renderHostDispatch), because the `*` endpoint is their default.
 */
import type { ChainSpec, MapSpec, NftRule } from '../nftables/model.js';
import type { FailsafePort, RulesConfig } from './config.js';
import { dnsProxyInputRule } from './dns-steering.js';
import { CLEAR_MARKS } from './endpoints.js';
import {
  BASE_CHAIN,
  CHAIN,
  hex,
  ipSetName,
  MAP_FROM_HEP,
  MAP_FROM_HEP_FWD,
  MAP_FROM_WL,
  MAP_MANGLE_FROM_HEP,
  MAP_RAW_FROM_HEP,
  MAP_RAW_TO_HEP,
  MAP_TO_HEP,
  MAP_TO_HEP_FWD,
  MAP_TO_WL,
  MARK_ACCEPT,
  SET_ID,
} from './names.js';

const ACCEPT_IF_MARKED = `meta mark & ${hex(MARK_ACCEPT)} == ${hex(MARK_ACCEPT)} accept`;

/** Every node's VXLAN parent address (Felix's `all-vxlan-net`); kept by the static manager from VTEPs. */
export const ALL_VXLAN_SET = ipSetName(4, SET_ID.allVxlanNet);

/** What the static chains depend on besides configuration. */
export interface StaticOptions {
  /** Some node has a VTEP: VXLAN is in use, so the host admits it from other nodes only. */
  readonly vxlan: boolean;
}

/**
 * VXLAN between nodes is allowed ahead of host-endpoint policy (so a restrictive `*` HostEndpoint cannot cut
 * the overlay) and VXLAN to this host from anything that is not a node is dropped (Felix's "Allow VXLAN
 * packets from trusted hosts" / "Drop VXLAN packets from non-allowed hosts").
 */
function vxlanHostRules(cfg: RulesConfig, dir: 'in' | 'out', opts: StaticOptions): NftRule[] {
  if (!opts.vxlan) return [];
  const udp = `meta l4proto udp udp dport ${cfg.vxlanPort}`;
  if (dir === 'out')
    return [
      {
        rule: `${udp} ip daddr @${ALL_VXLAN_SET} fib saddr type local accept`,
        comment: 'Allow VXLAN packets to other trusted hosts',
      },
    ];
  return [
    {
      rule: `${udp} ip saddr @${ALL_VXLAN_SET} fib daddr type local accept`,
      comment: 'Allow VXLAN packets from trusted hosts',
    },
    {
      rule: `meta nfproto ipv4 ${udp} fib daddr type local drop`,
      comment: 'Drop VXLAN packets from non-allowed hosts',
    },
  ];
}

function prefixes(cfg: RulesConfig, dir: 'iifname' | 'oifname'): string[] {
  return cfg.interfacePrefixes.map((p) => `${dir} "${p}*"`);
}

function failsafeRules(ports: readonly FailsafePort[], dir: 'in' | 'out'): NftRule[] {
  return ports.map((p) => {
    const net =
      p.net === undefined
        ? ''
        : ` ${p.net.includes(':') ? 'ip6' : 'ip'} ${dir === 'in' ? 'saddr' : 'daddr'} ${p.net}`;
    return {
      rule: `meta l4proto ${p.protocol}${net} th dport ${p.port} accept`,
      comment: `failsafe ${p.protocol}:${p.port}`,
    };
  });
}

/** Raw failsafes also accept the responses to the other direction's failsafe connections (before conntrack). */
function rawFailsafeRules(
  own: readonly FailsafePort[],
  other: readonly FailsafePort[],
  dir: 'in' | 'out',
): NftRule[] {
  return [
    ...failsafeRules(own, dir),
    ...other.map((p) => ({
      rule: `meta l4proto ${p.protocol} th sport ${p.port} accept`,
      comment: `failsafe response ${p.protocol}:${p.port}`,
    })),
  ];
}

function base(
  name: string,
  type: 'filter',
  hook: 'prerouting' | 'input' | 'forward' | 'output',
  priority: number,
  target: string,
): ChainSpec {
  return { name, hook: { type, hook, priority, policy: 'accept' }, rules: [`jump ${target}`] };
}

export function renderStaticChains(cfg: RulesConfig, opts: StaticOptions = { vxlan: false }): ChainSpec[] {
  const invalid = cfg.disableConntrackInvalidCheck ? [] : ['ct state invalid drop'];
  const wlToHostAction =
    cfg.endpointToHostAction === 'Drop'
      ? 'drop'
      : cfg.endpointToHostAction === 'Accept'
        ? 'accept'
        : 'return';
  return [
    base(BASE_CHAIN.filterForward, 'filter', 'forward', 0, CHAIN.forward),
    base(BASE_CHAIN.filterInput, 'filter', 'input', 0, CHAIN.input),
    base(BASE_CHAIN.filterOutput, 'filter', 'output', 0, CHAIN.output),
    {
      name: BASE_CHAIN.rawPrerouting,
      hook: { type: 'filter', hook: 'prerouting', priority: -300, policy: 'accept' },
      rules: [`jump ${CHAIN.rawPre}`, ACCEPT_IF_MARKED.replace(' accept', ' notrack')],
    },
    {
      name: BASE_CHAIN.rawOutput,
      hook: { type: 'filter', hook: 'output', priority: -300, policy: 'accept' },
      rules: [`jump ${CHAIN.rawOut}`, ACCEPT_IF_MARKED.replace(' accept', ' notrack')],
    },
    base(BASE_CHAIN.manglePrerouting, 'filter', 'prerouting', -150, CHAIN.manglePre),
    {
      name: CHAIN.forward,
      rules: [
        'ct state established,related accept',
        ...prefixes(cfg, 'iifname').flatMap((p) => invalid.map((i) => `${p} ${i}`)),
        ...prefixes(cfg, 'oifname').flatMap((p) => invalid.map((i) => `${p} ${i}`)),
        // Felix's order: the arriving host endpoint's forward policy (skipped when its untracked or preDNAT
        // policy accepted the packet, the accept mark set in raw/mangle), the workloads' policy, then the
        // leaving host endpoint's forward policy. Each endpoint chain drops or returns.
        {
          rule: `meta mark & ${hex(MARK_ACCEPT)} == 0x00000000 jump ${CHAIN.fromHepFwd}`,
          comment: 'host endpoint forward policy unless accepted by untracked or preDNAT policy',
        },
        CLEAR_MARKS,
        ...prefixes(cfg, 'iifname').map((p) => `${p} jump ${CHAIN.fromWl}`),
        ...prefixes(cfg, 'oifname').map((p) => `${p} jump ${CHAIN.toWl}`),
        `jump ${CHAIN.toHepFwd}`,
        ACCEPT_IF_MARKED,
      ],
    },
    {
      name: CHAIN.fromWl,
      rules: [
        `iifname vmap @${MAP_FROM_WL}`,
        ...prefixes(cfg, 'iifname').map((p) => ({
          rule: `${p} drop`,
          comment: 'unknown workload interface',
        })),
      ],
    },
    {
      name: CHAIN.toWl,
      rules: [
        `oifname vmap @${MAP_TO_WL}`,
        ...prefixes(cfg, 'oifname').map((p) => ({
          rule: `${p} drop`,
          comment: 'unknown workload interface',
        })),
      ],
    },
    {
      name: CHAIN.input,
      rules: [
        ...vxlanHostRules(cfg, 'in', opts),
        ...cfg.interfacePrefixes.map(dnsProxyInputRule),
        ...prefixes(cfg, 'iifname').map((p) => `${p} goto ${CHAIN.wlToHost}`),
        // Felix's filterInputChain: what the arriving host endpoint's untracked or preDNAT policy accepted
        // (the accept mark set in raw or mangle PREROUTING) skips its normal policy.
        { rule: ACCEPT_IF_MARKED, comment: 'accepted by untracked or preDNAT policy' },
        CLEAR_MARKS,
        `jump ${CHAIN.fromHep}`,
        ACCEPT_IF_MARKED,
      ],
    },
    {
      name: CHAIN.wlToHost,
      rules: [
        'ct state established,related accept',
        ...invalid,
        {
          rule: 'meta nfproto ipv6 icmpv6 type { 130, 131, 132, 133, 135, 136 } accept',
          comment: 'IPv6 neighbour discovery and MLD',
        },
        `jump ${CHAIN.fromWl}`,
        { rule: wlToHostAction, comment: `defaultEndpointToHostAction ${cfg.endpointToHostAction}` },
      ],
    },
    {
      name: CHAIN.output,
      rules: [
        { rule: ACCEPT_IF_MARKED, comment: 'accepted by untracked policy' },
        // Felix's filterOutputChain: the host's traffic to its own workloads meets neither host endpoint
        // policy nor the workload's ingress policy.
        ...prefixes(cfg, 'oifname').map((p) => ({ rule: `${p} return`, comment: 'host to local workload' })),
        ...vxlanHostRules(cfg, 'out', opts),
        CLEAR_MARKS,
        `jump ${CHAIN.toHep}`,
        ACCEPT_IF_MARKED,
      ],
    },
    { name: CHAIN.failsafeIn, rules: failsafeRules(cfg.failsafeInbound, 'in') },
    { name: CHAIN.failsafeOut, rules: failsafeRules(cfg.failsafeOutbound, 'out') },
    { name: CHAIN.rawPre, rules: [CLEAR_MARKS, `iifname vmap @${MAP_RAW_FROM_HEP}`] },
    { name: CHAIN.rawOut, rules: [CLEAR_MARKS, `oifname vmap @${MAP_RAW_TO_HEP}`] },
    { name: CHAIN.rawFailsafeIn, rules: rawFailsafeRules(cfg.failsafeInbound, cfg.failsafeOutbound, 'in') },
    { name: CHAIN.rawFailsafeOut, rules: rawFailsafeRules(cfg.failsafeOutbound, cfg.failsafeInbound, 'out') },
    {
      // Felix's StaticManglePreroutingChain: established flows first (a preDNAT Deny never drops the replies
      // of a connection it did not police), then what untracked policy accepted (preDNAT policy does not
      // apply to it), then the arriving interface's preDNAT policy (its endpoint's, else the `*` one's).
      name: CHAIN.manglePre,
      rules: [
        'ct state established,related accept',
        { rule: ACCEPT_IF_MARKED, comment: 'accepted by untracked policy' },
        `jump ${CHAIN.mangleFromHep}`,
        { rule: ACCEPT_IF_MARKED, comment: 'accepted by preDNAT policy' },
      ],
    },
    { name: CHAIN.mangleFailsafeIn, rules: failsafeRules(cfg.failsafeInbound, 'in') },
  ];
}

export const STATIC_MAPS: readonly string[] = [
  MAP_FROM_WL,
  MAP_TO_WL,
  MAP_FROM_HEP,
  MAP_TO_HEP,
  MAP_FROM_HEP_FWD,
  MAP_TO_HEP_FWD,
  MAP_RAW_FROM_HEP,
  MAP_RAW_TO_HEP,
  MAP_MANGLE_FROM_HEP,
];

export function emptyMap(name: string): MapSpec {
  return { name, keyType: 'ifname', elements: new Map() };
}
