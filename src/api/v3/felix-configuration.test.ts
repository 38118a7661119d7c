import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decodeOk, expectIssue } from '../testing.js';

const fc = (name: string, spec: unknown): unknown => ({
  apiVersion: 'projectcalico.org/v3',
  kind: 'FelixConfiguration',
  metadata: { name },
  spec,
});

describe('FelixConfiguration', () => {
  it('decodes common fields, normalising enum case', () => {
    const r = decodeOk(
      fc('default', {
        defaultEndpointToHostAction: 'ACCEPT',
        failsafeInboundHostPorts: [{ protocol: 'tcp', port: 22 }],
        nftablesRefreshInterval: '90s',
        prometheusMetricsEnabled: true,
      }),
    ) as { spec: Record<string, unknown> };
    assert.equal(r.spec.defaultEndpointToHostAction, 'Accept');
    assert.deepEqual(r.spec.failsafeInboundHostPorts, [{ protocol: 'TCP', port: 22 }]);
  });

  it('rejects bad values and unknown fields with their paths', () => {
    expectIssue(
      fc('default', { defaultEndpointToHostAction: 'Maybe' }),
      'spec.defaultEndpointToHostAction',
      '"Maybe"',
    );
    expectIssue(fc('default', { healthPort: 70000 }), 'spec.healthPort', '70000');
    expectIssue(fc('default', { routeRefreshInterval: 'soon' }), 'spec.routeRefreshInterval', '"soon"');
    expectIssue(
      fc('default', { failsafeInboundHostPorts: [{ protocol: 'ICMP', port: 1 }] }),
      'spec.failsafeInboundHostPorts[0].protocol',
      '"ICMP"',
    );
    expectIssue(fc('default', { bogusField: 1 }), 'spec.bogusField', 'bogusField');
  });

  it('allows nodeSelector only on selector-scoped configurations', () => {
    decodeOk(fc('edge-nodes', { nodeSelector: "role == 'edge'" }));
    expectIssue(fc('node.n1', { nodeSelector: 'all()' }), 'spec.nodeSelector', 'node.n1');
  });
});
