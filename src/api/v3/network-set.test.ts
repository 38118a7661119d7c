import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decodeOk, doc, expectIssue } from '../testing.js';
import type { NetworkSet } from './misc.js';

describe('NetworkSet and GlobalNetworkSet', () => {
  it('accept CIDRs (host bits allowed) and bare addresses', () => {
    const s = decodeOk(
      doc(
        'NetworkSet',
        { nets: ['10.0.0.0/8', '192.168.1.5/24', 'fd00::1'] },
        { name: 'ext', namespace: 'ns', labels: { role: 'ext' } },
      ),
    ) as NetworkSet;
    assert.deepEqual(s.spec.nets, ['10.0.0.0/8', '192.168.1.5/24', 'fd00::1']);
    decodeOk(doc('GlobalNetworkSet', { nets: ['1.2.3.4/32'] }, { name: 'g' }));
  });

  it('reject invalid CIDRs at their index', () => {
    expectIssue(
      doc('GlobalNetworkSet', { nets: ['1.2.3.4/32', '1.2.3/8'] }, { name: 'g' }),
      'spec.nets[1]',
      '"1.2.3/8"',
    );
  });

  it('reserve the projectcalico.org/namespace label', () => {
    for (const kind of ['NetworkSet', 'GlobalNetworkSet']) {
      expectIssue(
        doc(kind, {}, { name: 'g', labels: { 'projectcalico.org/namespace': 'x' } }),
        'metadata.labels["projectcalico.org/namespace"]',
        'projectcalico.org/namespace',
      );
    }
  });

  it('are namespaced and cluster-scoped respectively', () => {
    expectIssue(doc('GlobalNetworkSet', {}, { name: 'g', namespace: 'ns' }), 'metadata.namespace', '"ns"');
    decodeOk(doc('NetworkSet', {}, { name: 'n', namespace: 'ns' }));
  });

  it('check the generic name rule', () => {
    expectIssue(doc('NetworkSet', {}, { name: 'Bad' }), 'metadata.name', '"Bad"');
    decodeOk(doc('NetworkSet', {}, { name: 'a.b.c' }));
  });
});
