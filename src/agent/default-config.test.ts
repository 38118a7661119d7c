/**
 * What calico-node's start-up writes besides the Node and the pools (default-config.ts, node-startup.ts):
 * ClusterInformation and the built-in tiers, the default and per-node FelixConfigurations, the default
 * BGPConfiguration and the nodename file; again and again without overwriting what users set; and what it
 * enables (calicoctl patch felixconfiguration default on a datastore only calico-node has written).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it, type TestContext } from 'node:test';
import { calicoctl } from '../cli/testing.js';
import { FakeCommandRunner } from '../dataplane/exec/fake-runner.js';
import { type Backend, openBackend, type Resource } from '../datastore/index.js';
import { createLogger } from './log.js';
import { loadNetworkConfig } from './network-config.js';
import { runNodeStartup } from './node-startup.js';
import { loadStartupConfig } from './startup-config.js';

const dir = mkdtempSync(join(tmpdir(), 'calts-defaults-'));
after(() => {
  rmSync(dir, { recursive: true, force: true });
});
let n = 0;

const runner = new FakeCommandRunner().on(
  { cmd: 'ip', args: ['-j', 'addr', 'show'] },
  {
    stdout: JSON.stringify([
      { ifname: 'eth0', addr_info: [{ family: 'inet', local: '10.0.1.1', prefixlen: 24 }] },
    ]),
  },
);

async function store(t: TestContext): Promise<{ backend: Backend; path: string }> {
  const path = join(dir, `s${n++}.db`);
  const backend = await openBackend({ datastoreType: 'embedded', datastorePath: path });
  t.after(() => backend.close());
  return { backend, path };
}

function startup(backend: Backend, env: Record<string, string> = {}, version = 'v0.1.0') {
  return runNodeStartup({
    backend,
    runner,
    log: createLogger('error'),
    nodeName: 'node1',
    net: loadNetworkConfig({ CALICO_NETWORKING_BACKEND: 'none', ...env }, dir),
    startup: loadStartupConfig(env, { name: 'node1', source: 'NODENAME' }),
    nodenameFile: join(dir, `nodename-${n}`, 'nodename'),
    calicoVersion: version,
  });
}

async function spec(b: Backend, kind: string, name: string): Promise<Record<string, unknown>> {
  return ((await b.get({ kind, name })) as unknown as { spec: Record<string, unknown> }).spec;
}

async function put(b: Backend, kind: string, name: string, s: Record<string, unknown>): Promise<void> {
  await b.applyMany([{ apiVersion: 'projectcalico.org/v3', kind, metadata: { name }, spec: s } as Resource]);
}

describe("calico-node start-up: the cluster's defaults", () => {
  it('creates ClusterInformation, the tiers, Felix and BGP defaults and the nodename file', async (t) => {
    const { backend } = await store(t);
    await startup(backend, { CLUSTER_TYPE: 'k8s,bgp' });
    const ci = await spec(backend, 'ClusterInformation', 'default');
    assert.equal(ci['calicoVersion'], 'v0.1.0');
    assert.equal(ci['clusterType'], 'k8s,bgp');
    assert.equal(ci['datastoreReady'], true);
    assert.match(String(ci['clusterGUID']), /^[0-9a-f]{32}$/);
    const tiers = (await backend.list({ kind: 'Tier' })).items.map((x) => x.metadata.name).sort();
    assert.deepEqual(tiers, ['default', 'kube-admin', 'kube-baseline']);
    assert.deepEqual(await spec(backend, 'FelixConfiguration', 'default'), {
      reportingInterval: '0s',
      logSeverityScreen: 'Info',
    });
    assert.deepEqual(await spec(backend, 'FelixConfiguration', 'node.node1'), {
      defaultEndpointToHostAction: 'Return',
    });
    assert.deepEqual(await spec(backend, 'BGPConfiguration', 'default'), {});
    const file = join(dir, `nodename-${n}`, 'nodename');
    assert.equal(readFileSync(file, 'utf8'), 'node1');
    assert.equal(statSync(file).mode & 0o777, 0o644);
  });

  it('is idempotent and completes what users wrote without overwriting it', async (t) => {
    const { backend } = await store(t);
    await put(backend, 'ClusterInformation', 'default', {
      clusterGUID: 'abc',
      clusterType: 'k8s',
      calicoVersion: 'v3.30.0',
      datastoreReady: false,
    });
    await put(backend, 'FelixConfiguration', 'default', { logSeverityScreen: 'Debug', bpfEnabled: false });
    await put(backend, 'FelixConfiguration', 'node.node1', { defaultEndpointToHostAction: 'Drop' });
    await put(backend, 'BGPConfiguration', 'default', { asNumber: 64600 });
    await startup(backend, { CLUSTER_TYPE: 'k8s,bgp' });
    assert.deepEqual(await spec(backend, 'ClusterInformation', 'default'), {
      clusterGUID: 'abc',
      clusterType: 'k8s,bgp',
      calicoVersion: 'v0.1.0',
      datastoreReady: false,
    });
    assert.deepEqual(await spec(backend, 'FelixConfiguration', 'default'), {
      logSeverityScreen: 'Debug',
      bpfEnabled: false,
      reportingInterval: '0s',
    });
    assert.deepEqual(await spec(backend, 'FelixConfiguration', 'node.node1'), {
      defaultEndpointToHostAction: 'Drop',
    });
    assert.deepEqual(await spec(backend, 'BGPConfiguration', 'default'), { asNumber: 64600 });
    const revision = async (): Promise<string[]> =>
      await Promise.all(
        [
          ['ClusterInformation', 'default'],
          ['FelixConfiguration', 'default'],
          ['FelixConfiguration', 'node.node1'],
          ['BGPConfiguration', 'default'],
        ].map(
          async ([kind, name]) =>
            (await backend.get({ kind: kind ?? '', name: name ?? '' })).metadata.resourceVersion ?? '',
        ),
      );
    const before = await revision();
    await startup(backend, { CLUSTER_TYPE: 'bgp,k8s' });
    assert.deepEqual(await revision(), before, 'a second start writes nothing');
  });

  it('leaves a stored configuration that is not valid alone', async (t) => {
    const { backend } = await store(t);
    await put(backend, 'FelixConfiguration', 'node.node1', { defaultEndpointToHostAction: 'Sometimes' });
    await startup(backend);
    assert.deepEqual(await spec(backend, 'FelixConfiguration', 'node.node1'), {
      defaultEndpointToHostAction: 'Sometimes',
    });
  });

  it('lets calicoctl patch the default FelixConfiguration and read the cluster version', async (t) => {
    const { backend, path } = await store(t);
    await startup(backend);
    const env = { DATASTORE_TYPE: 'embedded', CALICO_DATASTORE_PATH: path };
    const patched = await calicoctl(
      ['patch', 'felixconfiguration', 'default', '-p', '{"spec":{"logSeverityScreen":"Warning"}}'],
      { env },
    );
    assert.equal(patched.status, 0, patched.stderr);
    assert.equal((await spec(backend, 'FelixConfiguration', 'default'))['logSeverityScreen'], 'Warning');
    const version = await calicoctl(['version', '--allow-version-mismatch'], { env });
    assert.equal(version.status, 0, version.stderr);
    assert.match(version.stdout, /Cluster Version: +v0\.1\.0\n/);
  });
});
