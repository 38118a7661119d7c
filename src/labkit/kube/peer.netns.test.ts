/**
 * The peer on the lab: a one-node KubeLab with kube-network-policies (the upstream reference implementation,
 * built with its NFQUEUE patch) in calico-node's place. Pods from kubectl get addresses from the calico CNI
 * plugin and IPAM without waiting for an agent; a probe is allowed; a default-deny NetworkPolicy applied with
 * kubectl is enforced by the peer (first packet queued to it, verdict in userspace); deleting it allows again;
 * dispose stops the peer. Skipped, with the reason, when the peer or the Kubernetes programs are not built.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { findEtcdBinary } from '../../datastore/etcd/binary.js';
import { findKubeBinaries } from '../../datastore/kubernetes/control-plane/binaries.js';
import { NodeCommandRunner } from '../../dataplane/exec/node-runner.js';
import { waitFor } from '../../lib/async.js';
import { cniUnavailableReason } from '../cni.js';
import { kernelTestSkipReason } from '../netns.js';
import { defaultAgentEntry } from '../paths.js';
import { KubeLab } from './cluster.js';
import { findPeerBinary, PEER_TABLE } from './peer.js';

const found = findKubeBinaries();
const peer = findPeerBinary();
const skip =
  kernelTestSkipReason(['ip', 'nft', 'sysctl', 'conntrack', 'socat', 'unshare']) ||
  (!found.ok ? found.reason : false) ||
  (!peer.ok ? peer.reason : false) ||
  (findEtcdBinary() === undefined ? 'no etcd binary (apt-get install etcd-server)' : false) ||
  (existsSync(defaultAgentEntry()) ? false : `${defaultAgentEntry()} is missing (npm run build)`) ||
  cniUnavailableReason();
if (skip !== false) console.log(`# skipped: ${skip}`);

const DENY = JSON.stringify({
  apiVersion: 'networking.k8s.io/v1',
  kind: 'NetworkPolicy',
  metadata: { name: 'default-deny-ingress', namespace: 'default' },
  spec: { podSelector: {}, policyTypes: ['Ingress'] },
});

describe('KubeLab with kube-network-policies in place of calico-node', { skip, timeout: 600_000 }, () => {
  let k: KubeLab | undefined;

  before(async () => {
    const t0 = performance.now();
    k = await KubeLab.start(1, { heartbeatMs: 2000, policyAgent: 'kube-network-policies' });
    console.log(`# KubeLab with the peer up in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  });

  after(async () => {
    await k?.dispose();
  });

  test('no calico-node; pods get pool addresses; a NetworkPolicy is enforced by the peer', async () => {
    const lab = k!;
    assert.equal(lab.lab.agentRunning('node-1'), false);
    assert.equal(lab.policyAgentRunning('node-1'), true);
    await lab.kubectlOk(['create', 'deployment', 'web', '--image=lab/probe', '--port=80', '--replicas=2']);
    const pods = await lab.waitPodsRunning({ namespace: 'default', selector: 'app=web', count: 2 });
    for (const p of pods) assert.match(p.ip, /^10\.244\./);
    const [a, b] = pods as [(typeof pods)[0], (typeof pods)[0]];
    const open = await lab.probe(a.key, { to: b.key, protocol: 'tcp', port: 80, timeoutMs: 2000 });
    assert.equal(open.verdict, 'allowed', JSON.stringify(open));

    await lab.kubectlOk(['apply', '-f', '-'], { stdin: DENY });
    // The peer's informer learns the policy asynchronously: wait (bounded) for the verdict to turn.
    const denied = await waitFor(
      async () => {
        await lab.lab.flushConntrack('node-1');
        const r = await lab.probe(a.key, { to: b.key, protocol: 'tcp', port: 80, timeoutMs: 500 });
        return r.verdict === 'denied' ? r : undefined;
      },
      { timeoutMs: 20_000, intervalMs: 100, what: 'the default-deny policy enforced by the peer' },
    );
    assert.equal(denied.verdict, 'denied');
    // It is the peer's doing: its table queues the pods' packets (NFQUEUE through nft_compat).
    const table = await new NodeCommandRunner().run('ip', [
      ...['netns', 'exec', lab.lab.node('node-1').netns],
      ...['nft', 'list', 'table', 'inet', PEER_TABLE],
    ]);
    assert.match(table.stdout, /queue num 100/);
    assert.match(table.stdout, new RegExp(a.ip.replaceAll('.', '\\.')));

    await lab.kubectlOk(['delete', 'networkpolicy', 'default-deny-ingress']);
    const again = await waitFor(
      async () => {
        await lab.lab.flushConntrack('node-1');
        const r = await lab.probe(a.key, { to: b.key, protocol: 'tcp', port: 80, timeoutMs: 1000 });
        return r.verdict === 'allowed' ? r : undefined;
      },
      { timeoutMs: 20_000, intervalMs: 100, what: 'the probe allowed again after the delete' },
    );
    assert.equal(again.verdict, 'allowed');
  });

  test('dispose stops the peer', async () => {
    const lab = k!;
    const pid = lab.peerPid('node-1');
    assert.ok(pid !== undefined && existsSync(`/proc/${pid}`));
    await lab.dispose();
    k = undefined;
    assert.equal(existsSync(`/proc/${pid}`), false);
  });
});
