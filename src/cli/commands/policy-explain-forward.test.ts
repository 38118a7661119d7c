import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { calicoctl } from '../testing.js';

/** node1 routes between eth0 (198.51.100.0/24) and eth1 (203.0.113.0/24); an applyOnForward policy on eth0. */
const INPUT = `
apiVersion: projectcalico.org/v3
kind: HostEndpoint
metadata: {name: node1-eth0, labels: {edge: outer}}
spec: {node: node1, interfaceName: eth0, expectedIPs: [198.51.100.1]}
---
apiVersion: projectcalico.org/v3
kind: HostEndpoint
metadata: {name: node1-eth1, labels: {edge: inner}}
spec: {node: node1, interfaceName: eth1, expectedIPs: [203.0.113.1]}
---
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: outer-fwd}
spec:
  selector: edge == 'outer'
  applyOnForward: true
  types: [Ingress]
  ingress:
    - {action: Allow, protocol: TCP, destination: {ports: [443]}}
`;

const routed = (port: string, extra: string[] = []) => [
  'policy',
  'explain',
  '-f',
  '-',
  '--from',
  '198.51.100.7',
  '--to',
  '203.0.113.9',
  '--port',
  port,
  '--in-via',
  'node1-eth0',
  '--out-via',
  'node1-eth1',
  ...extra,
];

describe('calicoctl policy explain: forwarded traffic', () => {
  it('names the forward stage of each host endpoint the packet is routed through', async () => {
    const denied = await calicoctl(routed('22'), { stdin: INPUT });
    assert.equal(denied.status, 0, denied.stderr);
    const lines = denied.stdout.split('\n');
    assert.ok(lines.includes('Verdict: DENY'), denied.stdout);
    assert.ok(
      lines.includes(
        'forward ingress of hostendpoint node1-eth0: DENY, denied at end of tier default: policies outer-fwd select the endpoint and no ingress rule allowed or passed it',
      ),
      denied.stdout,
    );
    assert.ok(
      lines.includes(
        'forward egress of hostendpoint node1-eth1: ALLOW, allowed: no applyOnForward policy selects the host endpoint for egress (forwarded traffic is allowed by default)',
      ),
      denied.stdout,
    );
    const allowed = await calicoctl(routed('443', ['-o', 'json', '--expect', 'allow']), { stdin: INPUT });
    assert.equal(allowed.status, 0, allowed.stderr);
    const json = JSON.parse(allowed.stdout) as {
      verdict: string;
      forward: { stage: string; endpoint: string; decidedBy: { kind: string; stage?: string } }[];
    };
    assert.equal(json.verdict, 'Allow');
    assert.deepEqual(
      json.forward.map((t) => [t.stage, t.endpoint, t.decidedBy.kind, t.decidedBy.stage]),
      [
        ['forward', 'hostendpoint node1-eth0', 'rule', 'forward'],
        ['forward', 'hostendpoint node1-eth1', 'forwardDefault', undefined],
      ],
    );
  });

  it('refuses a host endpoint that is not in the input', async () => {
    const r = await calicoctl(
      ['policy', 'explain', '-f', '-', '--from', '198.51.100.7', '--to', '203.0.113.9', '--port', '1'].concat(
        ['--in-via', 'nope'],
      ),
      { stdin: INPUT },
    );
    assert.equal(r.status, 2);
    assert.match(r.stderr, /--in-via: host endpoint nope not found in the input/);
  });
});
