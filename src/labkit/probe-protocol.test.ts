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
    assert.deepEqual(
      parseRequest(
        '{"id":5,"op":"probe","protocol":"tcp","ip":"10.0.0.1","port":80,"timeoutMs":500,"source":"172.18.0.2"}',
      ),
      {
        ok: true,
        value: {
          id: 5,
          op: 'probe',
          protocol: 'tcp',
          ip: '10.0.0.1',
          port: 80,
          timeoutMs: 500,
          source: '172.18.0.2',
        },
      },
    );
  });

  test('rejects bad requests, naming the id when there is one', () => {
    assert.deepEqual(parseRequest('nope'), { ok: false, id: -1, message: 'not JSON' });
    const bad = [
      '{"id":4,"op":"probe","protocol":"sctp","ip":"10.0.0.1","port":80,"timeoutMs":500}',
      '{"id":4,"op":"probe","protocol":"tcp","ip":"10.0.0.1","port":0,"timeoutMs":500}',
      '{"id":4,"op":"probe","protocol":"tcp","ip":"10.0.0.1","port":80,"timeoutMs":0}',
      '{"id":4,"op":"probe","protocol":"tcp","ip":"10.0.0.1","port":80,"timeoutMs":600000}',
      '{"id":4,"op":"probe","protocol":"tcp","ip":"10.0.0.1","port":80,"timeoutMs":500,"source":"node-1"}',
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

  test('resolve: a name and type, an optional server and port; the answer keeps its records', () => {
    const r = parseRequest('{"id":5,"op":"resolve","name":"api.example.com","type":"A","timeoutMs":500}');
    assert.deepEqual(r, {
      ok: true,
      value: { id: 5, op: 'resolve', name: 'api.example.com', type: 'A', timeoutMs: 500 },
    });
    for (const bad of [
      '{"id":6,"op":"resolve","name":"a..b","type":"A","timeoutMs":500}',
      '{"id":6,"op":"resolve","name":"a.b","type":"MX","timeoutMs":500}',
      '{"id":6,"op":"resolve","name":"a.b","type":"A","server":"nope","timeoutMs":500}',
      '{"id":6,"op":"resolve","name":"a.b","type":"A","port":0,"timeoutMs":500}',
    ])
      assert.equal(parseRequest(bad).ok, false, bad);
    const record = { name: 'a.b', type: 'A', ttl: 5, data: '10.1.1.1' };
    const answer = { id: 7, op: 'resolve', verdict: 'allowed', detail: 'd', elapsedMs: 2, server: 's:53' };
    const line = JSON.stringify({ ...answer, rcode: 'NOERROR', records: [record, { junk: true }] });
    assert.deepEqual(parseResponse(line), { ...answer, rcode: 'NOERROR', records: [record] });
    assert.equal(parseResponse(JSON.stringify({ ...answer, verdict: 'maybe' })), undefined);
  });
});
