import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { ValidationError } from '../../lib/errors.js';
import { convertUid } from './uid.js';

describe('convertUid', () => {
  it("translates Calico's example (libcalico-go/lib/backend/k8s/conversion/conversion_test.go, UID conversion)", () => {
    assert.equal(convertUid('30316465-6365-4463-ad63-3564622d3638'), '0c8c26a6-c6a6-44c6-adc6-ac2646b46c1c');
    assert.equal(convertUid('0c8c26a6-c6a6-44c6-adc6-ac2646b46c1c'), '30316465-6365-4463-ad63-3564622d3638');
  });

  it('keeps the version and variant, changes the value, and converts back', () => {
    fc.assert(
      fc.property(fc.uuid({ version: 4 }), (uid) => {
        const converted = convertUid(uid);
        assert.match(converted, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
        assert.equal(converted.slice(14, 16), uid.toLowerCase().slice(14, 16));
        assert.equal(converted.slice(19, 21), uid.toLowerCase().slice(19, 21));
        assert.equal(convertUid(converted), uid.toLowerCase());
      }),
    );
  });

  it('rejects a value that is not a UUID, naming the field', () => {
    assert.throws(
      () => convertUid('not-a-uid'),
      (e: unknown) =>
        e instanceof ValidationError &&
        e.issues[0]?.path === 'metadata.uid' &&
        e.message.includes('failed to parse UID for resource'),
    );
    assert.throws(() => convertUid('30316465-6365-4463-ad63-3564622d363', 'spec.x'), /spec\.x/);
  });
});
