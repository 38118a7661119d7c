import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decodeOk, doc, expectIssue } from '../testing.js';
import type { WorkloadEndpoint } from './misc.js';

const base = {
  orchestrator: 'k8s',
  workload: '',
  node: 'node-1',
  pod: 'pod-a',
  endpoint: 'eth0',
  interfaceName: 'cali7f94ce7c295',
  ipNetworks: ['10.65.0.2/32', 'fd00::2/128'],
};
const wep = (spec: object): unknown =>
  doc('WorkloadEndpoint', { ...base, ...spec }, { name: 'node--1-k8s-pod--a-eth0', namespace: 'default' });

describe('WorkloadEndpoint', () => {
  it('decodes a full workload endpoint', () => {
    const w = decodeOk(
      wep({
        containerID: 'abc123',
        serviceAccountName: 'default',
        ipNATs: [{ internalIP: '10.65.0.2', externalIP: '172.16.0.1' }],
        ipv4Gateway: '169.254.1.1',
        ipv6Gateway: 'fe80::1',
        profiles: ['kns.default', 'ksa.default.default'],
        mac: 'ee:ee:ee:ee:ee:ee',
        ports: [
          { name: 'http', protocol: 'TCP', port: 8080 },
          { protocol: 'UDP', port: 53, hostPort: 5353, hostIP: '0.0.0.0' },
        ],
        allowSpoofedSourcePrefixes: ['10.1.0.0/16'],
        qosControls: { ingressBandwidth: 1000000, dscp: 'AF11' },
      }),
    ) as WorkloadEndpoint;
    assert.equal(w.spec.ports?.length, 2);
  });

  it('requires ipNetworks to be single addresses', () => {
    expectIssue(wep({ ipNetworks: ['10.65.0.0/24'] }), 'spec.ipNetworks[0]', '"10.65.0.0/24"');
    expectIssue(wep({ ipNetworks: ['10.65.0.1/24'] }), 'spec.ipNetworks[0]', '"10.65.0.1/24"');
    expectIssue(wep({ ipNetworks: ['nonsense'] }), 'spec.ipNetworks[0]', '"nonsense"');
  });

  it('checks NATs: addresses, families, inside ipNetworks', () => {
    expectIssue(
      wep({ ipNATs: [{ internalIP: '10.65.0.2', externalIP: 'fd00::9' }] }),
      'spec.ipNATs[0]',
      '"fd00::9"',
    );
    expectIssue(
      wep({ ipNATs: [{ internalIP: '10.65.0.9', externalIP: '1.2.3.4' }] }),
      'spec.ipNATs[0].internalIP',
      '"10.65.0.9"',
    );
    expectIssue(
      wep({ ipNATs: [{ internalIP: 'x', externalIP: '1.2.3.4' }] }),
      'spec.ipNATs[0].internalIP',
      '"x"',
    );
  });

  it('checks gateways by family', () => {
    expectIssue(wep({ ipv4Gateway: 'fe80::1' }), 'spec.ipv4Gateway', '"fe80::1"');
    expectIssue(wep({ ipv6Gateway: '169.254.1.1' }), 'spec.ipv6Gateway', '"169.254.1.1"');
  });

  it('requires a valid interface name', () => {
    const rest: Record<string, unknown> = { ...base };
    delete rest['interfaceName'];
    expectIssue(doc('WorkloadEndpoint', rest, { name: 'w' }), 'spec.interfaceName', 'required');
    expectIssue(
      wep({ interfaceName: 'cali-way-too-long-name' }),
      'spec.interfaceName',
      '"cali-way-too-long-name"',
    );
  });

  it('checks names of node, pod, profiles and the container ID', () => {
    expectIssue(wep({ node: 'Node_1' }), 'spec.node', '"Node_1"');
    expectIssue(wep({ pod: 'Pod A' }), 'spec.pod', '"Pod A"');
    expectIssue(wep({ profiles: ['kns.Default'] }), 'spec.profiles[0]', '"kns.Default"');
    expectIssue(wep({ containerID: '-abc' }), 'spec.containerID', '"-abc"');
  });

  it('checks the MAC address', () => {
    expectIssue(wep({ mac: 'ee:ee:ee' }), 'spec.mac', '"ee:ee:ee"');
  });

  it('checks ports: protocol, number, name unless hostPort, host IP', () => {
    expectIssue(
      wep({ ports: [{ name: 'x', protocol: 'ICMP', port: 1 }] }),
      'spec.ports[0].protocol',
      '"ICMP"',
    );
    expectIssue(wep({ ports: [{ protocol: 'TCP', port: 80 }] }), 'spec.ports[0].name', '80');
    expectIssue(wep({ ports: [{ name: 'x', protocol: 'TCP', port: 70000 }] }), 'spec.ports[0].port', '70000');
    expectIssue(
      wep({ ports: [{ name: 'x', protocol: 'TCP', port: 1, hostPort: 1, hostIP: '1.2.3.4/8' }] }),
      'spec.ports[0].hostIP',
      '"1.2.3.4/8"',
    );
  });

  it('checks spoofing prefixes and QoS controls', () => {
    expectIssue(
      wep({ allowSpoofedSourcePrefixes: ['10.0.0/8'] }),
      'spec.allowSpoofedSourcePrefixes[0]',
      '"10.0.0/8"',
    );
    expectIssue(wep({ qosControls: { ingressBandwidth: -1 } }), 'spec.qosControls.ingressBandwidth', '-1');
    expectIssue(wep({ qosControls: { dscp: 64 } }), 'spec.qosControls.dscp', '64');
    expectIssue(wep({ qosControls: { dscp: 'AF99' } }), 'spec.qosControls.dscp', '"AF99"');
  });
});
