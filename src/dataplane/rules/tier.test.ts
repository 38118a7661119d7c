import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { PolicyMsg, RuleMsg } from '../../calc/messages.js';
import { EMPTY_RULE } from '../../calc/testing.js';
import { tierChainRef } from './endpoints.js';
import { DEFAULT_RULE_OPTIONS } from './rule.js';
import { renderTierChain, renderTierChains } from './tier.js';

const R: RuleMsg = EMPTY_RULE;
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

  it('a Log rule logs with its own policy and tier in the prefix', () => {
    const policies = new Map([
      ['np/shop/a', pol([{ ...R, action: 'log' }])],
      ['gnp/b', pol([{ ...R, action: 'log' }])],
    ]);
    const opts = { ...DEFAULT_RULE_OPTIONS, logPrefix: '%t:%p' };
    const rules = renderTierChain(ref(['np/shop/a', 'gnp/b']), policies, opts).map((r) => r.rule);
    assert.match(
      rules[0] ?? '',
      /^log prefix "default:shop\/a: " level info log prefix "default:shop\/a: " group 20$/,
    );
    assert.match(rules[1] ?? '', /^log prefix "default:b: " level info/);
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

  it('puts long merged address lists into named sets of the tier chain, one per list and family', () => {
    const policies = new Map<string, PolicyMsg>();
    const ids: string[] = [];
    for (let i = 0; i < 2000; i++) {
      ids.push(`gnp/p${i}`);
      const nets = [`203.${i >> 8}.${i & 255}.1/32`, ...(i % 2 === 0 ? [`fd00::${i.toString(16)}/128`] : [])];
      policies.set(`gnp/p${i}`, pol([{ ...R, action: 'deny', srcNets: nets }]));
    }
    // Short lists stay inline.
    policies.set('gnp/few', pol([{ ...R, srcNets: ['10.0.0.0/8', '10.1.0.0/16'] }]));
    ids.push('gnp/few');
    const name = ref(ids).name;
    const { chains, sets } = renderTierChains(ref(ids), policies, DEFAULT_RULE_OPTIONS, 24);
    assert.deepEqual(
      chains.map((c) => c.rules.map((r) => (typeof r === 'string' ? r : r.rule))),
      [
        [
          `ip saddr @${name}-n0 drop`,
          `ip6 saddr @${name}-n1 drop`,
          'ip saddr { 10.0.0.0/8, 10.1.0.0/16 } meta mark set meta mark | 0x00010000 return',
          'drop',
        ],
      ],
    );
    assert.deepEqual(
      sets.map((s) => [s.name, s.type, s.interval, s.elements.length]),
      [
        [`${name}-n0`, 'ipv4_addr', true, 2000],
        [`${name}-n1`, 'ipv6_addr', true, 1000],
      ],
    );
  });
});

describe('tier chain dispatch by protocol and port', () => {
  it('leaves a small tier linear', () => {
    const policies = new Map([['gnp/a', pol([{ ...R, protocol: 6, dstPorts: [{ first: 80, last: 80 }] }])]]);
    const { chains } = renderTierChains(ref(['gnp/a']), policies, DEFAULT_RULE_OPTIONS, 24);
    assert.equal(chains.length, 1);
  });

  it('classifies a large tier; every bucket keeps exactly the rules that can match it, in order', () => {
    const policies = new Map<string, PolicyMsg>();
    const ids: string[] = [];
    for (let i = 0; i < 30; i++) {
      ids.push(`gnp/p${i}`);
      policies.set(
        `gnp/p${i}`,
        pol([
          { ...R, protocol: 6, srcIpSetIds: [`s:c${i}`], dstPorts: [{ first: 1000 + i, last: 1000 + i }] },
          { ...R, protocol: 17, dstIpSetIds: ['s:dns'], dstPorts: [{ first: 53, last: 53 }] },
        ]),
      );
      if (i === 4) {
        ids.push('gnp/guard');
        policies.set('gnp/guard', pol([{ ...R, action: 'deny', srcIpSetIds: ['s:bad'] }]));
      }
    }
    const { chains, maps } = renderTierChains(ref(ids), policies, DEFAULT_RULE_OPTIONS, 24);
    const byName = new Map(
      chains.map((c) => [c.name, c.rules.map((r) => (typeof r === 'string' ? r : r.rule))]),
    );
    const root = byName.get(ref(ids).name) ?? [];
    assert.match(root[0] ?? '', /^meta l4proto vmap \{ 6 : goto \S+-6, 17 : goto \S+-17 \}$/);
    assert.match(root[1] ?? '', /^goto \S+-o$/);
    const tcp = byName.get(`${ref(ids).name}-6`) ?? [];
    assert.deepEqual(tcp, [`th dport vmap @${ref(ids).name}-6-p`, `goto ${ref(ids).name}-6-0`]);
    const portMap = maps.find((m) => m.name === `${ref(ids).name}-6-p`);
    assert.ok(portMap !== undefined);
    assert.equal(portMap.keyType, 'inet_service');
    assert.equal(portMap.elements.get('1000'), `goto ${ref(ids).name}-6-1`);
    assert.equal(portMap.elements.get('1001'), `goto ${ref(ids).name}-6-2`);
    assert.equal(portMap.elements.size, 30);
    // Port 1002's leaf: its own rule; the protocol-less guard (policy order: after p4) comes after it.
    const leaf2 = byName.get(`${ref(ids).name}-6-3`) ?? [];
    assert.ok(leaf2.some((r) => r.includes('@cali40s-c2 ')));
    assert.ok(!leaf2.some((r) => r.includes('@cali40s-c3 ')), 'rules for other ports are not in this leaf');
    const idx = (rules: string[], s: string): number => rules.findIndex((r) => r.includes(s));
    assert.ok(idx(leaf2, '@cali40s-c2 ') < idx(leaf2, '@cali40s-bad '), 'original order kept');
    // Port 1010's leaf: the guard comes first (p10 is after it).
    const leaf10 = byName.get(`${ref(ids).name}-6-11`) ?? [];
    assert.ok(idx(leaf10, '@cali40s-bad ') < idx(leaf10, '@cali40s-c10 '));
    assert.equal(leaf10.at(-1), 'drop');
    // Other protocols only see the protocol-less rule (v4, v6) and the tier end.
    assert.equal((byName.get(`${ref(ids).name}-o`) ?? []).length, 3);
  });

  it('groups named ports into a bounded number of leaves when port-less rules would be copied into too many', () => {
    const policies = new Map<string, PolicyMsg>();
    const ids: string[] = [];
    for (let i = 0; i < 200; i++) {
      ids.push(`gnp/p${i}`);
      policies.set(
        `gnp/p${i}`,
        pol([
          { ...R, protocol: 6, dstPorts: [{ first: 1000 + i, last: 1000 + i }] },
          { ...R, action: 'deny', srcIpSetIds: [`s:b${i}`] },
        ]),
      );
    }
    const { chains, maps } = renderTierChains(ref(ids), policies, DEFAULT_RULE_OPTIONS, 24);
    const name = ref(ids).name;
    // 400 TCP rules, 200 port-less: at most 16 x 400 + 256 copies, so 32 groups of 7 ports (29 groups).
    const entries = [...(maps.find((m) => m.name === `${name}-6-p`)?.elements ?? [])];
    assert.equal(entries.length, 29);
    assert.deepEqual(entries[0], ['1000-1006', `goto ${name}-6-1`]);
    assert.deepEqual(entries[28], ['1196-1199', `goto ${name}-6-29`]);
    const rules = new Map(
      chains.map((c) => [c.name, c.rules.map((r) => (typeof r === 'string' ? r : r.rule))]),
    );
    // A group leaf: the port-less rules (each deny twice: v4 and v6), its own 7 port rules, the tier end.
    const leaf1 = rules.get(`${name}-6-1`) ?? [];
    assert.equal(leaf1.length, 400 + 7 + 1);
    assert.deepEqual(
      leaf1.flatMap((r) => /dport (\d+)/.exec(r)?.[1] ?? []),
      ['1000', '1001', '1002', '1003', '1004', '1005', '1006'],
    );
    assert.equal(rules.get(`${name}-6-29`)?.filter((r) => r.includes('dport')).length, 4);
    // Leaf 0 (ports no rule names): only the port-less rules.
    const leaf0 = rules.get(`${name}-6-0`) ?? [];
    assert.equal(leaf0.length, 400 + 1);
    assert.ok(leaf0.every((r) => !r.includes('dport')));
  });
});
