/**
 * Test fixture: a throwaway Kubernetes control plane for the KDD backend's tests, started the way
 * `scripts/smoke-kubernetes.sh` starts one: a private etcd (`startTestEtcd`) and the kube-apiserver built by
 * `scripts/build-kubernetes.sh`, with TLS, RBAC, service-account keys and an admin kubeconfig (client
 * certificate in `system:masters`), on loopback ports. No controller manager or scheduler. Calico's CRDs
 * (`calicoCrds()`) are installed and Established before `startTestControlPlane` resolves.
 *
 * One deviation from a production API server: the NamespaceLifecycle admission plugin is disabled, so that
 * namespaced objects can be written in namespaces no Namespace object exists for (the shared datastore suite
 * uses throwaway namespace names, as the other backends allow).
 *
 * `stopApiServer()`/`startApiServer()` restart the API server on the same port and etcd (watch tests);
 * `dispose()` stops everything and removes the directory. To be replaced by the lab's starter
 * (src/labkit/kube/) once that is merged.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { waitFor } from '../../../lib/async.js';
import { startTestEtcd, etcdSkipReason, type TestEtcd } from '../../etcd/test-etcd.js';
import { freeLoopbackPort } from '../../../test-support/ports.js';
import { calicoCrds } from '../crd-definitions.js';
import { KubeTransport } from '../transport.js';

const run = promisify(execFile);

/** The release scripts/build-kubernetes.sh pins (tools/kubernetes/go.mod). */
export const KUBERNETES_RELEASE = 'v1.37.2';

export function kubernetesBinDir(): string {
  const cache = process.env['CALICO_TS_CACHE'] ?? join(homedir(), '.cache', 'calico-ts');
  return join(cache, 'kubernetes', KUBERNETES_RELEASE, 'bin');
}

/** Why tests needing a kube-apiserver are skipped here, or undefined when they can run. */
export function kubernetesSkipReason(): string | undefined {
  if (!existsSync(join(kubernetesBinDir(), 'kube-apiserver'))) {
    return `kube-apiserver ${KUBERNETES_RELEASE} is not built (run scripts/build-kubernetes.sh)`;
  }
  if (!existsSync('/usr/bin/openssl')) return 'openssl CLI not found (needed for the test certificates)';
  return etcdSkipReason();
}

export interface TestControlPlane {
  /** The admin kubeconfig (client certificate in system:masters). */
  readonly kubeconfig: string;
  readonly server: string;
  readonly dir: string;
  readonly etcd: TestEtcd;
  /** SIGTERM (SIGKILL after 3 s); etcd keeps running. */
  stopApiServer(): Promise<void>;
  /** Starts it again on the same port and waits for /readyz. */
  startApiServer(): Promise<void>;
  dispose(): Promise<void>;
}

async function openssl(args: readonly string[], cwd: string): Promise<void> {
  await run('openssl', args, { cwd });
}

const EC = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

/** A key and certificate `<name>.key/.crt` signed by `ca`. */
async function cert(dir: string, name: string, subject: string, ext: string): Promise<void> {
  await writeFile(join(dir, `${name}.ext`), `${ext}\n`);
  await openssl(['req', ...EC, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', subject], dir);
  const sign = ['x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial'];
  await openssl([...sign, '-days', '1', '-out', `${name}.crt`, '-extfile', `${name}.ext`], dir);
}

async function pki(dir: string): Promise<void> {
  const ca = ['req', '-x509', ...EC, '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '1'];
  await openssl([...ca, '-subj', '/CN=calico-ts-kdd-test-ca'], dir);
  const serving = 'extendedKeyUsage=serverAuth\nsubjectAltName=IP:127.0.0.1,DNS:localhost';
  await cert(dir, 'apiserver', '/CN=kube-apiserver', serving);
  await cert(dir, 'admin', '/O=system:masters/CN=calico-ts-admin', 'extendedKeyUsage=clientAuth');
  await openssl(
    ['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', 'sa.key'],
    dir,
  );
  await openssl(['pkey', '-in', 'sa.key', '-pubout', '-out', 'sa.pub'], dir);
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

export async function startTestControlPlane(): Promise<TestControlPlane> {
  const dir = await mkdtemp(join(tmpdir(), 'calico-ts-kdd-'));
  let etcd: TestEtcd | undefined;
  let child: ChildProcess | undefined;
  let exited: Promise<void> = Promise.resolve();
  let log = '';
  let crdsInstalled = false;
  const kill = (): void => {
    child?.kill('SIGKILL');
  };
  process.once('exit', kill);
  try {
    await pki(dir);
    etcd = await startTestEtcd();
    const port = await freeLoopbackPort();
    const server = `https://127.0.0.1:${port}`;
    const kubeconfig = join(dir, 'admin.kubeconfig');
    await writeFile(kubeconfig, kubeconfigText(server, dir));
    const transport = KubeTransport.fromFile(kubeconfig);
    const f = (n: string): string => join(dir, n);
    const args = [
      ['--etcd-servers', etcd.endpoint],
      ['--bind-address', '127.0.0.1', '--advertise-address', '127.0.0.1', '--secure-port', String(port)],
      ['--tls-cert-file', f('apiserver.crt'), '--tls-private-key-file', f('apiserver.key')],
      ['--client-ca-file', f('ca.crt'), '--authorization-mode', 'Node,RBAC'],
      ['--service-account-issuer', 'https://kubernetes.default.svc'],
      ['--service-account-key-file', f('sa.pub'), '--service-account-signing-key-file', f('sa.key')],
      ['--service-cluster-ip-range', '10.96.0.0/24', '--endpoint-reconciler-type', 'none'],
      ['--disable-admission-plugins', 'NamespaceLifecycle', '--profiling=false'],
    ].flat();
    const startApiServer = async (): Promise<void> => {
      if (child !== undefined) return;
      const c = spawn(join(kubernetesBinDir(), 'kube-apiserver'), args, {
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      child = c;
      c.stderr.on('data', (d: Buffer) => {
        log = (log + d.toString()).slice(-6000);
      });
      exited = new Promise((resolve) => {
        c.once('exit', () => {
          if (child === c) child = undefined;
          resolve();
        });
      });
      await waitFor(
        async () => {
          if (child !== c) throw new Error(`kube-apiserver exited:\n${log}`);
          const res = await transport.request('GET', '/readyz').catch(() => undefined);
          return res?.status === 200;
        },
        { timeoutMs: 120_000, intervalMs: 200, what: 'kube-apiserver /readyz' },
      );
      if (crdsInstalled) await waitCrdsServed(transport);
    };
    const stopApiServer = async (): Promise<void> => {
      const c = child;
      if (c === undefined) return;
      c.kill('SIGTERM');
      // Open watches keep a terminating API server draining for long: 3 s of grace, then SIGKILL.
      const timer = setTimeout(() => c.kill('SIGKILL'), 3000);
      await exited;
      clearTimeout(timer);
    };
    await startApiServer();
    await installCrds(transport);
    await waitCrdsServed(transport);
    crdsInstalled = true;
    const started = etcd;
    return {
      kubeconfig,
      server,
      dir,
      etcd: started,
      startApiServer,
      stopApiServer,
      dispose: async () => {
        await stopApiServer();
        transport.close();
        process.removeListener('exit', kill);
        await started.dispose();
        await rm(dir, { recursive: true, force: true });
      },
    };
  } catch (e) {
    kill();
    await exited;
    await etcd?.dispose();
    await rm(dir, { recursive: true, force: true });
    throw e;
  }
}

/** Creates every Calico CRD and waits until each is Established (served). */
export async function installCrds(transport: KubeTransport): Promise<void> {
  const path = '/apis/apiextensions.k8s.io/v1/customresourcedefinitions';
  for (const crd of calicoCrds()) {
    const res = await transport.request('POST', path, crd);
    if (res.status !== 201 && res.status !== 409) {
      throw new Error(`creating CRD ${crd.metadata.name}: HTTP ${res.status} ${JSON.stringify(res.body)}`);
    }
  }
  for (const crd of calicoCrds()) {
    await waitFor(
      async () => {
        const res = await transport.request('GET', `${path}/${crd.metadata.name}`);
        const conditions = (res.body as { status?: { conditions?: { type: string; status: string }[] } })
          .status?.conditions;
        return conditions?.some((c) => c.type === 'Established' && c.status === 'True') ?? false;
      },
      { timeoutMs: 60_000, intervalMs: 100, what: `CRD ${crd.metadata.name} Established` },
    );
  }
}

/**
 * Waits until every Calico CRD's path answers (after a restart the API server installs them late: 503). The
 * list also creates the CRD's watch cache, which the API server otherwise creates on first use, starting at
 * that moment: a watch from an earlier resourceVersion would then be answered 410 Gone.
 */
async function waitCrdsServed(transport: KubeTransport): Promise<void> {
  for (const crd of calicoCrds()) {
    const path = `/apis/${crd.spec.group}/v1/${crd.spec.names.plural}?limit=1`;
    await waitFor(async () => (await transport.request('GET', path)).status === 200, {
      timeoutMs: 60_000,
      intervalMs: 100,
      what: `${crd.metadata.name} served`,
    });
  }
}
