import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ModelInput } from '../model/inputs.js';
import { renderNflogPrefix } from '../model/nflog-prefix.js';
import { decider, ns, pod } from '../policy/testing.js';
import { hitFromString, hitToString, policyFromId, tracesFromDecision } from './policy-hits.js';
import type { PolicyHit } from './types.js';

const strings = (hits: readonly PolicyHit[]): string[] => hits.map(hitToString);
const TCP = 6;
const house = (h: string) => ({ namespaces: { matchLabels: { house: h } } });

const base: ModelInput[] = [
  ns('x', { house: 'x' }),
  ns('y', { house: 'y' }),
  pod('x', 'a', '10.0.0.1'),
  pod('y', 'b', '10.0.0.2'),
];

describe('flow traces of admin policies', () => {
  it('name ANP, BANP and CNP hits with kanp, kbanp and kcnp in the kube tiers', () => {
    const anp: ModelInput = {
      apiVersion: 'policy.networking.k8s.io/v1alpha1',
      kind: 'AdminNetworkPolicy',
      metadata: { name: 'pass-x' },
      spec: { priority: 1, subject: house('y'), ingress: [{ action: 'Pass', from: [house('x')] }] },
    };
    const banp: ModelInput = {
      apiVersion: 'policy.networking.k8s.io/v1alpha1',
      kind: 'BaselineAdminNetworkPolicy',
      metadata: { name: 'default' },
      spec: {
        subject: house('y'),
        ingress: [
          { action: 'Allow', from: [house('z')] },
          { action: 'Deny', from: [house('x')] },
        ],
      },
    };
    const cnp: ModelInput = {
      apiVersion: 'policy.networking.k8s.io/v1alpha2',
      kind: 'ClusterNetworkPolicy',
      metadata: { name: 'guard' },
      spec: {
        tier: 'Admin',
        priority: 0,
        subject: house('x'),
        egress: [
          { action: 'Deny', to: [house('z')] },
          { action: 'Accept', to: [house('y')] },
        ],
      },
    };
    const d = decider([...base, anp, banp, cnp])('10.0.0.1', '10.0.0.2', TCP, 80);
    assert.equal(d.verdict, 'Deny');
    assert.deepEqual(strings(tracesFromDecision(d, 'egress').enforced), ['0|kube-admin|kcnp:guard|allow|1']);
    assert.deepEqual(strings(tracesFromDecision(d, 'ingress').enforced), [
      '0|kube-admin|kanp:pass-x|pass|0',
      '1|kube-baseline|kbanp:default|deny|1',
    ]);
    for (const s of ['0|kube-admin|kanp:pass-x|pass|0', '1|kube-baseline|kbanp:default|deny|1']) {
      assert.equal(hitToString(hitFromString(s)), s);
    }
    assert.deepEqual(policyFromId('kbanp/default'), {
      kind: 'BaselineAdminNetworkPolicy',
      namespace: '',
      name: 'default',
    });
    assert.equal(
      renderNflogPrefix({
        kind: 'rule',
        action: 'Deny',
        owner: 'policy',
        direction: 'egress',
        ruleIndex: 0,
        policyId: 'kcnp/guard',
      }),
      'DPE0|kcnp/guard',
    );
  });
});
