/**
 * The differential test: random cases (differential-gen.ts) decided twice, by the reference evaluator (the
 * `sim` dataplane: what `calicoctl policy explain` answers) and by a dataplane under test (normally the
 * calico-ts agent programming nftables on the real kernel, through the conformance driver), for every
 * ordered pair of distinct pods on a few ports. The evaluator's verdicts become the case's expected truth
 * table, so the dataplane is judged by the conformance runner exactly as for the shared corpus.
 *
 * fast-check drives the run: the seed is printed, and the first disagreeing case is shrunk (against the
 * dataplane, within a budget of runs, since each costs a few seconds on the kernel) and written as a case
 * file that `npm run conformance -- --dataplane nftables <file>` replays. The run stops at that case.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { errorMessage } from '../lib/errors.js';
import { parseCase } from './cases.js';
import type { DataplaneDriver } from './driver.js';
import { DIFF_PODS, scenarioArb, scenarioCaseFile, type DiffScenario } from './differential-gen.js';
import { describeMismatch, runCase, type CaseResult } from './runner.js';
import { SimDriver } from './sim.js';

export interface DifferentialOptions {
  /** The dataplane judged against the evaluator. Not disposed here. */
  readonly driver: DataplaneDriver;
  readonly cases: number;
  /**
   * 6 runs every case mapped to IPv6 as `--ip-family 6` does (pod addresses and ipBlocks; Calico nets stay
   * IPv4, so they also check rules whose addresses are all of the other family). The driver must match.
   */
  readonly family?: 4 | 6;
  /** Default: a fresh one (printed, so a run can be repeated). */
  readonly seed?: number;
  /** Dataplane runs spent shrinking a disagreeing case. Default 30; 0 keeps the case as found. */
  readonly shrinkRuns?: number;
  /** Where the disagreeing case file goes. Default: a fresh directory under the temp dir. */
  readonly caseDir?: string;
  readonly log?: (line: string) => void;
  readonly signal: AbortSignal;
}

export interface DifferentialReport {
  readonly seed: number;
  /** Cases decided by both sides (shrinking runs not counted). */
  readonly cases: number;
  /** Connections judged by the dataplane, over those cases. */
  readonly cells: number;
  /** Cases on which the dataplane disagreed with the evaluator (or failed): 0, or 1 as the run stops there. */
  readonly disagreements: number;
  readonly shrinkRuns: number;
  /** The disagreeing case, as a conformance case file, and what went wrong in it. */
  readonly caseFile?: string;
  readonly problem?: string;
  readonly durationMs: number;
}

type CaseFile = Record<string, unknown>;

/** Fills a generated case's truth tables with the reference evaluator's verdicts (the `sim` dataplane). */
export async function fillExpected(
  file: CaseFile,
  signal: AbortSignal,
  family: 4 | 6 = 4,
): Promise<CaseFile> {
  const parsed = parseCase(file, String(file.id), family);
  const state = parsed.states[0];
  if (state === undefined) throw new Error(`case ${parsed.id} has no state`);
  await using sim: DataplaneDriver = new SimDriver();
  const problems = await sim.applyState(state, { signal });
  if (problems.length > 0) throw new Error(`generated case ${parsed.id} is invalid: ${problems.join('; ')}`);
  // Verdicts are filed under the pod keys, the same in both families.
  const keys = DIFF_PODS.map((p) => `${p.namespace}/${p.name}`);
  const probes = [];
  for (const probe of state.probes) {
    const cells = keys.flatMap((from) =>
      keys.map((to) => ({ from, to, protocol: probe.protocol, port: probe.port })),
    );
    const outcomes = await sim.probe(cells, { signal });
    const expected: Record<string, Record<string, boolean>> = {};
    outcomes.forEach((o, i) => {
      const cell = cells[i];
      if (cell === undefined || o.kind !== 'judged') return;
      (expected[cell.from] ??= {})[cell.to] = o.allowed;
    });
    probes.push({ ...probe, expected });
  }
  return { ...file, probes };
}

function problemOf(r: CaseResult): string {
  if (r.error !== undefined) return r.error;
  const first = r.mismatches[0];
  const more = r.mismatches.length > 1 ? ` (and ${r.mismatches.length - 1} more cells)` : '';
  return first === undefined ? 'failed' : `${describeMismatch(first)}${more}`;
}

export async function runDifferential(opts: DifferentialOptions): Promise<DifferentialReport> {
  const started = performance.now();
  const seed = opts.seed ?? (Date.now() ^ (Math.random() * 0x7fffffff)) | 0;
  const budget = opts.shrinkRuns ?? 30;
  const family = opts.family ?? 4;
  const log = opts.log ?? (() => undefined);
  log(
    `differential: seed ${seed}, ${opts.cases} cases against the ${opts.driver.name} dataplane, IPv${family}`,
  );
  let cases = 0;
  let cells = 0;
  let shrinkRuns = 0;
  let failing: { file: CaseFile; result: CaseResult } | undefined;
  /** A case that threw (an invalid generated case, an abort): no verdict of the dataplane; ends the run. */
  let broken: unknown;

  const decide = async (s: DiffScenario): Promise<boolean> => {
    if (broken !== undefined) return true;
    try {
      return await decideOne(s);
    } catch (e) {
      broken = e;
      throw e;
    }
  };
  const decideOne = async (s: DiffScenario): Promise<boolean> => {
    const shrinking = failing !== undefined;
    // Once the budget is spent every further candidate "passes", so fast-check stops at the smallest found.
    if (shrinking && shrinkRuns >= budget) return true;
    const id = shrinking ? `diff-${seed}-shrink-${++shrinkRuns}` : `diff-${seed}-${cases + 1}`;
    const file = await fillExpected(scenarioCaseFile(s, id), opts.signal, family);
    const result = await runCase(parseCase(file, id, family), opts.driver, opts.signal);
    if (!shrinking) {
      cases++;
      cells += result.cellsJudged;
    }
    if (result.passed) {
      if (!shrinking && cases % 10 === 0)
        log(`differential: ${cases} cases, ${cells} connections, no disagreement`);
      return true;
    }
    failing = { file, result };
    log(`differential: ${id} disagrees: ${problemOf(result)}`);
    return false;
  };

  await fc.check(fc.asyncProperty(scenarioArb, decide), {
    numRuns: opts.cases,
    seed,
    endOnFailure: budget === 0,
  });
  if (broken !== undefined) throw broken instanceof Error ? broken : new Error(errorMessage(broken));
  const durationMs = performance.now() - started;
  if (failing === undefined) return { seed, cases, cells, disagreements: 0, shrinkRuns, durationMs };
  const dir = opts.caseDir ?? mkdtempSync(join(tmpdir(), 'calico-differential-'));
  const caseFile = join(dir, `${String(failing.file.id)}.json`);
  writeFileSync(caseFile, `${JSON.stringify([failing.file], null, 2)}\n`);
  const problem = problemOf(failing.result);
  const resources = Array.isArray(failing.file.policies) ? failing.file.policies.length : 0;
  log(`differential: smallest disagreeing case found (${resources} resources): ${problem}`);
  const replay = `npm run conformance -- --dataplane ${opts.driver.name} --ip-family ${family} ${caseFile}`;
  log(`differential: replay with: ${replay}`);
  return { seed, cases, cells, disagreements: 1, shrinkRuns, caseFile, problem, durationMs };
}
