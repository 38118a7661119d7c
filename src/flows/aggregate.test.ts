import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { aggregateFlows, protoName, walkAction, type FlowKeyContext } from './aggregate.js';
import type { FlowEndpoint } from './endpoints.js';
import type { FlowRecord } from './flow-table.js';
import type { NflogPrefix } from '../model/nflog-prefix.js';
import type { PolicyHit } from './types.js';

const allow: NflogPrefix = {
  kind: 'rule',
  action: 'Allow',
  owner: 'policy',
  direction: 'ingress',
  ruleIndex: 0,
  policyId: 'gnp/allow-web',
};
const tierDrop: NflogPrefix = { kind: 'endOfTier', action: 'Deny', direction: 'ingress', tier: 'default' };

function rec(srcPort: number, over: Partial<FlowRecord> = {}): FlowRecord {
  return {
    tuple: { protocol: 6, src: '10.65.0.2', dst: '10.65.0.3', srcPort, dstPort: 8080 },
    direction: 'ingress',
    prefixes: [allow],
    packetsIn: 2,
    packetsOut: 1,
    bytesIn: 200,
    bytesOut: 100,
    started: true,
    completed: false,
    ...over,
  };
}

const web = (pod: string, labels: string[]): FlowEndpoint => ({
  type: 'WorkloadEndpoint',
  namespace: 'prod',
  name: 'web-*',
  labels: [`pod=${pod}`, ...labels],
});
const hit: PolicyHit = {
  kind: 'GlobalNetworkPolicy',
  namespace: '',
  name: 'allow-web',
  tier: 'default',
  action: 'Allow',
  policy_index: 0,
  rule_index: 0,
  trigger: null,
};

function ctx(): FlowKeyContext & { calls: string[] } {
  const calls: string[] = [];
  return {
    calls,
    lookup: (a) =>
      a === '10.65.0.2'
        ? web(String(calls.length), ['app=web'])
        : { type: 'WorkloadEndpoint', namespace: 'prod', name: 'db', labels: ['app=db'] },
    enforced: (r, reporting) => {
      calls.push(`enforced ${reporting.name}`);
      return r.prefixes.length === 1 && r.prefixes[0] === allow ? [hit] : [];
    },
    pending: () => [],
  };
}

describe('aggregateFlows', () => {
  it('sums connections with the same key, counts them, and keeps only the labels they share', () => {
    const c = ctx();
    const flows = aggregateFlows([rec(1), rec(2, { started: false, completed: true })], c, 100, 105);
    assert.equal(flows.length, 1);
    const [f] = flows;
    assert.deepEqual(f?.Key, {
      source_name: 'web-*',
      source_namespace: 'prod',
      source_type: 'WorkloadEndpoint',
      dest_name: 'db',
      dest_namespace: 'prod',
      dest_type: 'WorkloadEndpoint',
      dest_port: 8080,
      dest_service_name: '-',
      dest_service_namespace: '-',
      dest_service_port_name: '-',
      dest_service_port: 0,
      proto: 'tcp',
      reporter: 'Dst',
      action: 'Allow',
      policies: { enforced_policies: [hit], pending_policies: [] },
    });
    assert.deepEqual(
      [f.packets_in, f.packets_out, f.bytes_in, f.bytes_out, f.start_time, f.end_time],
      [4, 2, 400, 200, 100, 105],
    );
    assert.deepEqual(
      [f.num_connections_started, f.num_connections_completed, f.num_connections_live],
      [1, 1, 2],
    );
    assert.deepEqual(f.source_labels, ['app=web']);
    assert.deepEqual(f.dest_labels, ['app=db']);
    assert.deepEqual(c.calls, ['enforced db', 'enforced db']);
  });

  it('keeps apart what differs in action, reporter or trace', () => {
    const flows = aggregateFlows(
      [rec(1), rec(2, { prefixes: [tierDrop] }), rec(3, { direction: 'egress' })],
      ctx(),
      0,
      1,
    );
    assert.deepEqual(
      flows.map((f) => [f.Key.reporter, f.Key.action, f.Key.policies.enforced_policies.length]),
      [
        ['Dst', 'Allow', 1],
        ['Dst', 'Deny', 0],
        ['Src', 'Allow', 1],
      ],
    );
  });

  it('names protocols as Felix does and reads the verdict off the walk', () => {
    assert.deepEqual([1, 6, 17, 58, 132, 99].map(protoName), ['icmp', 'tcp', 'udp', 'icmp6', 'sctp', '99']);
    assert.equal(walkAction([{ kind: 'noProfileMatch', direction: 'egress' }]), 'Deny');
    assert.equal(walkAction([]), 'ActionUnspecified');
  });
});
