/**
 * The upstream Kubernetes e2e NetworkPolicy cases through the Kubernetes API (issue 11): `calico-conformance
 * --dataplane nftables --kubernetes` creates each case's Namespaces, Pods and NetworkPolicies through a real
 * kube-apiserver, lab kubelets run the pods through the calico CNI plugin, calico-node on the Kubernetes
 * datastore enforces, and every case of the file must pass. Afterwards nothing of the cluster is left:
 * no control-plane process, no lab namespace, no run dir. Skipped, with the reason printed, when the
 * Kubernetes programs are not built (scripts/build-kubernetes.sh), etcd or the build is missing, or not root.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { labLeftovers } from '../labkit/leftovers.js';
import { repoRoot, testdataPath } from '../test-support/repo.js';
import { kubernetesUnavailableReason } from './kube-driver.js';

const main = join(repoRoot(), 'dist', 'src', 'conformance', 'main.js');
const file = testdataPath('conformance', 'netpol', 'kubernetes-e2e-netpol.json');
const skip = kubernetesUnavailableReason();
if (skip !== false) console.log(`# skipped: ${skip}`);

describe('Kubernetes e2e NetworkPolicy cases through kube-apiserver', { skip }, () => {
  it('passes every case of the file, and leaves nothing behind', { timeout: 30 * 60_000 }, async () => {
    const count = (JSON.parse(readFileSync(file, 'utf8')) as unknown[]).length;
    assert.ok(count >= 48, `${count} cases`);
    const t0 = performance.now();
    const r = spawnSync(process.execPath, [main, '--dataplane', 'nftables', '--kubernetes', file], {
      encoding: 'utf8',
      timeout: 29 * 60_000,
    });
    console.log(
      `# ${count} cases through the Kubernetes API in ${((performance.now() - t0) / 1000).toFixed(1)} s`,
    );
    const lines = r.stdout.trimEnd().split('\n');
    assert.deepEqual(
      lines.filter((l) => l.startsWith('FAIL ')),
      [],
      r.stderr,
    );
    assert.equal(lines.at(-1), `${count} passed, 0 failed`, r.stdout + r.stderr);
    assert.equal(r.status, 0);
    assert.match(r.stdout, /dataplane nftables, Kubernetes API, calico-node, IPv4/);

    const runDir = /run dir (\S+),/.exec(r.stderr)?.[1];
    assert.ok(runDir !== undefined, r.stderr);
    const prefix = `calts-lab-${r.pid.toString(36)}-`;
    const controlPlaneDir = join(runDir, 'kubernetes');
    assert.deepEqual(await labLeftovers({ runDir, prefix, controlPlaneDir }), []);
  });
});
