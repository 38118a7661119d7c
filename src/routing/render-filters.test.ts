import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import type { BGPFilterRule } from '../api/v3/bgp-types.js';
import {
  bgpFilterFunctionName,
  hashToIPv4,
  MAX_BIRD_SYMBOL,
  peerProtocolName,
  truncateAndHashName,
} from './names.js';
import { filterCalls, renderFilterFunctions, ruleStatement } from './render-filters.js';
import { bgpFilter } from './testing.js';
import type { BirdPeer } from './types.js';

describe('BGPFilter rule statements', () => {
  const cases: [string, BGPFilterRule, 4 | 6, string][] = [
    ['bare accept', { action: 'Accept' }, 4, 'accept;'],
    [
      'In',
      { cidr: '10.0.0.0/8', matchOperator: 'In', action: 'Accept' },
      4,
      'if ((net ~ 10.0.0.0/8)) then { accept; }',
    ],
    [
      'Equal',
      { cidr: '10.0.0.0/8', matchOperator: 'Equal', action: 'Reject' },
      4,
      'if ((net = 10.0.0.0/8)) then { reject; }',
    ],
    [
      'NotEqual',
      { cidr: 'fd00::/8', matchOperator: 'NotEqual', action: 'Reject' },
      6,
      'if ((net != fd00::/8)) then { reject; }',
    ],
    [
      'NotIn',
      { cidr: '10.0.0.0/8', matchOperator: 'NotIn', action: 'Reject' },
      4,
      'if ((net !~ 10.0.0.0/8)) then { reject; }',
    ],
    [
      'prefix length, default max',
      { cidr: '10.0.0.0/8', matchOperator: 'In', prefixLength: { min: 16 }, action: 'Accept' },
      4,
      'if ((net ~ [ 10.0.0.0/8{16,32} ])) then { accept; }',
    ],
    [
      'prefix length min below the CIDR length is raised',
      { cidr: 'fd00::/48', matchOperator: 'In', prefixLength: { min: 8, max: 64 }, action: 'Accept' },
      6,
      'if ((net ~ [ fd00::/48{48,64} ])) then { accept; }',
    ],
    [
      'source and interface',
      { source: 'RemotePeers', interface: 'eth*', action: 'Reject' },
      4,
      'if (((defined(source))&&(source ~ [ RTS_BGP ]))&&((defined(ifname))&&(ifname ~ "eth*"))) then { reject; }',
    ],
    [
      'standard community',
      { communities: { values: ['65000:1'] }, action: 'Accept' },
      4,
      'if (((65000, 1) ~ bgp_community)) then { accept; }',
    ],
    [
      'large community',
      { communities: { values: ['1:2:3'] }, action: 'Accept' },
      4,
      'if (((1, 2, 3) ~ bgp_large_community)) then { accept; }',
    ],
    [
      'one AS',
      { asPathPrefix: [65001], action: 'Accept' },
      4,
      'if ((bgp_path.first = 65001)) then { accept; }',
    ],
    [
      'AS path prefix',
      { asPathPrefix: [1, 2, 3], action: 'Accept' },
      4,
      'if ((bgp_path ~ [= 1 2 3 * =])) then { accept; }',
    ],
    ['priority', { priority: 512, action: 'Reject' }, 4, 'if ((krt_metric = 512)) then { reject; }'],
    [
      'operations in order, prepends reversed',
      {
        action: 'Accept',
        operations: [
          { addCommunity: { value: '1:2' } },
          { prependASPath: { prefix: [10, 20] } },
          { setPriority: { value: 9 } },
        ],
      },
      4,
      'bgp_community.add((1, 2)); bgp_path.prepend(20); bgp_path.prepend(10); krt_metric = 9; accept;',
    ],
    ['iBGP guard', { peerType: 'iBGP', action: 'Accept' }, 4, 'if (is_same_as) then { accept; }'],
    [
      'eBGP guard around a condition',
      { peerType: 'eBGP', priority: 5, action: 'Reject' },
      4,
      'if (!is_same_as) then { if ((krt_metric = 5)) then { reject; } }',
    ],
  ];
  for (const [name, rule, family, want] of cases) {
    it(name, () => {
      assert.equal(ruleStatement(rule, family), want);
    });
  }
});

describe('BGPFilter functions and calls', () => {
  const withPeerType = bgpFilter('typed', {
    importV4: [{ peerType: 'iBGP', action: 'Accept' }],
    exportV4: [{ action: 'Reject' }],
  });
  const v6only = bgpFilter('six', { importV6: [{ action: 'Reject' }] });

  it('renders one function per direction with rules; is_same_as only where peerType is used', () => {
    assert.deepEqual(renderFilterFunctions([withPeerType, v6only], 4), [
      '# v4 BGPFilter typed',
      "function 'bgp_typed_importFilterV4'(bool is_same_as) {",
      '  if (is_same_as) then { accept; }',
      '}',
      "function 'bgp_typed_exportFilterV4'() {",
      '  reject;',
      '}',
    ]);
    assert.deepEqual(renderFilterFunctions([withPeerType], 6), ['# No v6 BGPFilters configured']);
  });

  it('calls the functions a peer uses, passing whether the session is iBGP', () => {
    const peer = { filters: ['typed', 'six'], sameAs: false } as unknown as BirdPeer;
    assert.deepEqual(filterCalls(peer, [withPeerType, v6only], 'import', 4), [
      "'bgp_typed_importFilterV4'(false);",
    ]);
    assert.deepEqual(filterCalls(peer, [withPeerType, v6only], 'export', 4), [
      "'bgp_typed_exportFilterV4'();",
    ]);
    assert.deepEqual(filterCalls(peer, [withPeerType, v6only], 'import', 6), ["'bgp_six_importFilterV6'();"]);
  });
});

describe('names', () => {
  it('names peer protocols by type, address and port', () => {
    assert.equal(peerProtocolName('Mesh', '10.0.0.2', undefined), 'Mesh_10_0_0_2');
    assert.equal(peerProtocolName('Global', 'fd00::1', 1790), 'Global_fd00__1_port_1790');
    assert.equal(peerProtocolName('Node', '192.0.2.1', 0), 'Node_192_0_2_1');
  });

  it('truncates long names with a SHA-256 suffix, keeping BGPFilter functions within 64 characters', () => {
    assert.equal(truncateAndHashName('short', 45), 'short');
    const long = 'x'.repeat(100);
    const hash = createHash('sha256').update(long).digest('hex').toUpperCase().slice(0, 16);
    assert.equal(truncateAndHashName(long, 45), `${'x'.repeat(28)}_${hash}`);
    const fn = bgpFilterFunctionName(long, 'export', 6);
    assert.equal(fn.length - 2, MAX_BIRD_SYMBOL, 'quotes excluded');
    assert.ok(fn.startsWith("'bgp_xxx") && fn.endsWith(`${hash}_exportFilterV6'`));
  });

  it('hashes node names to router ids below the multicast range', () => {
    for (const name of ['node1', 'a', 'worker-17.example.com', 'x'.repeat(200)]) {
      const bytes = createHash('sha256').update(name).digest();
      const octets = hashToIPv4(name).split('.').map(Number);
      assert.equal(octets.length, 4);
      assert.ok(octets[0]! <= 223);
      assert.equal(octets[0], bytes[0]! > 223 ? bytes[0]! - 32 : bytes[0]);
      assert.deepEqual(octets.slice(1), [bytes[1], bytes[2], bytes[3]]);
    }
  });
});
