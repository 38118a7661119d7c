/** Parsing stored values without trust: every problem named in one bounded line, never thrown. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ResourceKey } from './api.js';
import { StoredValueError, decodeStoredOrThrow, invalidValueMessage, parseStored } from './stored.js';

const np: ResourceKey = { kind: 'NetworkPolicy', namespace: 'ns1', name: 'p' };

function problem(key: ResourceKey, text: string): string {
  const r = parseStored(key, text, 7);
  if (r.ok) assert.fail(`expected a problem for ${text.slice(0, 40)}`);
  return r.problem;
}

describe('parseStored', () => {
  it('accepts a resource for its key and sets resourceVersion', () => {
    const r = parseStored(
      np,
      JSON.stringify({
        apiVersion: 'projectcalico.org/v3',
        kind: 'NetworkPolicy',
        metadata: { name: 'p', namespace: 'ns1' },
      }),
      42,
    );
    assert.ok(r.ok);
    assert.equal(r.value.metadata.resourceVersion, '42');
  });

  it('names what is wrong', () => {
    assert.match(problem(np, '{"a":'), /^invalid JSON \(5 bytes\): /);
    assert.match(problem(np, ''), /^invalid JSON \(0 bytes\)/);
    assert.equal(problem(np, '42'), 'not a JSON object (a number)');
    assert.equal(problem(np, 'null'), 'not a JSON object (null)');
    assert.equal(
      problem(np, '{"kind":"NetworkPolicy","metadata":{}}'),
      'apiVersion and kind must be strings',
    );
    assert.equal(
      problem(np, '{"apiVersion":"projectcalico.org/v3","kind":"NetworkPolicy","metadata":[]}'),
      'metadata is missing or not an object',
    );
    assert.equal(
      problem(np, '{"apiVersion":"networking.k8s.io/v1","kind":"NetworkPolicy","metadata":{"name":"p"}}'),
      'kind mismatch: stored under NetworkPolicy, the value is a NetworkPolicy (networking.k8s.io/v1)',
    );
    assert.equal(
      problem(np, '{"apiVersion":"projectcalico.org/v3","kind":"NetworkPolicy","metadata":{"name":"p"}}'),
      `namespace mismatch: stored under namespace "ns1", the value's metadata.namespace is missing`,
    );
    assert.equal(
      problem(
        np,
        '{"apiVersion":"projectcalico.org/v3","kind":"NetworkPolicy","metadata":{"name":7,"namespace":"ns1"}}',
      ),
      `name mismatch: stored under "p", the value's metadata.name is 7`,
    );
  });

  it('keeps the problem on one bounded line whatever was stored', () => {
    const huge = `{"apiVersion": "projectcalico.org/v3",\n"x": "${'y'.repeat(5000)}`;
    const p = problem(np, huge);
    assert.ok(p.length <= 303, `problem is ${p.length} characters`);
    assert.doesNotMatch(p, /\n/);
  });

  it('get of a bad value: StoredValueError naming key, revision and problem', () => {
    assert.throws(
      () => decodeStoredOrThrow(np, '[', 9),
      (e: unknown) =>
        e instanceof StoredValueError &&
        e.code === 'CALICO_ERR_PARSE' &&
        e.revision === 9 &&
        /^stored value of NetworkPolicy\(ns1\/p\) \(revision 9\) is not a valid resource: invalid JSON/.test(
          e.message,
        ),
    );
    assert.equal(
      invalidValueMessage({ key: { kind: 'Tier', name: 't' }, revision: 3, problem: 'x' }),
      'stored value of Tier(t) (revision 3) is not a valid resource: x',
    );
  });
});
