import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { DataplaneMessage } from '../calc/messages.js';
import { policy, rule } from '../dataplane/testing/dataplane.js';
import { renderNflogPrefix } from '../model/nflog-prefix.js';
import { PolicySeriesResolver, seriesLabels } from './policy-metrics-series.js';

const LONG = 'np/a-rather-long-namespace-name/a-policy-name-that-is-long-too';

function resolver(): PolicySeriesResolver {
  const r = new PolicySeriesResolver();
  const msgs: DataplaneMessage[] = [
    {
      kind: 'activePolicyUpdate',
      id: 'gnp/allow-dns',
      policy: { ...policy([], [rule({ action: 'allow', index: 0 })]), tier: 'security' },
    },
    {
      kind: 'activePolicyUpdate',
      id: 'knp/web/deny-all',
      policy: policy([rule({ action: 'log', index: 0 }), rule({ action: 'deny', index: 1 })]),
    },
    { kind: 'activePolicyUpdate', id: LONG, policy: policy([rule({ action: 'deny', index: 3 })]) },
    {
      kind: 'activeProfileUpdate',
      id: 'kns.web',
      profile: { inboundRules: [rule({ action: 'allow', index: 0 })], outboundRules: [] },
    },
  ];
  r.onMessages(msgs);
  return r;
}

function labelsOf(keys: string[] | undefined): unknown[] {
  return (keys ?? []).map((k) => seriesLabels(k));
}

describe('PolicySeriesResolver', () => {
  test('policy rules: tier from the active policy, kind, namespace and name from its id', () => {
    const r = resolver();
    assert.deepEqual(labelsOf(r.series('APE0|gnp/allow-dns', 'egress')), [
      {
        kind: 'rule',
        labels: {
          tier: 'security',
          kind: 'gnp',
          namespace: '',
          policy: 'allow-dns',
          rule_index: '0',
          rule_direction: 'egress',
          action: 'allow',
        },
      },
    ]);
    // A deny also feeds the policy's denied series.
    assert.deepEqual(labelsOf(r.series('DPI1|knp/web/deny-all', 'ingress')), [
      {
        kind: 'rule',
        labels: {
          tier: 'default',
          kind: 'knp',
          namespace: 'web',
          policy: 'deny-all',
          rule_index: '1',
          rule_direction: 'ingress',
          action: 'deny',
        },
      },
      { kind: 'denied', labels: { tier: 'default', kind: 'knp', namespace: 'web', policy: 'deny-all' } },
    ]);
  });

  test('profiles, end of tier and no profile matched', () => {
    const r = resolver();
    assert.deepEqual(labelsOf(r.series('ARI0|kns.web', 'ingress'))[0], {
      kind: 'rule',
      labels: {
        tier: '__PROFILE__',
        kind: 'pro',
        namespace: '',
        policy: 'kns.web',
        rule_index: '0',
        rule_direction: 'ingress',
        action: 'allow',
      },
    });
    assert.deepEqual(labelsOf(r.series('DPE|security', 'egress')), [
      {
        kind: 'rule',
        labels: {
          tier: 'security',
          kind: 'eot',
          namespace: '',
          policy: '',
          rule_index: '-1',
          rule_direction: 'egress',
          action: 'deny',
        },
      },
      { kind: 'denied', labels: { tier: 'security', kind: 'eot', namespace: '', policy: '' } },
    ]);
    assert.equal(
      labelsOf(r.series('PPI|staged-only', 'ingress')).length,
      1,
      'an end-of-tier pass is no deny',
    );
    assert.deepEqual(labelsOf(r.series('DRI', 'ingress'))[1], {
      kind: 'denied',
      labels: { tier: '__PROFILE__', kind: 'pro', namespace: '', policy: '' },
    });
  });

  test('hashed prefixes resolve through the active policies’ rules', () => {
    const r = resolver();
    const hashed = renderNflogPrefix({
      kind: 'rule',
      action: 'Deny',
      owner: 'policy',
      direction: 'ingress',
      ruleIndex: 3,
      policyId: LONG,
    });
    assert.equal(hashed.length, 63);
    const [first] = labelsOf(r.series(hashed, 'ingress')) as { labels: Record<string, string> }[];
    assert.ok(first !== undefined);
    assert.equal(first.labels.policy, 'a-policy-name-that-is-long-too');
    assert.equal(first.labels.namespace, 'a-rather-long-namespace-name');
    assert.equal(first.labels.rule_index, '3');
  });

  test('unknown policies and profiles, other prefixes and a direction not the group’s resolve to nothing', () => {
    const r = resolver();
    for (const [prefix, dir] of [
      ['APE0|gnp/gone', 'egress'],
      ['ARI0|kns.gone', 'ingress'],
      ['APE0|gnp/allow-dns', 'ingress'],
      ['calico-packet', 'ingress'],
      [`DPI3|${'x'.repeat(58)}`, 'ingress'],
    ] as const)
      assert.equal(r.series(prefix, dir), undefined, prefix);
    r.onMessages([{ kind: 'activePolicyRemove', id: 'gnp/allow-dns' }]);
    assert.equal(r.series('APE0|gnp/allow-dns', 'egress'), undefined);
    const samples = r.samples([
      { chain: 'c', handle: 1, direction: 'ingress', prefix: 'DRI', packets: 1, bytes: 60 },
      { chain: 'c', handle: 2, direction: 'ingress', prefix: 'nonsense', packets: 1, bytes: 60 },
    ]);
    assert.equal(samples.length, 1);
    assert.equal(samples[0]?.rule, 'c#1');
    assert.equal(r.unresolved, 1);
  });
});
