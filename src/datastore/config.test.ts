import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  DEFAULT_CONFIG_FILE,
  DEFAULT_DATASTORE_PATH,
  configFromEnv,
  loadClientConfig,
  openBackend,
  parseClientConfig,
} from './config.js';

const ETCD_YAML = `
apiVersion: projectcalico.org/v3
kind: CalicoAPIConfig
metadata: {}
spec:
  datastoreType: etcdv3
  etcdEndpoints: https://10.0.0.1:2379, https://10.0.0.2:2379
  etcdKeyFile: /k.pem
  etcdCertFile: /c.pem
  etcdCACertFile: /ca.pem
  etcdUsername: u
  etcdPassword: p
`;

describe('parseClientConfig', () => {
  it('parses an etcdv3 CalicoAPIConfig (endpoints comma list, TLS files, credentials)', () => {
    assert.deepEqual(parseClientConfig(ETCD_YAML), {
      ok: true,
      value: {
        datastoreType: 'etcdv3',
        etcd: {
          endpoints: ['https://10.0.0.1:2379', 'https://10.0.0.2:2379'],
          username: 'u',
          password: 'p',
          keyFile: '/k.pem',
          certFile: '/c.pem',
          caCertFile: '/ca.pem',
        },
      },
    });
  });

  it('accepts JSON and our embedded type with a path', () => {
    const json = JSON.stringify({
      apiVersion: 'projectcalico.org/v3',
      kind: 'CalicoAPIConfig',
      spec: { datastoreType: 'embedded', datastorePath: '/tmp/x.db' },
    });
    assert.deepEqual(parseClientConfig(json), {
      ok: true,
      value: { datastoreType: 'embedded', datastorePath: '/tmp/x.db' },
    });
  });

  it('defaults the type: etcdv3 with endpoints, embedded (default path) without', () => {
    const head = 'apiVersion: projectcalico.org/v3\nkind: CalicoAPIConfig\n';
    const withEndpoints = parseClientConfig(`${head}spec:\n  etcdEndpoints: http://127.0.0.1:2379\n`);
    assert.equal(withEndpoints.ok && withEndpoints.value.datastoreType, 'etcdv3');
    assert.deepEqual(parseClientConfig(`${head}spec: {}\n`), {
      ok: true,
      value: { datastoreType: 'embedded', datastorePath: DEFAULT_DATASTORE_PATH },
    });
  });

  it("reports Calico's errors for apiVersion and kind, and rejects unknown fields and types", () => {
    assert.deepEqual(parseClientConfig('apiVersion: v2\nkind: CalicoAPIConfig\n'), {
      ok: false,
      error: "invalid config file: unknown APIVersion 'v2'",
    });
    assert.deepEqual(parseClientConfig('apiVersion: projectcalico.org/v3\nkind: Foo\n'), {
      ok: false,
      error: "invalid config file: expected kind 'CalicoAPIConfig', got 'Foo'",
    });
    const head = 'apiVersion: projectcalico.org/v3\nkind: CalicoAPIConfig\n';
    assert.deepEqual(parseClientConfig(`${head}spec:\n  etcdEndpoint: x\n`), {
      ok: false,
      error: 'invalid config file: unknown field "spec.etcdEndpoint"',
    });
    assert.deepEqual(parseClientConfig(`${head}extra: 1\n`), {
      ok: false,
      error: 'invalid config file: unknown field "extra"',
    });
    assert.equal(parseClientConfig(`${head}spec:\n  k8sClientQPS: fast\n`).ok, false);
    assert.equal(parseClientConfig(`${head}spec:\n  datastoreType: mongodb\n`).ok, false);
    assert.equal(parseClientConfig(`${head}spec:\n  etcdEndpoints: 'not a url'\n`).ok, false);
    assert.equal(parseClientConfig(`${head}spec:\n  etcdEndpoints: 'unix://relative.sock'\n`).ok, false);
    const unix = parseClientConfig(`${head}spec:\n  etcdEndpoints: unix:///run/lab/etcd.sock:2379\n`);
    assert.ok(unix.ok && unix.value.datastoreType === 'etcdv3');
    assert.deepEqual(unix.value.etcd.endpoints, ['unix:///run/lab/etcd.sock:2379']);
    assert.equal(
      parseClientConfig(`${head}spec:\n  datastoreType: etcdv3\n`).ok,
      false,
      'etcdv3 needs endpoints',
    );
    assert.equal(parseClientConfig('[1, 2').ok, false);
  });

  it('parses kubernetes; openBackend names a kubeconfig that does not exist', async () => {
    const r = parseClientConfig(
      'apiVersion: projectcalico.org/v3\nkind: CalicoAPIConfig\nspec:\n  datastoreType: kubernetes\n  kubeconfig: /nonexistent/kubeconfig\n',
    );
    assert.deepEqual(r, {
      ok: true,
      value: { datastoreType: 'kubernetes', kubeconfig: '/nonexistent/kubeconfig' },
    });
    assert.ok(r.ok);
    await assert.rejects(openBackend(r.value), (e: unknown) => {
      assert.ok(e instanceof Error);
      assert.equal(e.message, 'kubeconfig /nonexistent/kubeconfig does not exist');
      assert.equal((e as { code?: string }).code, 'CALICO_ERR_USAGE');
      return true;
    });
  });
});

describe('configFromEnv', () => {
  it('reads each variable with or without CALICO_, the prefixed one winning', () => {
    const r = configFromEnv({
      ETCD_ENDPOINTS: 'http://1.1.1.1:2379',
      CALICO_ETCD_ENDPOINTS: 'http://2.2.2.2:2379',
      ETCD_USERNAME: 'me',
      CALICO_ETCD_CA_CERT_FILE: '/ca',
    });
    assert.deepEqual(r, {
      ok: true,
      value: {
        datastoreType: 'etcdv3',
        etcd: { endpoints: ['http://2.2.2.2:2379'], username: 'me', caCertFile: '/ca' },
      },
    });
  });

  it('selects the embedded store by DATASTORE_TYPE and CALICO_DATASTORE_PATH, and by default', () => {
    assert.deepEqual(configFromEnv({ DATASTORE_TYPE: 'embedded', CALICO_DATASTORE_PATH: '/srv/c.db' }), {
      ok: true,
      value: { datastoreType: 'embedded', datastorePath: '/srv/c.db' },
    });
    assert.deepEqual(configFromEnv({}), {
      ok: true,
      value: { datastoreType: 'embedded', datastorePath: DEFAULT_DATASTORE_PATH },
    });
    assert.deepEqual(configFromEnv({ CALICO_DATASTORE_TYPE: 'etcdv3', DATASTORE_TYPE: 'embedded' }), {
      ok: false,
      error: 'etcdv3 datastore requires etcdEndpoints',
    });
  });
});

describe('loadClientConfig and openBackend', () => {
  let dir = '';
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'calico-cfg-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('reads a given file and ignores the environment', async () => {
    const file = join(dir, 'calicoctl.cfg');
    await writeFile(file, ETCD_YAML);
    const cfg = await loadClientConfig({ file, env: { DATASTORE_TYPE: 'embedded' } });
    assert.equal(cfg.datastoreType, 'etcdv3');
  });

  it('fails on a missing non-default file and on a bad one, with the message', async () => {
    await assert.rejects(loadClientConfig({ file: join(dir, 'missing.cfg') }), /failed to read config file/);
    const bad = join(dir, 'bad.cfg');
    await writeFile(bad, 'apiVersion: v1\nkind: CalicoAPIConfig\n');
    await assert.rejects(loadClientConfig({ file: bad }), {
      code: 'CALICO_ERR_USAGE',
      message: "invalid config file: unknown APIVersion 'v1'",
    });
  });

  it(
    'falls back to the environment when the default file is absent',
    { skip: existsSync(DEFAULT_CONFIG_FILE) ? `${DEFAULT_CONFIG_FILE} exists on this machine` : false },
    async () => {
      const cfg = await loadClientConfig({ env: { CALICO_DATASTORE_PATH: join(dir, 'env.db') } });
      assert.deepEqual(cfg, { datastoreType: 'embedded', datastorePath: join(dir, 'env.db') });
    },
  );

  it('opens the embedded backend at the configured path', async () => {
    const path = join(dir, 'sub', 'calico.db');
    await using backend = await openBackend({ datastoreType: 'embedded', datastorePath: path });
    assert.equal(backend.type, 'embedded');
    assert.deepEqual((await backend.list({ kind: 'Tier' })).items, []);
    assert.ok(existsSync(path));
  });
});
