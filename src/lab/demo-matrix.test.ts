import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { expectedMatrix, matrixChanges, mismatches, renderMatrix, type MatrixTarget } from './demo-matrix.js';

const targets: MatrixTarget[] = [
  { key: 'x/a', protocol: 'tcp', port: 80 },
  { key: 'outside', protocol: 'udp', port: 53 },
];
const sources = ['x/a', 'x/b'];

describe('demo matrix', () => {
  test('expectations from row strings', () => {
    assert.deepEqual(expectedMatrix(sources, targets, { 'x/a': '-Y', 'x/b': 'nY' }), {
      'x/a': { 'x/a': 'self', outside: 'allowed' },
      'x/b': { 'x/a': 'denied', outside: 'allowed' },
    });
    assert.throws(() => expectedMatrix(sources, targets, { 'x/a': '-', 'x/b': 'nY' }), /has 1 cells/);
  });

  test('changes and mismatches', () => {
    const before = expectedMatrix(sources, targets, { 'x/a': '-Y', 'x/b': 'YY' });
    const after = expectedMatrix(sources, targets, { 'x/a': '-n', 'x/b': 'YY' });
    assert.deepEqual(matrixChanges(before, after), [
      { from: 'x/a', to: 'outside', before: 'allowed', after: 'denied' },
    ]);
    assert.deepEqual(matrixChanges(undefined, after), []);
    assert.deepEqual(mismatches(after, before), [
      { from: 'x/a', to: 'outside', before: 'allowed', after: 'denied' },
    ]);
  });

  test('renders a table with the probed ports and marks changed cells', () => {
    const before = expectedMatrix(sources, targets, { 'x/a': '-Y', 'x/b': 'YY' });
    const after = expectedMatrix(sources, targets, { 'x/a': '-n', 'x/b': 'YY' });
    assert.equal(
      renderMatrix(sources, targets, after, before),
      [
        'from \\ to  x/a     outside',
        '           tcp/80  udp/53',
        'x/a        .       DENY*',
        'x/b        allow   allow',
      ].join('\n'),
    );
  });
});
