/**
 * The install manifests: charts/calico/crds/ and manifests/calico.yaml are what `npm run manifests` generates
 * (the CRDs from the resource model without helm; `helm template` of the chart equal, object for object, to
 * manifests/calico.yaml when helm is built, else skipped saying why), and the pod specs name calico-ts's real
 * programs, flags, variables and paths: calico-node's command and probes parse as calico-node's command line,
 * its FELIX_* variables are Felix parameters, calico-apiserver's arguments parse as its flags, install-cni is a
 * script in the repository, and the CNI network configuration, filled in, is accepted by the plugin's parser.
 */
import assert from 'node:assert/strict';
import { accessSync, constants, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { parseAllDocuments } from 'yaml';
import { parseFlags as parseNodeFlags } from '../agent/flags.js';
import { loadAgentConfig } from '../agent/config.js';
import { parseFlags as parseApiServerFlags } from '../apiserver/main.js';
import { repoRoot } from '../test-support/repo.js';
import { crdFiles, manifestCrds } from './crds.js';
import { CRD_DIR, MANIFEST, manifestText } from './generate.js';
import { findHelm, helmTemplate } from './helm.js';
import { calicoPluginConf } from './testing.js';

const ROOT = repoRoot();

type Obj = {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string };
  spec?: unknown;
  data?: Record<string, string>;
};

function objects(text: string): Obj[] {
  return parseAllDocuments(text)
    .map((d) => d.toJS() as Obj | null)
    .filter((o): o is Obj => o !== null);
}

const manifest = readFileSync(join(ROOT, MANIFEST), 'utf8');
const objs = objects(manifest);
const find = (kind: string, name: string): Obj => {
  const o = objs.find((x) => x.kind === kind && x.metadata.name === name);
  assert.ok(o !== undefined, `${MANIFEST} has ${kind} ${name}`);
  return o;
};

interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: { configMapKeyRef?: { name: string; key: string }; fieldRef?: { fieldPath: string } };
}
interface Container {
  name: string;
  image: string;
  command?: string[];
  args?: string[];
  env?: EnvVar[];
  livenessProbe?: { exec?: { command: string[] } };
  readinessProbe?: { exec?: { command: string[] } };
  volumeMounts?: { mountPath: string; name: string }[];
}
interface PodSpec {
  initContainers?: Container[];
  containers: Container[];
  volumes: { name: string; hostPath?: { path: string } }[];
  hostNetwork?: boolean;
  serviceAccountName: string;
}
const podSpec = (o: Obj): PodSpec => (o.spec as { template: { spec: PodSpec } }).template.spec;

describe('generated files are current', () => {
  test('charts/calico/crds holds exactly the CRDs of the resource model', () => {
    const want = crdFiles();
    assert.deepEqual(readdirSync(join(ROOT, CRD_DIR)).sort(), [...want.keys()].sort());
    for (const [name, text] of want) {
      assert.equal(
        readFileSync(join(ROOT, CRD_DIR, name), 'utf8'),
        text,
        `${name} is stale: npm run manifests`,
      );
    }
  });

  test('manifests/calico.yaml carries every CRD as the model defines it', () => {
    // In crds/ file order (helm's Files.Glob sorts by name).
    const byName = (a: { metadata: { name: string } }, b: { metadata: { name: string } }): number =>
      a.metadata.name.localeCompare(b.metadata.name);
    const crds = objs.filter((o) => o.kind === 'CustomResourceDefinition');
    assert.deepEqual(crds, manifestCrds().sort(byName));
    assert.equal(crds.length, 22);
  });

  const helm = findHelm();
  test(
    'helm template calico charts/calico -n kube-system renders the same objects as manifests/calico.yaml',
    { skip: helm.ok ? false : helm.reason },
    () => {
      const rendered = helmTemplate();
      assert.deepEqual(objects(rendered), objs);
      assert.equal(manifest, manifestText(rendered), `${MANIFEST} is stale: npm run manifests`);
    },
  );
});

describe('the pod specs name calico-ts programs, flags, variables and paths', () => {
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { bin: Record<string, string> };
  const ds = find('DaemonSet', 'calico-node');
  const spec = podSpec(ds);
  const node = spec.containers.find((c) => c.name === 'calico-node');
  assert.ok(node !== undefined);
  const config = find('ConfigMap', 'calico-config').data ?? {};

  /** The container's environment as the kubelet fills it in (ConfigMap keys, a node name). */
  const envOf = (c: Container): Record<string, string> =>
    Object.fromEntries(
      (c.env ?? []).map((e) => {
        const ref = e.valueFrom?.configMapKeyRef;
        if (ref !== undefined) {
          assert.equal(ref.name, 'calico-config', e.name);
          const v = config[ref.key];
          assert.ok(v !== undefined, `${e.name}: calico-config has no key ${ref.key}`);
          return [e.name, v];
        }
        if (e.valueFrom?.fieldRef !== undefined) return [e.name, 'node-1'];
        return [e.name, e.value ?? ''];
      }),
    );

  test('calico-node: Calico names, hostNetwork, service account, host paths', () => {
    assert.equal(ds.metadata.namespace, 'kube-system');
    assert.equal(spec.hostNetwork, true);
    assert.equal(spec.serviceAccountName, 'calico-node');
    const paths = spec.volumes.map((v) => v.hostPath?.path).filter((p) => p !== undefined);
    for (const p of [
      '/var/run/calico',
      '/var/lib/calico',
      '/var/log/calico',
      '/opt/cni/bin',
      '/etc/cni/net.d',
    ]) {
      assert.ok(paths.includes(p), `hostPath ${p}`);
    }
    for (const sa of ['calico-node', 'calico-cni-plugin']) find('ServiceAccount', sa);
    find('ServiceAccount', 'calico-apiserver');
    for (const r of ['calico-node', 'calico-cni-plugin']) {
      find('ClusterRole', r);
      find('ClusterRoleBinding', r);
    }
  });

  test('calico-node: command and probes parse as calico-node command lines', () => {
    const [program, ...args] = node.command ?? [];
    assert.equal(program, 'calico-node');
    assert.ok(Object.hasOwn(pkg.bin, 'calico-node'), 'package.json bin calico-node');
    assert.equal(parseNodeFlags([...args, ...(node.args ?? [])]).kind, 'ok');
    for (const probe of [node.livenessProbe, node.readinessProbe]) {
      const [p, ...flags] = probe?.exec?.command ?? [];
      assert.equal(p, 'calico-node');
      const parsed = parseNodeFlags(flags);
      assert.equal(parsed.kind, 'ok', JSON.stringify(parsed));
    }
    assert.deepEqual(node.readinessProbe?.exec?.command, ['calico-node', '-felix-ready', '-bird-ready']);
    assert.deepEqual(node.livenessProbe?.exec?.command, ['calico-node', '-felix-live', '-bird-live']);
  });

  test('calico-node: its environment is a valid calico-node configuration; every FELIX_* is a parameter', () => {
    const env = envOf(node);
    assert.equal(env.DATASTORE_TYPE, 'kubernetes');
    assert.equal(env.CALICO_NETWORKING_BACKEND, 'bird');
    const cfg = loadAgentConfig(env, () => undefined);
    assert.deepEqual(cfg.unknownEnv, []);
    assert.equal(cfg.datastore.datastoreType, 'kubernetes');
    assert.equal(cfg.nodeName, 'node-1');
    // Variables other than FELIX_* are ones calico-ts reads (named in its sources).
    const sources = readSources(join(ROOT, 'src'));
    for (const name of Object.keys(env).filter((n) => !n.startsWith('FELIX_'))) {
      assert.ok(sources.includes(name), `${name} is read by calico-ts`);
    }
  });

  test('install-cni: a script in the repository, the network configuration accepted by the plugin', () => {
    const init = spec.initContainers?.find((c) => c.name === 'install-cni');
    assert.ok(init !== undefined);
    const script = init.command?.[0] ?? '';
    assert.match(script, /^\/opt\/calico-ts\//);
    accessSync(join(ROOT, script.replace('/opt/calico-ts/', '')), constants.X_OK);
    const env = envOf(init);
    const filled = (env.CNI_NETWORK_CONFIG ?? '')
      .replaceAll('__KUBERNETES_NODE_NAME__', 'node-1')
      .replaceAll('__CNI_MTU__', env.CNI_MTU ?? '')
      .replaceAll('__KUBECONFIG_FILEPATH__', '/etc/cni/net.d/calico-kubeconfig');
    const conf = calicoPluginConf(filled);
    assert.deepEqual(conf.datastore, {
      datastoreType: 'kubernetes',
      kubeconfig: '/etc/cni/net.d/calico-kubeconfig',
    });
    assert.equal(conf.nodename, 'node-1');
  });

  test('calico-apiserver: Deployment arguments parse as its flags; Service, APIService with Calico names', () => {
    const dep = find('Deployment', 'calico-apiserver');
    assert.equal(dep.metadata.namespace, 'calico-apiserver');
    const c = podSpec(dep).containers[0];
    assert.ok(c !== undefined);
    assert.deepEqual(c.command, ['calico-apiserver']);
    assert.ok(Object.hasOwn(pkg.bin, 'calico-apiserver'));
    const flags = parseApiServerFlags(c.args ?? []);
    assert.notEqual(flags, 'help');
    assert.equal(flags !== 'help' && flags.port, 5443);
    const svc = find('Service', 'calico-api');
    assert.equal(svc.metadata.namespace, 'calico-apiserver');
    const api = find('APIService', 'v3.projectcalico.org');
    assert.deepEqual(api.spec, {
      group: 'projectcalico.org',
      version: 'v3',
      groupPriorityMinimum: 1500,
      versionPriority: 200,
      service: { name: 'calico-api', namespace: 'calico-apiserver', port: 443 },
    });
  });

  test('one image for every container, tagged with the chart version', () => {
    const images = objs
      .filter((o) => o.kind === 'DaemonSet' || o.kind === 'Deployment')
      .flatMap((o) => [...(podSpec(o).initContainers ?? []), ...podSpec(o).containers].map((c) => c.image));
    assert.deepEqual([...new Set(images)], ['localhost/calico-ts:v0.1.0']);
  });
});

/** Every non-test TypeScript source under `dir`, concatenated (to look variable names up). */
function readSources(dir: string): string {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts'))
    .map((f) => readFileSync(join(dir, f), 'utf8'))
    .join('\n');
}
