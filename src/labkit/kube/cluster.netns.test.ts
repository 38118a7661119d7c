/**
 * KubeLab on the real kernel and a real control plane: two nodes (VXLAN) whose calico-node agents run on the
 * Kubernetes datastore and whose lab kubelets run the pods; `kubectl create deployment` -> pods Running on
 * both nodes with their endpoints programmed; a probe across nodes is allowed; `kubectl apply` of a
 * default-deny NetworkPolicy denies it, `kubectl delete` allows it again; dispose leaves no process, namespace
 * or mount. Skipped, with the reason, when the Kubernetes programs or the build are missing or not root.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { findEtcdBinary } from '../../datastore/etcd/binary.js';
import { findKubeBinaries } from '../../datastore/kubernetes/control-plane/binaries.js';
import { cniUnavailableReason } from '../cni.js';
import { kernelTestSkipReason } from '../netns.js';
import { defaultAgentEntry } from '../paths.js';
import { KubeLab } from './cluster.js';
import { labLeftovers } from '../leftovers.js';
import { kubeletProcesses } from './kubelets.js';

const found = findKubeBinaries();
const skip =
  kernelTestSkipReason(['ip', 'nft', 'sysctl', 'conntrack', 'socat']) ||
  (!found.ok ? found.reason : false) ||
  (findEtcdBinary() === undefined ? 'no etcd binary (apt-get install etcd-server)' : false) ||
  (existsSync(defaultAgentEntry()) ? false : `${defaultAgentEntry()} is missing (npm run build)`) ||
  cniUnavailableReason();
if (skip !== false) console.log(`# skipped: ${skip}`);

const DENY = [
  'apiVersion: networking.k8s.io/v1',
  'kind: NetworkPolicy',
  'metadata:',
  '  name: default-deny-ingress',
  'spec:',
  '  podSelector: {}',
  '  policyTypes:',
  '  - Ingress',
  '',
].join('\n');

describe('KubeLab: calico-node on KDD, lab kubelets, pods from kubectl', { skip, timeout: 600_000 }, () => {
  let k: KubeLab | undefined;
  let runDir = '';
  let prefix = '';

  before(async () => {
    const t0 = performance.now();
    k = await KubeLab.start(2, { heartbeatMs: 2000 });
    runDir = k.runDir;
    prefix = `calts-lab-${process.pid.toString(36)}-`;
    console.log(`# KubeLab with 2 nodes up in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  });

  after(async () => {
    await k?.dispose();
  });

  test('pods from kubectl run on both nodes; a default-deny NetworkPolicy isolates them', async () => {
    const lab = k!;
    const status = await lab.lab.agentStatus('node-1');
    assert.equal(status?.inSync, true);
    // The agent created the IP pool on KDD, as calico-node does.
    const pools = await lab.kubectlOk(['get', 'ippools.crd.projectcalico.org', '-o', 'name']);
    assert.match(pools, /ippool/);
    const t0 = performance.now();
    await lab.kubectlOk(['create', 'deployment', 'web', '--image=lab/probe', '--port=80', '--replicas=4']);
    const pods = await lab.waitPodsRunning({ namespace: 'default', selector: 'app=web', count: 4 });
    console.log(
      `# 4 pods Running with endpoints programmed in ${((performance.now() - t0) / 1000).toFixed(1)} s`,
    );
    const a = pods.find((p) => p.node === 'node-1');
    const b = pods.find((p) => p.node === 'node-2');
    assert.ok(a !== undefined && b !== undefined, `pods on both nodes: ${JSON.stringify(pods)}`);
    assert.equal(lab.lab.pod(a.key).ip, a.ip);

    const open = await lab.probe(a.key, { to: b.key, protocol: 'tcp', port: 80, timeoutMs: 2000 });
    assert.equal(open.verdict, 'allowed', JSON.stringify(open));

    await lab.kubectlOk(['apply', '-f', '-'], { stdin: DENY });
    await lab.sync();
    const denied = await lab.probe(a.key, { to: b.key, protocol: 'tcp', port: 80, timeoutMs: 1000 });
    assert.equal(denied.verdict, 'denied', JSON.stringify(denied));

    await lab.kubectlOk(['delete', 'networkpolicy', 'default-deny-ingress']);
    await lab.sync();
    const again = await lab.probe(a.key, { to: b.key, protocol: 'tcp', port: 80, timeoutMs: 2000 });
    assert.equal(again.verdict, 'allowed', JSON.stringify(again));
  });

  test('dispose leaves no process, namespace or mount', async () => {
    const nodes = k!.lab.nodes().map((n) => ({ runDir: n.runDir }));
    assert.equal(kubeletProcesses(nodes).length, 2);
    await k!.dispose();
    k = undefined;
    assert.deepEqual(kubeletProcesses(nodes), []);
    assert.deepEqual(await labLeftovers({ runDir, prefix }), []);
  });
});
