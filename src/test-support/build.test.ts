/**
 * `npm run build` leaves every `bin` entry of package.json executable (scripts/mark-bins-executable.sh runs
 * after tsc, which writes 0644): the built tree's entries, run directly by path, and the step itself on a
 * package of its own.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { repoRoot } from './repo.js';

const SCRIPT = join(repoRoot(), 'scripts', 'mark-bins-executable.sh');

interface Run {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

function run(file: string, args: readonly string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(file, args, { timeout: 20_000 }, (error, stdout, stderr) => {
      const code = error === null ? 0 : typeof error.code === 'number' ? error.code : null;
      resolve({ code, stdout, stderr });
    });
  });
}

function bins(dir: string): Record<string, string> {
  const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { bin: Record<string, string> };
  return pkg.bin;
}

describe('npm run build: executable entry points', () => {
  it('every bin entry of package.json is built 0755 with a node shebang', () => {
    const entries = Object.entries(bins(repoRoot()));
    assert.ok(
      entries.length >= 6,
      'calicoctl, calico-node, calico, calico-ipam, calico-lab, calico-conformance',
    );
    for (const [name, file] of entries) {
      const path = join(repoRoot(), file);
      assert.equal(statSync(path).mode & 0o777, 0o755, `${name}: ${file}`);
      assert.match(readFileSync(path, 'utf8'), /^#!\/usr\/bin\/env node\n/, `${name}: ${file}`);
    }
  });

  it('the entry points run by path, without `node` in front', async () => {
    const b = bins(repoRoot());
    const node = await run(join(repoRoot(), b['calico-node'] ?? ''), ['-v']);
    assert.equal(node.code, 0, node.stderr);
    assert.match(node.stdout, /^Version: /);
    const ctl = await run(join(repoRoot(), b['calicoctl'] ?? ''), ['version', '--client']);
    assert.equal(ctl.code, 0, ctl.stderr);
    assert.match(ctl.stdout, /Client Version:/);
  });

  it('the build step marks a package of 0644 entries 0755, and names an entry that was not built', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'calts-bins-'));
    try {
      mkdirSync(join(dir, 'out'));
      writeFileSync(
        join(dir, 'package.json'),
        JSON.stringify({ name: 'p', bin: { one: 'out/one.js', two: 'out/two.js' } }),
      );
      for (const f of ['one', 'two']) {
        writeFileSync(join(dir, 'out', `${f}.js`), '#!/usr/bin/env node\n');
        chmodSync(join(dir, 'out', `${f}.js`), 0o644);
      }
      const ok = await run('bash', [SCRIPT, dir]);
      assert.equal(ok.code, 0, ok.stderr);
      for (const f of ['one', 'two']) assert.equal(statSync(join(dir, 'out', `${f}.js`)).mode & 0o777, 0o755);
      rmSync(join(dir, 'out', 'two.js'));
      const missing = await run('bash', [SCRIPT, dir]);
      assert.equal(missing.code, 1);
      assert.match(missing.stderr, /out\/two\.js \(a bin entry of .*package\.json\) was not built/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
