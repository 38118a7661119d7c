import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parse as parseYaml } from 'yaml';
import type { Resource } from '../../datastore/index.js';
import { tableSpec, validHeadings } from './columns.js';
import { goFloat, goJoin, goScalar } from './go-format.js';
import { listObject, toJson, toYaml } from './structured.js';
import { headingsFor, renderTable, tabwrite } from './table.js';

const ctx = { defaultAsNumber: '64512' };

function res(kind: string, name: string, spec: Record<string, unknown>, namespace?: string): Resource {
  return {
    apiVersion: 'projectcalico.org/v3',
    kind,
    metadata: namespace === undefined ? { name } : { name, namespace },
    spec,
  } as Resource;
}

describe('go formatting', () => {
  it("prints float64 like Go's %v", () => {
    assert.equal(goFloat(1000), '1000');
    assert.equal(goFloat(100000), '100000');
    assert.equal(goFloat(1e6), '1e+06');
    assert.equal(goFloat(1e7), '1e+07');
    assert.equal(goFloat(1234567), '1.234567e+06');
    assert.equal(goFloat(10.5), '10.5');
    assert.equal(goFloat(0.0001), '0.0001');
    assert.equal(goFloat(0.00001), '1e-05');
    assert.equal(goFloat(-2.5e8), '-2.5e+08');
    assert.equal(goFloat(0), '0');
  });

  it('prints unset pointers as <nil> and joins lists and maps', () => {
    assert.equal(goScalar(undefined), '<nil>');
    assert.equal(goScalar({ internalIP: '10.0.0.1', externalIP: '1.2.3.4' }), '{10.0.0.1 1.2.3.4}');
    assert.equal(goJoin(['a', 'b'], ','), 'a,b');
    assert.equal(goJoin({ z: '1', a: '2' }, ','), 'a=2,z=1');
    assert.equal(goJoin(undefined, ','), '');
    const long = Array.from({ length: 20 }, (_, i) => `10.0.${i}.0/24`);
    const cut = goJoin(long, ',', 80);
    assert.equal(cut.length, 80);
    assert.ok(cut.endsWith('...'));
  });
});

describe('tables', () => {
  it("aligns like Go's tabwriter: minwidth 5, padding 3, every cell padded", () => {
    assert.equal(
      tabwrite([
        ['NAME', 'TIER'],
        ['allow-dns', 'default'],
      ]),
      'NAME        TIER      \nallow-dns   default   \n',
    );
    assert.equal(tabwrite([['A'], ['']]), 'A    \n     \n');
  });

  it('renders ps and wide columns, NAMESPACE first when asked', () => {
    const items = [res('NetworkPolicy', 'p', { tier: 'default', order: 1e6, selector: 'all()' }, 'prod')];
    const ps = headingsFor('NetworkPolicy', { type: 'default', wide: false, namespace: true });
    assert.deepEqual(ps, { ok: true, headings: ['NAMESPACE', 'NAME', 'TIER'] });
    const wide = headingsFor('NetworkPolicy', { type: 'default', wide: true, namespace: false });
    assert.ok(wide.ok);
    assert.equal(
      renderTable('NetworkPolicy', wide.headings, items, ctx),
      'NAME   TIER      ORDER   SELECTOR   \np      default   1e+06   all()      \n\n',
    );
    // A cluster-scoped kind never gets NAMESPACE.
    assert.deepEqual(headingsFor('GlobalNetworkPolicy', { type: 'default', wide: false, namespace: true }), {
      ok: true,
      headings: ['NAME', 'TIER'],
    });
  });

  it('rejects unknown custom columns, listing the valid ones', () => {
    const r = headingsFor('HostEndpoint', { type: 'custom', headings: ['NAME', 'NOPE'] });
    assert.deepEqual(r, {
      ok: false,
      message: 'Unknown heading NOPE, valid values are: NAME, NODE, INTERFACE, IPS, PROFILES',
    });
    assert.deepEqual(validHeadings(tableSpec('NetworkSet')), ['NAME', 'NETS', 'NAMESPACE']);
  });

  it('prints kind-specific cells: IP pools, BGP peers, nodes, unknown kinds', () => {
    const pool = res('IPPool', 'p', { cidr: '10.0.0.0/16', natOutgoing: true });
    const h = headingsFor('IPPool', { type: 'default', wide: true, namespace: false });
    assert.ok(h.ok);
    assert.match(
      renderTable('IPPool', h.headings, [pool], ctx),
      /^p\s+10\.0\.0\.0\/16\s+true\s+Never\s+Never\s+false\s+false\s+<nil>\s+$/m,
    );
    const peer = res('BGPPeer', 'peer', { peerIP: '10.0.0.9', asNumber: 64513 });
    assert.match(
      renderTable('BGPPeer', ['NAME', 'NODE', 'ASN'], [peer], ctx),
      /^peer {3}\(global\) {3}64513 {3}$/m,
    );
    const node = res('Node', 'n1', { bgp: { ipv4Address: '10.0.0.1/24' } });
    assert.match(
      renderTable('Node', ['NAME', 'ASN', 'IPV4'], [node], ctx),
      /^n1 {5}\(64512\) {3}10\.0\.0\.1\/24 {3}$/m,
    );
    assert.deepEqual(tableSpec('SomethingNew').ps, ['NAME']);
  });
});

describe('structured output', () => {
  it('writes sorted-key YAML that parses back to the same objects', () => {
    const item = res('GlobalNetworkPolicy', 'x', { types: ['Ingress'], selector: "app == 'a'", order: 10 });
    const text = toYaml(listObject(['GlobalNetworkPolicy'], [item], 42));
    assert.match(text, /^apiVersion: projectcalico\.org\/v3\nitems:\n- apiVersion: /);
    const back = parseYaml(text) as { kind: string; metadata: { resourceVersion: string }; items: unknown[] };
    assert.equal(back.kind, 'GlobalNetworkPolicyList');
    assert.equal(back.metadata.resourceVersion, '42');
    assert.deepEqual(back.items, [item]);
  });

  it("writes JSON in Go's field order and names lists of mixed or Kubernetes kinds", () => {
    const item = res('GlobalNetworkPolicy', 'x', { order: 1 });
    assert.match(toJson(item), /^\{\n {2}"kind": "GlobalNetworkPolicy",\n {2}"apiVersion": /);
    const knp = {
      apiVersion: 'networking.k8s.io/v1',
      kind: 'NetworkPolicy',
      metadata: { name: 'a', namespace: 'b' },
    };
    assert.equal(listObject(['KubernetesNetworkPolicy'], [knp], 1)['kind'], 'NetworkPolicyList');
    assert.equal(listObject(['KubernetesNetworkPolicy'], [knp], 1)['apiVersion'], 'networking.k8s.io/v1');
    const mixed = listObject(['GlobalNetworkPolicy', 'KubernetesNetworkPolicy'], [item, knp], 1);
    assert.equal(mixed['kind'], 'List');
    assert.equal(mixed['apiVersion'], 'v1');
  });
});
