/**
 * `calico-lab up --kubernetes` as a user runs it (root; skipped with the reason when the Kubernetes programs
 * are not built): the control plane starts in the run dir beside the lab, `kubectl get nodes` with the
 * kubeconfig `env` prints lists the lab's nodes, `status` shows the control plane ready, `up` after the API
 * server died starts it again with its data, and `down` leaves no process, namespace or mount behind; a lab
 * whose keeper died has its control plane swept by the next `down`; without the programs `up --kubernetes`
 * fails at once naming scripts/build-kubernetes.sh and builds nothing.
 *
 * With agents (`up --kubernetes`, the Kubernetes datastore): calico-node on KDD and a lab kubelet per node;
 * `status` shows the kubelets; `kubectl create deployment` pods run (the kubelets' sandboxes, `status` lists
 * them) and answer a probe across nodes; a lab whose keeper died: the next `down` stops the kubelets and
 * removes the pod namespaces too; nothing is left.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, describe, test } from 'node:test';
import { waitFor } from '../lib/async.js';
import { processExists } from '../sys/process.js';
import { findKubeBinaries } from '../datastore/kubernetes/control-plane/binaries.js';
import { controlPlaneProcesses } from '../datastore/kubernetes/control-plane/sweep.js';
import { labLeftovers } from '../labkit/leftovers.js';
import { kernelTestSkipReason } from '../labkit/netns.js';
import { nodeScriptCommand, siblingScript } from '../labkit/process.js';
import { statePath } from '../labkit/state.js';

const found = findKubeBinaries();
const skip =
  kernelTestSkipReason(['ip', 'nft', 'sysctl', 'conntrack', 'etcd', 'openssl']) ||
  (found.ok ? false : found.reason);
if (skip !== false) console.log(`# skipped: ${skip}`);
const main = nodeScriptCommand(siblingScript('main', import.meta.url));
/** The starter GlobalNetworkPolicy for the Kubernetes lab (projectcalico.org/v3), applied verbatim. */
const ALLOW_DNS = fileURLToPath(new URL('../../../examples/kubernetes/allow-dns.yaml', import.meta.url));
const APISERVER_STATUS =
  /calico-apiserver \(projectcalico\.org\/v3, APIService v3\.projectcalico\.org\) https:\/\/127\.0\.0\.1:\d+: running \(pid \d+\)/;

function lab(
  runDir: string,
  args: readonly string[],
  env: Record<string, string> = {},
): { code: number; out: string } {
  const r = spawnSync(main.command, [...main.args, '--run-dir', runDir, ...args], {
    encoding: 'utf8',
    timeout: 240_000,
    env: { ...process.env, ...env },
  });
  return { code: r.status ?? -1, out: `${r.stdout}${r.stderr}` };
}

function ownerPrefix(runDir: string): string {
  const { ownerPid } = JSON.parse(readFileSync(statePath(runDir), 'utf8')) as { ownerPid: number };
  return `calts-lab-${ownerPid.toString(36)}-`;
}

function kubectl(kubeconfig: string, args: readonly string[]): { code: number; out: string } {
  if (!found.ok) throw new Error(found.reason);
  const r = spawnSync(found.binaries.path('kubectl'), ['--kubeconfig', kubeconfig, ...args], {
    encoding: 'utf8',
    timeout: 60_000,
  });
  return { code: r.status ?? -1, out: `${r.stdout}${r.stderr}` };
}

describe('calico-lab up --kubernetes', { skip }, () => {
  const runDir = mkdtempSync(join(tmpdir(), 'calts-kcp-lab-'));
  after(() => {
    if (existsSync(statePath(runDir))) lab(runDir, ['down']);
    rmSync(runDir, { recursive: true, force: true });
  });

  test('up starts the control plane; kubectl get nodes lists the lab nodes; down leaves nothing', async () => {
    const up = lab(runDir, ['up', '--kubernetes', '--nodes', '2', '--network', 'static', '--no-agent']);
    assert.equal(up.code, 0, up.out);
    assert.match(up.out, /Kubernetes control plane .*: done in/);
    const prefix = ownerPrefix(runDir);

    const env = lab(runDir, ['env']);
    assert.equal(env.code, 0, env.out);
    const kubeconfig = join(runDir, 'kubeconfig');
    assert.ok(env.out.split('\n').includes(`export KUBECONFIG=${kubeconfig}`), env.out);

    const nodes = kubectl(kubeconfig, ['get', 'nodes', '-o', 'name']);
    assert.equal(nodes.code, 0, nodes.out);
    assert.deepEqual(nodes.out.trim().split('\n').sort(), ['node/node-1', 'node/node-2']);

    const status = lab(runDir, ['status']);
    assert.equal(status.code, 0, status.out);
    assert.match(
      status.out,
      /kubernetes v1\.\d+\.\d+: kube-apiserver https:\/\/127\.0\.0\.1:\d+ ready; running: etcd \d+, kube-apiserver \d+, kube-controller-manager \d+, kube-scheduler \d+\n/,
    );
    assert.equal(controlPlaneProcesses(runDir).length, 4);
    assert.match(up.out, /calico-apiserver \(APIService v3\.projectcalico\.org Available\): done in/);
    assert.match(status.out, APISERVER_STATUS);

    // Calico's own resources through kubectl (the aggregated projectcalico.org/v3 group).
    const applied = kubectl(kubeconfig, ['apply', '-f', ALLOW_DNS]);
    assert.equal(applied.code, 0, applied.out);
    assert.equal(applied.out.trim(), 'globalnetworkpolicy.projectcalico.org/allow-dns created');
    const listed = kubectl(kubeconfig, ['get', 'globalnetworkpolicies']);
    assert.equal(listed.code, 0, listed.out);
    assert.match(listed.out, /^NAME\s+CREATED AT\nallow-dns\s+\d{4}-/);

    // A dead API server: `up` starts the control plane again, keeping its CA and etcd data (the Nodes).
    const api = controlPlaneProcesses(runDir).find((p) => p.program === 'kube-apiserver');
    assert.ok(api !== undefined);
    process.kill(api.pid, 'SIGKILL');
    await waitFor(() => !processExists(api.pid), { timeoutMs: 10_000, what: 'kube-apiserver gone' });
    const again = lab(runDir, ['up']);
    assert.equal(again.code, 0, again.out);
    assert.match(again.out, /kube-apiserver https:\/\/127\.0\.0\.1:\d+ ready/);
    const after = kubectl(kubeconfig, ['get', 'nodes', '-o', 'name']);
    assert.equal(after.code, 0, after.out);
    assert.deepEqual(after.out.trim().split('\n').sort(), ['node/node-1', 'node/node-2']);
    assert.equal(controlPlaneProcesses(runDir).length, 4);
    // calico-apiserver serves again through the restarted kube-apiserver, with what was stored.
    const gnp = kubectl(kubeconfig, ['get', 'gnp', '-o', 'name']);
    assert.equal(gnp.code, 0, gnp.out);
    assert.equal(gnp.out.trim(), 'globalnetworkpolicy.projectcalico.org/allow-dns');

    const down = lab(runDir, ['down']);
    assert.equal(down.code, 0, down.out);
    assert.deepEqual(await labLeftovers({ runDir, prefix }), []);
  });

  test('a lab whose keeper died: the next down sweeps its control plane too', async () => {
    const up = lab(runDir, ['up', '--kubernetes', '--nodes', '1', '--network', 'static', '--no-agent']);
    assert.equal(up.code, 0, up.out);
    const prefix = ownerPrefix(runDir);
    const { keeperPid } = JSON.parse(readFileSync(statePath(runDir), 'utf8')) as { keeperPid: number };
    process.kill(keeperPid, 'SIGKILL');
    await waitFor(() => !processExists(keeperPid), { timeoutMs: 10_000, what: 'the keeper gone' });
    assert.equal(controlPlaneProcesses(runDir).length, 4);
    const down = lab(runDir, ['down']);
    assert.equal(down.code, 0, down.out);
    assert.match(down.out, /stopped 4 Kubernetes control plane process\(es\)/);
    assert.deepEqual(await labLeftovers({ runDir, prefix }), []);
  });
});

describe(
  'calico-lab up --kubernetes with agents: the Kubernetes datastore and lab kubelets',
  { skip },
  () => {
    const runDir = mkdtempSync(join(tmpdir(), 'calts-kdd-lab-'));
    after(() => {
      if (existsSync(statePath(runDir))) lab(runDir, ['down']);
      rmSync(runDir, { recursive: true, force: true });
    });

    test('kubelets and calico-node on KDD run kubectl pods; a lab whose keeper died leaves nothing after down', async () => {
      const t0 = performance.now();
      const up = lab(runDir, ['up', '--kubernetes', '--nodes', '2']);
      assert.equal(up.code, 0, up.out);
      console.log(`# up --kubernetes (2 nodes, bgp) in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
      assert.match(up.out, /lab kubelet on node-1, node-2: done in/);
      assert.match(up.out, /calico-node on node-1, node-2 \(Kubernetes datastore, networking bgp\): done in/);
      const prefix = ownerPrefix(runDir);
      const kubeconfig = join(runDir, 'kubeconfig');

      const env = lab(runDir, ['env']);
      assert.ok(env.out.split('\n').includes('export DATASTORE_TYPE=kubernetes'), env.out);
      assert.ok(env.out.split('\n').includes(`export KUBECONFIG=${kubeconfig}`), env.out);

      const created = kubectl(kubeconfig, [
        'create',
        'deployment',
        'web',
        '--image=lab/probe',
        '--port=80',
        '--replicas=4',
      ]);
      assert.equal(created.code, 0, created.out);
      const rollout = kubectl(kubeconfig, ['rollout', 'status', 'deployment/web', '--timeout=120s']);
      assert.equal(rollout.code, 0, rollout.out);
      const ips = kubectl(kubeconfig, [
        'get',
        'pods',
        '-l',
        'app=web',
        '-o',
        'jsonpath={range .items[*]}{.spec.nodeName} {.status.podIP}{"\\n"}{end}',
      ]);
      assert.equal(ips.code, 0, ips.out);
      const rows = ips.out
        .trim()
        .split('\n')
        .map((l) => l.split(' '));
      assert.equal(rows.length, 4, ips.out);
      const onNode2 = rows.find((r) => r[0] === 'node-2');

      const status = lab(runDir, ['status']);
      assert.equal(status.code, 0, status.out);
      assert.match(status.out, /datastore kubernetes \(KUBECONFIG=/);
      assert.equal(status.out.match(/ {2}kubelet: running \(pid \d+\)/g)?.length, 2, status.out);
      assert.equal(
        status.out.match(/ {2}pod default\/web-\S+ \(kubelet\): 10\.244\./g)?.length,
        4,
        status.out,
      );
      assert.ok(onNode2 !== undefined, ips.out);
      // From a node's namespace to a pod on the other node (BGP routes from the agents on KDD).
      const probe = lab(runDir, [
        'exec',
        'node-1',
        '--',
        'socat',
        '-u',
        'OPEN:/dev/null',
        `TCP:${onNode2[1]}:80,connect-timeout=3`,
      ]);
      assert.equal(probe.code, 0, probe.out);

      // The starter GlobalNetworkPolicy through kubectl, enforced: it allows only DNS, so TCP 80 is denied.
      assert.match(status.out, APISERVER_STATUS);
      const applied = kubectl(kubeconfig, ['apply', '-f', ALLOW_DNS]);
      assert.equal(applied.code, 0, applied.out);
      assert.equal(applied.out.trim(), 'globalnetworkpolicy.projectcalico.org/allow-dns created');
      const listed = kubectl(kubeconfig, ['get', 'globalnetworkpolicies']);
      assert.match(listed.out, /^NAME\s+CREATED AT\nallow-dns\s+\d{4}-/);
      const sync = lab(runDir, ['sync']);
      assert.equal(sync.code, 0, sync.out);
      const denied = lab(runDir, [
        'exec',
        'node-1',
        '--',
        'socat',
        '-u',
        'OPEN:/dev/null',
        `TCP:${onNode2[1]}:80,connect-timeout=3`,
      ]);
      assert.notEqual(denied.code, 0, denied.out);

      const { keeperPid } = JSON.parse(readFileSync(statePath(runDir), 'utf8')) as { keeperPid: number };
      process.kill(keeperPid, 'SIGKILL');
      await waitFor(() => !processExists(keeperPid), { timeoutMs: 10_000, what: 'the keeper gone' });
      const down = lab(runDir, ['down']);
      assert.equal(down.code, 0, down.out);
      assert.match(down.out, /stopped 2 lab kubelet\(s\)/);
      assert.deepEqual(await labLeftovers({ runDir, prefix }), []);
    });
  },
);

describe('calico-lab up --kubernetes without the programs', { skip: kernelTestSkipReason(['ip']) }, () => {
  test('fails at once naming scripts/build-kubernetes.sh, and builds nothing', () => {
    const runDir = mkdtempSync(join(tmpdir(), 'calts-kcp-none-'));
    const cache = mkdtempSync(join(tmpdir(), 'calts-kcp-cache-'));
    try {
      const t0 = performance.now();
      const r = lab(runDir, ['up', '--kubernetes', '--no-agent', '--network', 'static'], {
        CALICO_TS_CACHE: cache,
      });
      assert.notEqual(r.code, 0, r.out);
      assert.match(r.out, /Kubernetes programs are not built .*scripts\/build-kubernetes\.sh/);
      assert.ok(performance.now() - t0 < 30_000);
      assert.equal(existsSync(statePath(runDir)), false);
    } finally {
      rmSync(runDir, { recursive: true, force: true });
      rmSync(cache, { recursive: true, force: true });
    }
  });
});
