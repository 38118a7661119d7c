import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decodeOk, doc, expectIssue } from '../testing.js';
import type { Tier } from './misc.js';

const tier = (name: string, spec: unknown): unknown => doc('Tier', spec, { name });

describe('Tier', () => {
  it('defaults defaultAction to Deny and keeps order', () => {
    const t = decodeOk(tier('security', { order: 100 })) as Tier;
    assert.deepEqual(t.spec, { order: 100, defaultAction: 'Deny' });
    assert.equal((decodeOk(tier('t', { defaultAction: 'Pass' })) as Tier).spec.defaultAction, 'Pass');
  });

  it('requires the name to be a single DNS label of at most 63 characters', () => {
    expectIssue(tier('a.b', {}), 'metadata.name', '"a.b"');
    expectIssue(tier('x'.repeat(64), {}), 'metadata.name', 'too long');
    expectIssue(tier('Tier1', {}), 'metadata.name', '"Tier1"');
  });

  it('accepts only Deny or Pass as defaultAction', () => {
    expectIssue(tier('t', { defaultAction: 'Allow' }), 'spec.defaultAction', '"Allow"');
  });

  it('requires order to be a number', () => {
    expectIssue(tier('t', { order: 'high' }), 'spec.order', '"high"');
  });

  it('pins the order and default action of the built-in tiers', () => {
    decodeOk(tier('default', { order: 1_000_000 }));
    decodeOk(tier('kube-admin', { order: 1000, defaultAction: 'Pass' }));
    decodeOk(tier('kube-baseline', { order: 10_000_000, defaultAction: 'Pass' }));
    expectIssue(tier('default', { order: 5 }), 'spec.order', '1000000', '5');
    expectIssue(tier('default', {}), 'spec.order', '1000000');
    expectIssue(tier('default', { order: 1_000_000, defaultAction: 'Pass' }), 'spec.defaultAction', '"Pass"');
    expectIssue(tier('kube-admin', { order: 1000 }), 'spec.defaultAction', '"Deny"');
    expectIssue(tier('kube-baseline', { order: 1, defaultAction: 'Pass' }), 'spec.order', '10000000');
  });

  it('rejects a namespace and unknown spec fields; ignores a status', () => {
    expectIssue(doc('Tier', {}, { name: 't', namespace: 'x' }), 'metadata.namespace', '"x"');
    expectIssue(tier('t', { priority: 1 }), 'spec.priority', '"priority"');
    const t = decodeOk({ ...(tier('t', {}) as object), status: { conditions: [] } });
    assert.equal('status' in t, false);
  });
});
