/**
 * Profile chains (Felix's cali-pri-/cali-pro-), pure. Policies have no chains of their own: their rules are
 * inlined into tier chains (tier.ts).
 */
import type { ProfileMsg, RuleMsg } from '../../calc/messages.js';
import type { ChainSpec, NftRule } from '../nftables/model.js';
import { profileChain } from './names.js';
import { expandLogPrefix, renderRule } from './rule.js';
import type { RuleRenderOptions } from './rule.js';

function rulesOf(rules: readonly RuleMsg[], id: string, opts: RuleRenderOptions): NftRule[] {
  const logOpts = { ...opts, logPrefix: expandLogPrefix(opts.logPrefix, { kind: 'profile', id }) };
  const out: NftRule[] = [];
  for (const r of rules) {
    for (const body of renderRule(r, r.action === 'log' ? logOpts : opts))
      out.push({ rule: body, comment: `profile ${id} rule ${r.index} ${r.action}` });
  }
  return out;
}

export function renderProfileChains(id: string, p: ProfileMsg, opts: RuleRenderOptions): ChainSpec[] {
  return [
    { name: profileChain(id, 'in'), rules: rulesOf(p.inboundRules, id, opts) },
    { name: profileChain(id, 'out'), rules: rulesOf(p.outboundRules, id, opts) },
  ];
}
