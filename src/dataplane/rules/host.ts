/**
 * Host endpoint chains (Felix's HEP chains, reference §3.8): per interface (or `*` for all), a normal
 * filter chain per direction (failsafe first, then normal tiers, then profiles and a final drop), plus raw
 * chains for untracked (doNotTrack) policy and a mangle chain for preDNAT policy, which never drop at the
 * end of a tier. Pure.
 */
import type { HostEndpointMsg } from '../../calc/messages.js';
import type { ChainSpec, NftRule } from '../nftables/model.js';
import { CLEAR_MARKS, tierRules } from './endpoints.js';
import type { TierChainRef } from './endpoints.js';
import {
  CHAIN,
  hostChain,
  MAP_FROM_HEP,
  MAP_MANGLE_FROM_HEP,
  MAP_RAW_FROM_HEP,
  MAP_RAW_TO_HEP,
  MAP_TO_HEP,
} from './names.js';

export interface HostRender {
  readonly chains: readonly ChainSpec[];
  /** [map name, interface key, verdict] entries for the HEP dispatch maps. */
  readonly entries: readonly (readonly [string, string, string])[];
  readonly tierChains: readonly TierChainRef[];
}

const CONNTRACK: NftRule[] = [
  { rule: 'ct state established,related accept' },
  { rule: 'ct state invalid drop' },
];

export function renderHostEndpoint(ep: HostEndpointMsg): HostRender {
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
  const fh = normal('ingress');
  const th = normal('egress');
  chains.push(fh, th);
  entries.push([MAP_FROM_HEP, iface, `goto ${fh.name}`], [MAP_TO_HEP, iface, `goto ${th.name}`]);
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
    return {
      name: hostChain(layer, iface, dir === 'ingress' ? 'fh' : 'th'),
      rules: [
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
  if (ep.preDnatTiers.length > 0) {
    const m = stage('mangle', 'ingress', CHAIN.mangleFailsafeIn, ep.preDnatTiers);
    chains.push(m);
    entries.push([MAP_MANGLE_FROM_HEP, iface, `goto ${m.name}`]);
  }
  return { chains, entries, tierChains };
}
