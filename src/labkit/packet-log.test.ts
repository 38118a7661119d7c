import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { formatPacket } from './packet-log.js';

describe('packet log lines', () => {
  test('read like the kernel log of a Calico Log rule', () => {
    assert.equal(
      formatPacket('node-2', {
        group: 20,
        prefix: 'calico-packet: ',
        family: 4,
        src: '10.244.1.2',
        dst: '10.244.2.3',
        protocol: 6,
      }),
      'node-2 calico-packet: SRC=10.244.1.2 DST=10.244.2.3 PROTO=TCP',
    );
    assert.equal(
      formatPacket('node-1', {
        group: 20,
        prefix: '',
        family: undefined,
        src: undefined,
        dst: undefined,
        protocol: 99,
      }),
      'node-1 group 20: SRC=? DST=? PROTO=99',
    );
  });
});
