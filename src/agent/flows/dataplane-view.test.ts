import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { DataplaneMessage, RuleMsg } from '../../calc/messages.js';
import { renderNflogPrefix, type NflogPrefix } from '../../model/nflog-prefix.js';
import { FlowDataplaneView } from './dataplane-view.js';

const LONG = 'knp/a/allow-ns-b-via-namespace-selector-or-client-b-via-pod-selector';
const rule = (action: RuleMsg['action'], index: number): RuleMsg => ({ action, index }) as RuleMsg;

const msgs: DataplaneMessage[] = [
  {
    kind: 'activePolicyUpdate',
    id: LONG,
    policy: {
      tier: 'default',
      inboundRules: [rule('allow', 0), rule('log', 1), rule('allow', 2)],
      outboundRules: [],
      untracked: false,
      preDnat: false,
      applyOnForward: false,
    },
  },
  {
    kind: 'workloadEndpointUpdate',
    id: 'wep/a/node1-k8s-server-eth0',
    endpoint: {
      namespace: 'a',
      name: 'node1-k8s-server-eth0',
      display: 'a/server',
      interfaceName: 'cali1',
      ipv4Nets: ['10.65.0.3/32'],
      ipv6Nets: ['fd00::3/128'],
      tiers: [
        {
          name: 'a-tier-with-a-rather-long-name-for-the-hashing-purposes-only',
          defaultAction: 'deny',
          ingressPolicies: [LONG],
          egressPolicies: [],
        },
      ],
      profileIds: ['kns.a'],
    },
  },
];

describe('FlowDataplaneView', () => {
  const view = new FlowDataplaneView();
  view.onMessages(msgs);

  it('reads hashed prefixes back through the prefixes the active rules and tiers render', () => {
    const allow: NflogPrefix = {
      kind: 'rule',
      action: 'Allow',
      owner: 'policy',
      direction: 'ingress',
      ruleIndex: 2,
      policyId: LONG,
    };
    const eot: NflogPrefix = {
      kind: 'endOfTier',
      action: 'Deny',
      direction: 'ingress',
      tier: 'a-tier-with-a-rather-long-name-for-the-hashing-purposes-only',
    };
    for (const p of [allow, eot]) {
      const text = renderNflogPrefix(p);
      assert.equal(text.length, 63, 'hashed');
      assert.deepEqual(view.parsePrefix(text), p);
    }
    assert.equal(view.parsePrefix(renderNflogPrefix({ ...allow, policyId: `${LONG}-unknown` })), undefined);
  });

  it('finds the local endpoint by any of its addresses and gives its tiers per direction', () => {
    assert.equal(view.localEndpoint('fd00::3')?.interfaceName, 'cali1');
    assert.equal(view.localEndpoint('10.65.0.4'), undefined);
    assert.equal(
      view.traceContext('10.65.0.3', 'ingress').tierOf(LONG),
      'a-tier-with-a-rather-long-name-for-the-hashing-purposes-only',
    );
    assert.equal(view.traceContext('10.65.0.3', 'egress').tierOf(LONG), undefined);
    view.onMessages([{ kind: 'workloadEndpointRemove', id: 'wep/a/node1-k8s-server-eth0' }]);
    assert.equal(view.localEndpoint('10.65.0.3'), undefined);
  });
});
