/**
 * Host endpoint chains (Felix's HEP chains, reference §3.8): per interface (or `*` for all), a normal
 * filter chain per direction (failsafe first, then normal tiers, then profiles and a final drop), a forward
 * chain per direction for traffic the host routes through the interface (applyOnForward tiers, no failsafe,
 * no profiles, allowed when the endpoint has no forward policy at all), plus raw chains for untracked
 * (doNotTrack) policy and a mangle chain for preDNAT policy, which never drop at the end of a tier. Every
 * chain but the raw ones starts with the conntrack rules of Felix's appendConntrackRules (the invalid-state
 * drop only without disableConntrackInvalidCheck). Also the dispatch chains in front of the per-interface
 * maps, whose default is the `*` endpoint (Felix's hostDispatchChains). Pure.
 */
import type { HostEndpointMsg } from '../../calc/messages.js';
import type { ChainSpec, NftRule } from '../nftables/model.js';
import type { RulesConfig } from './config.js';
import { CLEAR_MARKS, tierRules } from './endpoints.js';
import type { TierChainRef } from './endpoints.js';
import {
  CHAIN,
  hex,
  hostChain,
  MAP_FROM_HEP,
  MAP_FROM_HEP_FWD,
  MAP_MANGLE_FROM_HEP,
  MAP_RAW_FROM_HEP,
  MAP_RAW_TO_HEP,
  MAP_TO_HEP,
  MAP_TO_HEP_FWD,
  MARK_ACCEPT,
} from './names.js';

/** The chains the dispatch sends one endpoint's interface to (for `*`: every other interface). */
export interface HostDispatchTargets {
  readonly fromHost: string;
  readonly toHost: string;
  readonly fromForward: string;
  readonly toForward: string;
  /** The mangle (preDNAT) chain; only when the endpoint has preDNAT policy (Felix's optimisation). */
  readonly preDnat?: string;
}

export interface HostRender {
  readonly chains: readonly ChainSpec[];
  /** [map name, interface key, verdict] entries for the HEP dispatch maps. */
  readonly entries: readonly (readonly [string, string, string])[];
  readonly tierChains: readonly TierChainRef[];
  readonly targets: HostDispatchTargets;
}

/** Felix's appendConntrackRules with the accept action (the filter and mangle allow actions default to it). */
function conntrackRules(cfg: RulesConfig): NftRule[] {
  return [
    { rule: 'ct state established,related accept' },
    ...(cfg.disableConntrackInvalidCheck ? [] : [{ rule: 'ct state invalid drop' }]),
  ];
}

export function renderHostEndpoint(ep: HostEndpointMsg, cfg: RulesConfig): HostRender {
  const CONNTRACK = conntrackRules(cfg);
  const iface = ep.interfaceName;
  const label = `host endpoint ${ep.name}`;
  const chains: ChainSpec[] = [];
  const entries: [string, string, string][] = [];
  const tierChains: TierChainRef[] = [];
  const normal = (dir: 'ingress' | 'egress'): ChainSpec => {
    const t = tierRules(ep.tiers, dir, ep.profileIds, {
      layer: 'filter',
      tierEndDrops: true,
      withProfiles: true,
      flowLogs: cfg.flowLogs,
      dropLabel: `${dir} of ${label}`,
    });
    tierChains.push(...t.tierChains);
    return {
      name: hostChain('filter', iface, dir === 'ingress' ? 'fh' : 'th'),
      rules: [
        ...CONNTRACK,
        { rule: `jump ${dir === 'ingress' ? CHAIN.failsafeIn : CHAIN.failsafeOut}`, comment: label },
        { rule: CLEAR_MARKS },
        ...t.rules,
      ],
    };
  };
  // Forwarded traffic (Felix's chainTypeForward): no failsafe, tiers end as in normal chains, no profiles.
  // With no applyOnForward policy in any direction the chain allows; otherwise a packet that no policy
  // allowed or denied (none for this direction, or every tier passed) falls off the end: not dropped.
  const forward = (dir: 'ingress' | 'egress'): ChainSpec => {
    const t = tierRules(ep.forwardTiers, dir, [], {
      layer: 'filter',
      tierEndDrops: true,
      withProfiles: false,
      dropLabel: `forwarded ${dir} of ${label}`,
    });
    tierChains.push(...t.tierChains);
    const byDefault: NftRule[] =
      ep.forwardTiers.length === 0
        ? [
            {
              rule: `meta mark set meta mark | ${hex(MARK_ACCEPT)} return`,
              comment: 'Allow forwarded traffic by default',
            },
          ]
        : [];
    return {
      name: hostChain('filter', iface, dir === 'ingress' ? 'fhfw' : 'thfw'),
      rules: [...CONNTRACK, { rule: CLEAR_MARKS, comment: `${label} (forward)` }, ...t.rules, ...byDefault],
    };
  };
  const fh = normal('ingress');
  const th = normal('egress');
  const fhfw = forward('ingress');
  const thfw = forward('egress');
  chains.push(fh, th, fhfw, thfw);
  entries.push(
    [MAP_FROM_HEP, iface, `goto ${fh.name}`],
    [MAP_TO_HEP, iface, `goto ${th.name}`],
    [MAP_FROM_HEP_FWD, iface, `goto ${fhfw.name}`],
    [MAP_TO_HEP_FWD, iface, `goto ${thfw.name}`],
  );
  const stage = (
    layer: 'raw' | 'mangle',
    dir: 'ingress' | 'egress',
    failsafe: string,
    tiers: HostEndpointMsg['untrackedTiers'],
  ): ChainSpec => {
    const t = tierRules(tiers, dir, [], {
      layer,
      tierEndDrops: false,
      withProfiles: false,
      dropLabel: label,
    });
    tierChains.push(...t.tierChains);
    // Untracked chains run before conntrack (Felix's chainTypeUntracked has no conntrack rules).
    return {
      name: hostChain(layer, iface, dir === 'ingress' ? 'fh' : 'th'),
      rules: [
        ...(layer === 'mangle' ? CONNTRACK : []),
        { rule: `jump ${failsafe}`, comment: `${label} (${layer})` },
        { rule: CLEAR_MARKS },
        ...t.rules,
      ],
    };
  };
  if (ep.untrackedTiers.length > 0) {
    const rin = stage('raw', 'ingress', CHAIN.rawFailsafeIn, ep.untrackedTiers);
    const rout = stage('raw', 'egress', CHAIN.rawFailsafeOut, ep.untrackedTiers);
    chains.push(rin, rout);
    entries.push([MAP_RAW_FROM_HEP, iface, `goto ${rin.name}`], [MAP_RAW_TO_HEP, iface, `goto ${rout.name}`]);
  }
  let preDnat: string | undefined;
  if (ep.preDnatTiers.length > 0) {
    const m = stage('mangle', 'ingress', CHAIN.mangleFailsafeIn, ep.preDnatTiers);
    chains.push(m);
    entries.push([MAP_MANGLE_FROM_HEP, iface, `goto ${m.name}`]);
    preDnat = m.name;
  }
  const targets = {
    fromHost: fh.name,
    toHost: th.name,
    fromForward: fhfw.name,
    toForward: thfw.name,
    ...(preDnat !== undefined ? { preDnat } : {}),
  };
  return { chains, entries, tierChains, targets };
}

/**
 * The dispatch chains in front of the per-interface maps (Felix's cali-from/to-host-endpoint and
 * cali-from/to-hep-forward in filter, cali-from-host-endpoint in mangle). An interface without its own
 * endpoint goes to the `*` endpoint's chains when there is one: for host traffic every interface but
 * loopback; for forwarded traffic every interface, workload interfaces included (Felix's dispatch default
 * has no exception for them); for preDNAT policy every interface whose endpoint (if any) has no preDNAT
 * policy of its own, workload interfaces included (Felix's mangle dispatch lists only endpoints with preDNAT
 * policy, and its default is the `*` endpoint when that one has some).
 */
export function renderHostDispatch(any: HostDispatchTargets | undefined): ChainSpec[] {
  const chain = (
    name: string,
    map: string,
    match: 'iifname' | 'oifname',
    to: Exclude<keyof HostDispatchTargets, 'preDnat'>,
  ) => {
    const rules: NftRule[] = [{ rule: `${match} vmap @${map}` }];
    if (any !== undefined) {
      const notLo = to === 'fromHost' || to === 'toHost' ? `${match} != "lo" ` : '';
      rules.push({ rule: `${notLo}jump ${any[to]}`, comment: 'host endpoint for all interfaces' });
    }
    return { name, rules };
  };
  const mangle: NftRule[] = [{ rule: `iifname vmap @${MAP_MANGLE_FROM_HEP}` }];
  if (any?.preDnat !== undefined)
    mangle.push({ rule: `jump ${any.preDnat}`, comment: 'host endpoint for all interfaces' });
  return [
    chain(CHAIN.fromHep, MAP_FROM_HEP, 'iifname', 'fromHost'),
    chain(CHAIN.toHep, MAP_TO_HEP, 'oifname', 'toHost'),
    chain(CHAIN.fromHepFwd, MAP_FROM_HEP_FWD, 'iifname', 'fromForward'),
    chain(CHAIN.toHepFwd, MAP_TO_HEP_FWD, 'oifname', 'toForward'),
    { name: CHAIN.mangleFromHep, rules: mangle },
  ];
}
