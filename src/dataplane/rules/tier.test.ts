import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { PolicyMsg, RuleMsg } from '../../calc/messages.js';
import { tierChainRef } from './endpoints.js';
import { DEFAULT_RULE_OPTIONS } from './rule.js';
import { renderTierChain } from './tier.js';

const R: RuleMsg = {
  action: 'allow',
  index: 0,
  srcNets: [],
  notSrcNets: [],
  srcPorts: [],
  notSrcPorts: [],
  srcIpSetIds: [],
  notSrcIpSetIds: [],
  srcNamedPortIpSetIds: [],
  notSrcNamedPortIpSetIds: [],
  dstNets: [],
  notDstNets: [],
  dstPorts: [],
  notDstPorts: [],
  dstIpSetIds: [],
  notDstIpSetIds: [],
  dstNamedPortIpSetIds: [],
  notDstNamedPortIpSetIds: [],
};
const pol = (inbound: RuleMsg[]): PolicyMsg => ({
  tier: 'default',
  inboundRules: inbound,
  outboundRules: [],
  untracked: false,
  preDnat: false,
  applyOnForward: true,
});
const ref = (ids: string[], defaultAction: 'deny' | 'pass' = 'deny') =>
  tierChainRef(
    'filter',
    'ingress',
    { name: 'default', defaultAction, ingressPolicies: ids, egressPolicies: [] },
    true,
  )!;

describe('tier chains', () => {
  it('inline policies in order; Pass returns; the end of a Deny tier drops', () => {
    const policies = new Map([
      ['gnp/a', pol([{ ...R, action: 'pass', srcIpSetIds: ['s:x'] }])],
      ['gnp/b', pol([{ ...R, protocol: 6, dstPorts: [{ first: 80, last: 80 }] }])],
    ]);
    const rules = renderTierChain(ref(['gnp/a', 'gnp/b']), policies, DEFAULT_RULE_OPTIONS).map((r) => r.rule);
    assert.deepEqual(rules, [
      'ip saddr @cali40s-x return',
      'ip6 saddr @cali60s-x return',
      'meta l4proto 6 th dport 80 meta mark set meta mark | 0x00010000 return',
      'drop',
    ]);
    assert.deepEqual(
      renderTierChain(ref(['gnp/b'], 'pass'), policies, DEFAULT_RULE_OPTIONS)
        .map((r) => r.rule)
        .at(-1),
      'meta l4proto 6 th dport 80 meta mark set meta mark | 0x00010000 return',
    );
  });

  it('merges consecutive rules that differ only in nets or ports, across policies, keeping order', () => {
    const policies = new Map<string, PolicyMsg>();
    const ids: string[] = [];
    for (let i = 0; i < 20; i++) {
      ids.push(`gnp/p${i}`);
      policies.set(`gnp/p${i}`, pol([{ ...R, action: 'deny', protocol: 6, srcNets: [`203.0.113.${i}/32`] }]));
    }
    policies.set(
      'gnp/web',
      pol([
        { ...R, protocol: 6, dstPorts: [{ first: 80, last: 80 }] },
        { ...R, protocol: 6, dstPorts: [{ first: 81, last: 90 }] },
        { ...R, action: 'log' },
        { ...R, action: 'log' },
      ]),
    );
    ids.push('gnp/web');
    const out = renderTierChain(ref(ids), policies, DEFAULT_RULE_OPTIONS);
    assert.equal(
      out[0]?.rule,
      `meta l4proto 6 ip saddr { ${Array.from({ length: 20 }, (_, i) => `203.0.113.${i}/32`).join(', ')} } drop`,
    );
    assert.match(out.map((r) => r.comment ?? '').join('\n'), /gnp\/p0 rule 0 \+19 merged deny/);
    assert.equal(out[1]?.rule, 'meta l4proto 6 th dport 80-90 meta mark set meta mark | 0x00010000 return');
    // Log rules are never merged (each logs).
    assert.equal(out.filter((r) => r.rule.startsWith('log ')).length, 2);
    assert.equal(out.at(-1)?.rule, 'drop');
  });

  it('does not merge rules with different actions or other differing fields', () => {
    const policies = new Map([
      [
        'gnp/a',
        pol([
          { ...R, srcNets: ['10.0.0.0/8'] },
          { ...R, action: 'deny', srcNets: ['10.1.0.0/16'] },
          { ...R, srcNets: ['10.2.0.0/16'], protocol: 17 },
        ]),
      ],
    ]);
    const rules = renderTierChain(ref(['gnp/a']), policies, DEFAULT_RULE_OPTIONS).map((r) => r.rule);
    assert.equal(rules.length, 4);
  });

  it('names a chain by tier, default action and policy list, so equal endpoints share it', () => {
    assert.equal(ref(['gnp/a', 'gnp/b']).name, ref(['gnp/a', 'gnp/b']).name);
    assert.notEqual(ref(['gnp/a', 'gnp/b']).name, ref(['gnp/b', 'gnp/a']).name);
    assert.notEqual(ref(['gnp/a']).name, ref(['gnp/a'], 'pass').name);
    assert.match(ref(['gnp/a']).name, /^filter-cali-ti-/);
  });
});

describe('tier chain merge limits', () => {
  it('splits a long merged list into several rules that each stay short', () => {
    const policies = new Map<string, PolicyMsg>();
    const ids: string[] = [];
    for (let i = 0; i < 2000; i++) {
      ids.push(`gnp/p${i}`);
      policies.set(`gnp/p${i}`, pol([{ ...R, action: 'deny', srcNets: [`203.${i >> 8}.${i & 255}.1/32`] }]));
    }
    const out = renderTierChain(ref(ids), policies, DEFAULT_RULE_OPTIONS);
    assert.ok(out.length > 2 && out.length < 30, `${out.length} rules`);
    assert.ok(out.every((r) => r.rule.length < 8192));
    const nets = out.flatMap((r) => r.rule.match(/203\.\d+\.\d+\.1\/32/g) ?? []);
    assert.equal(new Set(nets).size, 2000);
  });
});
