import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { allKinds, kindInfo } from '../../api/kinds.js';
import { calicoCrds, crdObjectName } from './crd-definitions.js';
import { CRD_GROUP, crdKinds, kddPlacement, kindOfCrd, refusalMessage, writeRefusal } from './kinds.js';

/**
 * Calico v3.32.1's 22 `crd.projectcalico.org` CRDs as its manifest declares them (libcalico-go/config/crd/
 * crd.projectcalico.org_*.yaml, also manifests/calico.yaml): name, kind, scope, status subresource. None has
 * short names.
 */
const CALICO_CRDS: readonly [string, string, 'Cluster' | 'Namespaced', boolean][] = [
  ['bgpconfigurations.crd.projectcalico.org', 'BGPConfiguration', 'Cluster', false],
  ['bgpfilters.crd.projectcalico.org', 'BGPFilter', 'Cluster', false],
  ['bgppeers.crd.projectcalico.org', 'BGPPeer', 'Cluster', false],
  ['blockaffinities.crd.projectcalico.org', 'BlockAffinity', 'Cluster', false],
  ['caliconodestatuses.crd.projectcalico.org', 'CalicoNodeStatus', 'Cluster', false],
  ['clusterinformations.crd.projectcalico.org', 'ClusterInformation', 'Cluster', false],
  ['felixconfigurations.crd.projectcalico.org', 'FelixConfiguration', 'Cluster', false],
  ['globalnetworkpolicies.crd.projectcalico.org', 'GlobalNetworkPolicy', 'Cluster', false],
  ['globalnetworksets.crd.projectcalico.org', 'GlobalNetworkSet', 'Cluster', false],
  ['hostendpoints.crd.projectcalico.org', 'HostEndpoint', 'Cluster', false],
  ['ipamblocks.crd.projectcalico.org', 'IPAMBlock', 'Cluster', false],
  ['ipamconfigs.crd.projectcalico.org', 'IPAMConfig', 'Cluster', false],
  ['ipamhandles.crd.projectcalico.org', 'IPAMHandle', 'Cluster', false],
  ['ippools.crd.projectcalico.org', 'IPPool', 'Cluster', false],
  ['ipreservations.crd.projectcalico.org', 'IPReservation', 'Cluster', false],
  ['kubecontrollersconfigurations.crd.projectcalico.org', 'KubeControllersConfiguration', 'Cluster', true],
  ['networkpolicies.crd.projectcalico.org', 'NetworkPolicy', 'Namespaced', false],
  ['networksets.crd.projectcalico.org', 'NetworkSet', 'Namespaced', false],
  ['stagedglobalnetworkpolicies.crd.projectcalico.org', 'StagedGlobalNetworkPolicy', 'Cluster', false],
  [
    'stagedkubernetesnetworkpolicies.crd.projectcalico.org',
    'StagedKubernetesNetworkPolicy',
    'Namespaced',
    false,
  ],
  ['stagednetworkpolicies.crd.projectcalico.org', 'StagedNetworkPolicy', 'Namespaced', false],
  ['tiers.crd.projectcalico.org', 'Tier', 'Cluster', false],
];

describe('KDD placement table', () => {
  it('places every calico-ts kind', () => {
    const missing = allKinds()
      .map((k) => k.kind)
      .filter((k) => kddPlacement(k) === undefined);
    assert.deepEqual(missing, []);
    assert.equal(kddPlacement('NoSuchKind'), undefined);
    assert.equal(kddPlacement('constructor'), undefined);
  });

  it("stores exactly Calico's CRDs, with Calico's names and scopes", () => {
    const ours = crdKinds()
      .map(({ crd }) => [`${crd.plural}.${CRD_GROUP}`, crd.kind, crd.scope, crd.statusSubresource])
      .sort((a, b) => String(a[0]).localeCompare(String(b[0])));
    assert.deepEqual(ours, CALICO_CRDS);
    for (const { crd } of crdKinds()) {
      assert.equal(crd.listKind, `${crd.kind}List`);
      assert.equal(crd.singular, crd.kind.toLowerCase());
      assert.deepEqual(crd.shortNames, []);
    }
  });

  it('scopes each CRD as the kind table does, and keeps its plural except IPAMConfiguration', () => {
    for (const { kind, crd } of crdKinds()) {
      const info = kindInfo(kind);
      assert.ok(info !== undefined, kind);
      assert.equal(crd.scope === 'Namespaced', info.namespaced, kind);
      if (kind === 'IPAMConfiguration') assert.equal(crd.plural, 'ipamconfigs');
      else assert.equal(crd.plural, info.plural, kind);
    }
  });

  it('maps a custom resource kind back to the calico-ts kind', () => {
    assert.equal(kindOfCrd('IPAMConfig')?.kind, 'IPAMConfiguration');
    assert.equal(kindOfCrd('GlobalNetworkPolicy')?.kind, 'GlobalNetworkPolicy');
    assert.equal(kindOfCrd('IPAMConfiguration'), undefined);
    assert.equal(kindOfCrd('Profile'), undefined);
  });

  it('derives the other kinds from the core API', () => {
    const core = Object.fromEntries(
      allKinds()
        .map((k) => [k.kind, kddPlacement(k.kind)] as const)
        .flatMap(([k, p]) => (p?.store === 'core' ? [[k, p.sources.map((s) => s.kind)]] : [])),
    );
    assert.deepEqual(core, {
      WorkloadEndpoint: ['Pod'],
      Profile: ['Namespace', 'ServiceAccount'],
      Node: ['Node'],
      KubernetesNetworkPolicy: ['NetworkPolicy'],
      AdminNetworkPolicy: ['AdminNetworkPolicy'],
      BaselineAdminNetworkPolicy: ['BaselineAdminNetworkPolicy'],
      ClusterNetworkPolicy: ['ClusterNetworkPolicy'],
      Namespace: ['Namespace'],
      Pod: ['Pod'],
      ServiceAccount: ['ServiceAccount'],
    });
  });
});

describe('KDD write refusals', () => {
  it('refuses every Profile write, derived or not (resources/profile.go)', () => {
    for (const name of [
      'kns.default',
      'ksa.default.test-sa-1',
      'projectcalico-default-allow',
      'my-profile',
    ]) {
      for (const op of ['create', 'update', 'delete'] as const) {
        const cap = { create: 'Create', update: 'Update', delete: 'Delete' }[op];
        assert.equal(
          writeRefusal({ kind: 'Profile', name }, op),
          `operation ${cap} is not supported on Profile(${name})`,
        );
      }
    }
  });

  it('passes Node create and delete through to the Kubernetes Node; update goes to the annotations', () => {
    const p = kddPlacement('Node');
    assert.ok(p?.store === 'core');
    assert.deepEqual(
      [p.writes.create.action, p.writes.update.action, p.writes.delete.action],
      ['passthrough', 'mergeNodeAnnotations', 'passthrough'],
    );
    for (const op of ['create', 'update', 'delete'] as const)
      assert.equal(writeRefusal({ kind: 'Node', name: 'node-1' }, op), undefined);
  });

  it('turns WorkloadEndpoint writes into pod patches, not refusals', () => {
    const key = { kind: 'WorkloadEndpoint', namespace: 'default', name: 'nodeA-k8s-podA-eth0' };
    for (const op of ['create', 'update', 'delete'] as const) assert.equal(writeRefusal(key, op), undefined);
    const p = kddPlacement('WorkloadEndpoint');
    assert.ok(p?.store === 'core');
    assert.deepEqual(
      [p.writes.create.action, p.writes.update.action, p.writes.delete.action],
      ['patchPodIps', 'patchPodIps', 'clearPodIps'],
    );
  });

  it("writes the Kubernetes kinds calico-ts stores through to the core API (the lead's decision)", () => {
    for (const kind of ['Namespace', 'Pod', 'ServiceAccount', 'KubernetesNetworkPolicy']) {
      const p = kddPlacement(kind);
      assert.ok(p?.store === 'core', kind);
      for (const op of ['create', 'update', 'delete'] as const) {
        assert.equal(p.writes[op].action, 'passthrough', `${kind} ${op}`);
        assert.equal(writeRefusal({ kind, namespace: 'a', name: 'b' }, op), undefined);
      }
    }
  });

  it('allows every write to a kind stored as a CRD, and leaves unknown kinds to the key check', () => {
    for (const { kind } of crdKinds()) {
      for (const op of ['create', 'update', 'delete'] as const) {
        assert.equal(writeRefusal({ kind, name: 'x' }, op), undefined, `${kind} ${op}`);
      }
    }
    assert.equal(writeRefusal({ kind: 'NoSuchKind', name: 'x' }, 'create'), undefined);
  });

  it('renders a reason after a colon, as ErrorOperationNotSupported does', () => {
    assert.equal(
      refusalMessage(
        { kind: 'WorkloadEndpoint', namespace: 'ns', name: 'w' },
        'update',
        'unsupported PatchMode: x',
      ),
      'operation Update is not supported on WorkloadEndpoint(ns/w): unsupported PatchMode: x',
    );
  });
});

describe('calicoCrds', () => {
  it('defines one CRD per kind stored as a CRD, named <plural>.<group> in lower case', () => {
    const crds = calicoCrds();
    assert.equal(crds.length, crdKinds().length);
    const subdomain = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
    for (const [i, { crd }] of crdKinds().entries()) {
      const def = crds[i];
      assert.ok(def !== undefined);
      assert.equal(def.metadata.name, `${def.spec.names.plural}.${def.spec.group}`);
      assert.equal(def.metadata.name, crdObjectName(crd));
      assert.match(def.metadata.name, subdomain);
      assert.ok(def.metadata.name.length <= 253);
      assert.match(def.spec.names.plural, /^[a-z]+$/);
      assert.match(def.spec.names.singular, /^[a-z]+$/);
      assert.equal(def.spec.names.kind, crd.kind);
      assert.equal(def.spec.names.listKind, crd.listKind);
      assert.equal(def.spec.scope, crd.scope);
      assert.equal(def.spec.group, 'crd.projectcalico.org');
      assert.equal(def.apiVersion, 'apiextensions.k8s.io/v1');
      assert.deepEqual(
        def.spec.versions.map((v) => [v.name, v.served, v.storage]),
        [['v1', true, true]],
      );
    }
    assert.deepEqual(
      crds.map((c) => c.metadata.name).sort(),
      CALICO_CRDS.map((c) => c[0]),
    );
  });

  it('types spec from the model (open where the v1 form differs); status subresource on KubeControllersConfiguration only', () => {
    const open = { type: 'object', 'x-kubernetes-preserve-unknown-fields': true };
    const openSpec = ['BlockAffinity', 'IPAMBlock', 'IPAMHandle'];
    for (const def of calicoCrds()) {
      const v = def.spec.versions[0];
      assert.ok(v !== undefined);
      const props = v.schema.openAPIV3Schema.properties as Partial<Record<string, Record<string, unknown>>>;
      const kind = def.spec.names.kind;
      if (openSpec.includes(kind)) assert.deepEqual(props.spec, open, kind);
      else assert.equal(props.spec?.['x-kubernetes-preserve-unknown-fields'], undefined, kind);
      // status is typed where the decoder keeps one.
      if (kind !== 'CalicoNodeStatus' && kind !== 'KubeControllersConfiguration') {
        assert.deepEqual(props.status, open, kind);
      } else {
        assert.equal(props.status?.['type'], 'object', kind);
      }
      assert.equal(v.subresources !== undefined, kind === 'KubeControllersConfiguration');
    }
  });

  it('returns fresh objects, so a caller may change them', () => {
    const a = calicoCrds();
    (a[0]?.spec.names as { kind: string }).kind = 'Changed';
    assert.notEqual(calicoCrds()[0]?.spec.names.kind, 'Changed');
  });
});
