/**
 * The lab kubelet against a real control plane (etcd, kube-apiserver, controller manager, scheduler on loopback)
 * and one lab node namespace, with the real `calico` CNI plugin on the Kubernetes datastore. Skipped, with the
 * reason, when the Kubernetes programs or the CNI plugins are not built or this is not root.
 *
 * `kubectl run` -> scheduled onto the node (kept Ready by the kubelet's heartbeat) -> Running and Ready with a
 * podIP in the IPPool, the pod-IP annotations the CNI wrote, the probe agent answering on the containerPort from
 * the node's namespace; `kubectl delete pod` -> CNI DEL, namespace gone, the address released in IPAM, the Pod
 * gone. A pod whose CNI ADD fails shows the error (Ready=False) and can still be deleted. A restarted kubelet
 * adopts a running pod and removes the sandbox of one deleted while it was down.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { findEtcdBinary } from '../../datastore/etcd/binary.js';
import { openBackend, type Backend } from '../../datastore/index.js';
import { NodeCommandRunner } from '../../dataplane/exec/node-runner.js';
import { waitFor } from '../../lib/async.js';
import { cniUnavailableReason, installLabCni } from '../cni.js';
import { findKubeBinaries, requireKubeBinaries } from '../../datastore/kubernetes/control-plane/binaries.js';
import { KubeControlPlane } from '../../datastore/kubernetes/control-plane/control-plane.js';
import { kernelTestSkipReason, listNamespaces, NetnsScope } from '../netns.js';
import { LabKubelet, type LabKubeletOptions } from './kubelet.js';

const found = findKubeBinaries();
const skip =
  kernelTestSkipReason(['ip', 'socat']) ||
  (!found.ok ? found.reason : false) ||
  (findEtcdBinary() === undefined ? 'no etcd binary (apt-get install etcd-server)' : false) ||
  cniUnavailableReason();
if (skip !== false) console.log(`# skipped: ${skip}`);

const runner = new NodeCommandRunner();
const NODE = 'kl-node-1';
const NODE_IP = '192.168.231.1';
const POOL = '10.231.0.0/24';

interface PodJson {
  metadata: { uid: string; annotations: Record<string, string>; deletionTimestamp?: string };
  spec: { nodeName?: string };
  status: {
    phase?: string;
    podIP?: string;
    podIPs?: { ip: string }[];
    conditions?: { type: string; status: string; reason?: string; message?: string }[];
  };
}

function inPool(ip: string): boolean {
  return /^10\.231\.0\.\d+$/.test(ip);
}

describe('lab kubelet (real control plane, node namespace, calico CNI on KDD)', { skip }, () => {
  const scope = new NetnsScope(runner);
  let dir = '';
  let cp: KubeControlPlane | undefined;
  let backend: Backend | undefined;
  let kubelet: LabKubelet | undefined;
  let nodeNs = '';
  let options: LabKubeletOptions | undefined;

  // kubectl runs asynchronously: the kubelet under test shares this process's event loop.
  const kubectlRun = (args: readonly string[]) =>
    runner.run(requireKubeBinaries().path('kubectl'), ['--kubeconfig', cp!.record.kubeconfig, ...args], {
      timeoutMs: 90_000,
    });
  const kubectl = async (...args: string[]): Promise<string> => {
    const r = await kubectlRun(args);
    assert.equal(r.code, 0, `kubectl ${args.join(' ')}: ${r.stderr}`);
    return r.stdout;
  };
  const getPod = async (name: string): Promise<PodJson | undefined> => {
    const r = await kubectlRun(['get', 'pod', name, '-o', 'json']);
    return r.code === 0 ? (JSON.parse(r.stdout) as PodJson) : undefined;
  };
  const running = (name: string): Promise<PodJson> =>
    waitFor(
      async () => {
        const p = await getPod(name);
        const ready = p?.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True');
        return p?.status.phase === 'Running' && ready === true && p.status.podIP !== undefined
          ? p
          : undefined;
      },
      {
        timeoutMs: 90_000,
        intervalMs: 250,
        what: `pod ${name} Running and Ready`,
        describe: async () => JSON.stringify((await getPod(name))?.status ?? 'absent'),
      },
    );
  const probeFromNode = (ip: string, port: number): Promise<boolean> =>
    scope.probe(nodeNs, { protocol: 'tcp', address: ip, port }, { timeoutMs: 2000 }).then((r) => r.connected);
  const handles = async (): Promise<string[]> =>
    (await backend!.list({ kind: 'IPAMHandle' })).items.map((h) => h.metadata.name);

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'calts-kubelet-'));
    const t0 = performance.now();
    cp = await KubeControlPlane.start({ dir: join(dir, 'kube') });
    console.log(`# control plane up in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    await cp.api.apply(`/api/v1/nodes/${NODE}`, {
      apiVersion: 'v1',
      kind: 'Node',
      metadata: { name: NODE, labels: { 'kubernetes.io/hostname': NODE, 'kubernetes.io/os': 'linux' } },
    });
    backend = await openBackend({ datastoreType: 'kubernetes', kubeconfig: cp.record.kubeconfig });
    const pool = {
      apiVersion: 'projectcalico.org/v3',
      kind: 'IPPool',
      metadata: { name: 'lab-pool' },
      spec: { cidr: POOL, blockSize: 26, ipipMode: 'Never', vxlanMode: 'Never', natOutgoing: false },
    };
    await backend.create(pool);
    nodeNs = await scope.namespace();
    // The node's address (on a link to a peer namespace: this kernel has no dummy devices).
    const peer = await scope.namespace();
    await scope.veth({ ns: nodeNs, name: 'eth0', address: `${NODE_IP}/24` }, { ns: peer, name: 'eth0' });
    // A host has a default route; without one the node answers no proxy ARP for the pods' gateway 169.254.1.1.
    await scope.addRoute(nodeNs, 'default', { dev: 'eth0' });
    const nodeRunDir = join(dir, 'node');
    options = {
      runner,
      kubeconfig: cp.record.kubeconfig,
      node: { name: NODE, netns: nodeNs, runDir: nodeRunDir, ip: NODE_IP },
      cniBinDir: await installLabCni(runner, dir),
      dir: join(dir, 'kubelet'),
      policySetupTimeoutSeconds: 0,
      heartbeatMs: 2000,
      log: (l) => {
        console.log(`# ${l}`);
      },
    };
    kubelet = await LabKubelet.start(options);
    // Pods are admitted once the controller manager made the namespace's default ServiceAccount.
    await waitFor(async () => (await kubectlRun(['get', 'serviceaccount', 'default'])).code === 0, {
      timeoutMs: 60_000,
      intervalMs: 250,
      what: 'the default ServiceAccount',
    });
  });

  after(async () => {
    await kubelet?.stop({ removePods: true }).catch((e: unknown) => {
      console.log(`# kubelet stop: ${String(e)}`);
    });
    await backend?.close();
    await cp?.stop();
    await scope[Symbol.asyncDispose]();
    rmSync(dir, { recursive: true, force: true });
  });

  test('the Node is Ready (heartbeat) and holds its lease', async () => {
    await waitFor(
      async () => {
        const r = await kubectlRun([
          'get',
          'node',
          NODE,
          '-o',
          'jsonpath={.status.conditions[?(@.type=="Ready")].status}',
        ]);
        return r.code === 0 && r.stdout.trim() === 'True';
      },
      { timeoutMs: 30_000, intervalMs: 250, what: 'node Ready' },
    );
    const holder = await kubectl(
      'get',
      'lease',
      '-n',
      'kube-node-lease',
      NODE,
      '-o',
      'jsonpath={.spec.holderIdentity}',
    );
    assert.equal(holder.trim(), NODE);
  });

  test('kubectl run: Running and Ready in the pool, probe agent on the containerPort, kubectl delete releases it', async () => {
    const t0 = performance.now();
    await kubectl('run', 'web', '--image=lab/probe', '--port=8080', '--restart=Never', '--labels=app=web');
    const pod = await running('web');
    console.log(`# kubectl run -> Running and Ready in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    assert.equal(pod.spec.nodeName, NODE);
    const ip = pod.status.podIP!;
    assert.ok(inPool(ip), `podIP ${ip} in ${POOL}`);
    assert.deepEqual(pod.status.podIPs, [{ ip }]);
    // What the CNI plugin wrote through the Kubernetes datastore (the WorkloadEndpoint write).
    assert.equal(pod.metadata.annotations['cni.projectcalico.org/podIP'], `${ip}/32`);
    const sb = kubelet!.sandboxes().find((s) => s.record.name === 'web');
    assert.ok(sb !== undefined);
    assert.equal(pod.metadata.annotations['cni.projectcalico.org/containerID'], sb.record.containerId);
    assert.equal(await probeFromNode(ip, 8080), true, 'probe agent answers on the containerPort');
    assert.equal(await probeFromNode(ip, 8081), false, 'nothing on another port');
    // Calico's endpoint name: the node name with its dashes doubled, then -k8s-<pod>-<interface>.
    const wep = await backend!.list({ kind: 'WorkloadEndpoint', namespace: 'default' });
    assert.deepEqual(
      wep.items.map((w) => w.metadata.name),
      ['kl--node--1-k8s-web-eth0'],
    );
    assert.equal((await handles()).length, 1);

    await kubectl('delete', 'pod', 'web', '--timeout=60s');
    assert.equal(await getPod('web'), undefined);
    assert.equal((await listNamespaces(runner)).includes(sb.record.netns), false, 'pod namespace removed');
    assert.deepEqual(await handles(), [], 'IPAM handle released');
    const blocks = await backend!.list({ kind: 'IPAMBlock' });
    const used = blocks.items.flatMap((b) =>
      (b as unknown as { spec: { allocations: (number | null)[] } }).spec.allocations.filter(
        (a) => a !== null,
      ),
    );
    assert.deepEqual(used, [], 'no address allocated in any block');
    assert.deepEqual(
      readdirSync(join(options!.dir, 'pods')).filter((f) => f.endsWith('.json')),
      [],
    );
  });

  test('a pod whose CNI ADD fails stays Pending with Ready=False and the error; deleting it still works', async () => {
    // An address outside every IPPool: calico-ipam refuses it, so each attempt fails.
    await kubectl(
      'run',
      'nopool',
      '--image=lab/probe',
      '--restart=Never',
      '--annotations=cni.projectcalico.org/ipAddrs=["10.99.99.1"]',
    );
    const failed = await waitFor(
      async () => {
        const p = await getPod('nopool');
        const ready = p?.status.conditions?.find((c) => c.type === 'Ready');
        return p !== undefined && ready?.status === 'False' && ready.reason === 'SandboxSetupFailed'
          ? { p, ready }
          : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 250, what: 'pod nopool Ready=False SandboxSetupFailed' },
    );
    assert.equal(failed.p.status.phase, 'Pending');
    assert.match(failed.ready.message ?? '', /CNI ADD default\/nopool failed/);
    assert.equal(
      kubelet!.sandboxes().some((s) => s.record.name === 'nopool'),
      false,
    );
    await kubectl('delete', 'pod', 'nopool', '--timeout=60s');
    assert.equal(await getPod('nopool'), undefined);
    assert.deepEqual(await handles(), []);
  });

  test('a restarted kubelet adopts a running pod and removes the sandbox of one deleted meanwhile', async () => {
    await kubectl('run', 'stay', '--image=lab/probe', '--port=9090', '--restart=Never');
    await kubectl('run', 'gone', '--image=lab/probe', '--port=9091', '--restart=Never');
    const stay = await running('stay');
    await running('gone');
    const goneNs = kubelet!.sandboxes().find((s) => s.record.name === 'gone')!.record.netns;
    await kubelet!.stop();
    kubelet = undefined;
    await kubectl('delete', 'pod', 'gone', '--wait=false');
    assert.ok((await getPod('gone'))?.metadata.deletionTimestamp !== undefined, 'gone waits for its kubelet');
    kubelet = await LabKubelet.start(options!);
    await waitFor(async () => (await getPod('gone')) === undefined, {
      timeoutMs: 60_000,
      intervalMs: 250,
      what: 'pod gone deleted',
    });
    assert.equal((await listNamespaces(runner)).includes(goneNs), false);
    const adopted = kubelet.sandboxes().map((s) => s.record.name);
    assert.deepEqual(adopted, ['stay']);
    assert.equal(kubelet.sandboxes()[0]!.record.ip, stay.status.podIP);
    assert.equal(await probeFromNode(stay.status.podIP!, 9090), true, 'the adopted pod still answers');
    await kubectl('delete', 'pod', 'stay', '--timeout=60s');
    assert.deepEqual(await handles(), []);
    assert.equal(existsSync(join(options!.dir, 'pods', `${stay.metadata.uid}.json`)), false);
  });
});
