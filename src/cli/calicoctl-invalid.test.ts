/**
 * calicoctl with bad stored values: `get` lists the good resources and names each bad key with its problem
 * (exit 1, as calicoctl reports a partial failure), never a bare JSON parser error; a bad resource can be
 * deleted by name and replaced by `apply`; a resource too large for etcd's default request limit is refused
 * with both sizes and nothing written. On SQLite, etcd and Kubernetes; on Kubernetes only the size bound
 * (the API cannot hold arbitrary bytes: those cases are skipped with the reason).
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { parse as parseYaml } from 'yaml';
import type { Resource, ResourceKey } from '../datastore/index.js';
import { writeRawValue } from '../datastore/testing/raw.js';
import {
  embeddedTarget,
  etcdTarget,
  kubernetesTarget,
  type StoreTarget,
} from '../datastore/testing/targets.js';
import { GNP, NP, describeCliSuite, names, opts, type Harness } from './testing/harness.js';

async function corrupt(h: Harness, key: ResourceKey, text: string): Promise<number> {
  return writeRawValue(h.config, key, text);
}

function suite(target: StoreTarget): void {
  // The cases that store arbitrary bytes need a store that can hold them (not the Kubernetes API).
  const raw = { ...opts, skip: target.limits?.noRawValues ?? false };
  describeCliSuite('calicoctl and bad stored values', target, (harness) => {
    it('get lists the good resources and names each bad key; delete and apply repair', raw, async () => {
      const h = await harness();
      await h.ok(['apply', '-f', await h.file('p.yaml', [GNP('a'), GNP('b'), GNP('c')].join('---\n'))]);
      const badJson = await corrupt(h, { kind: 'GlobalNetworkPolicy', name: 'b' }, '{"apiVersion": "proj');
      const badSpec = await h.withBackend(async (b) =>
        Number(
          (
            await b.update({
              ...(await b.get({ kind: 'GlobalNetworkPolicy', name: 'c' })),
              spec: { order: 'x' },
            } as Resource)
          ).metadata.resourceVersion,
        ),
      );

      const listed = await h.run(['get', 'globalnetworkpolicies']);
      assert.equal(listed.status, 1);
      assert.deepEqual(names(listed.stdout), ['a']);
      const lines = listed.stderr.trimEnd().split('\n');
      assert.equal(lines.length, 2);
      assert.match(
        lines[0] ?? '',
        new RegExp(
          `^stored value of GlobalNetworkPolicy\\(b\\) \\(revision ${badJson}\\) is not a valid resource: invalid JSON \\(20 bytes\\): `,
        ),
      );
      assert.match(
        lines[1] ?? '',
        new RegExp(
          `^stored value of GlobalNetworkPolicy\\(c\\) \\(revision ${badSpec}\\) is not a valid resource: ` +
            'invalid GlobalNetworkPolicy: spec.order: expected a number, got string "x"$',
        ),
      );
      assert.doesNotMatch(listed.stderr + listed.stdout, /SyntaxError|Unexpected token.*at Object/);

      const yaml = await h.run(['get', 'gnp', '-o', 'yaml']);
      assert.equal(yaml.status, 1);
      const list = parseYaml(yaml.stdout) as { kind: string; items: Resource[] };
      assert.equal(list.kind, 'GlobalNetworkPolicyList');
      assert.deepEqual(
        list.items.map((i) => i.metadata.name),
        ['a'],
      );

      const named = await h.run(['get', 'gnp', 'b', 'a']);
      assert.equal(named.status, 1);
      assert.deepEqual(names(named.stdout), ['a']);
      assert.match(
        named.stderr,
        /^stored value of GlobalNetworkPolicy\(b\) \(revision \d+\) is not a valid resource: invalid JSON/,
      );

      assert.equal(
        await h.ok(['delete', 'gnp', 'b']),
        "Successfully deleted 1 'GlobalNetworkPolicy' resource(s)\n",
      );
      await h.ok(['apply', '-f', await h.file('c.yaml', GNP('c', '  order: 7\n'))]);
      const fixed = await h.run(['get', 'gnp', '-o', 'wide']);
      assert.equal(fixed.stderr, '');
      assert.equal(fixed.status, 0);
      assert.deepEqual(names(fixed.stdout), ['a', 'c']);
      assert.match(fixed.stdout, /c\s+default\s+7\s+all\(\)/);
    });

    it(
      'namespaced lists with -A name the bad key with its namespace; apply replaces a bad value',
      raw,
      async () => {
        const h = await harness();
        await h.ok(['apply', '-f', await h.file('np.yaml', [NP('x', 'p1'), NP('y', 'p2')].join('---\n'))]);
        await corrupt(h, { kind: 'NetworkPolicy', namespace: 'y', name: 'p2' }, '[]');
        const r = await h.run(['get', 'networkpolicies', '-A']);
        assert.equal(r.status, 1);
        assert.deepEqual(names(r.stdout), ['x']);
        assert.match(
          r.stderr,
          /^stored value of NetworkPolicy\(y\/p2\) \(revision \d+\) is not a valid resource: not a JSON object \(an array\)\n$/,
        );
        // apply over the bad value: calicoctl treats it as absent and writes the new one.
        assert.equal(
          await h.ok(['apply', '-f', await h.file('fix.yaml', NP('y', 'p2'))]),
          "Successfully applied 1 'NetworkPolicy' resource(s)\n",
        );
        const after = await h.run(['get', 'networkpolicies', '-A']);
        assert.equal(after.status, 0, after.stderr);
        assert.deepEqual(names(after.stdout), ['x', 'y']);
      },
    );

    it(
      "refuses a resource over etcd's default request limit, naming it and both sizes; nothing written",
      opts,
      async () => {
        const h = await harness();
        // A network set of 100,000 addresses: valid, but about 1.9 MB stored.
        const nets = Array.from(
          { length: 100_000 },
          (_, i) => `    - 10.${i >> 16}.${(i >> 8) & 255}.${i & 255}/32`,
        );
        const set = (name: string, lines: readonly string[]): string =>
          `apiVersion: projectcalico.org/v3\nkind: GlobalNetworkSet\nmetadata:\n  name: ${name}\nspec:\n  nets:\n${lines.join('\n')}\n`;
        const big = `${set('small', nets.slice(0, 2))}---\n${set('big', nets)}`;
        const r = await h.run(['apply', '-f', await h.file('big.yaml', big)]);
        assert.equal(r.status, 1);
        assert.match(
          r.stderr,
          /GlobalNetworkSet\(big\): resource too large to store: a write of it is \d{7} bytes \(\d{7} bytes of JSON\), over the limit of 1572864 bytes \(etcd's default --max-request-bytes, applied on every datastore\)/,
        );
        const listed = await h.run(['get', 'gnp']);
        assert.equal(listed.status, 0);
        assert.deepEqual(
          names(listed.stdout),
          [],
          'nothing written, not even the small one of the same batch',
        );
      },
    );
  });
}

suite(embeddedTarget('calicoctl-invalid-sqlite-'));
suite(etcdTarget());
suite(kubernetesTarget());
