/**
 * The differential generator without a kernel: every generated case is valid input (the evaluator fills its
 * truth tables without a problem), the cases cover the features the issue lists, and they are not trivial
 * (both verdicts occur, in most cases both within one case). The harness itself is run against the `sim`
 * dataplane, which must agree with itself on every case.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { fillExpected, runDifferential } from './differential.js';
import { scenarioArb, scenarioCaseFile } from './differential-gen.js';
import { SimDriver } from './sim.js';

const SAMPLES = 150;

describe('differential case generator', () => {
  const signal = AbortSignal.timeout(120_000);
  const files = fc
    .sample(scenarioArb, { numRuns: SAMPLES, seed: 42 })
    .map((s, i) => scenarioCaseFile(s, `g${i}`));

  it('generates only valid cases, judged completely by the evaluator', async () => {
    for (const f of files) {
      const filled = await fillExpected(f, signal);
      const probes = filled.probes as { expected: Record<string, Record<string, boolean>> }[];
      assert.equal(probes.length, 3);
      for (const p of probes) {
        assert.equal(Object.keys(p.expected).length, 6);
        for (const row of Object.values(p.expected)) assert.equal(Object.keys(row).length, 6);
      }
    }
  });

  it('covers the kinds, actions and matches of the issue', () => {
    const text = JSON.stringify(files);
    for (const feature of [
      '"kind":"Tier"',
      '"defaultAction":"Pass"',
      '"kind":"GlobalNetworkPolicy"',
      '"kind":"NetworkPolicy"',
      '"apiVersion":"networking.k8s.io/v1"',
      '"kind":"StagedNetworkPolicy"',
      '"kind":"StagedGlobalNetworkPolicy"',
      '"kind":"StagedKubernetesNetworkPolicy"',
      '"kind":"GlobalNetworkSet"',
      '"kind":"NetworkSet"',
      '"action":"Pass"',
      '"action":"Deny"',
      '"action":"Log"',
      '"notSelector"',
      '"namespaceSelector"',
      '"serviceAccounts"',
      '"notNets"',
      '"notPorts"',
      '"notProtocol"',
      '"except"',
      '"endPort"',
      '"operator":"NotIn"',
      '"operator":"DoesNotExist"',
      '"port":"http"',
      '"protocol":"UDP"',
      'has(',
      '!has(',
      ' not in {',
      ' || ',
      '!(',
      'global()',
    ]) {
      assert.ok(text.includes(feature), `no generated case has ${feature}`);
    }
    assert.ok(/"ports":\[[^\]]*"(http|alt|dns)"/.test(text), 'named ports in Calico rules');
  });

  it('is not trivial: both verdicts occur, mostly within one case', async () => {
    let mixed = 0;
    let allowed = 0;
    let denied = 0;
    for (const f of files) {
      const filled = await fillExpected(f, signal);
      const verdicts = (filled.probes as { expected: Record<string, Record<string, boolean>> }[]).flatMap(
        (p) =>
          Object.entries(p.expected).flatMap(([from, row]) =>
            Object.entries(row).flatMap(([to, v]) => (from === to ? [] : [v])),
          ),
      );
      const a = verdicts.filter((v) => v).length;
      allowed += a;
      denied += verdicts.length - a;
      if (a > 0 && a < verdicts.length) mixed++;
    }
    const share = allowed / (allowed + denied);
    assert.ok(share > 0.2 && share < 0.8, `allowed share ${share.toFixed(2)}`);
    assert.ok(mixed > SAMPLES / 2, `${mixed} of ${SAMPLES} cases have both verdicts`);
  });

  it('the harness finds no disagreement between the evaluator and itself', async () => {
    await using sim = new SimDriver();
    const lines: string[] = [];
    const r = await runDifferential({ driver: sim, cases: 30, seed: 7, signal, log: (l) => lines.push(l) });
    assert.equal(r.disagreements, 0);
    assert.equal(r.cases, 30);
    assert.equal(r.cells, 30 * 3 * 30);
    assert.match(lines[0] ?? '', /seed 7, 30 cases against the sim dataplane/);
  });
});
