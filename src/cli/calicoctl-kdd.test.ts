/**
 * calicoctl on the Kubernetes datastore, beside kubectl on the same kube-apiserver (skipped, with the reason,
 * where the Kubernetes programs are not built): a GlobalNetworkPolicy applied with calicoctl is a
 * `crd.projectcalico.org/v1` custom resource kubectl lists; a Kubernetes NetworkPolicy created with kubectl is
 * `knp.default.<name>` to calicoctl and cannot be written through it; `calicoctl version` reports Calico's
 * `kdd` cluster type; `calicoctl ipam show` and `check` read the IPAM blocks, affinities and handles the
 * allocator stores as custom resources; AdminNetworkPolicy and ClusterNetworkPolicy are the upstream
 * policy.networking.k8s.io objects to both, checked by the API server's schema and by calicoctl.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { it } from 'node:test';
import { promisify } from 'node:util';
import { parse as parseYaml } from 'yaml';
import { kubernetesBinDir } from '../datastore/kubernetes/testing/control-plane.js';
import { kubernetesTarget } from '../datastore/testing/targets.js';
import { IpamClient } from '../ipam/index.js';
import { describeCliSuite, GNP, names, opts, type Harness } from './testing/harness.js';

const run = promisify(execFile);

async function kubectl(h: Harness, args: readonly string[], stdin?: string): Promise<string> {
  const kubeconfig = h.config.datastoreType === 'kubernetes' ? (h.config.kubeconfig ?? '') : '';
  const child = run(join(kubernetesBinDir(), 'kubectl'), ['--kubeconfig', kubeconfig, ...args], {
    timeout: 30_000,
  });
  if (stdin !== undefined) child.child.stdin?.end(stdin);
  const { stdout } = await child;
  return stdout;
}

const DENY_ALL_INGRESS =
  'apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: deny-all-ingress, namespace: production}\n' +
  'spec:\n  podSelector: {}\n  policyTypes: [Ingress]\n';
const PRODUCTION = 'apiVersion: v1\nkind: Namespace\nmetadata: {name: production}\n';

describeCliSuite('calicoctl beside kubectl', kubernetesTarget(), (harness) => {
  it(
    'a GlobalNetworkPolicy applied with calicoctl is a crd.projectcalico.org/v1 resource kubectl lists',
    opts,
    async () => {
      const h = await harness();
      const file = await h.file(
        'allow-dns.yaml',
        GNP('allow-dns', '  types: [Egress]\n  egress: [{action: Allow}]\n'),
      );
      assert.equal(
        await h.ok(['apply', '-f', file]),
        "Successfully applied 1 'GlobalNetworkPolicy' resource(s)\n",
      );
      const listed = await kubectl(h, ['get', 'globalnetworkpolicies.crd.projectcalico.org', '-o', 'name']);
      assert.equal(listed, 'globalnetworkpolicy.crd.projectcalico.org/allow-dns\n');
      const cr = parseYaml(
        await kubectl(h, ['get', 'globalnetworkpolicies.crd.projectcalico.org', 'allow-dns', '-o', 'yaml']),
      ) as { apiVersion: string; spec: Record<string, unknown> };
      assert.equal(cr.apiVersion, 'crd.projectcalico.org/v1');
      assert.equal(cr.spec['selector'], 'all()');
      assert.deepEqual(names(await h.ok(['get', 'globalnetworkpolicies'])), ['allow-dns']);
      // The built-in tiers calicoctl's first write creates are custom resources too.
      assert.equal(
        await kubectl(h, ['get', 'tiers.crd.projectcalico.org', '-o', 'name']),
        'tier.crd.projectcalico.org/default\ntier.crd.projectcalico.org/kube-admin\ntier.crd.projectcalico.org/kube-baseline\n',
      );
      // Deleting through calicoctl deletes the custom resource.
      await h.ok(['delete', 'gnp', 'allow-dns']);
      assert.equal(
        await kubectl(h, ['get', 'globalnetworkpolicies.crd.projectcalico.org', '-o', 'name']),
        '',
      );
    },
  );

  it(
    'a NetworkPolicy created with kubectl is knp.default.<name> to calicoctl, and read-only there',
    opts,
    async () => {
      const h = await harness();
      await kubectl(h, ['apply', '-f', '-'], `${PRODUCTION}---\n${DENY_ALL_INGRESS}`);
      assert.equal(
        await h.ok(['get', 'networkpolicies', '-n', 'production']),
        'NAMESPACE    NAME                           TIER      \n' +
          'production   knp.default.deny-all-ingress   default   \n\n',
      );
      const view = parseYaml(
        await h.ok([
          'get',
          'networkpolicy',
          'knp.default.deny-all-ingress',
          '-n',
          'production',
          '-o',
          'yaml',
        ]),
      ) as { spec: Record<string, unknown> };
      assert.deepEqual(view.spec['types'], ['Ingress']);
      assert.equal(view.spec['selector'], "projectcalico.org/orchestrator == 'k8s'");

      const np =
        'apiVersion: projectcalico.org/v3\nkind: NetworkPolicy\n' +
        'metadata: {name: knp.default.deny-all-ingress, namespace: production}\nspec: {selector: all()}\n';
      const reason = 'kubernetes network policies must be managed through the kubernetes API';
      for (const [cmd, op] of [
        ['create', 'create or apply'],
        ['apply', 'apply or replace'],
        ['replace', 'apply or replace'],
      ] as const) {
        const r = await h.run([cmd, '-f', '-'], np);
        assert.equal(r.status, 1, `${cmd} must be refused`);
        assert.match(
          r.stderr,
          new RegExp(
            `operation ${op} is not supported on NetworkPolicy\\(production/knp\\.default\\.deny-all-ingress\\): ${reason}`,
          ),
        );
      }
      const del = await h.run([
        'delete',
        'networkpolicy',
        'knp.default.deny-all-ingress',
        '-n',
        'production',
      ]);
      assert.equal(del.status, 1);
      assert.match(del.stderr, new RegExp(`operation delete is not supported on NetworkPolicy.*: ${reason}`));
      // The Kubernetes object is untouched; deleting it with kubectl removes the view.
      assert.match(
        await kubectl(h, ['get', 'networkpolicy', '-n', 'production', '-o', 'name']),
        /deny-all-ingress/,
      );
      await kubectl(h, ['delete', 'networkpolicy', 'deny-all-ingress', '-n', 'production']);
      assert.equal(
        await h.ok(['get', 'networkpolicies', '-n', 'production']),
        'NAMESPACE   NAME   TIER   \n\n',
      );
    },
  );

  it(
    'calicoctl version reports the kdd cluster type; a node type list gets kdd appended last',
    opts,
    async () => {
      const h = await harness();
      const before = await h.run(['version']);
      assert.equal(before.status, 1);
      assert.match(before.stderr, /Unable to retrieve Cluster Version or Type/);
      await h.ok(['apply', '-f', await h.file('g.yaml', GNP('g'))]);
      assert.match(await h.ok(['version']), /^Cluster Type: {6}calico-ts,kdd\n/m);
      const ci = parseYaml(
        await kubectl(h, ['get', 'clusterinformations.crd.projectcalico.org', 'default', '-o', 'yaml']),
      ) as { spec: Record<string, unknown> };
      assert.equal(ci.spec['clusterType'], 'calico-ts,kdd');
      assert.equal(ci.spec['datastoreReady'], true);
    },
  );

  it(
    'admin network policies: kubectl and calicoctl write and read the same upstream objects',
    opts,
    async () => {
      const h = await harness();
      const anp =
        'apiVersion: policy.networking.k8s.io/v1alpha1\nkind: AdminNetworkPolicy\nmetadata: {name: guard}\n' +
        'spec:\n  priority: 10\n  subject: {namespaces: {}}\n' +
        '  ingress:\n  - {name: deny-all, action: Deny, from: [{namespaces: {}}]}\n';
      await kubectl(h, ['apply', '-f', '-'], anp);
      assert.equal(await h.ok(['get', 'adminnetworkpolicies']), 'NAME    \nguard   \n\n');
      const cnp =
        'apiVersion: policy.networking.k8s.io/v1alpha2\nkind: ClusterNetworkPolicy\nmetadata: {name: base}\n' +
        'spec:\n  tier: Baseline\n  priority: 5\n  subject: {namespaces: {}}\n' +
        '  egress:\n  - {name: allow-all, action: Accept, to: [{namespaces: {}}]}\n';
      await h.ok(['apply', '-f', '-'], cnp);
      assert.match(
        await kubectl(h, ['get', 'clusternetworkpolicies.policy.networking.k8s.io', '-o', 'name']),
        /clusternetworkpolicy\.policy\.networking\.k8s\.io\/base/,
      );
      // The API server checks the upstream schema (priority at most 1000); calicoctl names the field.
      const bad = anp.replace('priority: 10', 'priority: 1001').replace('name: guard', 'name: too-low');
      await assert.rejects(kubectl(h, ['apply', '-f', '-'], bad), /priority/);
      const refused = await h.run(['apply', '-f', '-'], bad);
      assert.equal(refused.status, 1);
      assert.match(refused.stderr, /spec\.priority/);
      assert.equal(await h.ok(['get', 'adminnetworkpolicies']), 'NAME    \nguard   \n\n');
      await kubectl(h, ['delete', 'adminnetworkpolicy', 'guard']);
      await h.ok(['delete', 'clusternetworkpolicy', 'base']);
      assert.equal(await kubectl(h, ['get', 'adminnetworkpolicies', '-o', 'name']), '');
    },
  );

  it('calicoctl ipam show and check read the IPAM custom resources', opts, async () => {
    const h = await harness();
    const pool =
      'apiVersion: projectcalico.org/v3\nkind: IPPool\nmetadata: {name: pods}\nspec: {cidr: 10.66.0.0/26, blockSize: 26}\n';
    await h.ok(['apply', '-f', '-'], pool);
    const assigned = await h.withBackend(async (b) => {
      const ipam = new IpamClient(b);
      const r = await ipam.autoAssign({
        num4: 2,
        num6: 0,
        hostname: 'n1',
        handleId: 'k8s-pod-network.ABC',
        attrs: { node: 'n1', namespace: 'default', pod: 'web' },
      });
      return r.ipv4.map((a) => a.ip);
    });
    assert.equal(assigned.length, 2);
    assert.equal(
      await kubectl(h, ['get', 'ipamblocks.crd.projectcalico.org', '-o', 'name']),
      'ipamblock.crd.projectcalico.org/10-66-0-0-26\n',
    );
    assert.equal(
      await kubectl(h, ['get', 'blockaffinities.crd.projectcalico.org', '-o', 'name']),
      'blockaffinity.crd.projectcalico.org/n1-10-66-0-0-26\n',
    );
    // Calico's KDD handle name: the handle ID lower-cased.
    assert.equal(
      await kubectl(h, ['get', 'ipamhandles.crd.projectcalico.org', '-o', 'name']),
      'ipamhandle.crd.projectcalico.org/k8s-pod-network.abc\n',
    );

    const show = await h.ok(['ipam', 'show', '--show-blocks']);
    assert.match(show, /\| IP Pool {2}\| 10\.66\.0\.0\/26 \|\s+64 \|\s+2 \(3%\) \|/);
    assert.match(show, /\| Block {4}\| 10\.66\.0\.0\/26 \|\s+64 \|\s+2 \(3%\) \|/);
    const one = await h.ok(['ipam', 'show', '--ip', assigned[0] ?? '']);
    assert.match(one, /is in use/);

    // No WorkloadEndpoint (pod) holds the addresses: check reports them as leaked.
    const check = await h.ok(['ipam', 'check', '--show-problem-ips']);
    assert.match(check, /^Found 1 IPAM blocks\.$/m);
    assert.match(check, /^Found 2 IPs that are allocated in IPAM but not actually in use\.$/m);
    assert.match(check, /Check complete; found 2 problems\.\n$/);

    // Releasing through the handle empties the block's allocations and deletes the handle resource.
    await h.withBackend((b) => new IpamClient(b).releaseByHandle('k8s-pod-network.ABC'));
    assert.equal(await kubectl(h, ['get', 'ipamhandles.crd.projectcalico.org', '-o', 'name']), '');
    assert.match(await h.ok(['ipam', 'show']), /\|\s+64 \|\s+0 \(0%\) \|/);
  });
});
