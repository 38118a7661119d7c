import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decodeOk, doc, expectIssue } from '../testing.js';
import type { Profile } from './misc.js';

describe('Profile', () => {
  it('decodes rules and labelsToApply', () => {
    const p = decodeOk(
      doc(
        'Profile',
        {
          ingress: [{ action: 'Allow' }],
          egress: [{ action: 'Deny', protocol: 'UDP' }],
          labelsToApply: { 'pcns.a': 'b' },
        },
        { name: 'kns.default' },
      ),
    ) as Profile;
    assert.deepEqual(p.spec, {
      ingress: [{ action: 'Allow' }],
      egress: [{ action: 'Deny', protocol: 'UDP' }],
      labelsToApply: { 'pcns.a': 'b' },
    });
  });

  it('validates profile rules like policy rules', () => {
    expectIssue(
      doc('Profile', { ingress: [{ action: 'Block' }] }, { name: 'p' }),
      'spec.ingress[0].action',
      '"Block"',
    );
    expectIssue(
      doc('Profile', { egress: [{ action: 'Allow', destination: { ports: [80] } }] }, { name: 'p' }),
      'spec.egress[0].destination.ports',
      'protocol',
    );
  });

  it('validates labelsToApply as labels', () => {
    expectIssue(
      doc('Profile', { labelsToApply: { 'a/b/c': 'x' } }, { name: 'p' }),
      'spec.labelsToApply["a/b/c"]',
      '"a/b/c"',
    );
    expectIssue(
      doc('Profile', { labelsToApply: { a: 'x'.repeat(64) } }, { name: 'p' }),
      'spec.labelsToApply.a',
      'xxxx',
    );
  });

  it('is cluster-scoped', () => {
    expectIssue(doc('Profile', {}, { name: 'p', namespace: 'ns' }), 'metadata.namespace', '"ns"');
  });
});
