import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decodeOk, doc, expectIssue, issuesOf } from '../testing.js';
import { bgpConfigurationNode } from './bgp-configuration.js';
import type { BGPConfiguration } from './bgp-types.js';

const cfg = (spec: unknown, name = 'default'): unknown => doc('BGPConfiguration', spec, { name });

describe('BGPConfiguration', () => {
  it('defaults logSeverityScreen to Info and normalises AS numbers (plain and dotted)', () => {
    const c = decodeOk(cfg({ asNumber: '1.10', nodeToNodeMeshEnabled: false })) as BGPConfiguration;
    assert.deepEqual(c.spec, { logSeverityScreen: 'Info', nodeToNodeMeshEnabled: false, asNumber: 65_546 });
    assert.equal((decodeOk(cfg({ asNumber: 64513 })) as BGPConfiguration).spec.asNumber, 64513);
    assert.equal(
      (decodeOk(cfg({ asNumber: '4294967295' })) as BGPConfiguration).spec.asNumber,
      4_294_967_295,
    );
    expectIssue(cfg({ asNumber: 4_294_967_296 }), 'spec.asNumber', '4294967296');
    expectIssue(cfg({ asNumber: '1.70000' }), 'spec.asNumber', '"1.70000"');
    expectIssue(cfg({ asNumber: -1 }), 'spec.asNumber');
  });

  it('accepts only the known log severities', () => {
    decodeOk(cfg({ logSeverityScreen: 'Debug' }));
    expectIssue(cfg({ logSeverityScreen: 'verbose' }), 'spec.logSeverityScreen', '"verbose"');
  });

  it('bounds listenPort and the route priorities', () => {
    decodeOk(cfg({ listenPort: 1790, ipv4NormalRoutePriority: 1, ipv6NormalRoutePriority: 2_147_483_646 }));
    expectIssue(cfg({ listenPort: 0 }), 'spec.listenPort', '0');
    expectIssue(cfg({ listenPort: 65_536 }), 'spec.listenPort', '65536');
    expectIssue(cfg({ ipv4NormalRoutePriority: 0 }), 'spec.ipv4NormalRoutePriority');
    expectIssue(cfg({ ipv6NormalRoutePriority: 2_147_483_647 }), 'spec.ipv6NormalRoutePriority');
  });

  it('checks the enums: bindMode, programClusterRoutes, serviceLoadBalancerAggregation', () => {
    decodeOk(
      cfg({
        bindMode: 'NodeIP',
        programClusterRoutes: 'Enabled',
        serviceLoadBalancerAggregation: 'Disabled',
      }),
    );
    expectIssue(cfg({ bindMode: 'All' }), 'spec.bindMode', '"All"');
    expectIssue(cfg({ programClusterRoutes: 'Sometimes' }), 'spec.programClusterRoutes', '"Sometimes"');
    expectIssue(cfg({ serviceLoadBalancerAggregation: 'On' }), 'spec.serviceLoadBalancerAggregation');
  });

  it('requires strictly masked service CIDRs and family-correct local workload peering IPs', () => {
    decodeOk(
      cfg({ serviceClusterIPs: [{ cidr: '10.96.0.0/12' }], serviceExternalIPs: [{ cidr: 'fd00::/64' }] }),
    );
    expectIssue(
      cfg({ serviceClusterIPs: [{ cidr: '10.96.0.1/12' }] }),
      'spec.serviceClusterIPs[0].cidr',
      'host bits',
    );
    expectIssue(cfg({ serviceLoadBalancerIPs: [{ cidr: 'nope' }] }), 'spec.serviceLoadBalancerIPs[0].cidr');
    decodeOk(cfg({ localWorkloadPeeringIPV4: '169.254.0.1', localWorkloadPeeringIPV6: 'fe80::1' }));
    expectIssue(cfg({ localWorkloadPeeringIPV4: 'fe80::1' }), 'spec.localWorkloadPeeringIPV4');
    expectIssue(cfg({ localWorkloadPeeringIPV6: '10.0.0.1' }), 'spec.localWorkloadPeeringIPV6');
  });

  it('validates ignoredInterfaces patterns (not a bare "*")', () => {
    decodeOk(cfg({ ignoredInterfaces: ['eth9', 'docker*'] }));
    expectIssue(cfg({ ignoredInterfaces: ['*'] }), 'spec.ignoredInterfaces[0]', '"*"');
    expectIssue(cfg({ ignoredInterfaces: ['x'.repeat(16)] }), 'spec.ignoredInterfaces[0]');
  });

  it('checks durations and password references', () => {
    decodeOk(
      cfg({ nodeMeshMaxRestartTime: '1m30s', nodeMeshPassword: { secretKeyRef: { name: 's', key: 'k' } } }),
    );
    expectIssue(cfg({ nodeMeshMaxRestartTime: '90' }), 'spec.nodeMeshMaxRestartTime', '"90"');
    expectIssue(
      cfg({ nodeMeshPassword: { secretKeyRef: { name: 's' } } }),
      'spec.nodeMeshPassword.secretKeyRef.key',
    );
  });

  it('validates communities and their use in prefixAdvertisements', () => {
    const ok = cfg({
      communities: [{ name: 'bgp-large', value: '63400:300:100' }],
      prefixAdvertisements: [{ cidr: '172.218.4.0/26', communities: ['bgp-large', '63400:120'] }],
    });
    decodeOk(ok);
    expectIssue(
      cfg({
        communities: [{ name: 'c', value: '70000:1' }],
        prefixAdvertisements: [{ cidr: '10.0.0.0/8', communities: ['c'] }],
      }),
      'spec.communities[0].value',
      '16 bit',
    );
    expectIssue(
      cfg({
        communities: [{ name: 'c', value: '1:2:4294967296' }],
        prefixAdvertisements: [{ cidr: '10.0.0.0/8', communities: ['c'] }],
      }),
      'spec.communities[0].value',
      '32 bit',
    );
    expectIssue(
      cfg({
        communities: [{ name: 'c', value: 'x:y' }],
        prefixAdvertisements: [{ cidr: '10.0.0.0/8', communities: ['c'] }],
      }),
      'spec.communities[0].value',
      '"x:y"',
    );
    expectIssue(cfg({ communities: [{ name: 'c', value: '1:2' }] }), 'spec.communities', 'not used');
    expectIssue(
      cfg({ prefixAdvertisements: [{ cidr: '10.0.0.0/8', communities: ['undefined-name'] }] }),
      'spec.prefixAdvertisements[0].communities[0]',
      '"undefined-name"',
    );
    expectIssue(
      cfg({ prefixAdvertisements: [{ cidr: '10.0.0.0/8', communities: ['65536:1'] }] }),
      'spec.prefixAdvertisements[0].communities[0]',
      '16 bit',
    );
    expectIssue(
      cfg({ prefixAdvertisements: [{ cidr: '10.0.0.1/8', communities: ['1:1'] }] }),
      'spec.prefixAdvertisements[0].cidr',
    );
    expectIssue(
      cfg({ prefixAdvertisements: [{ cidr: '10.0.0.0/8' }] }),
      'spec.prefixAdvertisements[0].communities',
      'required',
    );
    expectIssue(
      cfg({
        communities: [{ value: '1:1' }],
        prefixAdvertisements: [{ cidr: '10.0.0.0/8', communities: ['1:1'] }],
      }),
      'spec.communities[0].name',
      'required',
    );
  });

  it('lets only "default" set the cluster-wide fields', () => {
    const name = 'node.node1';
    decodeOk(cfg({ listenPort: 1790, logSeverityScreen: 'Debug' }, name));
    expectIssue(cfg({ nodeToNodeMeshEnabled: true }, name), 'spec.nodeToNodeMeshEnabled', 'non default');
    expectIssue(cfg({ asNumber: 65000 }, name), 'spec.asNumber', 'non default');
    expectIssue(
      cfg({ serviceClusterIPs: [{ cidr: '10.96.0.0/12' }] }, name),
      'spec.serviceClusterIPs',
      'non default',
    );
    expectIssue(
      cfg({ serviceExternalIPs: [{ cidr: '10.96.0.0/12' }] }, name),
      'spec.serviceExternalIPs',
      'non default',
    );
    expectIssue(cfg({ nodeMeshMaxRestartTime: '10s' }, name), 'spec.nodeMeshMaxRestartTime', 'non default');
  });

  it('requires the node-to-node mesh for the mesh password and restart time', () => {
    expectIssue(
      cfg({ nodeToNodeMeshEnabled: false, nodeMeshMaxRestartTime: '10s' }),
      'spec.nodeMeshMaxRestartTime',
      'mesh',
    );
    expectIssue(
      cfg({ nodeToNodeMeshEnabled: false, nodeMeshPassword: { secretKeyRef: { name: 's', key: 'k' } } }),
      'spec.nodeMeshPassword',
      'mesh',
    );
  });

  it('rejects unknown fields and bad names; maps node.<name> to its node', () => {
    expectIssue(cfg({ meshy: true }), 'spec.meshy');
    assert.ok(issuesOf(cfg({}, 'Bad_Name')).some((i) => i.path === 'metadata.name'));
    assert.equal(bgpConfigurationNode('node.n1.example.com'), 'n1.example.com');
    assert.equal(bgpConfigurationNode('default'), undefined);
  });
});
