import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseNflogPrefix } from '../model/nflog-prefix.js';
import { decider, gnp, np, ns, pod, sgnp, tier } from '../policy/testing.js';
import {
  hitFromString,
  hitToString,
  nflogTraceContext,
  policyKindOfShort,
  shortOfPolicyKind,
  traceFromNflog,
  tracesFromDecision,
} from './policy-hits.js';
import type { PolicyHit } from './types.js';

const TCP = 6;

describe('policy hit strings (vectors of goldmane/proto/methods_test.go)', () => {
  it('round-trip every valid form, end of tier and profiles included', () => {
    for (const s of [
      '0|tier|gnp:name|allow|0',
      '1|tier|sgnp:name.with.dots|deny|2',
      '0|kube-admin|kcnp:name|deny|1',
      '0|tier|np:namespace/tier.name|allow|1',
      '0|tier1|np:default/tier1.np1-1|pass|0',
      '0|default|knp:namespace/name|allow|2',
      '1|tier|snp:namespace/name|deny|0',
      '1|default|sknp:namespace/name|deny|3',
      '3|kube-admin|kcnp:name.with.dots|pass|4',
      '1|__PROFILE__|pro:kns.default|allow|0',
      '1|__PROFILE__|pro:ksa.svcacct|allow|0',
      '0|tier1|np:ns1/tier1.policy1|deny|-1',
      '2|kube-admin|gnp:kube-admin.policy1|allow|-1',
      '1|tier2|snp:default/np2-1|deny|-1',
    ])
      assert.equal(hitToString(hitFromString(s)), s);
  });

  it('read into Goldmane message fields', () => {
    assert.deepEqual(hitFromString('0|default|knp:namespace/name|allow|2'), {
      kind: 'NetworkPolicy',
      namespace: 'namespace',
      name: 'name',
      tier: 'default',
      action: 'Allow',
      policy_index: 0,
      rule_index: 2,
      trigger: null,
    });
    const profile = hitFromString('1|__PROFILE__|pro:kns.default|allow|0');
    assert.equal(profile.kind, 'Profile');
    assert.equal(profile.tier, '');
    const eot = hitFromString('0|tier1|np:ns1/tier1.policy1|deny|-1');
    assert.equal(eot.kind, 'EndOfTier');
    assert.equal(eot.name, '');
    assert.equal(eot.rule_index, -1);
    assert.deepEqual(
      [eot.trigger?.kind, eot.trigger?.namespace, eot.trigger?.name, eot.trigger?.tier],
      ['CalicoNetworkPolicy', 'ns1', 'tier1.policy1', 'tier1'],
    );
  });

  it('refuse the invalid forms', () => {
    for (const s of [
      '1|tier|sgnp:tier.name|deny|notInt',
      'notint|kube-baseline|kcnp:name|deny|2',
      '0|tier|gnp:tier.name|allow|0|extra',
      '1|tier|gnp:invalid-ch@aracter|deny|2',
      '1|_|snp:namespace/tier.name|deny|0',
      '0|@kube-baseline|kcnp:policy1|allow|-1',
      '0|kube-admin|kcnp:name|badaction|1',
      '0||np:namespace/name|allow|1',
      '0|tier1|np:namespace/|pass|0',
      '1|___PROFILE__|pro:kns.default|allow|0',
      '1|__PROFILE__|pro:PSA.svcacct|allow|0',
      '0|tier|xyz:name|allow|0',
    ])
      assert.throws(() => hitFromString(s), Error, s);
    const global: PolicyHit = { ...hitFromString('0|tier|gnp:name|allow|0'), namespace: 'ns' };
    assert.throws(() => hitToString(global), /global policy/);
    const eot: PolicyHit = { ...hitFromString('0|t|gnp:name|deny|-1'), trigger: null };
    assert.throws(() => hitToString(eot), /missing trigger/);
  });

  it('map every Felix short kind both ways', () => {
    for (const s of ['gnp', 'np', 'knp', 'snp', 'sgnp', 'sknp', 'kcnp', 'pro']) {
      const k = policyKindOfShort(s);
      assert.ok(k !== undefined, s);
      assert.equal(shortOfPolicyKind(k), s);
    }
    assert.equal(policyKindOfShort('toString'), undefined);
  });
});

const strings = (hits: readonly PolicyHit[]): string[] => hits.map(hitToString);

describe('traces from NFLOG prefixes', () => {
  const ctx = nflogTraceContext([
    { name: 'security', policyIds: ['gnp/sec-a', 'gnp/sec-b'] },
    { name: 'default', policyIds: ['np/prod/allow-web', 'knp/prod/np1'] },
  ]);
  const trace = (...prefixes: string[]): string[] =>
    strings(
      traceFromNflog(
        prefixes.map((p) => {
          const parsed = parseNflogPrefix(p);
          assert.ok(parsed !== undefined, p);
          return parsed;
        }),
        ctx,
      ),
    );

  it('a Pass then an Allow in the next tier', () => {
    assert.deepEqual(trace('PPI0|gnp/sec-a', 'API1|np/prod/allow-web'), [
      '0|security|gnp:sec-a|pass|0',
      '1|default|np:prod/allow-web|allow|1',
    ]);
  });

  it("an end of tier names the tier's last policy and stops the trace", () => {
    assert.deepEqual(trace('PPE0|gnp/sec-b', 'DPE|default', 'API1|np/prod/allow-web'), [
      '0|security|gnp:sec-b|pass|0',
      '1|default|knp:prod/np1|deny|-1',
    ]);
  });

  it('profiles, the no-profile drop and a staged-only tier end (left out)', () => {
    assert.deepEqual(trace('PPI|staged-only', 'ARI0|kns.prod'), ['0|__PROFILE__|pro:kns.prod|allow|0']);
    assert.deepEqual(strings(traceFromNflog([{ kind: 'noProfileMatch', direction: 'ingress' }], ctx)), [
      '0|__PROFILE__|pro:__NO_MATCH__|deny|0',
    ]);
  });

  it('a default-Pass tier end is kept, as Felix reports it', () => {
    assert.deepEqual(trace('PPI|security', 'DPI0|knp/prod/np1'), [
      '0|security|gnp:sec-b|pass|-1',
      '1|default|knp:prod/np1|deny|0',
    ]);
  });

  it('the next packet (a retransmission) adds nothing', () => {
    assert.deepEqual(trace('DPI0|gnp/sec-a', 'DPI0|gnp/sec-a'), ['0|security|gnp:sec-a|deny|0']);
  });
});

describe('traces from the evaluator', () => {
  const base = [ns('prod', { env: 'prod' }), ns('dev', { env: 'dev' })];
  const web = pod('prod', 'web', '10.0.0.10', { app: 'web' });
  const client = pod('dev', 'client', '10.0.1.10', { app: 'client' });
  const security = tier('security', 100);
  const sec = gnp('sec-web', {
    tier: 'security',
    order: 10,
    selector: "app == 'web'",
    types: ['Ingress'],
    ingress: [{ action: 'Pass', source: { namespaceSelector: "env == 'dev'" } }],
  });
  const allow = np('prod', 'allow-dev', {
    selector: "app == 'web'",
    types: ['Ingress'],
    ingress: [{ action: 'Allow', destination: { ports: [80] } }],
  });
  const staged = sgnp('lockdown', {
    order: 1,
    selector: "app == 'web'",
    types: ['Ingress'],
    ingress: [{ action: 'Deny', destination: { ports: [80] } }],
  });
  const decide = decider([...base, web, client, security, sec, allow, staged]);

  it('enforced: Pass, then the deciding Allow; pending: the staged Deny decides', () => {
    const t = tracesFromDecision(decide('10.0.1.10', '10.0.0.10', TCP, 80), 'ingress');
    assert.deepEqual(strings(t.enforced), [
      '0|security|gnp:sec-web|pass|0',
      '1|default|np:prod/allow-dev|allow|0',
    ]);
    assert.deepEqual(strings(t.pending), ['0|security|gnp:sec-web|pass|0', '1|default|sgnp:lockdown|deny|0']);
  });

  it('end of tier and profiles', () => {
    const denied = tracesFromDecision(decide('10.0.1.10', '10.0.0.10', TCP, 81), 'ingress');
    assert.deepEqual(strings(denied.enforced), [
      '0|security|gnp:sec-web|pass|0',
      '1|default|np:prod/allow-dev|deny|-1',
    ]);
    assert.deepEqual(strings(denied.pending), [
      '0|security|gnp:sec-web|pass|0',
      '1|default|np:prod/allow-dev|deny|-1',
    ]);
    const egress = tracesFromDecision(decide('10.0.1.10', '10.0.0.10', TCP, 80), 'egress');
    assert.deepEqual(strings(egress.enforced), ['0|__PROFILE__|pro:kns.dev|allow|0']);
  });
});
