/**
 * The Kubernetes datastore beyond the shared suite, against one real kube-apiserver: clear errors (a
 * kubeconfig pointing nowhere, certificates the other side does not trust, a missing CRD), custom resources
 * that are not Calico's, valueAt history, the core kinds and what is derived from them, and an API server
 * restart mid-watch after which the syncer resyncs and delivers what changed while it was down.
 */
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Etcd3 } from 'etcd3';
import type { Resource } from '../api.js';
import { openBackend } from '../config.js';
import { waitFor } from '../../lib/async.js';
import { gnp, np, startRecordedSyncer, snapshot, viewVersions } from '../testing/fixtures.js';
import { freeLoopbackPort } from '../../test-support/ports.js';
import { toCustomResource } from './crd.js';
import { expiredClientCert, otherCa } from './testing/certs.js';
import {
  kubeconfigText,
  kubernetesSkipReason,
  startTestControlPlane,
  type TestControlPlane,
} from './testing/control-plane.js';
import { KubeTransport } from './transport.js';
import { convertUid } from './uid.js';

const skip = kubernetesSkipReason();
const GNP = 'GlobalNetworkPolicy';
const CRS = '/apis/crd.projectcalico.org/v1';

describe('Kubernetes datastore specifics', { skip: skip ?? false }, () => {
  let plane: TestControlPlane;
  let raw: KubeTransport;
  before(async () => {
    plane = await startTestControlPlane();
    raw = KubeTransport.fromFile(plane.kubeconfig);
  });
  after(async () => {
    raw.close();
    await plane.dispose();
  });
  const open = async (kubeconfig = plane.kubeconfig) =>
    openBackend({ datastoreType: 'kubernetes', kubeconfig });
  const kubeconfig = async (name: string, text: string): Promise<string> => {
    const path = join(plane.dir, `${name}.kubeconfig`);
    await writeFile(path, text);
    return path;
  };

  it('a kubeconfig pointing nowhere: one line naming the server', async () => {
    const port = await freeLoopbackPort();
    const server = `https://127.0.0.1:${port}`;
    await using backend = await open(await kubeconfig('nowhere', kubeconfigText(server, plane.dir)));
    await assert.rejects(backend.list({ kind: GNP }), {
      code: 'CALICO_ERR_DATASTORE_UNAVAILABLE',
      message: `cannot reach the Kubernetes API server ${server}: connection refused`,
    });
  });

  it('a server certificate from a CA the kubeconfig does not trust, and an expired client certificate', async () => {
    await otherCa(plane.dir, 'stranger-ca');
    await using untrusted = await open(
      await kubeconfig('untrusted', kubeconfigText(plane.server, plane.dir, 'admin', 'stranger-ca')),
    );
    await assert.rejects(untrusted.get({ kind: GNP, name: 'x' }), {
      code: 'CALICO_ERR_DATASTORE_UNAVAILABLE',
      message:
        `cannot reach the Kubernetes API server ${plane.server}: TLS handshake failed: its certificate is not ` +
        'signed by the CA of the kubeconfig (UNABLE_TO_VERIFY_LEAF_SIGNATURE)',
    });
    await expiredClientCert(plane.dir, 'expired');
    const path = await kubeconfig('expired', kubeconfigText(plane.server, plane.dir, 'expired'));
    await using expired = await open(path);
    await assert.rejects(expired.get({ kind: GNP, name: 'x' }), {
      code: 'CALICO_ERR_DATASTORE_UNAVAILABLE',
      message:
        `the Kubernetes API server ${plane.server} refused the credentials of kubeconfig ${path} (401 ` +
        'Unauthorized: is the client certificate expired or from another CA, or the token invalid?)',
    });
  });

  it('service-account tokens: a kubeconfig with a token, a token file and an exec plugin', async () => {
    const ns = '/api/v1/namespaces/kube-system';
    const sa = { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'calico-reader' } };
    assert.equal((await raw.request('POST', `${ns}/serviceaccounts`, sa)).status, 201);
    const binding = {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRoleBinding',
      metadata: { name: 'calico-reader' },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'cluster-admin' },
      subjects: [{ kind: 'ServiceAccount', name: 'calico-reader', namespace: 'kube-system' }],
    };
    const rbac = '/apis/rbac.authorization.k8s.io/v1/clusterrolebindings';
    assert.equal((await raw.request('POST', rbac, binding)).status, 201);
    const req = {
      apiVersion: 'authentication.k8s.io/v1',
      kind: 'TokenRequest',
      spec: { expirationSeconds: 600 },
    };
    const issued = await raw.request('POST', `${ns}/serviceaccounts/calico-reader/token`, req);
    assert.equal(issued.status, 201, JSON.stringify(issued.body));
    const token = (issued.body as { status: { token: string } }).status.token;
    await writeFile(join(plane.dir, 'sa.token'), `${token}\n`);
    const plugin = join(plane.dir, 'token-plugin.sh');
    const credential = {
      apiVersion: 'client.authentication.k8s.io/v1',
      kind: 'ExecCredential',
      status: { token },
    };
    await writeFile(plugin, `#!/bin/sh\necho '${JSON.stringify(credential)}'\n`, { mode: 0o755 });
    const withUser = (user: string): string =>
      kubeconfigText(plane.server, plane.dir).replace(
        / {2}user: \{client-certificate.*\}/,
        `  user: ${user}`,
      );
    const users = [
      `{token: "${token}"}`,
      '{tokenFile: sa.token}',
      `{exec: {command: "${plugin}", apiVersion: client.authentication.k8s.io/v1}}`,
    ];
    for (const [i, user] of users.entries()) {
      await using backend = await open(await kubeconfig(`sa-${i}`, withUser(user)));
      assert.ok(Array.isArray((await backend.list({ kind: GNP })).items), user);
    }
    await using wrong = await open(await kubeconfig('sa-wrong', withUser('{token: "not-a-token"}')));
    await assert.rejects(wrong.list({ kind: GNP }), { code: 'CALICO_ERR_DATASTORE_UNAVAILABLE' });
  });

  it('a Calico CRD that is not installed is named', async () => {
    await using backend = await open();
    const crd = '/apis/apiextensions.k8s.io/v1/customresourcedefinitions/bgpfilters.crd.projectcalico.org';
    assert.equal((await raw.request('DELETE', crd)).status, 200);
    const gone = {
      code: 'CALICO_ERR_DATASTORE_UNAVAILABLE',
      message: 'the Calico CRD bgpfilters.crd.projectcalico.org is not installed',
    };
    await waitFor(
      async () => {
        try {
          await backend.list({ kind: 'BGPFilter' });
          return false;
        } catch (e) {
          return e instanceof Error && e.message === gone.message;
        }
      },
      { timeoutMs: 30_000, what: 'the CRD to go' },
    );
    await assert.rejects(backend.get({ kind: 'BGPFilter', name: 'f' }), gone);
    await assert.rejects(
      backend.create({ apiVersion: 'projectcalico.org/v3', kind: 'BGPFilter', metadata: { name: 'f' } }),
      gone,
    );
    await plane.installCrds();
    await waitFor(async () => (await backend.list({ kind: 'BGPFilter' })).items.length === 0, {
      timeoutMs: 30_000,
      what: 'the CRD back',
    });
  });

  it('a custom resource that is not a Calico resource is an invalid stored value, never dropped', async () => {
    await using backend = await open();
    const good = await backend.create(gnp('fine'));
    const bad = {
      apiVersion: 'crd.projectcalico.org/v1',
      kind: 'GlobalNetworkPolicy',
      metadata: { name: 'broken', annotations: { 'projectcalico.org/metadata': '{oops' } },
      spec: { order: 1 },
    };
    const from = (await backend.list({ kind: GNP })).revision + 1;
    const rec: { type: string; name: string; problem?: string }[] = [];
    const stop = new AbortController();
    after(() => {
      stop.abort();
    });
    await backend.watch(
      { kind: GNP, fromRevision: from },
      {
        onUpdates: (u) =>
          rec.push(
            ...u.map((x) => ({
              type: x.type,
              name: x.key.name,
              ...(x.type === 'invalid' ? { problem: x.problem } : {}),
            })),
          ),
        onError: (e) => assert.fail(e.message),
      },
      { signal: stop.signal },
    );
    assert.equal((await raw.request('POST', `${CRS}/globalnetworkpolicies`, bad)).status, 201);
    const list = await backend.list({ kind: GNP });
    assert.deepEqual(
      list.items.map((i) => i.metadata.name),
      ['fine'],
    );
    assert.equal(list.items[0]?.metadata.uid, good.metadata.uid);
    assert.deepEqual(
      list.invalid.map((i) => i.key),
      [{ kind: GNP, name: 'broken' }],
    );
    assert.match(list.invalid[0]?.problem ?? '', /projectcalico\.org\/metadata.*invalid JSON/);
    await assert.rejects(backend.get({ kind: GNP, name: 'broken' }), { code: 'CALICO_ERR_PARSE' });
    await waitFor(() => rec.length >= 1, { timeoutMs: 10_000, what: 'the invalid update' });
    assert.deepEqual(
      rec.map((r) => [r.type, r.name]),
      [['invalid', 'broken']],
    );
    assert.ok(
      (await backend.delete({ kind: GNP, name: 'broken' })) === undefined,
      'deleted by key, no value',
    );
    await backend.delete({ kind: GNP, name: 'fine' });
  });

  it('valueAt reads the versions a key had; before it existed, nothing', async () => {
    await using backend = await open();
    const before = await backend.currentRevision();
    const v1 = await backend.create(np('hist', 'p', 1));
    const v2 = await backend.update({ ...v1, spec: { order: 2 } });
    const key = { kind: 'NetworkPolicy', namespace: 'hist', name: 'p' };
    assert.deepEqual(await backend.valueAt(key, Number(v1.metadata.resourceVersion)), {
      revision: Number(v1.metadata.resourceVersion),
      value: v1,
    });
    assert.deepEqual(await backend.valueAt(key, Number(v2.metadata.resourceVersion)), {
      revision: Number(v2.metadata.resourceVersion),
      value: v2,
    });
    assert.equal(await backend.valueAt(key, before), undefined);
    await backend.delete(key);
    assert.equal(await backend.valueAt(key, await backend.currentRevision()), undefined);
  });

  it('core kinds pass through; Profiles and WorkloadEndpoints derive from them; derived writes are refused or patch the pod', async () => {
    await using backend = await open();
    const ns = await backend.create<Resource>({
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name: 'shop', labels: { team: 'a' } },
    });
    const knp = await backend.create({
      apiVersion: 'networking.k8s.io/v1',
      kind: 'NetworkPolicy',
      metadata: { namespace: 'shop', name: 'deny' },
      spec: { podSelector: {}, policyTypes: ['Ingress'] },
    } as Resource);
    assert.deepEqual(
      await backend.get({ kind: 'KubernetesNetworkPolicy', namespace: 'shop', name: 'deny' }),
      knp,
    );
    const kns = await backend.get({ kind: 'Profile', name: 'kns.shop' });
    assert.equal(kns.metadata.uid, convertUid(ns.metadata.uid ?? ''));
    assert.equal(kns.metadata.resourceVersion, ns.metadata.resourceVersion);
    const profiles = (await backend.list({ kind: 'Profile' })).items.map((p) => p.metadata.name);
    assert.ok(
      profiles.includes('kns.shop') && profiles.includes('projectcalico-default-allow'),
      profiles.join(),
    );
    await assert.rejects(backend.delete({ kind: 'Profile', name: 'kns.shop' }), {
      message: 'operation Delete is not supported on Profile(kns.shop)',
    });
    await backend.create({
      apiVersion: 'v1',
      kind: 'ServiceAccount',
      metadata: { namespace: 'shop', name: 'default' },
    });
    await backend.get({ kind: 'Profile', name: 'ksa.shop.default' });
    await backend.create({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { namespace: 'shop', name: 'web' },
      spec: {
        nodeName: 'node-1',
        serviceAccountName: 'default',
        containers: [{ name: 'c', image: 'registry.invalid/none:1' }],
      },
    } as Resource);
    const [wep] = (await backend.list({ kind: 'WorkloadEndpoint', namespace: 'shop' })).items;
    assert.equal(wep?.metadata.name, 'node--1-k8s-web-eth0');
    const written = await backend.update({
      ...wep,
      spec: {
        ...(wep as unknown as { spec: object }).spec,
        ipNetworks: ['10.244.0.5/32'],
        containerID: 'abc',
      },
    } as Resource);
    assert.deepEqual((written as unknown as { spec: { ipNetworks: string[] } }).spec.ipNetworks, [
      '10.244.0.5/32',
    ]);
    const pod = await backend.get({ kind: 'Pod', namespace: 'shop', name: 'web' });
    const annotations = pod.metadata.annotations ?? {};
    assert.equal(annotations['cni.projectcalico.org/podIP'], '10.244.0.5/32');
    assert.equal(annotations['cni.projectcalico.org/containerID'], 'abc');
    await backend.delete({ kind: 'KubernetesNetworkPolicy', namespace: 'shop', name: 'deny' });
    assert.deepEqual((await backend.list({ kind: 'KubernetesNetworkPolicy', namespace: 'shop' })).items, []);
  });

  it('Calico Nodes write the Kubernetes Node: created, annotated on update, deleted', async () => {
    await using backend = await open();
    const key = { kind: 'Node', name: 'node-7' };
    const created = await backend.create<Resource>({
      apiVersion: 'projectcalico.org/v3',
      kind: 'Node',
      metadata: { name: 'node-7' },
      spec: { bgp: { ipv4Address: '10.0.0.7/24' } },
    } as Resource);
    const kube = await raw.request('GET', '/api/v1/nodes/node-7');
    const annotations = (kube.body as { metadata: { annotations?: Record<string, string> } }).metadata
      .annotations;
    assert.equal(annotations?.['projectcalico.org/IPv4Address'], '10.0.0.7/24');
    const spec = (created as unknown as { spec: { bgp?: unknown } }).spec;
    assert.deepEqual(spec.bgp, { ipv4Address: '10.0.0.7/24' });
    const updated = await backend.update({
      ...created,
      spec: { bgp: { ipv4Address: '10.0.0.8/24', asNumber: 64512 } },
    } as Resource);
    assert.deepEqual((updated as unknown as { spec: { bgp?: unknown } }).spec.bgp, {
      ipv4Address: '10.0.0.8/24',
      asNumber: 64512,
    });
    await assert.rejects(backend.update(created), { code: 'CALICO_ERR_CONFLICT' });
    await backend.delete(key);
    assert.equal((await raw.request('GET', '/api/v1/nodes/node-7')).status, 404);
  });

  it('an API server restart mid-watch: the syncer resyncs and delivers what changed while it was down', async (t) => {
    await using backend = await open();
    const kinds = [GNP, 'NetworkPolicy'];
    const kept = await backend.create(gnp('kept'));
    const changed = await backend.create(gnp('changed', 1));
    await backend.create(gnp('removed'));
    await backend.create(np('rs', 'p'));
    const { rec, syncer } = startRecordedSyncer(t, backend, {
      kinds,
      probeIntervalMs: 200,
      probeTimeoutMs: 1000,
    });
    await waitFor(() => rec.statuses.at(-1) === 'InSync', { timeoutMs: 10_000, what: 'InSync' });
    await plane.stopApiServer();
    await waitFor(() => syncer.connected() === false, { timeoutMs: 10_000, what: 'the loss noticed' });
    // Meanwhile another API server of the cluster changes things in the shared etcd, as kube-apiserver stores
    // custom resources (JSON under /registry/<group>/<plural>/<name>).
    const etcd = new Etcd3({ hosts: plane.etcd.endpoint });
    try {
      const put = async (r: Resource, uid: string): Promise<void> => {
        const cr = toCustomResource(r);
        const stored = {
          ...cr,
          metadata: {
            ...cr.metadata,
            uid: convertUid(uid),
            creationTimestamp: '2026-12-07T00:00:00Z',
            generation: 1,
          },
        };
        await etcd
          .put(`/registry/crd.projectcalico.org/globalnetworkpolicies/${r.metadata.name}`)
          .value(JSON.stringify(stored));
      };
      await put(
        {
          ...gnp('changed', 2),
          metadata: { ...changed.metadata, resourceVersion: undefined },
        } as unknown as Resource,
        changed.metadata.uid ?? '',
      );
      await put(gnp('added', 3), '0c8c26a6-c6a6-44c6-adc6-ac2646b46c1c');
      await etcd.delete().key('/registry/crd.projectcalico.org/globalnetworkpolicies/removed');
    } finally {
      etcd.close();
    }
    await plane.startApiServer();
    await waitFor(
      () => rec.view.has('GlobalNetworkPolicy/added') && !rec.view.has('GlobalNetworkPolicy/removed'),
      {
        timeoutMs: 30_000,
        what: 'the changes made while the API server was down',
      },
    );
    await waitFor(() => rec.statuses.at(-1) === 'InSync' && syncer.connected() === true, {
      timeoutMs: 10_000,
      what: 'InSync again',
    });
    // One resync, rarely two: the restarted API server creates a CRD's watch cache on its first request, and
    // when the cache's own initial list lands after the syncer's list of that kind, its watch answers 410.
    const resyncs = rec.statuses.slice(3).join(',');
    assert.ok(
      resyncs === 'ResyncInProgress,InSync' || resyncs === 'ResyncInProgress,InSync,ResyncInProgress,InSync',
      `statuses: ${rec.statuses.join(', ')}`,
    );
    assert.deepEqual((rec.view.get('GlobalNetworkPolicy/changed') as unknown as { spec: unknown }).spec, {
      order: 2,
    });
    assert.equal(
      rec.view.get('GlobalNetworkPolicy/kept')?.metadata.resourceVersion,
      kept.metadata.resourceVersion,
    );
    assert.deepEqual(viewVersions(rec.view), await snapshot(backend, kinds));
    // Live again after the resync.
    await backend.create(gnp('after'));
    await waitFor(() => rec.view.has('GlobalNetworkPolicy/after'), {
      timeoutMs: 10_000,
      what: 'live after the restart',
    });
  });
});
