import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { podFiles } from './paths.js';
import { loadState, saveState, statePath, type LabState } from './state.js';

describe('lab state file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'calts-test-'));
  after(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  test('round-trips atomically (no temp file left) and refuses what is not a state file', () => {
    const state: LabState = {
      version: 1,
      ownerPid: 42,
      runDir: dir,
      datastorePath: join(dir, 'calico.db'),
      agentEnv: {},
      detached: true,
      nodes: [{ name: 'node-1', index: 1, netns: 'calts-16-abcdef', runDir: join(dir, 'nodes', 'node-1') }],
      pods: [],
    };
    saveState(state);
    assert.deepEqual(loadState(dir), state);
    assert.deepEqual(readdirSync(dir), ['lab.json']);
    writeFileSync(statePath(dir), '{"version":2}');
    assert.throws(() => loadState(dir), /not a lab state file/);
    assert.throws(() => loadState(join(dir, 'nowhere')), /no lab in/);
  });

  test('pod files have short, distinct names', () => {
    const a = podFiles('/tmp/r', 'x/a');
    const b = podFiles('/tmp/r', 'x/b');
    assert.match(a.socketPath, /^\/tmp\/r\/pods\/[0-9a-f]{12}\.sock$/);
    assert.notEqual(a.socketPath, b.socketPath);
    assert.throws(() => podFiles(`/tmp/${'d'.repeat(100)}`, 'x/a'), /too long/);
  });
});
