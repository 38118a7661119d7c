/**
 * calico-apiserver behind a real kube-apiserver (the control plane starter; skipped, with the reason, when
 * the Kubernetes programs are not built): the program started as users start it, registered with Calico's
 * APIService / Service names (ExternalName `localhost`, datastore/kubernetes/aggregation.ts), and driven by the kubectl of the
 * same release through the aggregation layer: discovery and short names, `kubectl apply -f` of the starter's
 * GlobalNetworkPolicy (examples/starter.yaml, verbatim), get / list / watch / delete, `get -o yaml | apply`
 * changing nothing, an invalid document refused with calicoctl validate's field messages and nothing stored,
 * a stale resourceVersion refused with 409, knp.default.* refused, and a user without RBAC rights refused
 * through SubjectAccessReview.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { parseAllDocuments } from 'yaml';
import { requireKubeBinaries } from '../datastore/kubernetes/control-plane/binaries.js';
import { sample } from '../datastore/kubernetes/testing.js';
import { CALICO_API_VERSION } from '../api/meta.js';
import { codecFor } from '../api/registry.js';
import { kubernetesSkipReason } from '../datastore/kubernetes/testing/control-plane.js';
import { KubeControlPlane } from '../datastore/kubernetes/control-plane/control-plane.js';
import { waitFor } from '../lib/async.js';
import { repoRoot } from '../test-support/repo.js';
import { aggregationObjects, issueServingCert } from '../datastore/kubernetes/aggregation.js';
import { servedResources } from './resources.js';
import { startApiServer, type RunningApiServer } from './testing.js';

const skip = kubernetesSkipReason() ?? false;
if (skip !== false) console.log(`# skipped: ${skip}`);

const ROOT = repoRoot();
const MAIN = join(ROOT, 'dist', 'src', 'apiserver', 'main.js');
const CALICOCTL = join(ROOT, 'dist', 'src', 'cli', 'calicoctl.js');

/** The GlobalNetworkPolicy of examples/starter.yaml, as written there. */
function starterGnp(): string {
  const text = readFileSync(join(ROOT, 'examples', 'starter.yaml'), 'utf8');
  const docs = parseAllDocuments(text);
  const gnp = docs.find((d) => (d.toJS() as { kind?: string }).kind === 'GlobalNetworkPolicy');
  assert.ok(gnp !== undefined, 'examples/starter.yaml has a GlobalNetworkPolicy');
  const [start, , end] = gnp.range;
  return text.slice(start, end);
}

const INVALID = `apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata:
  name: bad-policy
spec:
  selector: all(
  ingress:
    - action: Allw
      protocol: TCP
      destination:
        ports: [70000]
`;

interface Spec {
  readonly metadata: {
    readonly name: string;
    readonly resourceVersion: string;
    readonly uid: string;
    readonly labels?: Readonly<Record<string, string>>;
  };
  readonly spec: unknown;
}

describe(
  'calico-apiserver through kube-apiserver aggregation (real control plane, kubectl)',
  { skip },
  () => {
    let dir = '';
    let cp: KubeControlPlane | undefined;
    let api: RunningApiServer | undefined;
    const kubectl = (args: readonly string[], input?: string) => cp!.kubectl(args, input);
    const ok = (args: readonly string[], input?: string): string => {
      const r = kubectl(args, input);
      assert.equal(r.code, 0, `kubectl ${args.join(' ')}: ${r.stderr}\n${api?.log().slice(-2000) ?? ''}`);
      return r.stdout;
    };

    before(async () => {
      dir = mkdtempSync(join(tmpdir(), 'calts-kapi-'));
      const t0 = performance.now();
      cp = await KubeControlPlane.start({ dir, controllers: false });
      const serving = issueServingCert(cp.pkiDir, dir);
      api = await startApiServer(MAIN, [
        ...['--tls-cert-file', serving.cert, '--tls-private-key-file', serving.key],
        ...['--kubeconfig', cp.record.kubeconfig],
      ]);
      const ca = readFileSync(join(cp.pkiDir, 'ca.crt'), 'utf8');
      for (const obj of aggregationObjects({ port: api.port, caBundlePem: ca })) {
        ok(['apply', '-f', '-'], JSON.stringify(obj));
      }
      await waitFor(
        () => {
          const r = kubectl([
            'get',
            'apiservice',
            'v3.projectcalico.org',
            '-o',
            'jsonpath={.status.conditions[?(@.type=="Available")].status}',
          ]);
          return r.code === 0 && r.stdout.trim() === 'True';
        },
        {
          timeoutMs: 60_000,
          intervalMs: 250,
          what: 'APIService v3.projectcalico.org Available',
          describe: () =>
            kubectl(['get', 'apiservice', 'v3.projectcalico.org', '-o', 'yaml']).stdout +
            api!.log().slice(-1000),
        },
      );
      console.log(
        `# control plane and calico-apiserver available in ${((performance.now() - t0) / 1000).toFixed(1)} s`,
      );
    });

    after(async () => {
      await api?.stop();
      await cp?.stop();
      rmSync(dir, { recursive: true, force: true });
    });

    test('discovery lists every Calico kind with scope and Calico short names', () => {
      const out = ok(['api-resources', '--api-group=projectcalico.org', '--no-headers', '-o', 'wide']);
      const rows = new Map(
        out
          .trim()
          .split('\n')
          .map((l) => l.trim().split(/\s+/))
          .map((cols) => [cols[0]!, cols]),
      );
      assert.equal(rows.size, 21, out);
      const gnp = rows.get('globalnetworkpolicies')!;
      assert.deepEqual(gnp.slice(0, 5), [
        'globalnetworkpolicies',
        'gnp,cgnp,calicoglobalnetworkpolicies',
        'projectcalico.org/v3',
        'false',
        'GlobalNetworkPolicy',
      ]);
      assert.deepEqual(rows.get('networkpolicies')!.slice(0, 5), [
        'networkpolicies',
        'cnp,caliconetworkpolicy,caliconetworkpolicies',
        'projectcalico.org/v3',
        'true',
        'NetworkPolicy',
      ]);
      assert.ok(
        rows.get('tiers')!.join(' ').includes('create,delete,deletecollection,get,list,patch,update,watch'),
        out,
      );
      assert.equal(rows.has('workloadendpoints'), false, 'Calico serves no WorkloadEndpoint');
    });

    test('kubectl explain reads the OpenAPI published through the aggregator (v3 and the merged v2)', async () => {
      const explain = (path: string) => kubectl(['explain', path]);
      await waitFor(() => explain('gnp.spec').code === 0, {
        timeoutMs: 60_000,
        intervalMs: 500,
        what: 'kubectl explain gnp.spec',
        describe: () => explain('gnp.spec').stderr + api!.log().slice(-1000),
      });
      const spec = ok(['explain', 'gnp.spec']);
      assert.match(spec, /GROUP:\s+projectcalico\.org/, spec);
      for (const field of [
        'applyOnForward',
        'doNotTrack',
        'egress',
        'ingress',
        'namespaceSelector',
        'order',
      ]) {
        assert.match(spec, new RegExp(`^\\s+${field}\\s+<`, 'm'), `${field} in:\n${spec}`);
      }
      const ingress = ok(['explain', 'globalnetworkpolicies.spec.ingress']);
      assert.match(ingress, /FIELD:\s+ingress <\[\]Object>/, ingress);
      for (const field of [
        'action',
        'destination',
        'http',
        'icmp',
        'ipVersion',
        'notProtocol',
        'protocol',
        'source',
      ]) {
        assert.match(ingress, new RegExp(`^\\s+${field}\\s+<`, 'm'), `${field} in:\n${ingress}`);
      }
      assert.match(ingress, /action\s+<string> -required-/, ingress);
      assert.match(ingress, /enum: Allow, Deny, Log, Pass/, ingress);
      const cidr = ok(['explain', 'ippools.spec.cidr']);
      assert.match(cidr, /FIELD:\s+cidr <string>/, cidr);
      const ports = ok(['explain', 'gnp.spec.ingress.destination.ports']);
      // IntOrString, published as Kubernetes publishes it (a string with format int-or-string).
      assert.match(ports, /FIELD:\s+ports <\[\]string>\n[^]*A number or a string/, ports);
      // The merged /openapi/v2 (too big to read whole here) through explain's v2 renderer.
      const v2 = ok(['explain', 'gnp.spec.ingress', '--output=plaintext-openapiv2']);
      assert.match(v2, /RESOURCE:\s+ingress <\[\]Object>/, v2);
      assert.match(v2, /^\s+destination\s+<Object>/m, v2);
    });

    test('kubectl apply -f of the starter GlobalNetworkPolicy, get, and the custom resource behind it', () => {
      const doc = starterGnp();
      assert.match(doc, /apiVersion: projectcalico\.org\/v3/);
      assert.equal(
        ok(['apply', '-f', '-'], doc).trim(),
        'globalnetworkpolicy.projectcalico.org/allow-dns created',
      );
      const table = ok(['get', 'globalnetworkpolicies']);
      assert.match(table, /^NAME\s+CREATED AT\nallow-dns\s+\d{4}-/);
      assert.match(ok(['get', 'gnp', '-o', 'wide']), /^NAME\s+CREATED AT\nallow-dns\s+\d{4}-/);
      // kubectl get -w asks for a Table watch: the header and the row, until `timeout` ends it.
      const tableWatch = spawnSync(
        'timeout',
        [
          '3',
          requireKubeBinaries().path('kubectl'),
          '--kubeconfig',
          cp!.record.kubeconfig,
          'get',
          'gnp',
          '-w',
        ],
        { encoding: 'utf8' },
      );
      assert.match(tableWatch.stdout, /^NAME\s+CREATED AT\nallow-dns\s+\d{4}-/, tableWatch.stderr);
      const viaShort = ok(['get', 'gnp', '-o', 'name']);
      assert.equal(viaShort.trim(), 'globalnetworkpolicy.projectcalico.org/allow-dns');
      const got = JSON.parse(ok(['get', 'gnp', 'allow-dns', '-o', 'json'])) as Spec;
      assert.deepEqual((got.spec as { selector: string }).selector, 'all()');
      const cr = JSON.parse(
        ok(['get', 'globalnetworkpolicies.crd.projectcalico.org', 'allow-dns', '-o', 'json']),
      ) as Spec;
      assert.deepEqual((cr.spec as { types: string[] }).types, ['Ingress', 'Egress']);
      assert.equal(cr.metadata.resourceVersion, got.metadata.resourceVersion);
      assert.notEqual(cr.metadata.uid, got.metadata.uid, 'the v3 uid is the custom resource uid translated');
    });

    test('kubectl get gnp -o yaml | kubectl apply -f - changes nothing', () => {
      const before = JSON.parse(ok(['get', 'gnp', 'allow-dns', '-o', 'json'])) as Spec;
      const yaml = ok(['get', 'gnp', 'allow-dns', '-o', 'yaml']);
      const applied = ok(['apply', '-f', '-'], yaml).trim();
      console.log(`# round trip: ${applied}`);
      const after1 = JSON.parse(ok(['get', 'gnp', 'allow-dns', '-o', 'json'])) as Spec;
      assert.deepEqual(after1.spec, before.spec);
      // The second round trip finds its own last-applied configuration: nothing is written.
      const again = ok(['apply', '-f', '-'], ok(['get', 'gnp', 'allow-dns', '-o', 'yaml'])).trim();
      const after2 = JSON.parse(ok(['get', 'gnp', 'allow-dns', '-o', 'json'])) as Spec;
      assert.deepEqual(after2.spec, before.spec);
      console.log(`# second round trip: ${again}`);
    });

    test("an invalid document is refused with calicoctl validate's field messages; nothing is stored", () => {
      const v = spawnSync(process.execPath, [CALICOCTL, 'validate', '-f', '-'], {
        input: INVALID,
        encoding: 'utf8',
      });
      assert.equal(v.status, 1, v.stderr);
      const expected = v.stderr
        .split('\n')
        .filter((l) => l.includes('(GlobalNetworkPolicy bad-policy): '))
        .map((l) => l.slice(l.indexOf('): ') + 3));
      assert.ok(expected.length >= 2, v.stderr);
      const r = kubectl(['apply', '-f', '-'], INVALID);
      assert.notEqual(r.code, 0);
      assert.match(r.stderr, /The GlobalNetworkPolicy "bad-policy" is invalid: \n\* spec\./);
      for (const line of expected) assert.ok(r.stderr.includes(line), `${line}\nnot in\n${r.stderr}`);
      const get = kubectl(['get', 'gnp', 'bad-policy']);
      assert.match(get.stderr, /NotFound/);
      const cr = kubectl(['get', 'globalnetworkpolicies.crd.projectcalico.org', 'bad-policy']);
      assert.match(cr.stderr, /NotFound/);
      // The same through a raw create shows the causes with their fields.
      const raw = kubectl(
        ['create', '--raw', '/apis/projectcalico.org/v3/globalnetworkpolicies', '-f', '-'],
        JSON.stringify(parseAllDocuments(INVALID)[0]!.toJS()),
      );
      assert.notEqual(raw.code, 0);
      console.log(`# create --raw: ${raw.stderr.trim()}`);
      assert.match(raw.stderr, /spec\.selector/);
    });

    test('a stale resourceVersion is refused with 409 Conflict', () => {
      const current = JSON.parse(ok(['get', 'gnp', 'allow-dns', '-o', 'json'])) as Spec & {
        metadata: { labels?: Record<string, string> };
      };
      ok(['label', 'gnp', 'allow-dns', 'team=net']);
      const stale = { ...current, metadata: { ...current.metadata, labels: { team: 'other' } } };
      const r = kubectl(['replace', '-f', '-'], JSON.stringify(stale));
      assert.notEqual(r.code, 0);
      assert.match(r.stderr, /Error from server \(Conflict\).*the object has been modified/);
      assert.equal(ok(['get', 'gnp', 'allow-dns', '-o', 'jsonpath={.metadata.labels.team}']), 'net');
    });

    test('knp.default.* NetworkPolicies cannot be written', () => {
      const np = {
        apiVersion: 'projectcalico.org/v3',
        kind: 'NetworkPolicy',
        metadata: { name: 'knp.default.x', namespace: 'default' },
        spec: { selector: 'all()' },
      };
      const r = kubectl(['create', '-f', '-'], JSON.stringify(np));
      assert.notEqual(r.code, 0);
      assert.match(r.stderr, /kubernetes network policies must be managed through the kubernetes API/);
    });

    test('a user without RBAC rights is refused through SubjectAccessReview', () => {
      const r = kubectl(['get', 'gnp', '--as', 'mallory']);
      assert.notEqual(r.code, 0);
      assert.match(
        r.stderr,
        /Forbidden.*User "mallory" cannot list resource "globalnetworkpolicies" in API group "projectcalico.org"/,
      );
    });

    test("tiers: a policy needs its tier, a non-empty tier stays, Calico's tier RBAC is asked", async () => {
      const policy = (tier: string, name: string): string =>
        JSON.stringify({
          apiVersion: CALICO_API_VERSION,
          kind: 'GlobalNetworkPolicy',
          metadata: { name },
          spec: { tier, selector: 'all()' },
        });
      const missing = kubectl(['create', '-f', '-'], policy('sec', 'sec-p'));
      assert.match(missing.stderr, /NotFound.*globalnetworkpolicies\.projectcalico\.org "sec-p" not found/);
      assert.match(kubectl(['get', 'gnp', 'sec-p']).stderr, /NotFound/);
      const tier = {
        apiVersion: CALICO_API_VERSION,
        kind: 'Tier',
        metadata: { name: 'sec' },
        spec: { order: 100 },
      };
      ok(['create', '-f', '-'], JSON.stringify(tier));
      ok(['create', '-f', '-'], policy('sec', 'sec-p'));
      assert.match(
        kubectl(['delete', 'tier', 'sec']).stderr,
        /operation delete is not supported on sec: Cannot delete a non-empty tier/,
      );
      assert.match(
        kubectl(['delete', 'tier', 'default']).stderr,
        /operation Delete is not supported on default: Cannot delete default tier/,
      );
      // carol may do anything to GlobalNetworkPolicies, but has no tier rights.
      const rbac = (name: string, rules: unknown[]): string =>
        JSON.stringify({
          apiVersion: 'v1',
          kind: 'List',
          items: [
            { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', metadata: { name }, rules },
            {
              apiVersion: 'rbac.authorization.k8s.io/v1',
              kind: 'ClusterRoleBinding',
              metadata: { name },
              roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name },
              subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: 'carol' }],
            },
          ],
        });
      ok(
        ['apply', '-f', '-'],
        rbac('carol-gnp', [
          { apiGroups: ['projectcalico.org'], resources: ['globalnetworkpolicies'], verbs: ['*'] },
        ]),
      );
      let last = '';
      await waitFor(
        () => {
          last = kubectl(['get', 'gnp', 'sec-p', '--as', 'carol']).stderr;
          return /in tier/.test(last);
        },
        { timeoutMs: 30_000, intervalMs: 500, what: 'the tier check refusing carol', describe: () => last },
      );
      assert.match(
        last,
        /Forbidden.*globalnetworkpolicies\.projectcalico\.org "sec-p" is forbidden: User "carol" cannot get globalnetworkpolicies\.projectcalico\.org in tier "sec" \(user cannot get tier\)/,
      );
      ok(
        ['apply', '-f', '-'],
        rbac('carol-tier-sec', [
          { apiGroups: ['projectcalico.org'], resources: ['tiers'], resourceNames: ['sec'], verbs: ['get'] },
          {
            apiGroups: ['projectcalico.org'],
            resources: ['tier.globalnetworkpolicies'],
            resourceNames: ['sec.*'],
            verbs: ['*'],
          },
        ]),
      );
      await waitFor(() => kubectl(['get', 'gnp', 'sec-p', '--as', 'carol']).code === 0, {
        timeoutMs: 30_000,
        intervalMs: 500,
        what: 'carol reading sec-p with tier rights',
      });
      // Not the default tier: its policies stay refused.
      ok(['create', '-f', '-'], policy('default', 'dflt-p'));
      assert.match(
        kubectl(['get', 'gnp', 'dflt-p', '--as', 'carol']).stderr,
        /User "carol" cannot get globalnetworkpolicies\.projectcalico\.org in tier "default" \(user cannot get tier\)/,
      );
      ok(['delete', 'gnp', 'sec-p', 'dflt-p']);
      ok(['delete', 'tier', 'sec']);
    });

    test('watch sees a creation and a deletion; delete removes the custom resource', async () => {
      const path = requireKubeBinaries().path('kubectl');
      const w = spawn(
        path,
        [
          '--kubeconfig',
          cp!.record.kubeconfig,
          'get',
          'gnp',
          '--watch',
          '--output-watch-events',
          '-o',
          'json',
        ],
        { stdio: ['ignore', 'pipe', 'pipe'] },
      );
      let out = '';
      let err = '';
      w.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
      w.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
      try {
        await waitFor(() => out.includes('"allow-dns"'), {
          timeoutMs: 20_000,
          what: 'the initial ADDED event',
          describe: () => out + err,
        });
        const second = {
          apiVersion: 'projectcalico.org/v3',
          kind: 'GlobalNetworkPolicy',
          metadata: { name: 'watched' },
          spec: { selector: 'all()', types: ['Ingress'] },
        };
        ok(['create', '-f', '-'], JSON.stringify(second));
        await waitFor(() => /"type": ?"ADDED"[^\n]*"name": ?"watched"/.test(out), {
          timeoutMs: 20_000,
          what: 'ADDED watched',
          describe: () => out + err,
        });
        assert.equal(
          ok(['delete', 'gnp', 'watched']).trim(),
          'globalnetworkpolicy.projectcalico.org "watched" deleted',
        );
        await waitFor(() => /"type": ?"DELETED"[^\n]*"name": ?"watched"/.test(out), {
          timeoutMs: 20_000,
          what: 'DELETED watched',
          describe: () => out + err,
        });
      } finally {
        w.kill('SIGTERM');
      }
      assert.match(kubectl(['get', 'gnp', 'watched']).stderr, /NotFound/);
      assert.match(
        kubectl(['get', 'globalnetworkpolicies.crd.projectcalico.org', 'watched']).stderr,
        /NotFound/,
      );
      assert.equal(
        ok(['delete', 'gnp', 'allow-dns']).trim(),
        'globalnetworkpolicy.projectcalico.org "allow-dns" deleted',
      );
      assert.equal(ok(['get', 'gnp', '-o', 'name']).trim(), '');
    });

    test('kubectl apply --server-side: creates, updates, removes dropped fields, refuses and forces conflicts', () => {
      const doc = (selector: string, order?: number): string =>
        [
          'apiVersion: projectcalico.org/v3',
          'kind: GlobalNetworkPolicy',
          'metadata:',
          '  name: ssa',
          'spec:',
          `  selector: ${JSON.stringify(selector)}`,
          ...(order === undefined ? [] : [`  order: ${order}`]),
          '  types: [Ingress]',
          '  ingress:',
          '    - action: Allow',
          '',
        ].join('\n');
      interface Managed {
        readonly metadata: {
          readonly managedFields?: readonly { manager: string; operation: string; fieldsV1: unknown }[];
        };
        readonly spec: { readonly selector: string; readonly order?: number };
      }
      const live = (): Managed =>
        JSON.parse(ok(['get', 'gnp', 'ssa', '-o', 'json', '--show-managed-fields'])) as Managed;
      const ssa = ['apply', '--server-side', '-f', '-'];
      assert.equal(
        ok(ssa, doc('all()', 100)).trim(),
        'globalnetworkpolicy.projectcalico.org/ssa serverside-applied',
      );
      let got = live();
      assert.equal(got.spec.order, 100);
      assert.deepEqual(
        got.metadata.managedFields?.map((e) => [e.manager, e.operation, e.fieldsV1]),
        [
          [
            'kubectl',
            'Apply',
            { 'f:spec': { 'f:ingress': {}, 'f:order': {}, 'f:selector': {}, 'f:types': {} } },
          ],
        ],
      );
      // Applying without `order` removes it: only this manager owned it.
      ok(ssa, doc('all()'));
      got = live();
      assert.equal(got.spec.order, undefined);
      // dryRun=All answers without storing.
      ok([...ssa, '--dry-run=server'], doc('all()', 7));
      assert.equal(live().spec.order, undefined);
      // Client-side apply changes the selector: kubectl-client-side-apply owns it now.
      ok(['apply', '-f', '-'], doc('role == "db"'));
      const refused = kubectl(ssa, doc('all()'));
      assert.notEqual(refused.code, 0);
      assert.match(
        refused.stderr,
        /Apply failed with 1 conflict: conflict with "kubectl-client-side-apply" using projectcalico\.org\/v3 at \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ: \.spec\.selector/,
      );
      assert.equal(live().spec.selector, 'role == "db"', 'nothing stored on a conflict');
      ok([...ssa, '--force-conflicts'], doc('all()'));
      got = live();
      assert.equal(got.spec.selector, 'all()');
      const csa = got.metadata.managedFields?.find((e) => e.manager === 'kubectl-client-side-apply');
      assert.ok(
        csa === undefined || !JSON.stringify(csa.fieldsV1).includes('f:selector'),
        JSON.stringify(csa),
      );
      // A second applier sharing a field with an equal value is no conflict.
      ok([...ssa, '--field-manager=ci'], doc('all()'));
      ok(['delete', 'gnp', 'ssa']);
    });

    test('every served kind is created, listed, round-tripped (get -o yaml | apply), watched and deleted', () => {
      const kinds = servedResources().filter((r) => r.kind !== 'Profile');
      const unsupported: string[] = [];
      for (const r of kinds) {
        const obj = sample(r.kind, r.namespaced, r.namespaced ? { namespace: 'default' } : {});
        if (codecFor(CALICO_API_VERSION, r.kind) === undefined) {
          // No decoder in calico-ts yet: every write is refused (422), nothing stored; reads still work.
          const refused = kubectl(['create', '-f', '-'], JSON.stringify(obj));
          assert.match(refused.stderr, new RegExp(`kind "${r.kind}" is not supported yet`), refused.stderr);
          const none = kubectl(['get', `${r.plural}.projectcalico.org`, obj.metadata.name]);
          assert.match(none.stderr, /NotFound/, r.kind);
          unsupported.push(r.kind);
          continue;
        }
        const ns = r.namespaced ? ['-n', 'default'] : [];
        // Qualified: `networkpolicies` alone is networking.k8s.io's.
        const res = `${r.plural}.projectcalico.org`;
        const name = obj.metadata.name;
        const path = `/apis/projectcalico.org/v3/${r.namespaced ? 'namespaces/default/' : ''}${r.plural}`;
        // kubectl get -o json prints a v1 List without a resourceVersion: the raw list has it.
        const start = JSON.parse(ok(['get', '--raw', path])) as { metadata: { resourceVersion: string } };
        const singular = `${r.singular}.projectcalico.org`;
        assert.equal(ok(['create', '-f', '-'], JSON.stringify(obj)).trim(), `${singular}/${name} created`);
        const listed = ok(['get', res, ...ns, '-o', 'name']);
        assert.ok(listed.split('\n').includes(`${singular}/${name}`), `${res}: ${listed}`);
        const before = JSON.parse(ok(['get', res, name, ...ns, '-o', 'json'])) as Spec;
        ok(['apply', '-f', '-'], ok(['get', res, name, ...ns, '-o', 'yaml']));
        const after1 = JSON.parse(ok(['get', res, name, ...ns, '-o', 'json'])) as Spec;
        assert.deepEqual(after1.spec, before.spec, r.kind);
        assert.deepEqual(after1.metadata.labels, before.metadata.labels, r.kind);
        ok(['apply', '--server-side', '-f', '-'], ok(['get', res, name, ...ns, '-o', 'yaml']));
        const after2 = JSON.parse(ok(['get', res, name, ...ns, '-o', 'json'])) as Spec;
        assert.deepEqual(after2.spec, before.spec, `${r.kind} after apply --server-side`);
        assert.deepEqual(after2.metadata.labels, before.metadata.labels, r.kind);
        assert.equal(after2.metadata.uid, before.metadata.uid, r.kind);
        ok(['delete', res, name, ...ns]);
        const rawEvents = kubectl([
          'get',
          '--raw',
          `${path}?watch=1&resourceVersion=${start.metadata.resourceVersion}&timeoutSeconds=2`,
        ]);
        assert.equal(rawEvents.code, 0, rawEvents.stderr);
        const events = rawEvents.stdout
          .split('\n')
          .filter((l) => l.trim() !== '')
          .map((l) => JSON.parse(l) as { type: string; object: Spec })
          .filter((e) => e.object.metadata.name === name)
          .map((e) => e.type);
        assert.equal(events[0], 'ADDED', `${r.kind}: ${rawEvents.stdout} ${rawEvents.stderr}`);
        assert.equal(events.at(-1), 'DELETED', `${r.kind}: ${events.join(',')}`);
      }
      console.log(
        `# ${kinds.length - unsupported.length} kinds round-tripped through kubectl; writes refused (no decoder yet): ${unsupported.join(', ')}`,
      );
      assert.deepEqual(unsupported, []);
    });
  },
);
