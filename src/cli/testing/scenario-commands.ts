/**
 * The per-command parts of the calicoctl suite (see scenario.ts): the read-only Kubernetes policy view,
 * patch, label, get -f and --export, Kubernetes kinds, List input and bulk writes.
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { parse as parseYaml } from 'yaml';
import type { Resource } from '../../datastore/index.js';
import { explainArgs } from '../testing.js';
import { NP, names, opts, STARTER, userNamespaces, type Harness } from './harness.js';

export function registerCommandTests(harness: () => Promise<Harness>): void {
  void it(
    'treats knp.default.* NetworkPolicies as a read-only view of Kubernetes policies',
    opts,
    async () => {
      const h = await harness();
      await h.ok(['apply', '-f', STARTER]);
      const view = await h.ok([
        'get',
        'networkpolicy',
        'knp.default.deny-all-ingress',
        '-n',
        'production',
        '-o',
        'yaml',
      ]);
      const parsed = parseYaml(view) as Resource & { spec: Record<string, unknown> };
      assert.equal(parsed.kind, 'NetworkPolicy');
      assert.equal(parsed.spec['order'], 1000);
      const reason = 'kubernetes network policies must be managed through the kubernetes API';
      for (const [cmd, op] of [
        ['apply', 'apply or replace'],
        ['create', 'create or apply'],
        ['replace', 'apply or replace'],
        ['validate', 'create or apply'],
      ] as const) {
        for (const text of [
          view,
          view.replace('order: 1000', 'order: 5'),
          NP('production', 'knp.default.other'),
        ]) {
          const r = await h.run([cmd, '-f', '-'], text);
          assert.equal(r.status, 1, `${cmd}: ${r.stderr}`);
          assert.match(
            r.stderr,
            new RegExp(
              `operation ${op} is not supported on NetworkPolicy\\(production/knp\\.default\\.[a-z-]+\\): ${reason}$`,
              'm',
            ),
          );
        }
      }
      const after = parseYaml(
        await h.ok(['get', 'np', 'knp.default.deny-all-ingress', '-n', 'production', '-o', 'yaml']),
      ) as Resource;
      assert.equal(after.metadata.resourceVersion, parsed.metadata.resourceVersion, 'nothing was written');
      // A staged policy may take such a name in v3.32 (only NetworkPolicy names are reserved).
      const staged = NP('production', 'knp.default.staged').replace(
        'kind: NetworkPolicy',
        'kind: StagedNetworkPolicy',
      );
      assert.equal(
        await h.ok(['validate', '-f', '-'], staged),
        "Successfully validated 1 'StagedNetworkPolicy' resource(s)\n",
      );
      const del = await h.run([
        'delete',
        'networkpolicy',
        'knp.default.deny-all-ingress',
        '-n',
        'production',
      ]);
      assert.equal(del.status, 1);
      assert.match(
        del.stderr,
        /delete the networking\.k8s\.io\/v1 NetworkPolicy instead: calicoctl delete kubernetesnetworkpolicy deny-all-ingress -n production/,
      );
      const patch = await h.run([
        'patch',
        'np',
        'knp.default.deny-all-ingress',
        '-n',
        'production',
        '-p',
        '{}',
      ]);
      assert.match(patch.stderr, /kubernetes network policies must be managed through the kubernetes API/);
      // The Kubernetes policy itself is reachable by its own kind.
      assert.match(await h.ok(['get', 'knp', '-n', 'production']), /^production\s+deny-all-ingress\s+$/m);
      assert.equal(
        await h.ok(['delete', 'kubernetesnetworkpolicy', 'deny-all-ingress', '-n', 'production']),
        "Successfully deleted 1 'NetworkPolicy' resource(s)\n",
      );
      assert.deepEqual(names(await h.ok(['get', 'networkpolicies', '-n', 'production'])), []);
    },
  );

  void it('patches with merge, strategic and JSON patches, validating the result', opts, async () => {
    const h = await harness();
    await h.ok(['apply', '-f', STARTER]);
    assert.equal(
      await h.ok(['patch', 'gnp', 'allow-dns', '-p', '{"spec":{"order":100}}']),
      "Successfully patched 1 'GlobalNetworkPolicy' resource\n",
    );
    await h.ok(['patch', 'gnp', 'allow-dns', '-t', 'merge', '-p', '{"metadata":{"labels":{"team":"net"}}}']);
    await h.ok(['patch', 'gnp', 'allow-dns', '-t', 'json', '-p', '[{"op":"remove","path":"/spec/egress"}]']);
    const p = parseYaml(await h.ok(['get', 'gnp', 'allow-dns', '-o', 'yaml'])) as Resource & {
      spec: Record<string, unknown>;
    };
    assert.equal(p.spec['order'], 100);
    assert.equal(p.spec['egress'], undefined);
    assert.equal(p.metadata.labels?.['team'], 'net');
    const invalid = await h.run(['patch', 'gnp', 'allow-dns', '-p', '{"spec":{"selector":"a =="}}']);
    assert.equal(invalid.status, 1);
    assert.match(
      invalid.stderr,
      /^Hit error: updating existing resource: error with field\(s\): spec\.selector: invalid selector/,
    );
    const missing = await h.run(['patch', 'gnp', 'nope', '-p', '{}']);
    assert.equal(missing.stderr, 'Hit error: resource does not exist: GlobalNetworkPolicy(nope)\n');
  });

  void it('labels: set, refuse without --overwrite, overwrite, remove', opts, async () => {
    const h = await harness();
    await h.ok(['apply', '-f', STARTER]);
    assert.equal(
      await h.ok(['label', 'gnp', 'allow-dns', 'env=prod']),
      'Successfully set label env on gnp allow-dns\n',
    );
    const clash = await h.run(['label', 'gnp', 'allow-dns', 'env=dev']);
    assert.equal(
      clash.stderr,
      "failed to update label of gnp allow-dns, key env is already present. please use '--overwrite' to set a new value.\n",
    );
    assert.equal(
      await h.ok(['label', 'gnp', 'allow-dns', 'env=dev', '--overwrite']),
      'Successfully updated label env on gnp allow-dns\n',
    );
    assert.match(await h.ok(['get', 'gnp', 'allow-dns', '-o', 'yaml']), /^ {4}env: dev$/m);
    assert.equal(
      await h.ok(['label', 'gnp', 'allow-dns', 'env', '--remove']),
      'Successfully removed label env from gnp allow-dns\n',
    );
    const gone = await h.run(['label', 'gnp', 'allow-dns', 'env', '--remove']);
    assert.equal(gone.stderr, 'cannot remove label of gnp allow-dns, key env does not exist\n');
    const missing = await h.run(['label', 'gnp', 'nope', 'a=b']);
    assert.equal(missing.stderr, 'gnp nope not found\n');
    const invalid = await h.run(['label', 'gnp', 'allow-dns', 'bad key=x']);
    assert.match(invalid.stderr, /^failed to update gnp allow-dns, label not changed: /);
  });

  void it(
    'gets the resources named in a file, one table per kind; --export strips cluster fields',
    opts,
    async () => {
      const h = await harness();
      await h.ok(['apply', '-f', STARTER]);
      assert.equal(
        await h.ok(['get', '-f', STARTER]),
        'NAME               \ndeny-all-ingress   \n\nNAME        TIER      \nallow-dns   default   \n\n',
      );
      const mixed = parseYaml(await h.ok(['get', '-f', STARTER, '-o', 'yaml'])) as {
        kind: string;
        items: Resource[];
      };
      assert.equal(mixed.kind, 'List');
      assert.deepEqual(
        mixed.items.map((i) => `${i.apiVersion} ${i.kind}`),
        ['networking.k8s.io/v1 NetworkPolicy', 'projectcalico.org/v3 GlobalNetworkPolicy'],
      );
      const exported = parseYaml(
        await h.ok(['get', 'gnp', 'allow-dns', '-o', 'yaml', '--export']),
      ) as Resource;
      assert.equal(exported.metadata.uid, undefined);
      assert.equal(exported.metadata.resourceVersion, undefined);
      assert.equal(exported.metadata.creationTimestamp, undefined);
      const missing = await h.run(['get', 'gnp', 'allow-dns', 'nope']);
      assert.equal(missing.status, 1);
      assert.equal(missing.stdout, 'NAME        TIER      \nallow-dns   default   \n\n');
      assert.equal(missing.stderr, 'resource does not exist: GlobalNetworkPolicy(nope)\n');
    },
  );

  void it('stores Kubernetes namespaces, pods and service accounts, and lists them', opts, async () => {
    const h = await harness();
    const docs = [
      'apiVersion: v1\nkind: Namespace\nmetadata: {name: production, labels: {env: prod}}\n',
      // The service account before the pod that names it (kube-apiserver's ServiceAccount admission).
      'apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: web, namespace: production}\n',
      'apiVersion: v1\nkind: Pod\nmetadata: {name: web-1, namespace: production, labels: {app: web}}\n' +
        'spec: {serviceAccountName: web, containers: [{name: web, image: web}]}\n',
    ];
    assert.equal(
      await h.ok(['apply', '-f', '-'], docs.join('---\n')),
      'Successfully applied 3 resource(s)\n',
    );
    assert.deepEqual(userNamespaces(h, names(await h.ok(['get', 'namespaces']))), ['production']);
    assert.match(await h.ok(['get', 'pods', '-n', 'production']), /^production\s+web-1\s+$/m);
    assert.match(await h.ok(['get', 'serviceaccounts', '-A']), /^production\s+web\s+$/m);
    assert.match(await h.ok(['get', 'ns', 'production', '-o', 'yaml']), /^kind: Namespace$/m);
  });

  void it('reads a List document and JSON, and writes many resources in one call', opts, async () => {
    const h = await harness();
    const items = Array.from({ length: 40 }, (_, i) => ({
      apiVersion: 'projectcalico.org/v3',
      kind: 'GlobalNetworkPolicy',
      metadata: { name: `bulk-${String(i).padStart(2, '0')}` },
      spec: { selector: `app == 'a${i}'`, order: i },
    }));
    const list = JSON.stringify({
      apiVersion: 'projectcalico.org/v3',
      kind: 'GlobalNetworkPolicyList',
      items,
    });
    assert.equal(
      await h.ok(['apply', '-f', '-'], list),
      "Successfully applied 40 'GlobalNetworkPolicy' resource(s)\n",
    );
    const out = await h.ok(['get', 'gnp', '-o', 'yaml']);
    assert.equal(
      await h.ok(['apply', '-f', '-'], out),
      "Successfully applied 40 'GlobalNetworkPolicy' resource(s)\n",
    );
    assert.equal(await h.ok(['get', 'gnp', '-o', 'yaml']), out, 'a no-op apply changes no resourceVersion');
    assert.equal(names(await h.ok(['get', 'gnp'])).length, 40);
    assert.equal(
      await h.ok(['delete', '-f', '-'], list),
      "Successfully deleted 40 'GlobalNetworkPolicy' resource(s)\n",
    );
  });

  void it('lists the kns./ksa. profiles of namespaces and service accounts, read-only', opts, async () => {
    const h = await harness();
    await h.ok(
      ['apply', '-f', '-'],
      'apiVersion: v1\nkind: Namespace\nmetadata: {name: prod, labels: {team: a}}\n---\n' +
        'apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: api, namespace: prod, labels: {tier: be}}\n',
    );
    const kdd = h.config.datastoreType === 'kubernetes';
    const wide = await h.ok(['get', 'profiles', '-o', 'wide']);
    if (!kdd) {
      assert.equal(
        wide,
        'NAME                          LABELS                                         \n' +
          'kns.prod                      pcns.projectcalico.org/name=prod,pcns.team=a   \n' +
          'ksa.prod.api                  pcsa.projectcalico.org/name=api,pcsa.tier=be   \n' +
          'projectcalico-default-allow                                                  \n\n',
      );
    } else {
      // kube-apiserver labels every Namespace with its name, and has its own namespaces: their profiles too.
      const rows = wide
        .trimEnd()
        .split('\n')
        .slice(1)
        .map((l) => l.trim().split(/\s+/));
      const own = rows.filter(([n]) => userNamespaces(h, [(n ?? '').replace(/^kns\./, '')]).length > 0);
      assert.deepEqual(own, [
        ['kns.prod', 'pcns.kubernetes.io/metadata.name=prod,pcns.projectcalico.org/name=prod,pcns.team=a'],
        ['ksa.prod.api', 'pcsa.projectcalico.org/name=api,pcsa.tier=be'],
        ['projectcalico-default-allow'],
      ]);
      assert.equal(rows.length, own.length + 4);
    }
    const kns = parseYaml(await h.ok(['get', 'profile', 'kns.prod', '-o', 'yaml'])) as Resource & {
      spec: Record<string, unknown>;
    };
    assert.deepEqual(kns.spec, {
      ingress: [{ action: 'Allow' }],
      egress: [{ action: 'Allow' }],
      labelsToApply: {
        'pcns.team': 'a',
        'pcns.projectcalico.org/name': 'prod',
        ...(kdd ? { 'pcns.kubernetes.io/metadata.name': 'prod' } : {}),
      },
    });
    assert.match(await h.ok(['get', 'profile', 'ksa.prod.api']), /^ksa\.prod\.api\s+$/m);
    const missing = await h.run(['get', 'profile', 'kns.nope']);
    assert.equal(missing.status, 1);
    assert.match(missing.stderr, /^resource does not exist: Profile\(kns\.nope\)$/m);
    const reason =
      'the profiles of Kubernetes namespaces and service accounts must be managed through the Namespace and ServiceAccount';
    const profile = 'apiVersion: projectcalico.org/v3\nkind: Profile\nmetadata: {name: kns.prod}\nspec: {}\n';
    const applied = await h.run(['apply', '-f', '-'], profile);
    assert.match(
      applied.stderr,
      new RegExp(`operation apply or replace is not supported on Profile\\(kns\\.prod\\): ${reason}`),
    );
    const del = await h.run(['delete', 'profile', 'ksa.prod.api']);
    assert.match(
      del.stderr,
      new RegExp(`operation delete is not supported on Profile\\(ksa\\.prod\\.api\\): ${reason}`),
    );
    const label = await h.run(['label', 'profile', 'kns.prod', 'a=b']);
    assert.equal(label.status, 1);
    assert.match(label.stderr, /operation apply or replace is not supported on Profile\(kns\.prod\)/);
    // Deleting the namespace removes its profile (on Kubernetes, once the namespace controller has finalised
    // it, which the test control plane does not run: there the Namespace is left Terminating).
    await h.ok(['delete', 'namespace', 'prod']);
    if (kdd) {
      assert.match(await h.ok(['get', 'namespace', 'prod', '-o', 'yaml']), /^ {2}deletionTimestamp: /m);
    } else {
      assert.deepEqual(names(await h.ok(['get', 'profiles'])), [
        'ksa.prod.api',
        'projectcalico-default-allow',
      ]);
    }
  });

  void it('suggests the resource type a misspelt KIND probably meant', opts, async () => {
    const h = await harness();
    for (const [cmd, prefix] of [
      ['get', 'Failed to get resources: '],
      ['delete', ''],
    ] as const) {
      const r = await h.run([cmd, 'netwrokpolicy', 'x']);
      assert.equal(r.status, 1);
      assert.equal(
        r.stderr,
        `${prefix}resource type 'netwrokpolicy' is not supported; did you mean 'networkpolicy'?\n`,
      );
    }
    const label = await h.run(['label', 'globalnetworkpolicys', 'x', 'a=b']);
    assert.match(label.stderr, /did you mean 'globalnetworkpolicy'\?/);
  });

  void it('prints with -o go-template and go-template-file, over the list of resources', opts, async () => {
    const h = await harness();
    await h.ok(['apply', '-f', STARTER]);
    assert.equal(
      await h.ok([
        'get',
        'gnp',
        '-o',
        'go-template={{range .}}{{.ObjectMeta.Name}}:{{.Spec.Selector}}{{"\\n"}}{{end}}',
      ]),
      'allow-dns:all()\n',
    );
    const file = await h.file('t.tmpl', '{{range .}}{{.Name}} {{.Spec.Order}}\n{{end}}');
    assert.equal(
      await h.ok(['get', 'tiers', '-o', `go-template-file=${file}`]),
      'kube-admin 1000\ndefault 1e+06\nkube-baseline 1e+07\n',
    );
    assert.equal(
      await h.ok([
        'get',
        'np',
        '-A',
        '-o',
        'go-template={{range .}}{{.Namespace}}/{{.Name}} {{.Spec.Tier}}{{end}}',
      ]),
      'production/knp.default.deny-all-ingress default',
    );
    const bad = await h.run(['get', 'gnp', '-o', 'go-template={{range .}}']);
    assert.equal(bad.status, 1);
    assert.equal(bad.stderr, 'template: get:1: unexpected EOF\n');
    assert.equal((await h.run(['get', 'gnp', '-o', 'go-template='])).stderr, 'need to specify a template\n');
  });

  void it('policy explain without -f decides against the live datastore', opts, async () => {
    const h = await harness();
    const explain = explainArgs({ from: 'default/client', to: 'production/web', port: '80' });
    const empty = await h.run(explain);
    assert.equal(empty.status, 1);
    assert.match(
      empty.stderr,
      /^endpoint default\/client not found: no Pod or WorkloadEndpoint default\/client in the (embedded|etcdv3|kubernetes) datastore[ ;]/,
    );
    await h.ok(['apply', '-f', STARTER]);
    const pod = (ns: string, name: string, app: string, ip: string): string =>
      // kube-apiserver keeps no status written with the pod: there the CNI's pod-IP annotation gives the address.
      `apiVersion: v1\nkind: Pod\nmetadata: {name: ${name}, namespace: ${ns}, labels: {app: ${app}}, ` +
      `annotations: {cni.projectcalico.org/podIP: ${ip}/32}}\n` +
      `spec: {nodeName: n1, containers: [{name: c, image: c}]}\nstatus: {podIP: ${ip}}\n`;
    // The pods' namespace and `default` service accounts first, as kube-apiserver's admission wants them.
    const sa = (ns: string): string =>
      `apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: default, namespace: ${ns}}\n`;
    const ns = 'apiVersion: v1\nkind: Namespace\nmetadata: {name: production}\n';
    await h.ok(['apply', '-f', '-'], `${ns}---\n${sa('default')}---\n${sa('production')}`);
    await h.ok(
      ['apply', '-f', '-'],
      `${pod('default', 'client', 'client', '10.65.0.2')}---\n${pod('production', 'web', 'web', '10.65.0.3')}`,
    );
    const denied = await h.run(explain);
    assert.equal(denied.status, 0, denied.stderr);
    assert.match(denied.stdout, /^Verdict: DENY$/m);
    assert.match(denied.stdout, /production\/knp\.default\.deny-all-ingress/);
    assert.doesNotMatch(denied.stdout, /^Note: pod/m);
    // The live answer follows the datastore: allow web ingress, and the verdict changes.
    const allow =
      'apiVersion: projectcalico.org/v3\nkind: NetworkPolicy\nmetadata: {name: allow-web, namespace: production}\nspec:\n  selector: app == "web"\n  ingress: [{action: Allow}]\n  egress: [{action: Allow}]\n';
    const allowEgress =
      'apiVersion: projectcalico.org/v3\nkind: NetworkPolicy\nmetadata: {name: allow-out, namespace: default}\nspec:\n  egress: [{action: Allow}]\n';
    await h.ok(['apply', '-f', '-'], `${allow}---\n${allowEgress}`);
    assert.match(await h.ok([...explain, '--expect', 'allow']), /^Verdict: ALLOW$/m);
    const unknown = await h.run(explainArgs({ from: '10.0.0.9', to: 'production/nope', port: '80' }));
    assert.equal(unknown.status, 1);
    assert.match(
      unknown.stderr,
      /^endpoint production\/nope not found: no Pod or WorkloadEndpoint production\/nope in the (embedded|etcdv3|kubernetes) datastore.*; give its labels with --to-labels/,
    );
    const hypothetical = await h.ok(
      explainArgs({ from: '10.0.0.9', to: 'production/nope', toLabels: 'app=web', port: '80' }),
    );
    assert.match(
      hypothetical,
      /^Note: pod production\/nope is not in the (embedded|etcdv3|kubernetes) datastore/m,
    );
  });
}
