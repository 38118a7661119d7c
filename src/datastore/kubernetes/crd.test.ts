import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { decodeResource } from '../../api/decode.js';
import { kindInfo } from '../../api/kinds.js';
import type { ObjectMeta } from '../../api/meta.js';
import { cidrToName } from '../../ipam/names.js';
import { ValidationError } from '../../lib/errors.js';
import type { Resource } from '../api.js';
import { type CustomResource, fromCustomResource, METADATA_ANNOTATION, toCustomResource } from './crd.js';
import { crdKinds } from './kinds.js';
import { sample } from './testing.js';

const labelKey = fc.oneof(
  fc.constantFrom(
    'app',
    'tier',
    'projectcalico.org/tier',
    'projectcalico.org/hostname-hash',
    'example.com/role',
  ),
  fc.stringMatching(/^[a-z][a-z0-9]{0,8}$/),
);
const labelValue = fc.stringMatching(/^[a-z0-9]{0,10}$/);
const stringMap = fc.dictionary(labelKey, labelValue, { maxKeys: 4, noNullPrototype: true });
const rfc3339 = fc
  .date({ min: new Date('2020-01-01T00:00:00Z'), max: new Date('2030-01-01T00:00:00Z'), noInvalidDate: true })
  .map((d) => d.toISOString().replace(/\.\d{3}Z$/, 'Z'));

const metadataArb: fc.Arbitrary<Partial<ObjectMeta>> = fc.record(
  {
    uid: fc.uuid({ version: 4 }),
    resourceVersion: fc.integer({ min: 1, max: 2 ** 40 }).map(String),
    creationTimestamp: rfc3339,
    generation: fc.integer({ min: 1, max: 100 }),
    labels: stringMap,
    annotations: stringMap,
    finalizers: fc.constant(['projectcalico.org/tier-controller']),
    ownerReferences: fc.uuid({ version: 4 }).map((uid) => [
      { apiVersion: 'projectcalico.org/v3', kind: 'NetworkSet', name: 'owner-set', uid },
      { apiVersion: 'v1', kind: 'Pod', name: 'owner-pod', uid },
    ]),
  },
  { requiredKeys: [] },
);

/** Drops empty label/annotation maps, which the custom resource does not keep (Go's omitempty). */
function normalised(obj: Resource): Resource {
  const m: ObjectMeta = { ...obj.metadata };
  if (m.labels !== undefined && Object.keys(m.labels).length === 0) delete m.labels;
  if (m.annotations !== undefined && Object.keys(m.annotations).length === 0) delete m.annotations;
  return { ...obj, metadata: m };
}

describe('v3 <-> crd.projectcalico.org/v1 round trip', () => {
  for (const { kind, crd } of crdKinds()) {
    const namespaced = kindInfo(kind)?.namespaced === true;
    it(`${kind}: v3 -> ${crd.kind} -> v3 gives the resource back`, () => {
      fc.assert(
        fc.property(metadataArb, (meta) => {
          const obj = sample(kind, namespaced, meta);
          const cr = toCustomResource(obj);
          assert.equal(cr.apiVersion, 'crd.projectcalico.org/v1');
          assert.equal(cr.kind, crd.kind);
          assert.equal(cr.metadata.namespace, obj.metadata.namespace);
          assert.equal(cr.metadata.resourceVersion, obj.metadata.resourceVersion);
          for (const k of Object.keys(cr.metadata.labels ?? {})) assert.match(k, /projectcalico\.org\//);
          if (meta.uid !== undefined) assert.notEqual(cr.metadata.uid, meta.uid);
          assert.deepEqual(
            fromCustomResource(JSON.parse(JSON.stringify(cr)) as CustomResource),
            normalised(obj),
          );
        }),
        { numRuns: 50 },
      );
    });
  }

  it('round-trips into resources that still decode as their kind', () => {
    for (const { kind } of crdKinds()) {
      if (kind === 'KubeControllersConfiguration' || kind === 'ClusterInformation') continue; // no codec yet
      const obj = sample(kind, kindInfo(kind)?.namespaced === true);
      assert.ok(decodeResource(obj).ok, `${kind} sample decodes`);
      const back = fromCustomResource(toCustomResource(obj));
      const decoded = decodeResource(back);
      assert.ok(decoded.ok, `${kind}: ${JSON.stringify(decoded)}`);
    }
  });
});

describe('the custom resource Calico writes', () => {
  it('keeps the name and only Calico labels on a GlobalNetworkPolicy, the rest in projectcalico.org/metadata', () => {
    const gnp = sample('GlobalNetworkPolicy', false, {
      uid: '30316465-6365-4463-ad63-3564622d3638',
      resourceVersion: '812',
      creationTimestamp: '2026-12-07T05:00:00Z',
      labels: { 'projectcalico.org/tier': 'default', team: 'net' },
      annotations: { note: 'dns' },
    });
    assert.deepEqual(toCustomResource(gnp), {
      apiVersion: 'crd.projectcalico.org/v1',
      kind: 'GlobalNetworkPolicy',
      metadata: {
        name: 'allow-dns',
        resourceVersion: '812',
        // libcalico-go/lib/backend/k8s/conversion/conversion_test.go ("Test UID conversion").
        uid: '0c8c26a6-c6a6-44c6-adc6-ac2646b46c1c',
        labels: { 'projectcalico.org/tier': 'default' },
        annotations: {
          [METADATA_ANNOTATION]:
            '{"name":"allow-dns","creationTimestamp":"2026-12-07T05:00:00Z","labels":{"projectcalico.org/tier":"default","team":"net"},"annotations":{"note":"dns"}}',
        },
      },
      spec: (gnp as Resource & { spec: unknown }).spec,
    });
  });

  it('stores no name in the annotation for kinds other than the four policy kinds', () => {
    for (const kind of ['Tier', 'StagedKubernetesNetworkPolicy', 'IPPool']) {
      const cr = toCustomResource(sample(kind, kind === 'StagedKubernetesNetworkPolicy'));
      assert.equal(cr.metadata.annotations?.[METADATA_ANNOTATION], '{}', kind);
    }
  });

  it('translates Calico owner references and leaves others alone (client_test.go owner references)', () => {
    const owner = '30316465-6365-4463-ad63-3564622d3638';
    const obj = sample('NetworkPolicy', true, {
      ownerReferences: [
        { apiVersion: 'v1', kind: 'Pod', name: 'p', uid: owner },
        { apiVersion: 'projectcalico.org/v3', kind: 'NetworkSet', name: 's', uid: owner },
      ],
    });
    const meta = JSON.parse(
      toCustomResource(obj).metadata.annotations?.[METADATA_ANNOTATION] ?? '',
    ) as ObjectMeta;
    assert.deepEqual(meta.ownerReferences, [
      { apiVersion: 'v1', kind: 'Pod', name: 'p', uid: owner },
      {
        apiVersion: 'crd.projectcalico.org/v1',
        kind: 'NetworkSet',
        name: 's',
        uid: '0c8c26a6-c6a6-44c6-adc6-ac2646b46c1c',
      },
    ]);
  });

  it('names IPAM objects as Calico does: blocks by CIDR, handles by the lower-cased handle ID', () => {
    // libcalico-go/lib/names/cidr.go CIDRToName; resources/ipam_handle.go parseKey lower-cases the handle ID.
    const block = sample('IPAMBlock', false, { name: cidrToName('10.244.0.0/26') });
    assert.equal(toCustomResource(block).metadata.name, '10-244-0-0-26');
    const handle = sample('IPAMHandle', false);
    const cr = toCustomResource(handle);
    assert.equal(cr.metadata.name, 'k8s-pod-network.0a1b2c');
    assert.equal(fromCustomResource(cr).metadata.name, 'k8s-pod-network.0A1B2C');
  });

  it("writes the v1 field shapes: BlockAffinity's deleted as a string, IPAMBlock's alternateOwnerAttrs", () => {
    const aff = toCustomResource(sample('BlockAffinity', false)).spec as Record<string, unknown>;
    assert.equal(aff.deleted, 'false');
    const blk = toCustomResource(sample('IPAMBlock', false)).spec as {
      attributes: Record<string, unknown>[];
    };
    const attr = blk.attributes[1];
    assert.ok(attr !== undefined);
    assert.deepEqual(attr.alternateOwnerAttrs, { pod: 'web-0' });
    assert.ok(!Object.hasOwn(attr, 'alternate'));
    const cfg = toCustomResource(sample('IPAMConfiguration', false));
    assert.equal(cfg.kind, 'IPAMConfig');
  });

  it('carries status both ways (CalicoNodeStatus, KubeControllersConfiguration)', () => {
    for (const kind of ['CalicoNodeStatus', 'KubeControllersConfiguration']) {
      const status = { lastUpdated: '2026-12-07T05:00:00Z', agent: { birdV4: { state: 'Ready' } } };
      const obj = { ...sample(kind, false), status } as Resource;
      const cr = toCustomResource(obj);
      assert.deepEqual(cr.status, status);
      assert.deepEqual(fromCustomResource(cr), obj);
    }
  });

  it('refuses a kind that is not stored as a custom resource', () => {
    const profile = {
      apiVersion: 'projectcalico.org/v3',
      kind: 'Profile',
      metadata: { name: 'p' },
      spec: {},
    };
    assert.throws(() => toCustomResource(profile), ValidationError);
    const knp = {
      apiVersion: 'networking.k8s.io/v1',
      kind: 'NetworkPolicy',
      metadata: { name: 'x', namespace: 'n' },
    };
    assert.throws(() => toCustomResource(knp), /KubernetesNetworkPolicy/);
  });
});

describe('reading custom resources others wrote', () => {
  const cr = (kind: string, metadata: ObjectMeta, spec: unknown): CustomResource => ({
    apiVersion: 'crd.projectcalico.org/v1',
    kind,
    metadata,
    spec,
  });

  it('strips the default. prefix of pre-v3.30 policies in the default tier (model/keys.go determinePolicyName)', () => {
    // libcalico-go/lib/backend/k8s/client_test.go creates "default.my-test-gnp".
    const old = { name: 'default.my-test-gnp', annotations: { [METADATA_ANNOTATION]: '{}' } };
    assert.equal(
      fromCustomResource(cr('GlobalNetworkPolicy', old, { tier: 'default' })).metadata.name,
      'my-test-gnp',
    );
    assert.equal(fromCustomResource(cr('GlobalNetworkPolicy', old, {})).metadata.name, 'my-test-gnp');
    assert.equal(
      fromCustomResource(cr('GlobalNetworkPolicy', old, { tier: 'security' })).metadata.name,
      'default.my-test-gnp',
    );
    const named = { name: 'default.x', annotations: { [METADATA_ANNOTATION]: '{"name":"default.x"}' } };
    assert.equal(fromCustomResource(cr('NetworkPolicy', named, {})).metadata.name, 'default.x');
  });

  it('keeps the metadata of a custom resource without the annotation (applied with kubectl), uid translated', () => {
    const meta = {
      name: 'kubectl-made',
      uid: '30316465-6365-4463-ad63-3564622d3638',
      generation: 1,
      labels: { app: 'x' },
    };
    const back = fromCustomResource(cr('GlobalNetworkSet', meta, { nets: ['10.0.0.0/8'] }));
    assert.deepEqual(back, {
      apiVersion: 'projectcalico.org/v3',
      kind: 'GlobalNetworkSet',
      metadata: { ...meta, uid: '0c8c26a6-c6a6-44c6-adc6-ac2646b46c1c' },
      spec: { nets: ['10.0.0.0/8'] },
    });
  });

  it('merges labels and annotations over the custom resource and drops its server fields', () => {
    const meta = {
      name: 'n',
      creationTimestamp: '2026-01-01T00:00:00Z',
      generation: 4,
      labels: { 'projectcalico.org/a': '1' },
      annotations: { 'projectcalico.org/b': '2', [METADATA_ANNOTATION]: '{"labels":{"c":"3"}}' },
    };
    assert.deepEqual(fromCustomResource(cr('Tier', meta, {})).metadata, {
      name: 'n',
      creationTimestamp: '2026-01-01T00:00:00Z',
      labels: { 'projectcalico.org/a': '1', c: '3' },
      annotations: { 'projectcalico.org/b': '2' },
    });
  });

  it('reads BlockAffinity deleted "true" as true and anything else as false', () => {
    const spec = (d: unknown) => ({ state: 'confirmed', node: 'n', cidr: '10.0.0.0/26', deleted: d });
    const read = (d: unknown) =>
      (
        fromCustomResource(cr('BlockAffinity', { name: 'a' }, spec(d))) as Resource & {
          spec: { deleted: boolean };
        }
      ).spec.deleted;
    assert.deepEqual([read('true'), read('false'), read(''), read(undefined)], [true, false, false, false]);
  });

  it('rejects what is not one of Calico custom resources, naming the field', () => {
    const bad = (c: unknown, path: string): void => {
      assert.throws(
        () => fromCustomResource(c as CustomResource),
        (e: unknown) => e instanceof ValidationError && e.issues[0]?.path === path,
      );
    };
    bad({ ...cr('Tier', { name: 't' }, {}), apiVersion: 'projectcalico.org/v3' }, 'apiVersion');
    bad(cr('Profile', { name: 't' }, {}), 'kind');
    bad(cr('Tier', { name: '' }, {}), 'metadata.name');
    bad({ apiVersion: 'crd.projectcalico.org/v1', kind: 'Tier' }, 'metadata.name');
    bad(
      cr('Tier', { name: 't', annotations: { [METADATA_ANNOTATION]: '{not json' } }, {}),
      `metadata.annotations["${METADATA_ANNOTATION}"]`,
    );
    bad(
      cr('Tier', { name: 't', annotations: { [METADATA_ANNOTATION]: '[]' } }, {}),
      `metadata.annotations["${METADATA_ANNOTATION}"]`,
    );
    bad(cr('Tier', { name: 't', uid: 'nope' }, {}), 'metadata.uid');
  });
});
