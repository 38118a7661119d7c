/**
 * calico-node on the Kubernetes datastore, on the real kernel: the agent runs in a node namespace with
 * `DATASTORE_TYPE=kubernetes` against a kube-apiserver this test starts on loopback (reached from the node
 * namespace through a relay on the node's 127.0.0.1, the same certificate SAN). A Namespace and two Pods are
 * created with kubectl, the Pods carrying the pod-IP annotations the CNI plugin writes, so their
 * WorkloadEndpoints are derived by the backend; `kubectl apply` of a default-deny NetworkPolicy isolates the
 * pod (`knp.default.default-deny` programmed: the agent's appliedRevision passes the policy's
 * resourceVersion, the tier chain appears, the probe is denied), and `kubectl delete` opens it again. The API
 * server stopped mid-run: the agent keeps enforcing and says it is not in sync; restarted: in sync again
 * (a resync), and a later change is applied.
 */
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { startEtcdRelay } from '../cni/testing/harness.js';
import { openBackend, type Resource } from '../datastore/index.js';
import {
  kubeconfigText,
  kubernetesBinDir,
  kubernetesSkipReason,
  startTestControlPlane,
  type TestControlPlane,
} from '../datastore/kubernetes/testing/control-plane.js';
import { kernelTestSkipReason } from '../labkit/netns.js';
import { waitFor } from '../lib/async.js';
import { repoRoot } from '../test-support/repo.js';
import { AgentHarness, type TestPod } from './testing.js';

const built = existsSync(join(repoRoot(), 'dist', 'src', 'agent', 'main.js'));
const skip =
  kernelTestSkipReason() || kubernetesSkipReason() || (built ? false : 'dist/src/agent/main.js not built');

const run = promisify(execFile);

/** The node's loopback port the relay listens on (startEtcdRelay's; any TCP service can go through it). */
const NODE_API_SERVER = 'https://127.0.0.1:2379';

const NAMESPACE = 'production';
const DEFAULT_DENY =
  'apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: default-deny, namespace: production}\n' +
  'spec:\n  podSelector: {}\n  policyTypes: [Ingress]\n';

/** A Pod bound to node1 with the annotations Calico's CNI plugin writes (podIP, podIPs, containerID). */
function podManifest(p: TestPod): string {
  return [
    'apiVersion: v1',
    'kind: Pod',
    'metadata:',
    `  name: ${p.name}`,
    `  namespace: ${p.namespace}`,
    `  labels: {app: ${p.labels['app'] ?? p.name}}`,
    '  annotations:',
    `    cni.projectcalico.org/podIP: ${p.ip}/32`,
    `    cni.projectcalico.org/podIPs: ${p.ip}/32`,
    `    cni.projectcalico.org/containerID: container-${p.name}`,
    'spec:',
    '  nodeName: node1',
    '  containers: [{name: main, image: main}]',
    '',
  ].join('\n');
}

describe('calico-node on the Kubernetes datastore', { skip, timeout: 600_000 }, () => {
  const h = new AgentHarness();
  let plane: TestControlPlane | undefined;
  let relay: { [Symbol.asyncDispose](): Promise<void> } | undefined;
  let a: TestPod;
  let b: TestPod;
  let sync = 0;

  const kubeconfig = (): string => {
    if (plane === undefined) throw new Error('the control plane is not running');
    return plane.kubeconfig;
  };
  const kubectl = async (args: readonly string[], stdin?: string): Promise<string> => {
    const child = run(join(kubernetesBinDir(), 'kubectl'), ['--kubeconfig', kubeconfig(), ...args], {
      timeout: 30_000,
    });
    child.child.stdin?.end(stdin ?? '');
    return (await child).stdout;
  };
  const reach = async (): Promise<boolean> =>
    (await h.scope.probe(a.ns, { protocol: 'tcp', address: b.ip, port: 80 }, { timeoutMs: 700 })).connected;
  const describeState = (): string =>
    `status ${JSON.stringify(h.status())}; log tail:\n${h.agentLog().split('\n').slice(-8).join('\n').slice(-3000)}`;
  /** Waits until the agent has programmed everything up to `revision`. */
  const applied = async (revision: number, what: string, timeoutMs = 20_000): Promise<void> => {
    await waitFor(
      () => {
        const s = h.status();
        return s?.dataplaneInSync === true && s.appliedRevision >= revision;
      },
      { timeoutMs, what, describe: describeState },
    );
  };
  /**
   * A sentinel GlobalNetworkSet written through the API and waited for (AgentHarness.settle writes a
   * Profile, which KDD refuses: Profiles come from Namespaces and ServiceAccounts).
   */
  const settle = async (timeoutMs = 20_000): Promise<void> => {
    sync++;
    const stored = await h.put({
      apiVersion: 'projectcalico.org/v3',
      kind: 'GlobalNetworkSet',
      metadata: { name: 'calico-test-sync', labels: { n: String(sync) } },
      spec: { nets: ['198.51.100.0/32'] },
    } as Resource);
    await applied(Number(stored.metadata.resourceVersion), `the agent to apply sentinel ${sync}`, timeoutMs);
  };
  /**
   * Waits for the default tier's chain to leave the table. Not by appliedRevision: on KDD each resource
   * type has its own watch, so a later revision of another kind (a sentinel) may be applied first.
   */
  const denyRemoved = async (what: string, timeoutMs = 20_000): Promise<void> => {
    await waitFor(async () => !/end of tier default/.test(await h.tableText()), {
      timeoutMs,
      what: `${what} of knp.default.default-deny to be programmed`,
      describe: describeState,
    });
  };
  const resourceVersion = async (args: readonly string[]): Promise<number> =>
    Number(await kubectl(['get', ...args, '-o', 'jsonpath={.metadata.resourceVersion}']));

  before(async () => {
    plane = await startTestControlPlane();
    await h.setup();
    // The node namespace reaches the API server through its own loopback: the kubeconfig the agent gets
    // names that address (the serving certificate's SAN is 127.0.0.1, whatever the port).
    relay = await startEtcdRelay(plane.server, h.node, join(h.dir, 'apiserver.sock'));
    writeFileSync(join(h.dir, 'agent.kubeconfig'), kubeconfigText(NODE_API_SERVER, plane.dir));
    await h.backend.close();
    h.backend = await openBackend({ datastoreType: 'kubernetes', kubeconfig: plane.kubeconfig });

    a = await h.plumbPod(NAMESPACE, 'client', '10.67.0.1', { app: 'client' });
    b = await h.plumbPod(NAMESPACE, 'web', '10.67.0.2', { app: 'web' });
    await kubectl(
      ['apply', '-f', '-'],
      [
        'apiVersion: v1\nkind: Node\nmetadata: {name: node1}\n',
        `apiVersion: v1\nkind: Namespace\nmetadata: {name: ${NAMESPACE}}\n`,
        // kube-apiserver's ServiceAccount admission wants the pods' service account to exist.
        `apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: default, namespace: ${NAMESPACE}}\n`,
      ].join('---\n'),
    );
    await kubectl(['apply', '-f', '-'], `${podManifest(a)}---\n${podManifest(b)}`);
    await h.scope.listen(b.ns, { protocol: 'tcp', address: b.ip, port: 80 });
    h.startAgent({ DATASTORE_TYPE: 'kubernetes', KUBECONFIG: join(h.dir, 'agent.kubeconfig') });
    await settle(60_000);
  });
  after(async () => {
    await h[Symbol.asyncDispose]();
    await relay?.[Symbol.asyncDispose]();
    await plane?.dispose();
  });

  it('derives the WorkloadEndpoints from the pods: allowed without policy', async () => {
    const weps = await h.backend.list({ kind: 'WorkloadEndpoint', namespace: NAMESPACE });
    assert.deepEqual(weps.items.map((w) => w.metadata.name).sort(), [
      'node1-k8s-client-eth0',
      'node1-k8s-web-eth0',
    ]);
    assert.equal(await reach(), true, 'client -> web before any policy');
    assert.doesNotMatch(await h.tableText(), /end of tier default/);
  });

  it('kubectl apply of a default-deny NetworkPolicy isolates the pod; kubectl delete opens it', async () => {
    await kubectl(['apply', '-f', '-'], DEFAULT_DENY);
    const rev = await resourceVersion(['networkpolicy', 'default-deny', '-n', NAMESPACE]);
    await applied(rev, `knp.default.default-deny (resourceVersion ${rev}) programmed`);
    // The agent sees it as Calico's knp.default.default-deny in the default tier: web's ingress now goes
    // through the default tier's chain, which ends in a drop.
    assert.match(await h.tableText(), /end of tier default/);
    assert.equal(await reach(), false, 'client -> web denied');

    await kubectl(['delete', 'networkpolicy', 'default-deny', '-n', NAMESPACE]);
    await denyRemoved('the deletion');
    assert.equal(await reach(), true, 'client -> web allowed again');
  });

  it('API server stopped: still enforcing, not in sync; restarted: resynced and applying changes', async () => {
    await kubectl(['apply', '-f', '-'], DEFAULT_DENY);
    await applied(
      await resourceVersion(['networkpolicy', 'default-deny', '-n', NAMESPACE]),
      'deny programmed',
    );
    assert.equal(await reach(), false);

    await plane?.stopApiServer();
    await waitFor(() => h.status()?.datastore?.inSync === false, {
      timeoutMs: 20_000,
      what: 'status.json to say the datastore is not in sync',
      describe: describeState,
    });
    assert.equal(h.status()?.datastore?.connected, false);
    assert.equal(h.agentRunning(), true, 'the agent keeps running');
    for (let i = 0; i < 3; i++)
      assert.equal(await reach(), false, `still denied while the API server is down (${i})`);

    await plane?.startApiServer();
    await waitFor(() => h.status()?.datastore?.inSync === true, {
      timeoutMs: 60_000,
      what: 'the agent to resync with the restarted API server',
      describe: describeState,
    });
    assert.equal(await reach(), false, 'still denied after the resync');
    await kubectl(['delete', 'networkpolicy', 'default-deny', '-n', NAMESPACE]);
    await denyRemoved('the deletion after the restart', 30_000);
    assert.equal(await reach(), true, 'the deletion after the restart is applied');
  });

  it('DNS policy with the default trusted server k8s-service:kube-dns, read from the Service and its EndpointSlices', async () => {
    const dns = await h.plumbPod('kube-system', 'coredns', '10.67.0.53', { app: 'kube-dns' });
    await kubectl(
      ['apply', '-f', '-'],
      [
        'apiVersion: v1\nkind: Namespace\nmetadata: {name: kube-system}\n',
        'apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: default, namespace: kube-system}\n',
        podManifest(dns),
        'apiVersion: v1\nkind: Service\nmetadata: {name: kube-dns, namespace: kube-system}\n' +
          'spec:\n  ports: [{name: dns, port: 53, protocol: UDP}, {name: dns-tcp, port: 53, protocol: TCP}]\n',
        'apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\n' +
          'metadata: {name: kube-dns-1, namespace: kube-system, labels: {kubernetes.io/service-name: kube-dns}}\n' +
          'addressType: IPv4\nendpoints: [{addresses: [10.67.0.53], conditions: {ready: true}}]\n' +
          'ports: [{name: dns, port: 53, protocol: UDP}, {name: dns-tcp, port: 53, protocol: TCP}]\n',
      ].join('---\n'),
    );
    const clusterIp = (
      await kubectl(['get', 'service', 'kube-dns', '-n', 'kube-system', '-o', 'jsonpath={.spec.clusterIP}'])
    ).trim();
    const dnsmasq = spawn(
      'ip',
      [
        'netns',
        'exec',
        dns.ns,
        '/usr/sbin/dnsmasq',
        '--keep-in-foreground',
        '--conf-file=/dev/null',
        '--user=root',
        '--pid-file=',
        '--listen-address=10.67.0.53',
        '--bind-interfaces',
        '--no-resolv',
        '--no-hosts',
        '--local-ttl=60',
        `--address=/api.example.com/${b.ip}`,
      ],
      { stdio: 'ignore' },
    );
    try {
      // Both the cluster IP (what pods ask through kube-proxy) and the endpoint are steered to the proxy.
      await waitFor(
        async () => {
          const t = await h.tableText();
          return (
            t.includes(`ip daddr ${clusterIp} th dport 53`) && t.includes('ip daddr 10.67.0.53 th dport 53')
          );
        },
        {
          timeoutMs: 60_000,
          what: 'the kube-dns Service to be steered to the DNS proxy',
          describe: describeState,
        },
      );
      const stored = await h.put({
        apiVersion: 'projectcalico.org/v3',
        kind: 'GlobalNetworkPolicy',
        metadata: { name: 'client-by-name' },
        spec: {
          selector: "app == 'client'",
          types: ['Egress'],
          egress: [
            { action: 'Allow', protocol: 'UDP', destination: { nets: ['10.67.0.53/32'], ports: [53] } },
            { action: 'Allow', destination: { domains: ['api.example.com'] } },
          ],
        },
      } as Resource);
      await applied(Number(stored.metadata.resourceVersion), 'the domain policy programmed');
      assert.equal(await reach(), false, 'web is not allowed before a lookup');
      const script = join(repoRoot(), 'dist', 'src', 'agent', 'testing', 'dns-probe.js');
      const req = {
        server: { ip: '10.67.0.53', port: 53 },
        transport: 'udp',
        type: 'A',
        names: ['api.example.com'],
        connectPort: 80,
        attempts: 3,
      };
      const out = await run('ip', ['netns', 'exec', a.ns, process.execPath, script, JSON.stringify(req)], {
        timeout: 30_000,
      });
      assert.match(out.stdout, /"connected":true/, out.stdout);
    } finally {
      dnsmasq.kill('SIGKILL');
      await h
        .remove({
          apiVersion: 'projectcalico.org/v3',
          kind: 'GlobalNetworkPolicy',
          metadata: { name: 'client-by-name' },
        })
        .catch(() => undefined);
    }
  });
});
