/**
 * Both admin network policy case files (AdminNetworkPolicy/BaselineAdminNetworkPolicy v1alpha1 and
 * ClusterNetworkPolicy v1alpha2) on the real kernel (`--dataplane nftables`), IPv4 and IPv6: every case
 * passes, both tables judged (SCTP probes skipped with the reason, as this kernel has no SCTP). The lab gets a
 * node per case node; the hostNetwork pods listen in their nodes' namespaces on the nodes' addresses, so the
 * `nodes` peers are exercised through the from-workload chains. About 1.5 minutes per family.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { kernelTestSkipReason } from '../labkit/netns.js';
import { repoRoot, testdataPath } from '../test-support/repo.js';

const main = join(repoRoot(), 'dist', 'src', 'conformance', 'main.js');
const agent = join(repoRoot(), 'dist', 'src', 'agent', 'main.js');
const skip = kernelTestSkipReason() || (existsSync(agent) ? false : 'the agent is not built');
const files = readdirSync(testdataPath('conformance', 'anp'))
  .filter((f) => f.endsWith('.json'))
  .map((f) => testdataPath('conformance', 'anp', f));

describe('admin network policy cases on the nftables dataplane', { skip }, () => {
  for (const family of ['4', '6']) {
    it(`passes every case, IPv${family}`, { timeout: 15 * 60_000 }, () => {
      assert.equal(files.length, 2);
      const r = spawnSync(
        process.execPath,
        [main, '--dataplane', 'nftables', '--ip-family', family, ...files],
        { encoding: 'utf8', timeout: 14 * 60_000 },
      );
      const lines = r.stdout.trimEnd().split('\n');
      assert.deepEqual(
        lines.filter((l) => l.startsWith('FAIL ')),
        [],
        r.stderr,
      );
      assert.equal(lines.at(-1), '24 passed, 0 failed', r.stdout + r.stderr);
      assert.equal(r.status, 0);
      assert.match(r.stdout, /skipped: kernel has no SCTP/);
      // hostNetwork pods are probed, not skipped.
      assert.doesNotMatch(r.stdout, /hostNetwork/);
    });
  }
});
