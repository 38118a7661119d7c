/**
 * The test of the differential test: the same harness, against an agent whose renderer deliberately loses
 * every policy's Deny rules (testing/broken-agent.ts, started through the driver's agent entry; no production
 * setting reaches it), must report a disagreement, shrink it, and write a case file that replays it: the
 * `sim` dataplane passes the file (its truth tables are the evaluator's), the broken dataplane fails it again,
 * and the real agent, through `calico-conformance --dataplane nftables`, passes it.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, describe, it } from 'node:test';
import { repoRoot } from '../test-support/repo.js';
import { parseCase } from './cases.js';
import { runDifferential } from './differential.js';
import { NftablesDriver, nftablesUnavailableReason } from './nftables-driver.js';
import { runCase } from './runner.js';

const brokenAgent = fileURLToPath(new URL('./testing/broken-agent.js', import.meta.url));
const main = join(repoRoot(), 'dist', 'src', 'conformance', 'main.js');
const skip =
  nftablesUnavailableReason() ||
  (existsSync(brokenAgent) && existsSync(main) ? false : 'the broken agent or the runner is not built');

function conformance(dataplane: string, file: string): { status: number | null; out: string } {
  const r = spawnSync(process.execPath, [main, '--dataplane', dataplane, file], {
    encoding: 'utf8',
    timeout: 5 * 60_000,
  });
  return { status: r.status, out: r.stdout + r.stderr };
}

describe('differential harness against a deliberately broken renderer', { skip }, () => {
  const driver = new NftablesDriver({ family: 4, agentEntry: brokenAgent });
  const dir = mkdtempSync(join(tmpdir(), 'calico-differential-test-'));
  after(async () => {
    await driver[Symbol.asyncDispose]();
    rmSync(dir, { recursive: true, force: true });
  });

  it('reports the disagreement as a replayable case file', { timeout: 15 * 60_000 }, async () => {
    const signal = AbortSignal.timeout(14 * 60_000);
    const lines: string[] = [];
    const r = await runDifferential({
      driver,
      cases: 20,
      seed: 10,
      shrinkRuns: 8,
      caseDir: dir,
      signal,
      log: (line) => {
        lines.push(line);
        process.stderr.write(`${line}\n`);
      },
    });
    assert.equal(r.disagreements, 1, lines.join('\n'));
    assert.match(r.problem ?? '', /expected deny, got allow/);
    assert.ok(r.shrinkRuns > 0 && r.shrinkRuns <= 8);
    const file = r.caseFile ?? '';
    assert.ok(file.startsWith(dir) && existsSync(file));
    assert.ok(
      lines.some((l) => l.includes(`npm run conformance -- --dataplane nftables --ip-family 4 ${file}`)),
    );

    const sim = conformance('sim', file);
    assert.equal(sim.status, 0, sim.out);
    assert.match(sim.out, /^1 passed, 0 failed$/m);

    const [raw] = JSON.parse(readFileSync(file, 'utf8')) as unknown[];
    const again = await runCase(parseCase(raw, file), driver, signal);
    assert.equal(again.passed, false, 'the broken dataplane fails the written case again');
    assert.ok(again.mismatches.every((m) => !m.expected && m.got));

    const real = conformance('nftables', file);
    assert.equal(real.status, 0, real.out);
    assert.match(real.out, /^1 passed, 0 failed$/m);
  });
});
