import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  hashedPrefixLookup,
  isHashedNflogPrefix,
  nflogGroup,
  nflogGroupDirection,
  type NflogPrefix,
  ownerNflogPrefixes,
  tierNflogPrefixes,
  parseNflogPrefix,
  renderNflogPrefix,
} from './nflog-prefix.js';

const rule = (
  action: 'Allow' | 'Deny' | 'Pass',
  owner: 'policy' | 'profile',
  direction: 'ingress' | 'egress',
  ruleIndex: number,
  policyId: string,
): NflogPrefix => ({ kind: 'rule', action, owner, direction, ruleIndex, policyId });

// 52 and 53 characters: with `DPE88|gnp/` / `DPI88|gnp/` in front the raw prefix is 62 / 63 bytes.
const chars62 = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ';
const chars63 = `${chars62}0`;
const longName = 'this-is-still-quite-a-long-tier-name-even-though-its-not-required.quite-a-long-policy-name';

describe('NFLOG prefixes (vectors of felix/rules/nflogprefix_test.go)', () => {
  const vectors: [NflogPrefix, string][] = [
    [
      rule('Allow', 'policy', 'ingress', 0, 'np/namespace1/default.policy'),
      'API0|np/namespace1/default.policy',
    ],
    [rule('Pass', 'profile', 'egress', 999, 'short.profile.name'), 'PRE999|short.profile.name'],
    [rule('Deny', 'policy', 'egress', 88, `gnp/${chars62}`), `DPE88|gnp/${chars62}`],
    [
      rule('Deny', 'policy', 'ingress', 88, `gnp/${chars63}`),
      'DPI88|gnp/_12IXaBPahNM7a7dZhI8zg6PStmHsgneYaax8LVSIq_RSTUVWXYZ0',
    ],
    [
      rule('Deny', 'policy', 'egress', 1, `gnp/${longName}`),
      'DPE1|gnp/t_FSGxA9eGa6t_A5Rj2agPvl4aq8-eohq0An6xEW4n7_olicy-name',
    ],
    [
      rule('Deny', 'policy', 'egress', 2, `gnp/${longName}2`),
      'DPE2|gnp/t_G4MaamO0BQNQg8Ibyy-r9qg2HIK8-7EaPOVzsy5Nv_licy-name2',
    ],
    [{ kind: 'endOfTier', action: 'Deny', direction: 'egress', tier: 'tier-1' }, 'DPE|tier-1'],
    [
      { kind: 'endOfTier', action: 'Deny', direction: 'ingress', tier: `tier-${'0123456789'.repeat(5)}012` },
      `DPI|tier-${'0123456789'.repeat(5)}012`,
    ],
    [
      { kind: 'endOfTier', action: 'Deny', direction: 'ingress', tier: `tier-${'0123456789'.repeat(5)}0123` },
      'DPI|tier-0_phEfG4Vhbq2xh4TQsePNa2X9YRj5peCVw1FgaNSbd_4567890123',
    ],
    [{ kind: 'endOfTier', action: 'Pass', direction: 'ingress', tier: 'staged' }, 'PPI|staged'],
    [{ kind: 'noProfileMatch', direction: 'ingress' }, 'DRI'],
    [{ kind: 'noProfileMatch', direction: 'egress' }, 'DRE'],
  ];

  it('render exactly as Felix does, hashing at 63 bytes and longer', () => {
    for (const [p, text] of vectors) {
      const got = renderNflogPrefix(p);
      assert.equal(got, text);
      assert.equal(isHashedNflogPrefix(got), got.length === 63, got);
      assert.ok(got.length <= 63);
    }
  });

  it('parse back: unhashed directly, hashed only through the lookup of known prefixes', () => {
    const lookup = hashedPrefixLookup(vectors.map(([p]) => p));
    assert.equal(lookup.size, 4);
    for (const [p, text] of vectors) {
      assert.deepEqual(parseNflogPrefix(text, lookup), p, text);
      if (isHashedNflogPrefix(text)) assert.equal(parseNflogPrefix(text), undefined, text);
    }
  });

  it('reject what is not a Calico prefix', () => {
    for (const bad of [
      '',
      'calico-packet',
      'AXI0|x',
      'AP0|x',
      'API|',
      'APIx|gnp/a',
      'API01|gnp/a',
      'DR',
      'DRX',
      'APE0',
      'ARI-1|p',
    ]) {
      assert.equal(parseNflogPrefix(bad), undefined, bad);
    }
  });

  it('round-trip any rule, end of tier and profile miss (property)', () => {
    const name = fc.stringMatching(/^[a-z0-9]([a-z0-9.-]{0,70}[a-z0-9])?$/);
    const prefix: fc.Arbitrary<NflogPrefix> = fc.oneof(
      fc.record({
        kind: fc.constant('rule' as const),
        action: fc.constantFrom('Allow' as const, 'Deny' as const, 'Pass' as const),
        owner: fc.constantFrom('policy' as const, 'profile' as const),
        direction: fc.constantFrom('ingress' as const, 'egress' as const),
        ruleIndex: fc.nat({ max: 5000 }),
        policyId: fc.oneof(
          name.map((n) => `gnp/${n}`),
          fc.tuple(name, name).map(([ns, n]) => `np/${ns}/${n}`),
          name,
        ),
      }),
      fc.record({
        kind: fc.constant('endOfTier' as const),
        action: fc.constantFrom('Deny' as const, 'Pass' as const),
        direction: fc.constantFrom('ingress' as const, 'egress' as const),
        tier: name,
      }),
      fc.record({
        kind: fc.constant('noProfileMatch' as const),
        direction: fc.constantFrom('ingress' as const, 'egress' as const),
      }),
    );
    fc.assert(
      fc.property(prefix, (p) => {
        const text = renderNflogPrefix(p);
        assert.ok(text.length < 64);
        assert.deepEqual(parseNflogPrefix(text, hashedPrefixLookup([p])), { ...p });
      }),
      { numRuns: 500 },
    );
  });

  it('list what a policy, a profile and a tier can log, for the hashed lookup', () => {
    const rules = [
      { index: 0, action: 'allow' as const },
      { index: 1, action: 'log' as const },
      { index: 2, action: 'pass' as const },
    ];
    assert.deepEqual(
      ownerNflogPrefixes('policy', 'gnp/a', rules, [{ index: 0, action: 'deny' }]).map(renderNflogPrefix),
      ['API0|gnp/a', 'PPI2|gnp/a', 'DPE0|gnp/a'],
    );
    assert.deepEqual(ownerNflogPrefixes('profile', 'kns.x', rules, []).map(renderNflogPrefix), [
      'ARI0|kns.x',
      'PRI2|kns.x',
    ]);
    assert.deepEqual(tierNflogPrefixes('t').map(renderNflogPrefix), ['DPI|t', 'PPI|t', 'DPE|t', 'PPE|t']);
  });

  it('map directions to groups 1 (inbound) and 2 (outbound)', () => {
    assert.equal(nflogGroup('ingress'), 1);
    assert.equal(nflogGroup('egress'), 2);
    assert.equal(nflogGroupDirection(1), 'ingress');
    assert.equal(nflogGroupDirection(2), 'egress');
    assert.equal(nflogGroupDirection(3), undefined);
  });
});
