import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decodeOk, doc, expectIssue } from '../testing.js';
import type { HostEndpoint } from './misc.js';

const hep = (spec: unknown): unknown =>
  doc('HostEndpoint', spec, { name: 'node1-eth0', labels: { role: 'host' } });

describe('HostEndpoint', () => {
  it('decodes a full host endpoint', () => {
    const h = decodeOk(
      hep({
        node: 'node1',
        interfaceName: 'eth0',
        expectedIPs: ['10.0.0.1', 'fd00::1'],
        profiles: ['projectcalico-default-allow'],
        ports: [{ name: 'ssh', protocol: 'TCP', port: 22 }],
      }),
    ) as HostEndpoint;
    assert.deepEqual(h.spec.ports, [{ name: 'ssh', protocol: 'TCP', port: 22 }]);
    expectIssue(
      hep({ node: 'n', interfaceName: 'eth0', ports: [{ name: 'ssh', protocol: 'tcp', port: 22 }] }),
      'spec.ports[0].protocol',
      '"tcp"',
    );
    decodeOk(hep({ node: 'node1', interfaceName: '*' }));
    decodeOk(hep({ node: 'node1', expectedIPs: ['10.0.0.1'] }));
  });

  it('requires a node', () => {
    expectIssue(hep({ interfaceName: 'eth0' }), 'spec.node', 'node');
    expectIssue(hep({ node: 'Node_1', interfaceName: 'eth0' }), 'spec.node', '"Node_1"');
  });

  it('requires an interface name or expected IPs', () => {
    expectIssue(hep({ node: 'n' }), 'spec.interfaceName', 'expectedIPs');
    expectIssue(hep({ node: 'n', interfaceName: '', expectedIPs: [] }), 'spec.interfaceName', 'expectedIPs');
  });

  it('checks the interface name pattern', () => {
    expectIssue(hep({ node: 'n', interfaceName: 'eth0:1' }), 'spec.interfaceName', '"eth0:1"');
    expectIssue(
      hep({ node: 'n', interfaceName: 'a-very-long-interface' }),
      'spec.interfaceName',
      '"a-very-long-interface"',
    );
  });

  it('requires expected IPs to be addresses', () => {
    expectIssue(hep({ node: 'n', expectedIPs: ['10.0.0.0/24'] }), 'spec.expectedIPs[0]', '"10.0.0.0/24"');
  });

  it('checks profile names', () => {
    expectIssue(
      hep({ node: 'n', interfaceName: 'eth0', profiles: ['Bad Profile'] }),
      'spec.profiles[0]',
      '"Bad Profile"',
    );
  });

  it('checks named ports: name, protocol supporting ports, port 1-65535', () => {
    const port = (p: object): unknown =>
      hep({ node: 'n', interfaceName: 'eth0', ports: [{ name: 'web', protocol: 'TCP', port: 80, ...p }] });
    expectIssue(port({ protocol: 'ICMP' }), 'spec.ports[0].protocol', '"ICMP"');
    expectIssue(port({ port: 0 }), 'spec.ports[0].port', '0');
    expectIssue(port({ port: 65536 }), 'spec.ports[0].port', '65536');
    expectIssue(port({ name: 'Web' }), 'spec.ports[0].name', '"Web"');
    expectIssue(
      hep({ node: 'n', interfaceName: 'eth0', ports: [{ protocol: 'TCP', port: 80 }] }),
      'spec.ports[0].name',
      'required',
    );
  });
});
