/**
 * The control plane's command lines (pure) and what makes its processes recognisable: every file argument is
 * an absolute path under the directory, every listener on 127.0.0.1. And the binary lookup refusing, with the
 * build script named, when the cache holds nothing.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { parse } from 'yaml';
import { apiserverArgs, controllerManagerArgs, etcdArgs, schedulerArgs } from './args.js';
import { findKubeBinaries } from './binaries.js';
import { renderKubeconfig } from './kubeconfig.js';
import { pkiPaths } from './pki.js';
import { controlPlaneProgramOf } from './sweep.js';

const dir = '/run/lab/kubernetes';
const files = {
  dir,
  pki: pkiPaths(`${dir}/pki`),
  kcmKubeconfig: `${dir}/kcm.kubeconfig`,
  schedKubeconfig: `${dir}/sched.kubeconfig`,
};
const ports = { etcd: 2001, etcdPeer: 2002, apiserver: 2003, controllerManager: 2004, scheduler: 2005 };

test('every file a program is given lies under the directory; every address is loopback', () => {
  for (const args of [
    etcdArgs(files, ports),
    apiserverArgs(files, ports),
    controllerManagerArgs(files, ports),
    schedulerArgs(files, ports),
  ]) {
    const paths = args.filter((a) => a.startsWith('/'));
    assert.ok(paths.length > 0);
    for (const p of paths) assert.ok(p.startsWith(`${dir}/`), p);
    for (const url of args.filter((a) => a.includes('://') && !a.startsWith('https://kubernetes.default')))
      assert.match(url, /^(kube=)?https?:\/\/127\.0\.0\.1:\d+$/);
  }
  const api = apiserverArgs(files, ports);
  assert.equal(api[api.indexOf('--secure-port') + 1], '2003');
  assert.equal(api[api.indexOf('--authorization-mode') + 1], 'Node,RBAC');
  assert.equal(api[api.indexOf('--etcd-servers') + 1], 'http://127.0.0.1:2001');
});

test('admission plugins are the defaults unless some are disabled by name (the KDD tests: NamespaceLifecycle)', () => {
  assert.ok(!apiserverArgs(files, ports).includes('--disable-admission-plugins'));
  const api = apiserverArgs(files, ports, {
    disableAdmissionPlugins: ['NamespaceLifecycle', 'ServiceAccount'],
  });
  assert.equal(api[api.indexOf('--disable-admission-plugins') + 1], 'NamespaceLifecycle,ServiceAccount');
});

test('feature gates are the defaults unless given (the conformance driver: StrictIPCIDRValidation off)', () => {
  assert.ok(!apiserverArgs(files, ports).some((a) => a.startsWith('--feature-gates')));
  const api = apiserverArgs(files, ports, { featureGates: { StrictIPCIDRValidation: false, B: true } });
  assert.ok(api.includes('--feature-gates=B=true,StrictIPCIDRValidation=false'));
});

test('this process is no control-plane program of any directory', () => {
  assert.equal(controlPlaneProgramOf(process.pid, '/'), undefined);
  assert.equal(controlPlaneProgramOf(2 ** 22 + 1, dir), undefined);
});

test('the admin kubeconfig embeds the certificates and names one context', () => {
  const text = renderKubeconfig({
    server: 'https://127.0.0.1:2003',
    user: 'admin',
    caPem: 'CA',
    certPem: 'CERT',
    keyPem: 'KEY',
  });
  const k = parse(text) as {
    clusters: { cluster: Record<string, string> }[];
    users: { user: Record<string, string> }[];
    'current-context': string;
  };
  assert.equal(k.clusters[0]?.cluster['server'], 'https://127.0.0.1:2003');
  assert.equal(Buffer.from(k.clusters[0].cluster['certificate-authority-data']!, 'base64').toString(), 'CA');
  assert.equal(Buffer.from(k.users[0]!.user['client-key-data']!, 'base64').toString(), 'KEY');
  assert.equal(k['current-context'], 'calico-lab');
});

test('without built programs the lookup says so and names scripts/build-kubernetes.sh', () => {
  const empty = mkdtempSync(join(tmpdir(), 'calts-kcache-'));
  const saved = process.env['CALICO_TS_CACHE'];
  process.env['CALICO_TS_CACHE'] = empty;
  try {
    const r = findKubeBinaries();
    assert.equal(r.ok, false);
    assert.match(r.reason, /not built .*scripts\/build-kubernetes\.sh/);
  } finally {
    if (saved === undefined) delete process.env['CALICO_TS_CACHE'];
    else process.env['CALICO_TS_CACHE'] = saved;
    rmSync(empty, { recursive: true, force: true });
  }
});
