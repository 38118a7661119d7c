/**
 * The bad-input parts of the calicoctl suite (see scenario.ts): invalid input applies nothing,
 * namespaces, create/replace/delete semantics, resourceVersion conflicts, tiers.
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { parse as parseYaml } from 'yaml';
import type { Resource } from '../../datastore/index.js';
import { GNP, NP, names, opts, type Harness } from './harness.js';

export function registerEdgeTests(harness: () => Promise<Harness>): void {
  void it('one invalid document in a multi-document file applies nothing', opts, async () => {
    const h = await harness();
    const file = await h.file(
      'mixed.yaml',
      `${GNP('good')}---\n${GNP('bad', '  types: [Sideways]\n')}---\n${GNP('also-good')}`,
    );
    for (const cmd of ['apply', 'create', 'replace']) {
      const r = await h.run([cmd, '-f', file]);
      assert.equal(r.status, 1);
      const lines = r.stderr.trimEnd().split('\n');
      assert.equal(lines.length, 2, r.stderr);
      assert.match(
        lines[0] ?? '',
        /mixed\.yaml: document 1 \(GlobalNetworkPolicy bad\): spec\.types\[0\]: invalid policy type "Sideways"/,
      );
      assert.match(
        lines[1] ?? '',
        /^Failed to execute command: 1 problem\(s\) found in .*mixed\.yaml; no resources were/,
      );
    }
    assert.deepEqual(names(await h.ok(['get', 'gnp'])), []);
  });

  void it('reports invalid YAML, unknown kinds and unknown fields on one line each', opts, async () => {
    const h = await harness();
    const yaml = await h.run(['apply', '-f', '-'], 'kind: [\n');
    assert.equal(yaml.status, 1);
    assert.match(yaml.stderr, /^<stdin>: document 0: line \d+, column \d+: /);
    const kind = await h.run(
      ['apply', '-f', '-'],
      'apiVersion: projectcalico.org/v3\nkind: Foo\nmetadata: {name: x}\n',
    );
    assert.match(kind.stderr, /^<stdin>: document 0 \(Foo x\): kind: unknown kind "Foo"$/m);
    const field = await h.run(['apply', '-f', '-'], GNP('x', '  colour: blue\n'));
    assert.match(
      field.stderr,
      /^<stdin>: document 0 \(GlobalNetworkPolicy x\): spec\.colour: unknown field "colour"$/m,
    );
    const get = await h.run(['get', 'foos']);
    assert.equal(get.status, 1);
    assert.equal(get.stderr, "Failed to get resources: resource type 'foos' is not supported\n");
    const empty = await h.run(['apply', '-f', '-'], '');
    assert.equal(empty.status, 1);
    assert.equal(empty.stderr, 'No resources specified in file <stdin>\n');
    assert.equal(await h.ok(['apply', '-f', '-', '--skip-empty'], ''), 'No resources specified\n');
  });

  void it(
    'defaults the namespace, honours -n and rejects a namespace that does not match',
    opts,
    async () => {
      const h = await harness();
      assert.equal(
        await h.ok(['apply', '-f', '-'], NP(undefined, 'in-default')),
        "Successfully applied 1 'NetworkPolicy' resource(s)\n",
      );
      await h.ok(['apply', '-f', '-', '-n', 'prod'], NP(undefined, 'in-prod'));
      await h.ok(['apply', '-f', '-', '-n', 'prod'], NP('prod', 'also-prod'));
      assert.deepEqual(names(await h.ok(['get', 'np'])), ['in-default']);
      assert.deepEqual(names(await h.ok(['get', 'policy', '-n', 'prod'])), ['prod', 'prod']);
      assert.match(await h.ok(['get', 'pols', '-A']), /^default\s+in-default\s+default\s+$/m);

      const mismatch = await h.run(['apply', '-f', '-', '-n', 'other'], NP('prod', 'x'));
      assert.equal(mismatch.status, 1);
      assert.match(
        mismatch.stderr,
        /metadata\.namespace: resource namespace does not match client namespace\. prod != other/,
      );
      const clusterScoped = await h.run(
        ['apply', '-f', '-'],
        GNP('x').replace('  name: x\n', '  name: x\n  namespace: prod\n'),
      );
      assert.match(clusterScoped.stderr, /metadata\.namespace: GlobalNetworkPolicy is cluster-scoped/);
      const gnpWithN = await h.run(['get', 'gnp', '-n', 'prod']);
      assert.equal(gnpWithN.stderr, 'GlobalNetworkPolicy is not namespaced\n');
      const both = await h.run(['get', 'np', '-n', 'prod', '-A']);
      assert.equal(both.stderr, 'cannot use both --namespace and --all-namespaces flags at the same time\n');
      const single = await h.run(['get', 'np', 'in-prod', '-A']);
      assert.equal(single.stderr, 'cannot use --all-namespace flag for getting a single resource\n');
    },
  );

  void it(
    'create fails on existing resources, replace on missing ones; delete of missing ones',
    opts,
    async () => {
      const h = await harness();
      const file = await h.file('two.yaml', `${GNP('one')}---\n${GNP('two')}`);
      assert.equal(
        await h.ok(['create', '-f', file]),
        "Successfully created 2 'GlobalNetworkPolicy' resource(s)\n",
      );
      const again = await h.run(['create', '-f', file]);
      assert.equal(again.status, 1);
      assert.equal(
        again.stderr,
        "Failed to create any 'GlobalNetworkPolicy' resources: [resource already exists: GlobalNetworkPolicy(one) resource already exists: GlobalNetworkPolicy(two)]\n",
      );
      assert.equal(
        await h.ok(['create', '-f', file, '--skip-exists']),
        "Successfully created 2 'GlobalNetworkPolicy' resource(s)\n",
      );
      const partial = await h.run(['create', '-f', '-'], `${GNP('one')}---\n${GNP('three')}`);
      assert.equal(partial.status, 1);
      assert.equal(
        partial.stdout,
        "Partial success: created the first 1 out of 2 'GlobalNetworkPolicy' resources:\n",
      );
      assert.equal(partial.stderr, 'Hit error: [resource already exists: GlobalNetworkPolicy(one)]\n');

      const missing = await h.run(['replace', '-f', '-'], GNP('four'));
      assert.equal(missing.status, 1);
      assert.equal(
        missing.stderr,
        "Failed to replace 'GlobalNetworkPolicy' resource: resource does not exist: GlobalNetworkPolicy(four)\n",
      );
      assert.equal(
        await h.ok(['replace', '-f', '-'], GNP('one', '  order: 5\n')),
        "Successfully replaced 1 'GlobalNetworkPolicy' resource(s)\n",
      );
      assert.match(await h.ok(['get', 'gnp', 'one', '-o', 'wide']), /^one\s+default\s+5\s+all\(\)\s+$/m);

      const del = await h.run(['delete', 'gnp', 'one', 'nope']);
      assert.equal(del.status, 1);
      assert.equal(del.stdout, "Successfully deleted 1 'GlobalNetworkPolicy' resource(s)\n");
      assert.equal(
        del.stderr,
        "Failed to delete 'GlobalNetworkPolicy' resource: resource does not exist: GlobalNetworkPolicy(nope)\n",
      );
      assert.equal(
        await h.ok(['delete', 'gnp', 'two', 'nope', '--skip-not-exists']),
        "Successfully deleted 2 'GlobalNetworkPolicy' resource(s)\n",
      );
      assert.equal(
        await h.ok(['delete', 'globalnetworkpolicies', 'nope', '-s']),
        "Successfully deleted 1 'GlobalNetworkPolicy' resource(s)\n",
      );
      assert.deepEqual(names(await h.ok(['get', 'gnp'])), ['three']);
    },
  );

  void it(
    'apply keeps uid and creationTimestamp, and refuses an out-of-date resourceVersion',
    opts,
    async () => {
      const h = await harness();
      await h.ok(['apply', '-f', '-'], GNP('p'));
      const first = parseYaml(await h.ok(['get', 'gnp', 'p', '-o', 'yaml'])) as Resource;
      const edited = GNP('p', '  order: 7\n').replace('  name: p\n', '  name: p\n  labels: {team: a}\n');
      await h.ok(['apply', '-f', '-'], edited);
      const second = parseYaml(await h.ok(['get', 'gnp', 'p', '-o', 'yaml'])) as Resource & {
        spec: { order?: number };
      };
      assert.equal(second.metadata.uid, first.metadata.uid);
      assert.equal(second.metadata.creationTimestamp, first.metadata.creationTimestamp);
      assert.notEqual(second.metadata.resourceVersion, first.metadata.resourceVersion);
      assert.equal(second.spec.order, 7);
      assert.equal(second.metadata.labels?.['team'], 'a');
      // Re-applying the first version (its resourceVersion is stale) is a conflict and changes nothing.
      const stale = await h.run(['apply', '-f', '-'], JSON.stringify(first));
      assert.equal(stale.status, 1);
      assert.match(
        stale.stderr,
        /update conflict: GlobalNetworkPolicy\(p\): resource version '\d+' is out of date \(latest: \d+\)/,
      );
      const third = parseYaml(await h.ok(['get', 'gnp', 'p', '-o', 'yaml'])) as Resource;
      assert.equal(third.metadata.resourceVersion, second.metadata.resourceVersion);
    },
  );

  void it('requires existing tiers; protects built-in tiers and tiers in use', opts, async () => {
    const h = await harness();
    const inTier = GNP('sec.p', '  tier: sec\n');
    const missing = await h.run(['apply', '-f', '-'], inTier);
    assert.equal(missing.status, 1);
    assert.match(missing.stderr, /\(GlobalNetworkPolicy sec\.p\): spec\.tier: tier "sec" does not exist/);
    const tier = 'apiVersion: projectcalico.org/v3\nkind: Tier\nmetadata: {name: sec}\nspec: {order: 100}\n';
    assert.equal(
      await h.ok(['apply', '-f', '-'], `${tier}---\n${inTier}`),
      'Successfully applied 2 resource(s)\n',
    );
    assert.deepEqual(names(await h.ok(['get', 'tier'])), ['sec', 'kube-admin', 'default', 'kube-baseline']);
    const inUse = await h.run(['delete', 'tier', 'sec']);
    assert.equal(
      inUse.stderr,
      "Failed to delete 'Tier' resource: operation delete is not supported on sec: Cannot delete a non-empty tier\n",
    );
    const builtIn = await h.run(['delete', 'tiers', 'default']);
    assert.equal(
      builtIn.stderr,
      "Failed to delete 'Tier' resource: operation Delete is not supported on default: Cannot delete default tier\n",
    );
    const profile = await h.run(['delete', 'profile', 'projectcalico-default-allow']);
    assert.match(profile.stderr, /operation delete is not supported on projectcalico-default-allow/);
    // Policies first, then their tier: one delete in file order.
    assert.equal(
      await h.ok(['delete', '-f', '-'], `${inTier}---\n${tier}`),
      'Successfully deleted 2 resource(s)\n',
    );
  });
}
