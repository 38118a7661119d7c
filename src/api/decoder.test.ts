import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { int, Issues, list, opt, req, show, str, struct, withDefault } from './decoder.js';

interface Thing {
  a: string;
  b?: number;
  c?: string;
}

const thing = struct<Thing>({
  a: req(str),
  b: opt(int(0, 10)),
  c: withDefault(str, (d) => (typeof d['b'] === 'number' ? `b=${d['b']}` : undefined)),
});

describe('struct', () => {
  it('decodes known fields in spec order and treats null as absent', () => {
    const issues = new Issues();
    assert.deepEqual(thing({ c: 'z', b: null, a: 'x' }, 'p', issues), { a: 'x', c: 'z' });
    assert.deepEqual(issues.list, []);
  });

  it('computes defaults from sibling fields, in field order', () => {
    const out = thing({ b: 3, a: 'x' }, 'p', new Issues());
    assert.deepEqual(out, { a: 'x', b: 3, c: 'b=3' });
    assert.deepEqual(Object.keys(out), ['a', 'b', 'c']);
  });

  it('reports unknown and missing fields with paths, and every bad field', () => {
    const issues = new Issues();
    assert.equal(thing({ b: 11, d: 1 }, 'spec.x', issues), undefined);
    assert.deepEqual(
      issues.list.map((i) => i.path),
      ['spec.x.d', 'spec.x.a', 'spec.x.b'],
    );
  });

  it('can ignore unknown fields', () => {
    const lenient = struct<Thing>({ a: req(str), b: opt(int(0, 1)), c: opt(str) }, { strict: false });
    const issues = new Issues();
    assert.deepEqual(lenient({ a: 'x', zzz: 1 }, '', issues), { a: 'x' });
    assert.deepEqual(issues.list, []);
  });
});

describe('list', () => {
  it('checks every item and fails as a whole if one is bad', () => {
    const issues = new Issues();
    assert.equal(list(int(0, 5))([1, 9, 'x'], 'l', issues), undefined);
    assert.deepEqual(
      issues.list.map((i) => i.path),
      ['l[1]', 'l[2]'],
    );
    assert.deepEqual(list(int(0, 5))([1, 2], 'l', new Issues()), [1, 2]);
  });

  it('enforces maxItems and uniqueness', () => {
    const issues = new Issues();
    list(str, { maxItems: 1, unique: true })(['a', 'a'], 'l', issues);
    assert.deepEqual(
      issues.list.map((i) => i.path),
      ['l', 'l[1]'],
    );
  });
});

describe('Issues.hasAt', () => {
  it('matches the path and paths below it only', () => {
    const issues = new Issues();
    issues.add('spec.a[0].b', 'x');
    assert.equal(issues.hasAt('spec.a'), true);
    assert.equal(issues.hasAt('spec.a[0]'), true);
    assert.equal(issues.hasAt('spec.ab'), false);
    assert.equal(issues.hasAt('spec.a[0].c'), false);
  });
});

describe('struct field names', () => {
  it('match exactly, or case-insensitively when folding (Go encoding/json); the last spelling wins', () => {
    const strict = new Issues();
    assert.equal(thing({ A: 'x' }, 'p', strict), undefined);
    assert.deepEqual(
      strict.list.map((i) => i.path),
      ['p.A', 'p.a'],
    );
    const folding = new Issues({ foldFieldCase: true });
    assert.deepEqual(thing({ A: 'x', B: 1, b: 2 }, 'p', folding), { a: 'x', b: 2, c: 'b=2' });
    assert.deepEqual(thing({ b: 2, B: 1, a: 'x' }, 'p', folding), { a: 'x', b: 1, c: 'b=1' });
    assert.deepEqual(folding.list, []);
  });

  it('still report unknown fields and every other problem of the same struct', () => {
    const issues = new Issues({ foldFieldCase: true });
    assert.equal(thing({ colour: 'x', B: 99 }, 'p', issues), undefined);
    assert.deepEqual(
      issues.list.map((i) => i.path),
      ['p.colour', 'p.a', 'p.b'],
    );
  });
});

describe('show', () => {
  it('cuts long values with a marker giving their full length', () => {
    assert.equal(show('abc'), '"abc"');
    const long = show('x'.repeat(1_000_000));
    assert.ok(long.length < 200, long);
    assert.match(long, /^"x+"\.\.\. \(1000000 characters\)$/);
    assert.ok(show({ a: 'y'.repeat(10_000) }).length < 200);
  });
});
