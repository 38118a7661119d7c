import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { pruneDir } from './paths.js';

describe('pruneDir', () => {
  const base = mkdtempSync(join(tmpdir(), 'calts-prune-'));
  after(() => {
    rmSync(base, { recursive: true, force: true });
  });

  const tree = (dir: string): void => {
    for (const d of ['nodes/node-1/endpoint-status/x', 'pods', 'empty'])
      mkdirSync(join(dir, d), { recursive: true });
    for (const f of [
      'lab.json',
      'nodes/node-1/agent.log',
      'nodes/node-1/endpoint-status/x/a',
      'pods/p.log',
      'pods/p.sock',
    ])
      writeFileSync(join(dir, f), 'x');
  };

  test('keeps the files asked for and their directories, removes the rest', () => {
    const dir = join(base, 'a');
    tree(dir);
    assert.deepEqual(
      pruneDir(dir, (rel) => rel.endsWith('.log')),
      ['nodes/node-1/agent.log', 'pods/p.log'],
    );
    assert.equal(existsSync(join(dir, 'nodes/node-1/agent.log')), true);
    for (const gone of ['lab.json', 'pods/p.sock', 'nodes/node-1/endpoint-status', 'empty'])
      assert.equal(existsSync(join(dir, gone)), false, gone);
  });

  test('removes the directory itself when nothing is kept, and a missing one is fine', () => {
    const dir = join(base, 'b');
    tree(dir);
    assert.deepEqual(
      pruneDir(dir, () => false),
      [],
    );
    assert.equal(existsSync(dir), false);
    assert.deepEqual(
      pruneDir(dir, () => true),
      [],
    );
  });
});
