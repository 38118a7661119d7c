/**
 * manifests/calico.yaml on a real control plane (etcd + kube-apiserver of the built release, no controllers,
 * no nodes), with the built kubectl, in one control-plane start: `kubectl apply -f` creates every object and
 * the CRDs become Established; `kubectl apply --server-side -f` on top succeeds; the CRDs deleted and
 * `kubectl apply --server-side -f` again creates them afresh, Established again. Then install-cni
 * (scripts/install-cni-kubernetes.sh, as the DaemonSet's init container runs it, into temporary directories)
 * with a token of the calico-node ServiceAccount: the plugins are installed, the calico-cni-plugin kubeconfig
 * it writes authenticates as that ServiceAccount with the manifest's RBAC, and the network configuration is
 * accepted by the plugin's parser. Skipped, with the reason, when the Kubernetes programs are not built.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { accessSync, constants, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { parseAllDocuments } from 'yaml';
import { requireKubeBinaries } from '../datastore/kubernetes/control-plane/binaries.js';
import { KubeControlPlane } from '../datastore/kubernetes/control-plane/control-plane.js';
import { kubernetesSkipReason } from '../datastore/kubernetes/testing/control-plane.js';
import { waitFor } from '../lib/async.js';
import { repoRoot } from '../test-support/repo.js';
import { MANIFEST } from './generate.js';
import { calicoPluginConf } from './testing.js';

const skip = kubernetesSkipReason() ?? false;
if (skip !== false) console.log(`# skipped: ${skip}`);

const ROOT = repoRoot();
const FILE = join(ROOT, MANIFEST);
const CALICO_CRDS = parseAllDocuments(readFileSync(FILE, 'utf8'))
  .map((d) => d.toJS() as { kind?: string; metadata?: { name?: string } } | null)
  .filter((o) => o?.kind === 'CustomResourceDefinition')
  .map((o) => o?.metadata?.name ?? '');

describe(
  'manifests/calico.yaml on a real kube-apiserver (kubectl apply, server-side apply)',
  { skip },
  () => {
    let dir = '';
    let cp: KubeControlPlane | undefined;
    const kubectl = (args: readonly string[], input?: string) => cp!.kubectl(args, input);
    const ok = (args: readonly string[]): string => {
      const r = kubectl(args);
      assert.equal(r.code, 0, `kubectl ${args.join(' ')}: ${r.stderr}`);
      return r.stdout;
    };
    const established = async (what: string): Promise<void> => {
      await waitFor(
        () => {
          const out = kubectl([
            ...['get', 'crd', '-o'],
            'jsonpath={range .items[*]}{.metadata.name}={.status.conditions[?(@.type=="Established")].status}{"\\n"}{end}',
          ]).stdout;
          const up = new Set(
            out
              .split('\n')
              .filter((l) => l.endsWith('=True'))
              .map((l) => l.slice(0, -5)),
          );
          return CALICO_CRDS.every((n) => up.has(n));
        },
        { timeoutMs: 60_000, intervalMs: 250, what, describe: () => kubectl(['get', 'crd']).stdout },
      );
    };

    before(async () => {
      dir = mkdtempSync(join(tmpdir(), 'calts-manifests-'));
      cp = await KubeControlPlane.start({ dir, controllers: false });
      // The starter installs the CRDs itself; remove them so that the manifest creates them.
      ok(['delete', 'crd', ...CALICO_CRDS, '--wait=true', '--timeout=60s']);
    });

    after(async () => {
      await cp?.stop();
      rmSync(dir, { recursive: true, force: true });
    });

    test('kubectl apply -f creates every object; the CRDs become Established', async () => {
      assert.ok(CALICO_CRDS.length >= 20, `${CALICO_CRDS.length} CRDs`);
      const out = ok(['apply', '-f', FILE]);
      for (const line of [
        'customresourcedefinition.apiextensions.k8s.io/ippools.crd.projectcalico.org created',
        'daemonset.apps/calico-node created',
        'deployment.apps/calico-apiserver created',
        'apiservice.apiregistration.k8s.io/v3.projectcalico.org created',
        'configmap/calico-config created',
      ]) {
        assert.ok(out.includes(line), `${line}\n${out}`);
      }
      await established('the manifest CRDs Established after kubectl apply');
      ok(['get', 'ippools.crd.projectcalico.org']);
    });

    test('kubectl apply --server-side -f succeeds on top, and afresh once the CRDs are deleted', async () => {
      const again = ok(['apply', '--server-side', '-f', FILE]);
      assert.match(again, /daemonset\.apps\/calico-node serverside-applied/);
      ok(['delete', 'crd', ...CALICO_CRDS, '--wait=true', '--timeout=60s']);
      const fresh = ok(['apply', '--server-side', '-f', FILE]);
      assert.match(fresh, /globalnetworkpolicies\.crd\.projectcalico\.org serverside-applied/);
      await established('the manifest CRDs Established after a fresh server-side apply');
    });

    test('install-cni writes the plugins, calico-cni-plugin credentials and the network configuration', () => {
      const sa = join(dir, 'sa');
      const bin = join(dir, 'host-opt-cni-bin');
      const net = join(dir, 'host-etc-cni-net.d');
      mkdirSync(sa);
      writeFileSync(join(sa, 'token'), ok(['create', 'token', 'calico-node', '-n', 'kube-system']).trim());
      writeFileSync(join(sa, 'ca.crt'), readFileSync(join(cp!.pkiDir, 'ca.crt')));
      const config = JSON.parse(
        ok(['get', 'configmap', 'calico-config', '-n', 'kube-system', '-o', 'json']),
      ) as { data: Record<string, string> };
      const url = new URL(cp!.record.server);
      const r = spawnSync(join(ROOT, 'scripts', 'install-cni-kubernetes.sh'), [], {
        encoding: 'utf8',
        timeout: 60_000,
        env: {
          PATH: process.env.PATH,
          CNI_NETWORK_CONFIG: config.data.cni_network_config,
          CNI_MTU: config.data.veth_mtu,
          KUBERNETES_NODE_NAME: 'node-1',
          KUBERNETES_SERVICE_HOST: url.hostname,
          KUBERNETES_SERVICE_PORT: url.port,
          SERVICEACCOUNT_DIR: sa,
          CNI_BIN_DIR: bin,
          CNI_NET_DIR: net,
          HOST_CNI_NET_DIR: net,
        },
      });
      assert.equal(r.status, 0, r.stderr);
      for (const p of ['calico', 'calico-ipam']) accessSync(join(bin, p), constants.X_OK);
      const kc = join(net, 'calico-kubeconfig');
      const as = (args: readonly string[]) =>
        spawnSync(requireKubeBinaries().path('kubectl'), ['--kubeconfig', kc, ...args], {
          encoding: 'utf8',
          timeout: 30_000,
        });
      assert.match(
        as(['auth', 'whoami', '-o', 'jsonpath={.status.userInfo.username}']).stdout,
        /^system:serviceaccount:kube-system:calico-cni-plugin$/,
      );
      assert.equal(as(['auth', 'can-i', 'create', 'ipamblocks.crd.projectcalico.org']).stdout.trim(), 'yes');
      assert.equal(
        as(['auth', 'can-i', 'create', 'globalnetworkpolicies.crd.projectcalico.org']).stdout.trim(),
        'no',
      );
      const conf = calicoPluginConf(readFileSync(join(net, '10-calico.conflist'), 'utf8'));
      assert.deepEqual(conf.datastore, { datastoreType: 'kubernetes', kubeconfig: kc });
      assert.equal(conf.nodename, 'node-1');
    });
  },
);
