import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseCase } from './cases.js';
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

  test('says why it cannot run', () => {
    const why = nftablesUnavailableReason('/nonexistent/agent/main.js');
    assert.equal(typeof why, 'string');
    if (process.getuid?.() === 0) assert.match(String(why), /nonexistent.*missing|missing tools/);
    else assert.match(String(why), /root/);
  });
});
