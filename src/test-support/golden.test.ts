import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { describeDifference, expectGolden } from './golden.js';

const dir = mkdtempSync(join(tmpdir(), 'calts-golden-'));
after(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('expectGolden', () => {
  it('passes on equal text and fails with the path and the first difference otherwise', () => {
    const file = join(dir, 'a.txt');
    writeFileSync(file, 'one\ntwo\nthree\n');
    expectGolden(file, 'one\ntwo\nthree\n');
    assert.throws(
      () => {
        expectGolden(file, 'one\nTWO\nthree\n');
      },
      (e: Error) =>
        e.message.includes(file) &&
        e.message.includes('- two') &&
        e.message.includes('+ TWO') &&
        e.message.includes('UPDATE_GOLDEN=1'),
    );
    assert.throws(() => {
      expectGolden(join(dir, 'missing.txt'), 'x');
    }, /does not exist/);
  });

  it('writes the file when UPDATE_GOLDEN=1', () => {
    const file = join(dir, 'sub', 'b.txt');
    const before = process.env['UPDATE_GOLDEN'];
    process.env['UPDATE_GOLDEN'] = '1';
    try {
      expectGolden(file, 'new\n');
    } finally {
      if (before === undefined) delete process.env['UPDATE_GOLDEN'];
      else process.env['UPDATE_GOLDEN'] = before;
    }
    assert.equal(readFileSync(file, 'utf8'), 'new\n');
  });

  it('describes a difference around its first line', () => {
    assert.equal(describeDifference('a\nb\nc', 'a\nx\nc'), 'first difference at line 2\n  a\n- b\n+ x\n  c');
  });
});
