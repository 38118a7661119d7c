/**
 * The differential test on the real kernel (issue 10): random namespaces, pods and policies (Calico and
 * Kubernetes kinds, tiers, Pass, named ports, ipBlocks, negations), decided by the reference evaluator and by
 * the calico-ts agent's nftables dataplane for every ordered pod pair on TCP 80, UDP 80 and TCP 8080. Zero
 * disagreements allowed; a disagreement is printed with the seed and written as a case file that
 * `npm run conformance -- --dataplane nftables <file>` replays.
 *
 * First the cases earlier runs found (testdata/differential/, each a fixed renderer bug) are replayed, then 50
 * random cases run (about a minute), then 20 more with the addresses mapped to IPv6; `npm run bench` runs
 * 1,000. DIFFERENTIAL_SEED and DIFFERENTIAL_CASES repeat or widen a run.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { after, describe, it } from 'node:test';
import { testdataPath } from '../test-support/repo.js';
import { parseCase } from './cases.js';
import { runDifferential } from './differential.js';
import { NftablesDriver, nftablesUnavailableReason } from './nftables-driver.js';
import { describeMismatch, runCase } from './runner.js';

const skip = nftablesUnavailableReason();
const seed = process.env.DIFFERENTIAL_SEED === undefined ? undefined : Number(process.env.DIFFERENTIAL_SEED);
const cases = Number(process.env.DIFFERENTIAL_CASES ?? 50);
/** IPv6 gets a shorter run of its own: same generator, addresses mapped as `--ip-family 6` does. */
const RUNS: readonly { family: 4 | 6; cases: number }[] = [
  { family: 4, cases },
  { family: 6, cases: Math.min(cases, 20) },
];

async function agrees(driver: NftablesDriver, family: 4 | 6, n: number): Promise<void> {
  const r = await runDifferential({
    driver,
    cases: n,
    family,
    ...(seed !== undefined ? { seed } : {}),
    signal: AbortSignal.timeout(39 * 60_000),
    log: (line) => process.stderr.write(`${line}\n`),
  });
  process.stderr.write(
    `differential: seed ${r.seed}, IPv${family}: ${r.cases} cases, ${r.cells} connections, ${r.disagreements} disagreements in ${(r.durationMs / 1000).toFixed(0)} s\n`,
  );
  assert.equal(
    r.disagreements,
    0,
    `seed ${r.seed}: ${r.problem ?? ''}; replay: npm run conformance -- --dataplane nftables --ip-family ${family} ${r.caseFile ?? ''}`,
  );
  assert.equal(r.cases, n);
  assert.ok(r.cells > 0);
}

for (const run of RUNS) {
  describe(`differential: evaluator vs nftables on the kernel, IPv${run.family}`, { skip }, () => {
    const driver = new NftablesDriver({ family: run.family });
    after(() => driver[Symbol.asyncDispose]());

    const found =
      run.family === 4 ? readdirSync(testdataPath('differential')).filter((f) => f.endsWith('.json')) : [];
    for (const file of found) {
      it(`replays ${file}, a disagreement an earlier run found`, { timeout: 5 * 60_000 }, async () => {
        const all = JSON.parse(readFileSync(testdataPath('differential', file), 'utf8')) as unknown[];
        for (const [i, c] of all.entries()) {
          const r = await runCase(parseCase(c, `${file}[${i}]`), driver, AbortSignal.timeout(4 * 60_000));
          assert.equal(r.error, undefined);
          assert.deepEqual(r.mismatches.map(describeMismatch), []);
          assert.ok(r.cellsJudged > 0);
        }
      });
    }

    it(`agrees on ${run.cases} random cases`, { timeout: 40 * 60_000 }, () =>
      agrees(driver, run.family, run.cases),
    );
  });
}
