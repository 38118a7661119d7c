import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { repoRoot, testdataPath } from '../test-support/repo.js';
import { parseCase } from './cases.js';
import { describeMismatch, runCase } from './runner.js';
import { runSelectorVectors } from './selector-vectors.js';
import { SimDriver } from './sim.js';

const netpolFiles = readdirSync(testdataPath('conformance', 'netpol')).filter((f) => f.endsWith('.json'));
const anpFiles = readdirSync(testdataPath('conformance', 'anp')).filter((f) => f.endsWith('.json'));

describe('shared conformance corpus, sim dataplane', () => {
  it('passes every selector vector', () => {
    const r = runSelectorVectors(
      JSON.parse(readFileSync(testdataPath('conformance', 'selectors.json'), 'utf8')) as Record<
        string,
        unknown
      >,
    );
    assert.deepEqual(r.failures, []);
    assert.ok(r.passed > 300);
  });
  for (const family of [4, 6] as const) {
    for (const file of netpolFiles) {
      it(`passes every case of ${file} (IPv${family})`, async () => {
        const cases = (
          JSON.parse(readFileSync(testdataPath('conformance', 'netpol', file), 'utf8')) as unknown[]
        ).map((c, i) => parseCase(c, `${file}[${i}]`, family));
        await using driver = new SimDriver();
        const failures: string[] = [];
        for (const c of cases) {
          const r = await runCase(c, driver, AbortSignal.timeout(60_000));
          if (!r.passed) failures.push(`${c.id}: ${r.error ?? JSON.stringify(r.mismatches[0])}`);
          assert.ok(r.cellsJudged > 0, `${c.id} judged no connection`);
        }
        assert.deepEqual(failures, []);
      });
    }
    it(`passes every admin network policy case, both tables (IPv${family})`, async () => {
      assert.deepEqual(anpFiles.sort(), [
        'network-policy-api-v1alpha1.json',
        'network-policy-api-v1alpha2.json',
      ]);
      await using driver = new SimDriver();
      const failures: string[] = [];
      let passed = 0;
      for (const file of anpFiles) {
        const raw = JSON.parse(readFileSync(testdataPath('conformance', 'anp', file), 'utf8')) as unknown[];
        for (const [i, c] of raw.entries()) {
          const r = await runCase(parseCase(c, `${file}[${i}]`, family), driver, AbortSignal.timeout(60_000));
          if (r.passed) passed++;
          else failures.push(`${r.id}: ${r.error ?? describeMismatch(r.mismatches[0]!)}`);
          // Every cell of the full matrix is judged: 10 pods, so 100 per probe.
          assert.ok(r.cellsJudged >= 100, `${r.id} judged ${r.cellsJudged} connections`);
        }
      }
      assert.deepEqual(failures, []);
      assert.equal(passed, 24);
    });
  }
});

describe('calico-conformance command', () => {
  const main = join(repoRoot(), 'dist', 'src', 'conformance', 'main.js');
  const run = (args: string[]) =>
    spawnSync(process.execPath, [main, ...args], { encoding: 'utf8', timeout: 60_000 });

  it('ends with "N passed, N failed" and exits 0 when everything passes', () => {
    const r = run([
      testdataPath('conformance', 'selectors.json'),
      testdataPath('conformance', 'netpol', 'kubernetes-e2e-netpol.json'),
    ]);
    assert.equal(r.status, 0, r.stderr);
    const lines = r.stdout.trimEnd().split('\n');
    assert.match(lines.at(-1) ?? '', /^\d+ passed, 0 failed$/);
  });

  it('runs the admin network policy files: 24 passed, 0 failed', () => {
    const r = run(['--dataplane', 'sim', ...anpFiles.map((f) => testdataPath('conformance', 'anp', f))]);
    assert.equal(r.status, 0, r.stdout + r.stderr);
    assert.equal(r.stdout.trimEnd().split('\n').at(-1), '24 passed, 0 failed');
  });

  it('prints one FAIL line per failing case with its first mismatch, and exits 1', () => {
    const dir = mkdtempSync(join(tmpdir(), 'calico-conf-'));
    try {
      const cases = JSON.parse(
        readFileSync(testdataPath('conformance', 'netpol', 'kubernetes-e2e-netpol.json'), 'utf8'),
      ) as {
        probes?: { expected: Record<string, Record<string, boolean>> }[];
      }[];
      // Flip one expectation of the first case: the runner must report exactly that cell.
      const first = cases[0];
      const row = first?.probes?.[0]?.expected['x/a'];
      assert.ok(row !== undefined);
      row['y/a'] = !(row['y/a'] ?? false);
      const file = join(dir, 'flipped.json');
      writeFileSync(file, JSON.stringify(cases.slice(0, 2)));
      const r = run(['--json', join(dir, 'out.json'), file]);
      assert.equal(r.status, 1);
      const fails = r.stdout.split('\n').filter((l) => l.startsWith('FAIL '));
      assert.equal(fails.length, 1);
      assert.match(fails[0] ?? '', /x\/a -> y\/a TCP\/80: expected (allow|deny), got (allow|deny); /);
      assert.match(r.stdout.trimEnd().split('\n').at(-1) ?? '', /^1 passed, 1 failed$/);
      const json = JSON.parse(readFileSync(join(dir, 'out.json'), 'utf8')) as {
        passed: number;
        failed: number;
      };
      assert.deepEqual([json.passed, json.failed], [1, 1]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('rejects an unknown dataplane with exit 2', () => {
    const r = run(['--dataplane', 'nope', testdataPath('conformance', 'selectors.json')]);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /unknown dataplane "nope"/);
  });
});
