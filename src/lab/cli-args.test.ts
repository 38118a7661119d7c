import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseLabels, parseNamedPort } from './cli-args.js';

describe('calico-lab arguments', () => {
  test('labels', () => {
    assert.deepEqual(parseLabels('pod=a, app=web,empty='), { pod: 'a', app: 'web', empty: '' });
    assert.deepEqual(parseLabels(''), {});
    assert.throws(() => parseLabels('novalue'), /invalid label/);
    assert.throws(() => parseLabels('=x'), /invalid label/);
  });

  test('named ports', () => {
    assert.deepEqual(parseNamedPort('http:80'), { name: 'http', containerPort: 80, protocol: 'TCP' });
    assert.deepEqual(parseNamedPort('dns:53/udp'), { name: 'dns', containerPort: 53, protocol: 'UDP' });
    assert.throws(() => parseNamedPort('http:0'), /invalid named port/);
    assert.throws(() => parseNamedPort('-x:80'), /invalid named port/);
    assert.throws(() => parseNamedPort('http:80/icmp'), /invalid named port/);
  });
});
