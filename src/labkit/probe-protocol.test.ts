import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseRequest, parseResponse } from './probe-protocol.js';

describe('probe agent protocol', () => {
  test('accepts well-formed requests', () => {
    assert.deepEqual(
      parseRequest('{"id":1,"op":"probe","protocol":"udp","ip":"fd00::1","port":80,"timeoutMs":500}'),
      {
        ok: true,
        value: { id: 1, op: 'probe', protocol: 'udp', ip: 'fd00::1', port: 80, timeoutMs: 500 },
      },
    );
    assert.deepEqual(parseRequest('{"id":2,"op":"serve","ports":[80,81]}'), {
      ok: true,
      value: { id: 2, op: 'serve', ports: [80, 81] },
    });
    assert.deepEqual(parseRequest('{"id":3,"op":"ping"}'), { ok: true, value: { id: 3, op: 'ping' } });
  });

  test('rejects bad requests, naming the id when there is one', () => {
    assert.deepEqual(parseRequest('nope'), { ok: false, id: -1, message: 'not JSON' });
    const bad = [
      '{"id":4,"op":"probe","protocol":"sctp","ip":"10.0.0.1","port":80,"timeoutMs":500}',
      '{"id":4,"op":"probe","protocol":"tcp","ip":"10.0.0.1","port":0,"timeoutMs":500}',
      '{"id":4,"op":"probe","protocol":"tcp","ip":"10.0.0.1","port":80,"timeoutMs":0}',
      '{"id":4,"op":"probe","protocol":"tcp","ip":"10.0.0.1","port":80,"timeoutMs":600000}',
      '{"id":4,"op":"serve","ports":[80,70000]}',
      '{"id":4,"op":"dance"}',
    ];
    for (const line of bad) {
      const r = parseRequest(line);
      assert.ok(!r.ok && r.id === 4, line);
    }
  });

  test('parses responses and ignores anything else', () => {
    assert.deepEqual(parseResponse('{"id":1,"op":"probe","verdict":"denied","detail":"x","elapsedMs":500}'), {
      id: 1,
      op: 'probe',
      verdict: 'denied',
      detail: 'x',
      elapsedMs: 500,
    });
    assert.deepEqual(parseResponse('{"id":2,"op":"error","message":"boom"}'), {
      id: 2,
      op: 'error',
      message: 'boom',
    });
    assert.equal(
      parseResponse('{"id":3,"op":"probe","verdict":"unreachable","detail":"EHOSTUNREACH","elapsedMs":3}')
        ?.op,
      'probe',
    );
    assert.equal(parseResponse('{"id":1,"op":"probe","verdict":"maybe"}'), undefined);
    assert.equal(parseResponse('{"op":"ping","pid":3}'), undefined);
    assert.equal(parseResponse('garbage'), undefined);
  });
});
