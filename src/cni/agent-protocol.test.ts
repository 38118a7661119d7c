import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  decodeRequest,
  decodeResponse,
  encodeRequest,
  encodeResponse,
  isForwardedVariable,
} from './agent-protocol.js';

describe('agent CNI socket framing', () => {
  it('decodes KEY=VALUE lines, an empty line and the configuration', () => {
    const raw = Buffer.from(
      'CALICO_CNI_CLIENT_NETNS=net:[4026531840]\nCNI_COMMAND=ADD\nCNI_ARGS=A=1;B=2\n\n{"cniVersion":"1.0.0",\n "x": "a=b\\n"}\n',
    );
    const r = decodeRequest(raw);
    assert.ok(r.ok);
    assert.deepEqual(r.value.env, { CNI_COMMAND: 'ADD', CNI_ARGS: 'A=1;B=2' });
    assert.equal(r.value.clientNetns, 'net:[4026531840]');
    assert.equal(r.value.stdin, '{"cniVersion":"1.0.0",\n "x": "a=b\\n"}\n');
  });

  it('takes an empty header block and an empty configuration', () => {
    const r = decodeRequest(Buffer.from('\n'));
    assert.ok(r.ok);
    assert.deepEqual(r.value, { env: {}, stdin: '' });
  });

  it('refuses a request cut inside its headers (a client killed while sending)', () => {
    for (const text of ['', 'CNI_COMMAND=ADD', 'CNI_COMMAND=ADD\nCNI_NETNS=/x']) {
      assert.equal(decodeRequest(Buffer.from(text)).ok, false, JSON.stringify(text));
    }
  });

  it('skips lines that are not KEY=VALUE (the rest of a multi-line value)', () => {
    const r = decodeRequest(
      Buffer.from('CNI_COMMAND=DEL\nsecond line of a value\n=x\nCNI_IFNAME=eth0\n\n{}'),
    );
    assert.ok(r.ok);
    assert.deepEqual(r.value.env, { CNI_COMMAND: 'DEL', CNI_IFNAME: 'eth0' });
  });

  it('round-trips what encodeRequest produces', () => {
    const req = {
      env: { CNI_COMMAND: 'CHECK', CNI_PATH: '/opt/cni/bin', EMPTY: '' },
      stdin: '{"name":"n"}',
      clientNetns: 'net:[1]',
    };
    const r = decodeRequest(encodeRequest(req));
    assert.ok(r.ok);
    assert.deepEqual(r.value, req);
  });

  it('answers the exit code on the first line, then stdout exactly; or a fallback', () => {
    assert.equal(encodeResponse({ kind: 'served', exitCode: 0, stdout: '{"a":1}\n' }), '0\n{"a":1}\n');
    assert.equal(encodeResponse({ kind: 'served', exitCode: 1, stdout: '' }), '1\n');
    assert.equal(encodeResponse({ kind: 'fallback', reason: 'other\nnode' }), 'fallback other node\n');
    assert.deepEqual(decodeResponse('0\n{"a":1}\n'), {
      ok: true,
      value: { kind: 'served', exitCode: 0, stdout: '{"a":1}\n' },
    });
    assert.deepEqual(decodeResponse('fallback other node\n'), {
      ok: true,
      value: { kind: 'fallback', reason: 'other node' },
    });
    assert.equal(decodeResponse('').ok, false);
    assert.equal(decodeResponse('{"code":1}').ok, false);
  });

  it('forwards the variables the plugin reads', () => {
    for (const v of ['CNI_COMMAND', 'CNI_ARGS', 'CALICO_DATASTORE_TYPE', 'DATASTORE_PATH', 'ETCD_ENDPOINTS'])
      assert.ok(isForwardedVariable(v), v);
    for (const v of ['PATH', 'HOME', 'NODENAME', 'CALICO_CNI_SOCKET']) assert.ok(!isForwardedVariable(v), v);
  });
});
