/**
 * The control plane starter against the real upstream programs (skipped, with the reason, when
 * scripts/build-kubernetes.sh has not built them): one start for the whole file, loopback only. kubectl of the
 * same release works with the admin kubeconfig, every Calico CRD is Established, a GlobalNetworkPolicy
 * (crd.projectcalico.org/v1) is created and listed, the controllers hold their leases, the keys are 0600; after
 * `stop` no process of the directory is left and its ports are free.
 */
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { calicoCrds } from '../crd-definitions.js';
import { findEtcdBinary } from '../../etcd/binary.js';
import { findKubeBinaries } from './binaries.js';
import { KubeControlPlane } from './control-plane.js';
import { establishedCrds } from './crds.js';
import { controlPlaneProcesses } from './sweep.js';

const found = findKubeBinaries();
const skip = !found.ok
  ? found.reason
  : findEtcdBinary() === undefined
    ? 'no etcd binary (apt-get install etcd-server)'
    : false;
if (skip !== false) console.log(`# skipped: ${skip}`);

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once('error', () => {
      resolve(false);
    });
    s.listen(port, '127.0.0.1', () =>
      s.close(() => {
        resolve(true);
      }),
    );
  });
}

const GNP = `apiVersion: crd.projectcalico.org/v1
kind: GlobalNetworkPolicy
metadata:
  name: allow-dns
spec:
  selector: all()
  types: [Egress]
  egress:
    - action: Allow
      protocol: UDP
      destination:
        ports: [53]
`;

describe('KubeControlPlane (real etcd, kube-apiserver, controller manager, scheduler)', { skip }, () => {
  let dir = '';
  let cp: KubeControlPlane | undefined;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'calts-kcp-'));
    const t0 = performance.now();
    cp = await KubeControlPlane.start({ dir });
    console.log(`# control plane up in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  });

  after(async () => {
    await cp?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test('kubectl get ns works with the admin kubeconfig; client and server are the built release', () => {
    const ns = cp!.kubectl(['get', 'namespaces', '-o', 'name']);
    assert.equal(ns.code, 0, ns.stderr);
    assert.deepEqual(ns.stdout.trim().split('\n').sort(), [
      'namespace/default',
      'namespace/kube-node-lease',
      'namespace/kube-public',
      'namespace/kube-system',
    ]);
    const v = cp!.kubectl(['version', '-o', 'json']);
    assert.equal(v.code, 0, v.stderr);
    const versions = JSON.parse(v.stdout) as Record<string, { gitVersion: string }>;
    assert.equal(versions['serverVersion']?.gitVersion, cp!.record.release);
    assert.equal(versions['clientVersion']?.gitVersion, cp!.record.release);
  });

  test('every Calico CRD is Established', async () => {
    const established = await establishedCrds(cp!.api);
    const names = calicoCrds().map((c) => c.metadata.name);
    assert.ok(names.length > 10, `only ${names.length} CRDs`);
    assert.deepEqual(
      names.filter((n) => !established.has(n)),
      [],
    );
  });

  test('a GlobalNetworkPolicy custom object is created and listed with kubectl', () => {
    const created = cp!.kubectl(['apply', '-f', '-'], GNP);
    assert.equal(created.code, 0, created.stderr);
    const list = cp!.kubectl(['get', 'globalnetworkpolicies.crd.projectcalico.org', '-o', 'json']);
    assert.equal(list.code, 0, list.stderr);
    const items = (JSON.parse(list.stdout) as { items: { metadata: { name: string }; spec: unknown }[] })
      .items;
    assert.deepEqual(
      items.map((i) => [i.metadata.name, i.spec]),
      [
        [
          'allow-dns',
          {
            selector: 'all()',
            types: ['Egress'],
            egress: [{ action: 'Allow', protocol: 'UDP', destination: { ports: [53] } }],
          },
        ],
      ],
    );
  });

  test('the controllers hold their leader leases; keys are 0600; certificates name who they are for', async () => {
    for (const lease of ['kube-controller-manager', 'kube-scheduler'])
      assert.ok((await cp!.api.leaseHolder(lease)) !== undefined, `${lease} has no leader`);
    for (const key of ['pki/ca.key', 'pki/admin.key', 'pki/sa.key', 'kubeconfig'])
      assert.equal(statSync(join(dir, key)).mode & 0o777, 0o600, key);
    const api = new X509Certificate(readFileSync(join(dir, 'pki/apiserver.crt')));
    for (const san of [
      'IP Address:127.0.0.1',
      'DNS:localhost',
      'DNS:kubernetes',
      'DNS:kubernetes.default',
      'DNS:kubernetes.default.svc',
      'IP Address:10.96.0.1',
    ])
      assert.ok(api.subjectAltName?.split(', ').includes(san), `${san} not in ${api.subjectAltName ?? ''}`);
    const subject = (name: string): string =>
      new X509Certificate(readFileSync(join(dir, `pki/${name}.crt`))).subject;
    assert.match(subject('admin'), /^O=system:masters$/m);
    assert.match(subject('kcm'), /^CN=system:kube-controller-manager$/m);
    assert.match(subject('sched'), /^CN=system:kube-scheduler$/m);
    const s = await cp!.status();
    assert.deepEqual(s.stopped, []);
    assert.equal(s.ready, true);
  });

  test('stop leaves no process of the directory and frees its ports', async () => {
    const { ports } = cp!.record;
    assert.equal(controlPlaneProcesses(dir).length, 4);
    await cp!.stop();
    assert.deepEqual(controlPlaneProcesses(dir), []);
    for (const [name, port] of Object.entries(ports) as [string, number][])
      assert.ok(await portFree(port), `${name} port ${port} still taken`);
    assert.equal(await cp!.api.ready(500), false);
  });
});

describe('KubeControlPlane without controllers: the API server stopped and started alone', { skip }, () => {
  let dir = '';
  let cp: KubeControlPlane | undefined;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'calts-kcp-'));
    cp = await KubeControlPlane.start({ dir, controllers: false });
  });

  after(async () => {
    await cp?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test('etcd keeps running while the API server is down; it comes back on its port serving the CRDs', async () => {
    const before = cp!.record;
    assert.deepEqual(
      controlPlaneProcesses(dir)
        .map((p) => p.program)
        .sort(),
      ['etcd', 'kube-apiserver'],
    );
    await cp!.stopApiServer();
    assert.deepEqual(
      controlPlaneProcesses(dir).map((p) => p.program),
      ['etcd'],
    );
    assert.deepEqual(await cp!.status(), { running: ['etcd'], stopped: ['kube-apiserver'], ready: false });
    assert.equal(cp!.record.pids['kube-apiserver'], undefined);
    await cp!.startApiServer();
    const after = cp!.record;
    assert.equal(after.server, before.server);
    assert.notEqual(after.pids['kube-apiserver'], before.pids['kube-apiserver']);
    assert.equal((await cp!.status()).ready, true);
    const list = cp!.kubectl(['get', 'globalnetworkpolicies.crd.projectcalico.org', '-o', 'name']);
    assert.equal(list.code, 0, list.stderr);
  });
});
