/** KubeTransport.open's loading order where no API server is needed (the in-cluster branch needs a pod). */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { KubeTransport } from './transport.js';

const KUBECONFIG = `apiVersion: v1
kind: Config
clusters: [{ name: c, cluster: { server: "https://127.0.0.1:6443/" } }]
users: [{ name: u, user: { token: t } }]
contexts: [{ name: x, context: { cluster: c, user: u } }]
current-context: x
`;

test('open: the kubeconfig given, else $KUBECONFIG, each named when missing', () => {
  const dir = mkdtempSync(join(tmpdir(), 'calts-transport-'));
  try {
    const file = join(dir, 'kubeconfig');
    writeFileSync(file, KUBECONFIG);
    assert.equal(KubeTransport.open(file, {}).server, 'https://127.0.0.1:6443');
    assert.equal(KubeTransport.open(undefined, { KUBECONFIG: file }).server, 'https://127.0.0.1:6443');
    const missing = join(dir, 'missing');
    assert.throws(() => KubeTransport.open(missing, {}), { message: `kubeconfig ${missing} does not exist` });
    // $KUBECONFIG set: used even in a pod (KUBERNETES_SERVICE_HOST), as client-go does.
    assert.throws(
      () => KubeTransport.open(undefined, { KUBECONFIG: missing, KUBERNETES_SERVICE_HOST: '10.96.0.1' }),
      {
        message: `kubeconfig ${missing} does not exist`,
      },
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
