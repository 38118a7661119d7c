import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decodeOk, doc, expectIssue } from '../testing.js';
import { parsePeerIP } from './bgp-peer.js';
import type { BGPPeer } from './bgp-types.js';

const peer = (spec: unknown): unknown => doc('BGPPeer', spec, { name: 'peer1' });

describe('BGPPeer', () => {
  it('decodes a full peer and normalises AS numbers', () => {
    const p = decodeOk(
      peer({
        nodeSelector: 'rack == "a"',
        peerIP: '192.0.2.1:1790',
        asNumber: '64513',
        localASNumber: 65_001,
        nextHopMode: 'Self',
        password: { secretKeyRef: { name: 'bgp-secrets', key: 'rr-password' } },
        sourceAddress: 'None',
        maxRestartTime: '2m',
        keepaliveTime: '10s',
        numAllowedLocalASNumbers: 2,
        ttlSecurity: 1,
        reachableBy: '192.0.2.254',
        filters: ['f1', 'f2'],
        reversePeering: 'Manual',
      }),
    ) as BGPPeer;
    assert.equal(p.spec.asNumber, 64_513);
    assert.deepEqual(p.spec.filters, ['f1', 'f2']);
  });

  it('parses peerIP forms', () => {
    assert.deepEqual(parsePeerIP('10.0.0.1'), { ip: '10.0.0.1', family: 4, port: undefined });
    assert.deepEqual(parsePeerIP('10.0.0.1:1790'), { ip: '10.0.0.1', family: 4, port: 1790 });
    assert.deepEqual(parsePeerIP('[fd00::1]:179'), { ip: 'fd00::1', family: 6, port: 179 });
    assert.deepEqual(parsePeerIP('fd00::1'), { ip: 'fd00::1', family: 6, port: undefined });
    assert.equal(parsePeerIP('10.0.0.1:0'), undefined);
    assert.equal(parsePeerIP('10.0.0.1:70000'), undefined);
    assert.equal(parsePeerIP('fd00::1:179x'), undefined);
    assert.equal(parsePeerIP('host.example'), undefined);
    expectIssue(peer({ peerIP: '10.0.0.300' }), 'spec.peerIP', '"10.0.0.300"');
    expectIssue(peer({ peerIP: '[10.0.0.1]' }), 'spec.peerIP');
  });

  it('makes node and nodeSelector exclusive, and peerIP and peerSelector', () => {
    expectIssue(peer({ node: 'n1', nodeSelector: 'all()', peerIP: '10.0.0.1' }), 'spec.node', 'nodeSelector');
    expectIssue(peer({ peerIP: '10.0.0.1', peerSelector: 'all()' }), 'spec.peerIP', 'peerSelector');
  });

  it('forbids asNumber with peerSelector', () => {
    decodeOk(peer({ peerSelector: 'route-reflector == "true"' }));
    expectIssue(peer({ peerSelector: 'all()', asNumber: 64512 }), 'spec.asNumber', 'peerSelector');
  });

  it('makes keepOriginalNextHop and nextHopMode exclusive', () => {
    decodeOk(peer({ peerIP: '10.0.0.1', keepOriginalNextHop: true }));
    expectIssue(
      peer({ peerIP: '10.0.0.1', keepOriginalNextHop: true, nextHopMode: 'Keep' }),
      'spec.nextHopMode',
      'exclusive',
    );
    expectIssue(peer({ nextHopMode: 'Sometimes' }), 'spec.nextHopMode', '"Sometimes"');
  });

  it('checks localWorkloadSelector rules', () => {
    decodeOk(peer({ localWorkloadSelector: 'color == "red"', asNumber: 65_401 }));
    expectIssue(peer({ localWorkloadSelector: 'color == "red"' }), 'spec.asNumber', 'required');
    expectIssue(
      peer({ localWorkloadSelector: 'a == "b"', asNumber: 1, peerIP: '10.0.0.1' }),
      'spec.peerIP',
      'localWorkloadSelector',
    );
    expectIssue(
      peer({ localWorkloadSelector: 'a == "b"', peerSelector: 'all()' }),
      'spec.peerSelector',
      'localWorkloadSelector',
    );
  });

  it('requires peerIP for reachableBy, in the same family', () => {
    expectIssue(peer({ reachableBy: '10.0.0.254' }), 'spec.reachableBy', 'requires peerIP');
    expectIssue(peer({ peerIP: '[fd00::1]:179', reachableBy: '10.0.0.254' }), 'spec.reachableBy', 'family');
    expectIssue(peer({ peerIP: '10.0.0.1', reachableBy: 'gateway' }), 'spec.reachableBy', '"gateway"');
  });

  it('checks ranges, enums, durations, selectors and filter names', () => {
    expectIssue(peer({ ttlSecurity: 256 }), 'spec.ttlSecurity', '256');
    expectIssue(peer({ numAllowedLocalASNumbers: -1 }), 'spec.numAllowedLocalASNumbers');
    expectIssue(peer({ sourceAddress: 'Loopback' }), 'spec.sourceAddress', '"Loopback"');
    expectIssue(peer({ reversePeering: 'Sometimes' }), 'spec.reversePeering');
    expectIssue(peer({ keepaliveTime: '10 seconds' }), 'spec.keepaliveTime');
    expectIssue(peer({ maxRestartTime: 120 }), 'spec.maxRestartTime');
    expectIssue(peer({ nodeSelector: 'a ==' }), 'spec.nodeSelector', 'invalid selector');
    expectIssue(peer({ peerSelector: 'global()' }), 'spec.peerSelector', 'global()');
    expectIssue(peer({ filters: ['Bad_Name'] }), 'spec.filters[0]', '"Bad_Name"');
    expectIssue(peer({ node: 'Node_1' }), 'spec.node', '"Node_1"');
    expectIssue(peer({ localASNumber: 'x' }), 'spec.localASNumber', '"x"');
  });
});
