/**
 * Test fixture: a throwaway Kubernetes control plane for the KDD backend's tests, from the one starter
 * (../control-plane/control-plane.ts, also the lab's): etcd and kube-apiserver (no controller manager or
 * scheduler) in a temporary directory, Calico's CRDs Established and served before `startTestControlPlane`
 * resolves.
 *
 * One deviation from a production API server: the NamespaceLifecycle admission plugin is disabled, so that
 * namespaced objects can be written in namespaces no Namespace object exists for (the shared datastore suite
 * uses throwaway namespace names, as the other backends allow).
 *
 * `stopApiServer()`/`startApiServer()` restart the API server on the same port and etcd (watch tests);
 * `dispose()` stops everything and removes the directory. A process 'exit' hook kills what a test forgot.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { etcdSkipReason } from '../../etcd/test-etcd.js';
import { findKubeBinaries, requireKubeBinaries } from '../control-plane/binaries.js';
import { KubeControlPlane } from '../control-plane/control-plane.js';
import { installCalicoCrds } from '../control-plane/crds.js';
import { controlPlaneProcesses } from '../control-plane/sweep.js';

/** Where the built Kubernetes programs are (kubectl for the tests); throws naming the build script if not built. */
export function kubernetesBinDir(): string {
  return requireKubeBinaries().binDir;
}

/** Why tests needing a kube-apiserver are skipped here, or undefined when they can run. */
export function kubernetesSkipReason(): string | undefined {
  const found = findKubeBinaries();
  if (!found.ok) return found.reason;
  if (!existsSync('/usr/bin/openssl')) return 'openssl CLI not found (needed for the control plane PKI)';
  return etcdSkipReason();
}

export interface TestControlPlane {
  /** The admin kubeconfig (client certificate in system:masters, embedded). */
  readonly kubeconfig: string;
  readonly server: string;
  /**
   * The control plane's PKI directory (`ca.crt`/`ca.key`: the CA the API server trusts for clients;
   * `admin.crt`/`admin.key`), where tests also write their own certificates and kubeconfigs (`kubeconfigText`).
   */
  readonly dir: string;
  /** The API server's etcd (its objects are under `/registry/`). */
  readonly etcd: { readonly endpoint: string };
  /** SIGTERM (SIGKILL after 3 s); etcd keeps running. */
  stopApiServer(): Promise<void>;
  /** Starts it again on the same port and waits until it serves Calico's CRDs. */
  startApiServer(): Promise<void>;
  /** Applies Calico's CRDs again (after a test deleted one) and waits until they are served. */
  installCrds(): Promise<void>;
  dispose(): Promise<void>;
}

export async function startTestControlPlane(): Promise<TestControlPlane> {
  const dir = await mkdtemp(join(tmpdir(), 'calico-ts-kdd-'));
  const kill = (): void => {
    for (const { pid } of controlPlaneProcesses(dir))
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone already
      }
  };
  process.once('exit', kill);
  const cleanUp = async (): Promise<void> => {
    process.removeListener('exit', kill);
    await rm(dir, { recursive: true, force: true });
  };
  let cp: KubeControlPlane;
  try {
    cp = await KubeControlPlane.start({
      dir,
      controllers: false,
      disableAdmissionPlugins: ['NamespaceLifecycle'],
    });
  } catch (e) {
    await cleanUp();
    throw e;
  }
  const { kubeconfig, server } = cp.record;
  return {
    kubeconfig,
    server,
    dir: cp.pkiDir,
    etcd: { endpoint: cp.etcdEndpoint },
    stopApiServer: () => cp.stopApiServer(),
    startApiServer: () => cp.startApiServer(),
    installCrds: async () => {
      await installCalicoCrds(cp.api, { timeoutMs: 60_000 });
    },
    dispose: async () => {
      await cp.stop();
      await cleanUp();
    },
  };
}

/** A kubeconfig naming the files of `dir` (paths, not embedded data): `<user>.crt/.key` and the CA `ca`. */
export function kubeconfigText(server: string, dir: string, user = 'admin', ca = 'ca'): string {
  return [
    'apiVersion: v1',
    'kind: Config',
    'clusters:',
    `- name: test`,
    `  cluster: {server: "${server}", certificate-authority: "${join(dir, `${ca}.crt`)}"}`,
    'users:',
    `- name: ${user}`,
    `  user: {client-certificate: "${join(dir, `${user}.crt`)}", client-key: "${join(dir, `${user}.key`)}"}`,
    'contexts:',
    '- name: test',
    `  context: {cluster: test, user: ${user}}`,
    'current-context: test',
    '',
  ].join('\n');
}
