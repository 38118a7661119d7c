/**
 * The nftables driver end to end (root and a built agent; skipped with the reason otherwise): a few cases of
 * the shared corpus covering pods that change between steps, UDP, SCTP (skipped) and IPv6, plus a case with
 * a deliberately wrong expectation, which must be reported as exactly that mismatch.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, describe, test } from 'node:test';
import { testdataPath } from '../test-support/repo.js';
import { parseCase, type NetpolCase } from './cases.js';
import { NftablesDriver, SCTP_SKIP_REASON, nftablesUnavailableReason } from './nftables-driver.js';
import { runCase } from './runner.js';

const skip = nftablesUnavailableReason();

function corpusCase(file: string, id: string, family: 4 | 6): NetpolCase {
  const all = JSON.parse(readFileSync(testdataPath('conformance', 'netpol', file), 'utf8')) as {
    id: string;
  }[];
  const i = all.findIndex((c) => c.id === id);
  assert.ok(i >= 0, `${id} not in ${file}`);
  return parseCase(all[i], `${file}[${i}]`, family);
}

const E2E = 'kubernetes-e2e-netpol.json';

for (const family of [4, 6] as const) {
  describe(`nftables driver, IPv${family}`, { skip }, () => {
    const driver = new NftablesDriver({ family, probeTimeoutMs: 1000 });
    after(() => driver[Symbol.asyncDispose]());
    const signal = AbortSignal.timeout(300_000);

    const ids =
      family === 4
        ? ['k8s-e2e-netpol-022', 'k8s-e2e-netpol-044', 'k8s-e2e-netpol-046']
        : ['k8s-e2e-netpol-044'];
    for (const id of ids) {
      test(`passes ${id}`, async () => {
        const r = await runCase(corpusCase(E2E, id, family), driver, signal);
        assert.equal(r.error, undefined);
        assert.deepEqual(r.mismatches, []);
        assert.equal(r.passed, true);
        if (id === 'k8s-e2e-netpol-046') {
          assert.equal(r.cellsJudged, 0);
          assert.deepEqual(r.skipReasons, [SCTP_SKIP_REASON]);
        } else assert.ok(r.cellsJudged > 0);
      });
    }

    test('reports a wrong expectation as a mismatch of that cell', async () => {
      const c = corpusCase(E2E, 'k8s-e2e-netpol-043', family);
      const state = c.states[0]!;
      const probe = state.probes[0]!;
      // x/a -> x/b is denied by the default-deny ingress policy of the case; claim it is allowed.
      assert.equal(probe.expected['x/a']?.['x/b'], false);
      const wrong: NetpolCase = {
        ...c,
        states: [
          {
            ...state,
            probes: [
              { ...probe, expected: { ...probe.expected, 'x/a': { ...probe.expected['x/a'], 'x/b': true } } },
            ],
          },
        ],
      };
      const r = await runCase(wrong, driver, signal);
      assert.equal(r.passed, false);
      assert.deepEqual(
        r.mismatches.map((m) => [m.from, m.to, m.expected, m.got]),
        [['x/a', 'x/b', true, false]],
      );
    });
  });
}
