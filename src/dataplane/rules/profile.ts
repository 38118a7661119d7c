/**
 * Profile chains (Felix's cali-pri-/cali-pro-), pure. Policies have no chains of their own: their rules are
 * inlined into tier chains (tier.ts). With flow logs on, each Allow, Deny or Pass rule counts and logs its
 * verdict to NFLOG with Calico's profile prefix (`<A>R<D><rule index>|<profile>`).
 */
import type { ProfileMsg, RuleMsg } from '../../calc/messages.js';
import { nflogGroup, renderNflogPrefix } from '../../model/nflog-prefix.js';
import type { ChainSpec, NftRule } from '../nftables/model.js';
import { profileChain } from './names.js';
import { expandLogPrefix, renderRule } from './rule.js';
import type { NflogTarget, RuleRenderOptions } from './rule.js';

function nflogOf(r: RuleMsg, id: string, direction: 'ingress' | 'egress'): NflogTarget | undefined {
  if (r.action === 'log') return undefined;
  const action = r.action === 'allow' ? 'Allow' : r.action === 'pass' ? 'Pass' : 'Deny';
  return {
    prefix: renderNflogPrefix({
      kind: 'rule',
      action,
      owner: 'profile',
      direction,
      ruleIndex: r.index,
      policyId: id,
    }),
    group: nflogGroup(direction),
  };
}

function rulesOf(
  rules: readonly RuleMsg[],
  id: string,
  direction: 'ingress' | 'egress',
  opts: RuleRenderOptions,
): NftRule[] {
  const logOpts = { ...opts, logPrefix: expandLogPrefix(opts.logPrefix, { kind: 'profile', id }) };
  const out: NftRule[] = [];
  for (const r of rules) {
    const nflog = opts.flowLogs === true ? nflogOf(r, id, direction) : undefined;
    for (const body of renderRule(r, r.action === 'log' ? logOpts : opts, 'profile', undefined, nflog))
      out.push({ rule: body, comment: `profile ${id} rule ${r.index} ${r.action}` });
  }
  return out;
}

export function renderProfileChains(id: string, p: ProfileMsg, opts: RuleRenderOptions): ChainSpec[] {
  return [
    { name: profileChain(id, 'in'), rules: rulesOf(p.inboundRules, id, 'ingress', opts) },
    { name: profileChain(id, 'out'), rules: rulesOf(p.outboundRules, id, 'egress', opts) },
  ];
}
