/**
 * The differential run of issue 10 at full size (real kernel, root; skipped with the reason otherwise):
 * 1,000 random cases decided by the reference evaluator and by the calico-ts agent's nftables dataplane, every
 * ordered pod pair on three ports (src/conformance/differential.ts). Reports the cases run, the connections
 * judged, the disagreements (target 0) and the time. The seed is printed; a disagreement is written as a
 * case file (its path is printed) that `npm run conformance -- --dataplane nftables <file>` replays.
 * DIFFERENTIAL_SEED repeats a run.
 */
import { runDifferential } from '../src/conformance/differential.js';
import { NftablesDriver, nftablesUnavailableReason } from '../src/conformance/nftables-driver.js';
import type { BenchResult } from './result.js';

const CASES = 1000;

export async function benchDifferential(): Promise<BenchResult[]> {
  const skip = nftablesUnavailableReason();
  if (skip !== false) {
    process.stdout.write(`  skipped: ${skip}\n`);
    return [];
  }
  const seedText = process.env.DIFFERENTIAL_SEED;
  await using driver = new NftablesDriver({ family: 4 });
  const r = await runDifferential({
    driver,
    cases: CASES,
    ...(seedText !== undefined ? { seed: Number(seedText) } : {}),
    signal: AbortSignal.timeout(4 * 3600_000),
    log: (line) => process.stdout.write(`  ${line}\n`),
  });
  const minutes = Math.round((r.durationMs / 60_000) * 10) / 10;
  return [
    {
      name: `differential (seed ${r.seed}): cases run`,
      value: r.cases,
      unit: 'cases',
      target: { op: '>=', value: CASES, issue: 10 },
    },
    { name: 'differential: connections judged', value: r.cells, unit: 'connections' },
    {
      name: 'differential: disagreements, evaluator vs nftables',
      value: r.disagreements,
      unit: 'cases',
      target: { op: '<=', value: 0, issue: 10 },
    },
    { name: 'differential: time', value: minutes, unit: 'min' },
  ];
}
