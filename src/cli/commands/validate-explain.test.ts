import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { repoRoot } from '../../test-support/repo.js';
import { calicoctl, explainArgs } from '../testing.js';

const starter = join(repoRoot(), 'examples', 'starter.yaml');
const broken = join(repoRoot(), 'examples', 'broken.yaml');

describe('calicoctl validate', () => {
  it('accepts the two starter examples', async () => {
    const r = await calicoctl(['validate', '-f', starter]);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, 'Successfully validated 2 resource(s)\n');
  });

  it('lists every problem of a broken file with file, document and field, and exits 1', async () => {
    const r = await calicoctl(['validate', '-f', broken]);
    assert.equal(r.status, 1);
    const lines = r.stderr.trimEnd().split('\n');
    for (const expected of [
      /broken\.yaml: document 0 \(GlobalNetworkPolicy Bad_Name\): metadata\.name: .*"Bad_Name"/,
      /document 0 .*: spec\.selector: invalid selector "app == 'web"/,
      /document 0 .*: spec\.types\[1\]: .*"Sideways"/,
      /document 0 .*: spec\.ingress\[0\]\.destination\.ports\[1\]: invalid port 70000/,
      /document 0 .*: spec\.ingress\[0\]\.destination\.ports\[2\]: invalid port range "90:85"/,
      /document 0 .*: spec\.ingress\[1\]\.action: invalid action "Permit"/,
      /document 1 \(NetworkPolicy production\/web\): spec\.ingress\[0\]\.from\[0\]\.ipBlock\.cidr: invalid CIDR "10\.0\.0\.0\/33"/,
      /document 1 .*: spec\.ingress\[0\]\.ports\[0\]\.endPort: endPort 80 must be greater than or equal to port 8080/,
      /document 2 \(NetworkPolicyy typo\): kind: unknown kind "NetworkPolicyy"/,
    ]) {
      assert.ok(
        lines.some((l) => expected.test(l)),
        `no line matches ${String(expected)}:\n${r.stderr}`,
      );
    }
    assert.match(lines.at(-1) ?? '', /^Failed to validate: \d+ problem\(s\) found/);
  });

  it('reads stdin and reports invalid YAML with its line', async () => {
    const ok = await calicoctl(['validate', '-f', '-'], {
      stdin: 'apiVersion: v1\nkind: Namespace\nmetadata:\n  name: prod\n',
    });
    assert.equal(ok.status, 0, ok.stderr);
    const bad = await calicoctl(['validate', '-f', '-'], { stdin: 'kind: [\n' });
    assert.equal(bad.status, 1);
    assert.match(bad.stderr, /<stdin>: document 0: line \d+/);
  });

  it('requires -f (Calico: Invalid option, status 1)', async () => {
    const r = await calicoctl(['validate']);
    assert.equal(r.status, 1);
    assert.equal(
      r.stderr,
      "Invalid option: 'calicoctl validate'. Use flag '--help' to read about a specific subcommand.\n",
    );
  });

  it("names the single kind validated, as Calico's validate does", async () => {
    const gnp =
      'apiVersion: projectcalico.org/v3\nkind: GlobalNetworkPolicy\nmetadata: {name: p}\nspec: {}\n';
    const r = await calicoctl(['validate', '-f', '-'], {
      stdin: `${gnp}---\n${gnp.replace('name: p', 'name: q')}`,
    });
    assert.equal(r.stdout, "Successfully validated 2 'GlobalNetworkPolicy' resource(s)\n");
    const empty = await calicoctl(['validate', '-f', '-'], { stdin: '# nothing\n' });
    assert.equal(empty.status, 1);
    assert.equal(empty.stderr, 'No resources specified in file <stdin>\n');
    assert.equal(
      (await calicoctl(['validate', '-f', '-', '--skip-empty'], { stdin: '' })).stdout,
      'No resources specified\n',
    );
  });
});

describe('calicoctl policy explain', () => {
  it('explains a denied connection: both directions end the default tier', async () => {
    const r = await calicoctl(
      explainArgs({
        input: starter,
        from: 'default/client',
        fromLabels: 'app=client',
        to: 'production/web',
        toLabels: 'app=web',
        port: '80',
      }),
    );
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^Verdict: DENY$/m);
    assert.match(r.stdout, /^Note: pod default\/client is not in the input; evaluated as a pod with labels/m);
    assert.match(
      r.stdout,
      /ingress of production\/web: DENY, denied at end of tier default: policies production\/knp\.default\.deny-all-ingress, allow-dns/,
    );
    assert.match(
      r.stdout,
      /egress of default\/client: DENY, denied at end of tier default: policies allow-dns/,
    );
  });

  it('explains an allowed DNS lookup naming the rule, and emits JSON', async () => {
    const r = await calicoctl(
      explainArgs(
        {
          input: starter,
          from: 'default/client',
          fromLabels: '',
          to: 'production/web',
          toLabels: '',
          port: '53',
        },
        '--protocol',
        'UDP',
        '-o',
        'json',
      ),
    );
    assert.equal(r.status, 0, r.stderr);
    const j = JSON.parse(r.stdout) as {
      verdict: string;
      ingress: { decidedBy: { kind: string; hit: { policyName: string; ruleIndex: number; tier: string } } };
    };
    assert.equal(j.verdict, 'Allow');
    assert.equal(j.ingress.decidedBy.kind, 'rule');
    assert.deepEqual(
      [j.ingress.decidedBy.hit.tier, j.ingress.decidedBy.hit.policyName, j.ingress.decidedBy.hit.ruleIndex],
      ['default', 'allow-dns', 0],
    );
  });

  it('--expect fails the command when the verdict differs', async () => {
    const args = explainArgs({
      input: starter,
      from: '203.0.113.9',
      to: 'production/web',
      toLabels: 'app=web',
      port: '443',
    });
    assert.equal((await calicoctl([...args, '--expect', 'deny'])).status, 0);
    const r = await calicoctl([...args, '--expect', 'allow']);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /expected allow, got deny/);
    assert.match(r.stdout, /egress: source is not a Calico endpoint/);
  });

  it('refuses a pod that is neither in the input nor described by labels', async () => {
    const r = await calicoctl(
      explainArgs({ input: starter, from: '10.0.0.1', to: 'production/web', port: '80' }),
    );
    assert.equal(r.status, 1);
    assert.equal(
      r.stderr,
      'endpoint production/web not found: no Pod or WorkloadEndpoint production/web in the input; give its labels with --to-labels to evaluate a pod that does not exist\n',
    );
    assert.equal(r.stdout, '');
  });

  it('uses --to-labels for a pod that is not in the input', async () => {
    const policy = [
      'apiVersion: projectcalico.org/v3',
      'kind: NetworkPolicy',
      'metadata: {name: web-only, namespace: shop}',
      'spec:',
      "  selector: app == 'web'",
      '  ingress: [{action: Deny}]',
    ].join('\n');
    const ends = { input: '-', from: '10.1.1.1', to: 'shop/front', port: '80' };
    const web = await calicoctl(explainArgs({ ...ends, toLabels: 'app=web' }), { stdin: policy });
    assert.match(web.stdout, /Verdict: DENY/);
    const other = await calicoctl(explainArgs({ ...ends, toLabels: 'app=api' }), { stdin: policy });
    assert.match(other.stdout, /Verdict: ALLOW/);
  });

  it('refuses a broken input and bad arguments', async () => {
    const r = await calicoctl(explainArgs({ input: broken, from: 'a/b', to: 'c/d', port: '1' }));
    assert.equal(r.status, 1);
    assert.match(r.stderr, /Failed to explain/);
    const noPort = await calicoctl(explainArgs({ input: starter, from: 'a/b', to: 'c/d' }));
    assert.equal(noPort.status, 2);
    const badEnd = await calicoctl(explainArgs({ input: starter, from: 'nonsense', to: 'c/d', port: '1' }));
    assert.equal(badEnd.status, 2);
  });
});
