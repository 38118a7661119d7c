/** The conformance suite against a real etcd (started here), plus etcd-specific layout and config checks. */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Etcd3 } from 'etcd3';
import { runBackendConformance } from '../conformance.js';
import { openBackend } from '../config.js';
import { gnp, np, startRecordedSyncer, waitFor } from '../testing/fixtures.js';
import { etcdTarget } from '../testing/targets.js';
import { startFreezableProxy } from './test-proxy.js';
import { openEtcdBackend } from './etcd-backend.js';
import { RESOURCE_PREFIX, etcdKey, kindPrefix, parseEtcdKey, prefixEnd } from './keys.js';
import {
  createTestTls,
  etcdSkipReason,
  startTestEtcd,
  type TestEtcd,
  type TestTlsFiles,
} from './test-etcd.js';

const skip = etcdSkipReason();

runBackendConformance(etcdTarget());

describe('etcd keys (pure)', () => {
  it('lays keys out as Calico does, with the plural and an optional namespace', () => {
    assert.equal(
      etcdKey({ kind: 'GlobalNetworkPolicy', name: 'default.p' }, 'globalnetworkpolicies'),
      '/calico/resources/v3/projectcalico.org/globalnetworkpolicies/default.p',
    );
    assert.equal(
      etcdKey({ kind: 'NetworkPolicy', namespace: 'ns1', name: 'p' }, 'networkpolicies'),
      '/calico/resources/v3/projectcalico.org/networkpolicies/ns1/p',
    );
    assert.equal(kindPrefix('networkpolicies', 'ns1'), `${RESOURCE_PREFIX}networkpolicies/ns1/`);
  });

  it('parses keys back and ignores foreign ones', () => {
    assert.deepEqual(parseEtcdKey(`${RESOURCE_PREFIX}networkpolicies/ns1/p`), {
      kind: 'NetworkPolicy',
      namespace: 'ns1',
      name: 'p',
    });
    assert.deepEqual(parseEtcdKey(`${RESOURCE_PREFIX}kubernetesnetworkpolicies/ns1/p`), {
      kind: 'KubernetesNetworkPolicy',
      namespace: 'ns1',
      name: 'p',
    });
    assert.deepEqual(parseEtcdKey(`${RESOURCE_PREFIX}tiers/default`), { kind: 'Tier', name: 'default' });
    assert.equal(parseEtcdKey(`${RESOURCE_PREFIX}tiers/a/b`), undefined);
    assert.equal(parseEtcdKey(`${RESOURCE_PREFIX}networkpolicies/p`), undefined);
    assert.equal(parseEtcdKey(`${RESOURCE_PREFIX}gnp/p`), undefined, 'aliases are not plurals');
    assert.equal(parseEtcdKey('/calico/ipam/v2/assignment/ipv4/block/10.0.0.0-26'), undefined);
  });

  it('computes prefix range ends', () => {
    assert.equal(prefixEnd('/a/').toString(), '/a0');
    assert.equal(prefixEnd(RESOURCE_PREFIX).toString(), '/calico/resources/v3/projectcalico.org0');
    // UTF-8 'ÿ' is c3 bf: the last byte is incremented.
    assert.deepEqual([...prefixEnd('aÿ')], [0x61, 0xc3, 0xc0]);
  });
});

describe('etcd backend specifics', { skip: skip ?? false }, () => {
  let server: TestEtcd | undefined;
  before(async () => {
    server = await startTestEtcd();
  });
  after(async () => {
    await server?.dispose();
  });

  it('stores JSON without resourceVersion at the Calico key; resourceVersion is the mod_revision', async () => {
    const endpoint = server!.endpoint;
    await using backend = await openEtcdBackend({ endpoints: [endpoint] });
    const created = await backend.create(np('ns1', 'p', 3));
    await backend.create(gnp('g'));
    const raw = new Etcd3({ hosts: endpoint });
    try {
      const res = await raw.get(`${RESOURCE_PREFIX}networkpolicies/ns1/p`).exec();
      const kv = res.kvs[0]!;
      const value = JSON.parse(kv.value.toString()) as { metadata: Record<string, unknown>; spec: unknown };
      assert.equal(value.metadata['resourceVersion'], undefined);
      assert.equal(value.metadata['uid'], created.metadata.uid);
      assert.deepEqual(value.spec, { order: 3 });
      assert.equal(kv.mod_revision, created.metadata.resourceVersion);
      assert.ok(await raw.get(`${RESOURCE_PREFIX}globalnetworkpolicies/g`).string());
    } finally {
      raw.close();
    }
  });

  it('reports an unreachable etcd as DatastoreUnavailableError', async () => {
    await using backend = await openEtcdBackend({ endpoints: ['http://127.0.0.1:1'], dialTimeoutMs: 500 });
    await assert.rejects(backend.get({ kind: 'Tier', name: 'x' }), {
      code: 'CALICO_ERR_DATASTORE_UNAVAILABLE',
    });
  });

  it('a hung connection (no answer, no error) is reported by the probe, and its end too', async (t) => {
    const proxy = await startFreezableProxy(server!.endpoint);
    t.after(() => proxy.close());
    await using backend = await openEtcdBackend({ endpoints: [proxy.endpoint] });
    await backend.create(gnp('h'));
    const { rec, syncer } = startRecordedSyncer(t, backend, {
      kinds: ['GlobalNetworkPolicy'],
      probeIntervalMs: 200,
      probeTimeoutMs: 800,
    });
    await waitFor(
      () => syncer.connected() === true && rec.view.has('GlobalNetworkPolicy/h'),
      'in sync through the proxy',
    );
    const frozenAt = performance.now();
    proxy.freeze();
    await waitFor(() => syncer.connected() === false, 'the hang noticed');
    const ms = performance.now() - frozenAt;
    assert.ok(ms < 3000, `hang noticed after ${Math.round(ms)} ms`);
    t.diagnostic(`hung connection noticed after ${Math.round(ms)} ms (probe every 200 ms, 800 ms deadline)`);
    const lost = rec.events.findLast((e) => e.type === 'connection');
    assert.deepEqual(lost, { type: 'connection', connected: false, detail: 'no answer within 800 ms' });
    proxy.thaw();
    await waitFor(() => syncer.connected() === true, 'the connection back', 15_000);
    await backend.create(gnp('after'));
    await waitFor(() => rec.view.has('GlobalNetworkPolicy/after'), 'live again');
    assert.deepEqual(rec.statuses, ['WaitForDatastore', 'ResyncInProgress', 'InSync']);
  });

  it('rejects a client certificate without a CA', async () => {
    await assert.rejects(openEtcdBackend({ endpoints: ['https://127.0.0.1:2379'], cert: 'x', key: 'y' }), {
      code: 'CALICO_ERR_VALIDATION',
    });
  });
});

const tlsSkip =
  skip ??
  (existsSync('/usr/bin/openssl') ? undefined : 'openssl CLI not found (needed to make test certificates)');

describe('etcd over TLS with client certificates, and username/password', { skip: tlsSkip ?? false }, () => {
  let dir = '';
  let tls: TestTlsFiles | undefined;
  let server: TestEtcd | undefined;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'calico-etcd-tls-'));
    tls = await createTestTls(dir);
    server = await startTestEtcd({ tls });
  });
  after(async () => {
    await server?.dispose();
    await rm(dir, { recursive: true, force: true });
  });

  it('connects with TLS files from the config, and with inline PEM', async () => {
    const { caFile, clientCertFile, clientKeyFile } = tls!;
    const endpoints = [server!.endpoint];
    const files = { endpoints, caCertFile: caFile, certFile: clientCertFile, keyFile: clientKeyFile };
    await using viaConfig = await openBackend({ datastoreType: 'etcdv3', etcd: files });
    const created = await viaConfig.create(gnp('tls'));
    const caCert = await readFile(caFile, 'utf8');
    const cert = await readFile(clientCertFile, 'utf8');
    const key = await readFile(clientKeyFile, 'utf8');
    await using inline = await openEtcdBackend({ endpoints, caCert, cert, key });
    assert.deepEqual(await inline.get({ kind: 'GlobalNetworkPolicy', name: 'tls' }), created);
  });

  it('fails as unavailable without a client certificate', async () => {
    await using backend = await openEtcdBackend({
      endpoints: [server!.endpoint],
      caCertFile: tls!.caFile,
      dialTimeoutMs: 500,
    });
    await assert.rejects(backend.get({ kind: 'Tier', name: 'x' }), {
      code: 'CALICO_ERR_DATASTORE_UNAVAILABLE',
    });
  });

  it('authenticates with username and password once auth is enabled', async () => {
    const { caFile, clientCertFile, clientKeyFile } = tls!;
    const credentials = {
      rootCertificate: await readFile(caFile),
      certChain: await readFile(clientCertFile),
      privateKey: await readFile(clientKeyFile),
    };
    const admin = new Etcd3({ hosts: server!.endpoint, credentials });
    try {
      await admin.user('root').create('s3cret');
      await admin.user('root').addRole('root');
      await admin.auth.authEnable();
    } finally {
      admin.close();
    }
    const base = {
      endpoints: [server!.endpoint],
      caCertFile: caFile,
      certFile: clientCertFile,
      keyFile: clientKeyFile,
    };
    await using good = await openEtcdBackend({ ...base, username: 'root', password: 's3cret' });
    await good.create(gnp('authed'));
    assert.equal((await good.list({ kind: 'GlobalNetworkPolicy' })).items.length, 2);
    await using bad = await openEtcdBackend({ ...base, username: 'root', password: 'wrong' });
    await assert.rejects(bad.get({ kind: 'GlobalNetworkPolicy', name: 'authed' }), {
      code: 'CALICO_ERR_DATASTORE_UNAVAILABLE',
    });
  });
});
