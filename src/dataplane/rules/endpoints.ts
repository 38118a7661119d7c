/**
 * Endpoint chains (Felix's rules/endpoints.go, restructured for nftables): for one endpoint and direction,
 * a jump to one *tier chain* per tier (then return at once if the accept mark is set), then the profiles,
 * then a final drop. A tier chain holds the rules of every policy of that tier applying to the endpoint,
 * inlined in order (see tier.ts); endpoints with the same policies in a tier share the chain. Pure.
 */
import type { TierInfo } from '../../calc/messages.js';
import { nflogGroup, renderNflogPrefix } from '../../model/nflog-prefix.js';
import type { NftRule } from '../nftables/model.js';
import { hex, MARK_ACCEPT, MARK_PASS, profileChain, tierChain } from './names.js';
import type { Layer } from './names.js';
import { nflogStatement } from './rule.js';

const ACCEPTED = `meta mark & ${hex(MARK_ACCEPT)} == ${hex(MARK_ACCEPT)} return`;
export const CLEAR_MARKS = `meta mark set meta mark & ${hex(~(MARK_ACCEPT | MARK_PASS) >>> 0)}`;

export interface EndpointChainOptions {
  readonly layer: Layer;
  /** Untracked and preDNAT tiers never drop at their end (Felix forces them to Pass). */
  readonly tierEndDrops: boolean;
  /** Profiles and the final drop: normal chains only. */
  readonly withProfiles: boolean;
  readonly dropLabel: string;
  /** Flow logs on: the drop after the profiles logs `DR<D>` to NFLOG (Felix's no-profile-matched prefix). */
  readonly flowLogs?: boolean;
}

/** A tier chain an endpoint chain jumps to: identified by its layer, direction, tier and policy list. */
export interface TierChainRef {
  readonly name: string;
  readonly layer: Layer;
  readonly dir: 'ingress' | 'egress';
  readonly tier: string;
  readonly defaultAction: 'deny' | 'pass';
  readonly policyIds: readonly string[];
  readonly tierEndDrops: boolean;
}

export function tierChainRef(
  layer: Layer,
  dir: 'ingress' | 'egress',
  t: TierInfo,
  tierEndDrops: boolean,
): TierChainRef | undefined {
  const policyIds = dir === 'ingress' ? t.ingressPolicies : t.egressPolicies;
  if (policyIds.length === 0) return undefined;
  const key = [t.name, t.defaultAction, String(tierEndDrops), ...policyIds].join('\u0000');
  return {
    name: tierChain(layer, dir, key),
    layer,
    dir,
    tier: t.name,
    defaultAction: t.defaultAction,
    policyIds,
    tierEndDrops,
  };
}

/** Tier and profile dispatch rules of one endpoint chain, and the tier chains they need. */
export function tierRules(
  tiers: readonly TierInfo[],
  dir: 'ingress' | 'egress',
  profileIds: readonly string[],
  o: EndpointChainOptions,
): { rules: NftRule[]; tierChains: TierChainRef[] } {
  const rules: NftRule[] = [];
  const tierChains: TierChainRef[] = [];
  const pdir = dir === 'ingress' ? 'in' : 'out';
  for (const t of tiers) {
    const ref = tierChainRef(o.layer, dir, t, o.tierEndDrops);
    if (ref === undefined) continue;
    tierChains.push(ref);
    rules.push({ rule: `jump ${ref.name}`, comment: `tier ${t.name}` });
    rules.push({ rule: ACCEPTED });
  }
  if (o.withProfiles) {
    for (const prof of profileIds) {
      rules.push({ rule: `jump ${profileChain(prof, pdir)}`, comment: `profile ${prof}` });
      rules.push({ rule: ACCEPTED });
    }
    const log =
      o.flowLogs === true
        ? `${nflogStatement({ prefix: renderNflogPrefix({ kind: 'noProfileMatch', direction: dir }), group: nflogGroup(dir) })} `
        : '';
    rules.push({ rule: `${log}drop`, comment: `no profile allowed: ${o.dropLabel}` });
  }
  return { rules, tierChains };
}
