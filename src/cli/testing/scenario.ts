/**
 * ONE behaviour suite for the datastore-backed calicoctl commands, run against every backend (the test file
 * calls `runCliSuite` for embedded SQLite and for a real etcd). Every test gets a fresh, empty store,
 * reached only through the environment calicoctl is given, exactly as a user's shell would.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { it } from 'node:test';
import { parse as parseYaml } from 'yaml';
import type { Resource } from '../../datastore/index.js';
import type { StoreTarget } from '../../datastore/testing/targets.js';
import { calicoctl } from '../testing.js';
import { describeCliSuite, STARTER, TEST_TIMEOUT_MS, type Harness } from './harness.js';
import { registerCommandTests } from './scenario-commands.js';
import { registerEdgeTests } from './scenario-edges.js';

export function runCliSuite(target: StoreTarget): void {
  describeCliSuite('calicoctl datastore commands', target, (harness) => {
    registerAcceptance(harness);
    registerEdgeTests(harness);
    registerCommandTests(harness);
  });
}

function registerAcceptance(harness: () => Promise<Harness>): void {
  void it(
    'acceptance: starter examples applied, listed, round-tripped and deleted',
    { timeout: TEST_TIMEOUT_MS },
    async () => {
      const h = await harness();
      assert.equal(await h.ok(['apply', '-f', STARTER]), 'Successfully applied 2 resource(s)\n');

      assert.equal(
        await h.ok(['get', 'globalnetworkpolicies']),
        'NAME        TIER      \nallow-dns   default   \n\n',
      );
      assert.equal(
        await h.ok(['get', 'networkpolicies', '-n', 'production']),
        'NAMESPACE    NAME                           TIER      \n' +
          'production   knp.default.deny-all-ingress   default   \n\n',
      );
      // Kinds are case-insensitive and may be plural or an alias.
      for (const kind of ['GlobalNetworkPolicy', 'GNP', 'gnps', 'globalnetworkpolicy']) {
        assert.equal(await h.ok(['get', kind]), 'NAME        TIER      \nallow-dns   default   \n\n');
      }
      // Without -n: the default namespace, which holds nothing.
      assert.equal(await h.ok(['get', 'networkpolicies']), 'NAME   TIER   \n\n');

      // YAML round trip of the GNP: a no-op success, the resourceVersion unchanged.
      const yaml = await h.ok(['get', 'gnp', 'allow-dns', '-o', 'yaml']);
      const gnp = parseYaml(yaml) as Resource & { spec: Record<string, unknown> };
      assert.equal(gnp.kind, 'GlobalNetworkPolicy');
      assert.equal(gnp.spec['selector'], 'all()');
      assert.match(gnp.metadata.resourceVersion ?? '', /^\d+$/);
      assert.equal(
        await h.ok(['apply', '-f', '-'], yaml),
        "Successfully applied 1 'GlobalNetworkPolicy' resource(s)\n",
      );
      assert.equal(await h.ok(['get', 'gnp', 'allow-dns', '-o', 'yaml']), yaml);

      // The Kubernetes policy's Calico view, listed as a NetworkPolicyList.
      const npYaml = await h.ok(['get', 'networkpolicies', '-n', 'production', '-o', 'yaml']);
      const list = parseYaml(npYaml) as {
        kind: string;
        items: (Resource & { spec: Record<string, unknown> })[];
      };
      assert.equal(list.kind, 'NetworkPolicyList');
      const view = list.items[0];
      assert.equal(view?.metadata.name, 'knp.default.deny-all-ingress');
      assert.equal(view.spec['order'], 1000);
      assert.equal(view.spec['tier'], 'default');
      assert.equal(view.spec['selector'], "projectcalico.org/orchestrator == 'k8s'");
      assert.deepEqual(view.spec['types'], ['Ingress']);
      // As in Calico, the view cannot be written back: Kubernetes policies are managed as Kubernetes objects.
      const reapplied = await h.run(['apply', '-f', '-'], npYaml);
      assert.equal(reapplied.status, 1);
      assert.match(
        reapplied.stderr,
        /^<stdin>: document 0 item 0 \(NetworkPolicy production\/knp\.default\.deny-all-ingress\): operation apply or replace is not supported on NetworkPolicy\(production\/knp\.default\.deny-all-ingress\): kubernetes network policies must be managed through the kubernetes API$/m,
      );
      assert.equal(await h.ok(['get', 'networkpolicies', '-n', 'production', '-o', 'yaml']), npYaml);

      assert.equal(
        await h.ok(['get', 'gnp', '-o', 'wide']),
        'NAME        TIER      ORDER   SELECTOR   \nallow-dns   default   <nil>   all()      \n\n',
      );
      const json = JSON.parse(await h.ok(['get', 'gnp', '-o', 'json'])) as {
        kind: string;
        items: Resource[];
      };
      assert.equal(json.kind, 'GlobalNetworkPolicyList');
      assert.deepEqual(
        json.items.map((i) => i.metadata.name),
        ['allow-dns'],
      );
      assert.equal(
        await h.ok(['get', 'gnp', '-o', 'custom-columns=NAME,SELECTOR']),
        'NAME        SELECTOR   \nallow-dns   all()      \n\n',
      );
      const bad = await h.run(['get', 'gnp', '-o', 'custom-columns=NAME,BOGUS']);
      assert.equal(bad.status, 1);
      assert.equal(bad.stderr, 'Unknown heading BOGUS, valid values are: NAME, TIER, ORDER, SELECTOR\n');

      assert.equal(await h.ok(['delete', '-f', STARTER]), 'Successfully deleted 2 resource(s)\n');
      assert.equal(await h.ok(['get', 'gnp']), 'NAME   TIER   \n\n');
      assert.equal(await h.ok(['get', 'networkpolicies', '-A']), 'NAMESPACE   NAME   TIER   \n\n');
    },
  );

  void it(
    'initialises the datastore on the first write and reports versions',
    { timeout: TEST_TIMEOUT_MS },
    async () => {
      const h = await harness();
      const before = await h.run(['version']);
      assert.equal(before.status, 1);
      assert.match(
        before.stdout,
        /^Client Version: {4}v\d+\.\d+\.\d+\nGit commit: {8}\S+\nEmulates Calico: {3}v3\.32\.1\n$/,
      );
      assert.match(before.stderr, /Unable to retrieve Cluster Version or Type/);

      await h.ok(['apply', '-f', STARTER]);
      const version = await h.ok(['version']);
      assert.match(version, /^Cluster Version: {3}v\d+\.\d+\.\d+$/m);
      // On Kubernetes, Calico's initialisation appends `kdd` to the client's cluster types.
      const type = h.config.datastoreType === 'kubernetes' ? 'kdd' : h.config.datastoreType;
      assert.match(version, new RegExp(`^Cluster Type: {6}calico-ts,${type}$`, 'm'));
      assert.equal(
        await h.ok(['get', 'tiers']),
        'NAME            ORDER   \nkube-admin      1000    \ndefault         1e+06   \nkube-baseline   1e+07   \n\n',
      );
      assert.match(await h.ok(['get', 'profiles']), /^projectcalico-default-allow {3}$/m);
      const info = await h.ok(['get', 'clusterinformation', '-o', 'yaml']);
      const ci = parseYaml(info) as { items: { spec: Record<string, unknown> }[] };
      const spec = ci.items[0]?.spec ?? {};
      assert.match(String(spec['clusterGUID']), /^[0-9a-f]{32}$/);
      assert.equal(spec['datastoreReady'], true);
      assert.match(String(spec['clusterType']), /^calico-ts,/);

      // A second write keeps the same ClusterInformation.
      await h.ok(['apply', '-f', STARTER]);
      const again = parseYaml(await h.ok(['get', 'clusterinfo', '-o', 'yaml'])) as typeof ci;
      assert.equal(again.items[0]?.spec['clusterGUID'], spec['clusterGUID']);
    },
  );

  void it(
    'the version-mismatch check refuses a different cluster version unless allowed',
    { timeout: TEST_TIMEOUT_MS },
    async () => {
      const h = await harness();
      await h.ok(['apply', '-f', STARTER]);
      await h.withBackend(async (b) => {
        const ci = await b.get({ kind: 'ClusterInformation', name: 'default' });
        await b.update({
          ...ci,
          spec: { ...(ci as unknown as { spec: object }).spec, calicoVersion: 'v9.8.7-rc1' },
        } as Resource);
      });
      const r = await h.run(['get', 'gnp']);
      assert.equal(r.status, 1);
      assert.match(
        r.stderr,
        /^Version mismatch\.\nClient Version: {3}v\S+\nCluster Version: {2}9\.8\.7\nUse --allow-version-mismatch to override\.\n$/,
      );
      assert.match(await h.ok(['get', 'gnp', '--allow-version-mismatch']), /allow-dns/);
      assert.match(await h.ok(['version']), /^Cluster Version: {3}v9\.8\.7-rc1$/m);
    },
  );

  void it('reads the datastore from -c before the environment', { timeout: TEST_TIMEOUT_MS }, async () => {
    const h = await harness();
    const decoy = join(h.dir, 'decoy', 'calico.db');
    const cfg = await h.file(
      'calicoctl.cfg',
      `apiVersion: projectcalico.org/v3\nkind: CalicoAPIConfig\nmetadata: {}\nspec:\n${h.configSpec}`,
    );
    const env = { DATASTORE_TYPE: 'embedded', CALICO_DATASTORE_PATH: decoy };
    const viaFile = await calicoctl(['apply', '-f', STARTER, '-c', cfg], { env });
    assert.equal(viaFile.status, 0, viaFile.stderr);
    assert.equal(existsSync(decoy), false, 'the environment must not be used when -c names a file');
    // The store the harness environment reaches is the one the -c file named.
    assert.match(await h.ok(['get', 'gnp']), /allow-dns/);

    const missing = await h.run(['get', 'gnp', '-c', join(h.dir, 'nope.cfg')]);
    assert.equal(missing.status, 1);
    assert.match(
      missing.stderr,
      /^Failed to create Calico API client: failed to read config file .*nope\.cfg/,
    );
    const wrongKind = await h.file('bad.cfg', 'apiVersion: projectcalico.org/v3\nkind: Nope\nspec: {}\n');
    const bad = await h.run(['get', 'gnp', '-c', wrongKind]);
    assert.equal(bad.status, 1);
    assert.match(bad.stderr, /expected kind 'CalicoAPIConfig'/);
  });
}
