/**
 * Cross-node conformance (issue: multi-node networking): the upstream Kubernetes NetworkPolicy e2e truth
 * tables on two nodes, pods spread over them, with the cluster routes coming from the agents: once over the
 * BIRD BGP mesh, once over VXLAN (nodes on two racks). Every case must pass (SCTP probes are skipped: this
 * kernel has no SCTP). About a minute per mode.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { kernelTestSkipReason } from '../labkit/netns.js';
import { repoRoot, testdataPath } from '../test-support/repo.js';

const main = join(repoRoot(), 'dist', 'src', 'conformance', 'main.js');
const agent = join(repoRoot(), 'dist', 'src', 'agent', 'main.js');
const skip =
  kernelTestSkipReason(['ip', 'nft', 'sysctl', 'conntrack', 'bridge', 'bird', 'birdc']) ||
  (existsSync(agent) && existsSync(main) ? false : 'the agent or the conformance runner is not built');
const file = testdataPath('conformance', 'netpol', 'kubernetes-e2e-netpol.json');

describe('kubernetes-e2e-netpol across two nodes on the nftables dataplane', { skip }, () => {
  for (const network of ['bgp', 'vxlan']) {
    it(
      `passes every case with routes from ${network === 'bgp' ? 'the BIRD mesh' : 'VXLAN'}`,
      { timeout: 10 * 60_000 },
      () => {
        const r = spawnSync(
          process.execPath,
          [main, '--dataplane', 'nftables', '--nodes', '2', '--network', network, file],
          { encoding: 'utf8', timeout: 9 * 60_000 },
        );
        const lines = r.stdout.trimEnd().split('\n');
        assert.deepEqual(
          lines.filter((l) => l.startsWith('FAIL ')),
          [],
          r.stderr,
        );
        assert.match(r.stderr, new RegExp(`lab: 2 node\\(s\\), networking ${network}`));
        assert.match(lines.at(-1) ?? '', /^[1-9]\d* passed, 0 failed$/, r.stdout + r.stderr);
        assert.equal(r.status, 0);
      },
    );
  }
});
