import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decodeResource } from './decode.js';
import { builtInTiers, defaultAllowProfile, isBuiltInTier } from './tiers.js';

describe('built-in resources', () => {
  it('has the three protected tiers with their orders and default actions', () => {
    const tiers = builtInTiers();
    assert.deepEqual(
      tiers.map((t) => [t.metadata.name, t.spec.order, t.spec.defaultAction]),
      [
        ['kube-admin', 1000, 'Pass'],
        ['default', 1_000_000, 'Deny'],
        ['kube-baseline', 10_000_000, 'Pass'],
      ],
    );
    assert.equal(isBuiltInTier('default'), true);
    assert.equal(isBuiltInTier('security'), false);
  });

  it('builds resources that pass validation unchanged', () => {
    for (const r of [...builtInTiers(), defaultAllowProfile()]) {
      assert.deepEqual(decodeResource(r), { ok: true, value: r });
    }
  });

  it('has an allow-all profile', () => {
    const p = defaultAllowProfile();
    assert.equal(p.metadata.name, 'projectcalico-default-allow');
    assert.deepEqual(p.spec, { ingress: [{ action: 'Allow' }], egress: [{ action: 'Allow' }] });
  });

  it('returns fresh objects', () => {
    const a = builtInTiers();
    (a[0] as { spec: { order?: number } }).spec.order = 1;
    assert.equal(builtInTiers()[0]?.spec.order, 1000);
  });
});
