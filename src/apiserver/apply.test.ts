/** Field ownership and server-side apply (apply.ts, fields.ts), pure. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { applyConfig, conflictReport, recordUpdate, type FieldManagerOptions } from './apply.js';
import { fieldsOf, fromFieldsV1, toFieldsV1 } from './fields.js';

const NOW = new Date('2026-12-07T15:00:00.123Z');
const as = (manager: string): FieldManagerOptions => ({ manager, statusSubresource: false, now: NOW });

function gnp(spec: Record<string, unknown>, labels?: Record<string, string>): Record<string, unknown> {
  return {
    apiVersion: 'projectcalico.org/v3',
    kind: 'GlobalNetworkPolicy',
    metadata: { name: 'p', resourceVersion: '5', uid: 'u', ...(labels === undefined ? {} : { labels }) },
    spec,
  };
}

describe('field sets', () => {
  it("keeps lists atomic and maps granular, without server metadata, in Kubernetes' fieldsV1 form", () => {
    const set = fieldsOf(
      gnp({ selector: 'all()', ingress: [{ action: 'Allow' }], types: [] }, { a: '1' }),
      false,
    );
    assert.deepEqual(toFieldsV1(set), {
      'f:metadata': { 'f:labels': { 'f:a': {} } },
      'f:spec': { 'f:ingress': {}, 'f:selector': {}, 'f:types': {} },
    });
    assert.deepEqual(fromFieldsV1(toFieldsV1(set)).paths().length, 4);
    assert.ok(
      fromFieldsV1({ 'f:metadata': { 'f:labels': { '.': {}, 'f:a': {} } } }).has(['metadata', 'labels']),
    );
  });
});

describe('server-side apply', () => {
  it('creates, records the Apply entry, and removes a field the manager alone applied before', () => {
    const first = applyConfig(undefined, gnp({ selector: 'all()', order: 10 }), false, as('kubectl'));
    assert.ok(first.ok);
    assert.deepEqual(first.managedFields, [
      {
        manager: 'kubectl',
        operation: 'Apply',
        apiVersion: 'projectcalico.org/v3',
        time: '2026-12-07T15:00:00Z',
        fieldsType: 'FieldsV1',
        fieldsV1: { 'f:spec': { 'f:order': {}, 'f:selector': {} } },
      },
    ]);
    const live = { ...first.object, metadata: { name: 'p', managedFields: first.managedFields } };
    const second = applyConfig(live, gnp({ selector: 'all()' }), false, as('kubectl'));
    assert.ok(second.ok);
    assert.deepEqual(second.object['spec'], { selector: 'all()' });
  });

  it("refuses to change another manager's field (409 text), takes it when forced, shares equal values", () => {
    const created = gnp({ selector: 'all()', order: 10 });
    const managedFields = recordUpdate(undefined, created, as('kubectl-client-side-apply'));
    const live = { ...created, metadata: { name: 'p', managedFields } };
    assert.ok(applyConfig(live, gnp({ selector: 'all()' }), false, as('ci')).ok, 'same value: shared');
    const refused = applyConfig(live, gnp({ selector: 'role == "x"' }), false, as('ci'));
    assert.ok(!refused.ok);
    const report = conflictReport(refused.conflicts);
    assert.equal(
      report.message,
      'Apply failed with 1 conflict: conflict with "kubectl-client-side-apply" using projectcalico.org/v3 at 2026-12-07T15:00:00Z: .spec.selector',
    );
    assert.deepEqual(report.causes, [
      {
        reason: 'FieldManagerConflict',
        message:
          'conflict with "kubectl-client-side-apply" using projectcalico.org/v3 at 2026-12-07T15:00:00Z',
        field: '.spec.selector',
      },
    ]);
    const forced = applyConfig(live, gnp({ selector: 'role == "x"' }), true, as('ci'));
    assert.ok(forced.ok);
    assert.equal((forced.object['spec'] as { selector: string }).selector, 'role == "x"');
    const csa = forced.managedFields.find((e) => e.manager === 'kubectl-client-side-apply');
    assert.deepEqual(csa?.fieldsV1, { 'f:spec': { 'f:order': {} } });
  });

  it('gives an object with no managed fields to before-first-apply first', () => {
    const out = applyConfig(gnp({ selector: 'all()' }), gnp({ selector: 'x == "y"' }), false, as('kubectl'));
    assert.ok(!out.ok);
    assert.match(conflictReport(out.conflicts).message, /conflict with "before-first-apply" using/);
  });
});

describe('Update ownership', () => {
  it('moves changed fields to the writer and drops removed ones from everyone', () => {
    const a = gnp({ selector: 'all()', order: 1 });
    const mf = recordUpdate(undefined, a, as('kubectl-create'));
    const b = {
      ...gnp({ selector: 'all()', order: 2, types: ['Ingress'] }),
      metadata: { name: 'p', managedFields: mf },
    };
    const after = recordUpdate({ ...a, metadata: { name: 'p', managedFields: mf } }, b, as('kubectl-edit'));
    assert.deepEqual(
      after.map((e) => [e.manager, e.fieldsV1]),
      [
        ['kubectl-create', { 'f:spec': { 'f:selector': {} } }],
        ['kubectl-edit', { 'f:spec': { 'f:order': {}, 'f:types': {} } }],
      ],
    );
  });
});
