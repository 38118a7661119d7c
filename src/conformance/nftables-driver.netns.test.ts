/**
 * The nftables driver end to end (root, a built agent and CNI plugins; skipped with the reason otherwise), its
 * pods made through the `calico` CNI plugin: a few cases of the shared corpus covering pods that change
 * between steps, UDP, SCTP (skipped) and IPv6, a case with a deliberately wrong expectation, which must be
 * reported as exactly that mismatch, and a case that replaces pods and uses an address outside the corpus's
 * 10.244.0.0/16 (a pool must be created for it). At the end `calicoctl ipam check` finds nothing wrong: every
 * allocation belongs to a current pod (CNI DEL released the replaced ones), nothing leaked.
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

/** Pods a/b/c of namespace x serving TCP 80; no policy, so every cell is allowed. */
function replacingCase(family: 4 | 6): NetpolCase {
  const pod = (name: string, ip: string): Record<string, unknown> => ({
    namespace: 'x',
    name,
    ip,
    labels: { pod: name },
    ports: [80],
    protocols: ['TCP'],
  });
  const allAllowed = (keys: readonly string[]): Record<string, Record<string, boolean>> =>
    Object.fromEntries(keys.map((from) => [from, Object.fromEntries(keys.map((to) => [to, true]))]));
  return parseCase(
    {
      id: 'replacing-pods',
      namespaces: { x: { labels: { ns: 'x' } } },
      pods: [pod('a', '10.244.1.10'), pod('b', '10.77.0.5')],
      steps: [
        {
          description: 'x/b outside 10.244.0.0/16',
          probes: [{ protocol: 'TCP', port: 80, expected: allAllowed(['x/a', 'x/b']) }],
        },
        {
          description: 'x/b moves, x/c appears',
          pods: [pod('a', '10.244.1.10'), pod('b', '10.77.0.6'), pod('c', '10.244.2.11')],
          probes: [{ protocol: 'TCP', port: 80, expected: allAllowed(['x/a', 'x/b', 'x/c']) }],
        },
      ],
    },
    'replacing-pods',
    family,
  );
}

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

    const replacing = replacingCase(family);
    test('replaces pods (CNI DEL, then ADD), with a pool created for an address outside the corpus pool', async () => {
      const r = await runCase(replacing, driver, signal);
      assert.equal(r.error, undefined);
      assert.deepEqual(r.mismatches, []);
      assert.equal(r.cellsJudged, 4 + 9);
    });

    test('ipam check: every allocation is a current pod, nothing leaked', async () => {
      const check = await driver.checkIpam({ signal });
      const final = replacing.states
        .at(-1)!
        .pods.map((p) => p.ip)
        .sort();
      assert.equal(check.problems, 0, JSON.stringify(check.report, null, 1));
      assert.deepEqual(check.leaked, []);
      assert.deepEqual(check.leakedHandles, []);
      assert.deepEqual(check.notAllocated, []);
      assert.deepEqual(check.notInPools, []);
      assert.deepEqual(Object.keys(check.report.allocations).sort(), final);
      assert.deepEqual(
        check.owners.map((o) => o.ip).sort(),
        final,
        'the WorkloadEndpoints are exactly those of the current pods',
      );
      const pools = family === 4 ? ['10.244.0.0/16', '10.77.0.0/16'] : ['fd00::a4d:0/112', 'fd00::af4:0/112'];
      assert.deepEqual([...check.activePools].sort(), pools);
    });
  });
}
