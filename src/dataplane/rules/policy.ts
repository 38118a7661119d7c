/** Policy and profile chains (Felix's cali-pi-/cali-po-/cali-pri-/cali-pro-), pure. */
import type { PolicyMsg, ProfileMsg, RuleMsg } from '../../calc/messages.js';
import type { ChainSpec, NftRule } from '../nftables/model.js';
import { policyChain, profileChain } from './names.js';
import type { Layer } from './names.js';
import { renderRule } from './rule.js';
import type { RuleRenderOptions } from './rule.js';

function rulesOf(rules: readonly RuleMsg[], owner: string, opts: RuleRenderOptions): NftRule[] {
  const out: NftRule[] = [];
  for (const r of rules) {
    for (const body of renderRule(r, opts))
      out.push({ rule: body, comment: `${owner} rule ${r.index} ${r.action}` });
  }
  return out;
}

/** The layer a policy's chains live in: untracked -> raw, preDNAT -> mangle, else filter. */
export function policyLayer(p: PolicyMsg): Layer {
  return p.untracked ? 'raw' : p.preDnat ? 'mangle' : 'filter';
}

export function renderPolicyChains(id: string, p: PolicyMsg, opts: RuleRenderOptions): ChainSpec[] {
  const layer = policyLayer(p);
  return [
    { name: policyChain(layer, id, 'in'), rules: rulesOf(p.inboundRules, id, opts) },
    { name: policyChain(layer, id, 'out'), rules: rulesOf(p.outboundRules, id, opts) },
  ];
}

export function renderProfileChains(id: string, p: ProfileMsg, opts: RuleRenderOptions): ChainSpec[] {
  return [
    { name: profileChain(id, 'in'), rules: rulesOf(p.inboundRules, `profile ${id}`, opts) },
    { name: profileChain(id, 'out'), rules: rulesOf(p.outboundRules, `profile ${id}`, opts) },
  ];
}
