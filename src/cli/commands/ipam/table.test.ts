import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { countWithPercent, formatG5, formatPercent, renderTable } from './table.js';

describe('ipam table formatting', () => {
  it('formats counts like Go %.5g', () => {
    assert.equal(formatG5(0), '0');
    assert.equal(formatG5(64), '64');
    assert.equal(formatG5(65536), '65536');
    assert.equal(formatG5(1048576), '1.0486e+06');
    assert.equal(formatG5(2 ** 64), '1.8447e+19');
    assert.equal(formatG5(100000), '1e+05');
  });

  it('rounds percentages like Go %.f (halves to even)', () => {
    assert.equal(formatPercent(8, 64), '12');
    assert.equal(formatPercent(24, 64), '38');
    assert.equal(formatPercent(2, 256), '1');
    assert.equal(formatPercent(63, 64), '98');
    assert.equal(countWithPercent(5, 64), '5 (8%)');
  });

  it('draws go-pretty default tables, numbers right-aligned where asked', () => {
    assert.equal(
      renderTable(
        ['NAME', 'N'],
        [
          ['a', '1'],
          ['bbb', '22'],
        ],
        ['left', 'right'],
      ),
      '+------+----+\n| NAME | N  |\n+------+----+\n| a    |  1 |\n| bbb  | 22 |\n+------+----+\n',
    );
    assert.equal(renderTable(['A'], []), '+---+\n| A |\n+---+\n+---+\n');
  });
});
