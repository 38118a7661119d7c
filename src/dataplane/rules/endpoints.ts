/**
 * Endpoint chains (Felix's rules/endpoints.go): for one endpoint and direction, each tier's policies in
 * order (a policy is jumped to only while no Pass happened in the tier; an accept mark returns at once),
 * the tier's end (drop unless its default action is Pass), then the profiles, then a final drop. Pure.
 */
import type { TierInfo } from '../../calc/messages.js';
import type { NftRule } from '../nftables/model.js';
import { hex, MARK_ACCEPT, MARK_PASS, policyChain, profileChain } from './names.js';
import type { Layer } from './names.js';

const ACCEPTED = `meta mark & ${hex(MARK_ACCEPT)} == ${hex(MARK_ACCEPT)} return`;
const NO_PASS = `meta mark & ${hex(MARK_PASS)} == 0x00000000`;
export const CLEAR_MARKS = `meta mark set meta mark & ${hex(~(MARK_ACCEPT | MARK_PASS) >>> 0)}`;
const CLEAR_PASS = `meta mark set meta mark & ${hex(~MARK_PASS >>> 0)}`;

export interface EndpointChainOptions {
  readonly layer: Layer;
  /** Untracked and preDNAT tiers never drop at their end (Felix forces them to Pass). */
  readonly tierEndDrops: boolean;
  /** Profiles and the final drop: normal chains only. */
  readonly withProfiles: boolean;
  readonly dropLabel: string;
}

/** Tier and profile dispatch rules of one endpoint chain. */
export function tierRules(
  tiers: readonly TierInfo[],
  dir: 'ingress' | 'egress',
  profileIds: readonly string[],
  o: EndpointChainOptions,
): NftRule[] {
  const rules: NftRule[] = [];
  const pdir = dir === 'ingress' ? 'in' : 'out';
  for (const t of tiers) {
    const pols = dir === 'ingress' ? t.ingressPolicies : t.egressPolicies;
    if (pols.length === 0) continue;
    rules.push({ rule: CLEAR_PASS, comment: `start of tier ${t.name}` });
    for (const p of pols) {
      rules.push({ rule: `${NO_PASS} jump ${policyChain(o.layer, p, pdir)}`, comment: `policy ${p}` });
      rules.push({ rule: ACCEPTED });
    }
    if (o.tierEndDrops && t.defaultAction === 'deny') {
      rules.push({ rule: `${NO_PASS} drop`, comment: `end of tier ${t.name}: ${o.dropLabel}` });
    }
  }
  if (o.withProfiles) {
    for (const prof of profileIds) {
      rules.push({ rule: `jump ${profileChain(prof, pdir)}`, comment: `profile ${prof}` });
      rules.push({ rule: ACCEPTED });
    }
    rules.push({ rule: 'drop', comment: `no profile allowed: ${o.dropLabel}` });
  }
  return rules;
}
