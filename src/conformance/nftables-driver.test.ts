import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseCase } from './cases.js';
import { labNodeAddresses, labNodeOf } from './lab-nodes.js';
import { casePorts, nftablesUnavailableReason } from './nftables-driver.js';

describe('nftables driver (no kernel)', () => {
  test('every pod serves every port any probe of any state uses', () => {
    const c = parseCase(
      {
        id: 't',
        pods: [{ namespace: 'x', name: 'a', ip: '10.0.0.1', ports: [80] }],
        steps: [
          { probes: [{ protocol: 'TCP', port: 81, expected: {} }] },
          {
            probes: [
              { protocol: 'UDP', port: 80, expected: {} },
              { protocol: 'TCP', port: 81, expected: {} },
            ],
          },
        ],
      },
      't',
    );
    assert.deepEqual(casePorts(c), [80, 81]);
  });

  test('case node i is lab node i; it holds its addresses and those of its hostNetwork pods', () => {
    const nodes = [
      { name: 'kind-worker', labels: {}, ips: ['172.18.0.2'] },
      { name: 'kind-worker2', labels: {}, ips: ['172.18.0.3'] },
    ];
    const lab = [{ name: 'node-1' }, { name: 'node-2' }, { name: 'node-3' }];
    const pod = (name: string, ip: string, nodeName?: string) => ({
      namespace: 'h',
      name,
      labels: {},
      ip,
      ports: [],
      protocols: [],
      containerPorts: [],
      hostNetwork: true,
      ...(nodeName !== undefined ? { nodeName } : {}),
    });
    assert.equal(labNodeOf('kind-worker2', nodes, lab), 'node-2');
    assert.equal(labNodeOf('elsewhere', nodes, lab), undefined);
    assert.equal(labNodeOf(undefined, [], lab), 'node-1');
    const a = labNodeAddresses(
      { nodes, pods: [pod('a', '172.18.0.3', 'kind-worker2'), pod('b', '172.18.0.9', 'kind-worker')] },
      lab,
    );
    assert.deepEqual(Object.fromEntries(a), {
      'node-1': ['172.18.0.2', '172.18.0.9'],
      'node-2': ['172.18.0.3'],
      'node-3': [],
    });
    assert.throws(
      () => labNodeAddresses({ nodes, pods: [pod('c', '172.18.0.4', 'gone')] }, lab),
      /hostNetwork pod h\/c: node "gone" is none of the case's nodes/,
    );
  });

  test('says why it cannot run', () => {
    const why = nftablesUnavailableReason('/nonexistent/agent/main.js');
    assert.equal(typeof why, 'string');
    if (process.getuid?.() === 0) assert.match(String(why), /nonexistent.*missing|missing tools/);
    else assert.match(String(why), /root/);
  });
});
