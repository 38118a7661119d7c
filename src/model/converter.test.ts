import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import type { K8sNetworkPolicy, Pod, ServiceAccount } from '../api/k8s/types.js';
import type { WorkloadEndpoint } from '../api/v3/misc.js';
import { gnp, gns, hep, netset, np, ns, pod, profile, sa, sgnp, tier } from '../policy/testing.js';
import { ModelConverter, sourceKeyOf, type ModelUpdateSink, type SourceKey } from './converter.js';
import type { ModelInput } from './inputs.js';
import { podToWorkloadEndpoint } from './k8s-resources.js';
import { buildSnapshot } from './snapshot.js';
import type { ModelEndpoint, ModelNetworkSet, ModelPolicy, ModelProfile, ModelTier } from './types.js';

/** Rebuilds the model from the sink calls alone (what the calc graph holds). */
class RecordingModel implements ModelUpdateSink {
  readonly tiers = new Map<string, ModelTier>();
  readonly profiles = new Map<string, ModelProfile>();
  readonly policies = new Map<string, ModelPolicy>();
  readonly endpoints = new Map<string, ModelEndpoint>();
  readonly networkSets = new Map<string, ModelNetworkSet>();
  calls = 0;

  #put<V>(m: Map<string, V>, id: string, v: V | undefined): void {
    this.calls++;
    if (v === undefined) m.delete(id);
    else m.set(id, v);
  }
  tier(id: string, v: ModelTier | undefined): void {
    this.#put(this.tiers, id, v);
  }
  profile(id: string, v: ModelProfile | undefined): void {
    this.#put(this.profiles, id, v);
  }
  policy(id: string, v: ModelPolicy | undefined): void {
    this.#put(this.policies, id, v);
  }
  endpoint(id: string, v: ModelEndpoint | undefined): void {
    this.#put(this.endpoints, id, v);
  }
  networkSet(id: string, v: ModelNetworkSet | undefined): void {
    this.#put(this.networkSets, id, v);
  }

  /** Sorted like ModelConverter.values(), so both compare with normalised(). */
  values(): unknown {
    const sorted = <V>(m: Map<string, V>): V[] =>
      [...m.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, v]) => v);
    return {
      tiers: sorted(this.tiers),
      profiles: sorted(this.profiles),
      policies: sorted(this.policies),
      endpoints: sorted(this.endpoints),
      networkSets: sorted(this.networkSets),
    };
  }
}

/** JSON with selectors as their canonical text (they hold compiled closures) and addresses as text. */
function normalised(x: unknown): unknown {
  return JSON.parse(
    JSON.stringify(x, (_k, v: unknown) => {
      if (typeof v === 'bigint') return v.toString(16);
      if (typeof v === 'object' && v !== null && 'canonical' in v && 'matches' in v)
        return `selector(${(v as { canonical: string }).canonical})`;
      return v;
    }),
  );
}

function wepFor(p: Pod, labels: Record<string, string>): WorkloadEndpoint {
  const w = podToWorkloadEndpoint(p);
  assert.ok(w !== undefined);
  return { ...w, metadata: { ...w.metadata, labels: { ...w.metadata.labels, ...labels } } };
}

const P1 = pod('a', 'p1', '10.0.0.1', { app: 'web' }, { node: 'n1' });
const P1_MOVED = pod('a', 'p1', '10.0.0.9', { app: 'db' }, { node: 'n1' });
const P1_HOST: Pod = { ...P1, spec: { ...P1.spec, hostNetwork: true } };
const WEP1 = wepFor(P1, { from: 'cni' });
const KNP: K8sNetworkPolicy = {
  apiVersion: 'networking.k8s.io/v1',
  kind: 'NetworkPolicy',
  metadata: { name: 'k', namespace: 'a' },
  spec: { podSelector: {}, policyTypes: ['Ingress'] },
};
const SA_DEFAULT: ServiceAccount = sa('a', 'default', { role: 'x' });

/** A small universe: per resource key, its variants (undefined = absent). Several keys contend for ids. */
const UNIVERSE: { key: SourceKey; variants: (ModelInput | undefined)[] }[] = [
  [ns('a', { team: 'x' }), ns('a', { team: 'y' })],
  [ns('b')],
  [SA_DEFAULT, sa('a', 'default', { role: 'y' })],
  [sa('a', 'sa1')],
  [P1, P1_MOVED, P1_HOST],
  [WEP1, wepFor(P1_MOVED, { from: 'cni' })],
  [profile('kns.a', { ingress: [{ action: 'Deny' }] })],
  [profile('ksa.b.default', { labelsToApply: { mine: 'yes' } })],
  [profile('projectcalico-default-allow', { ingress: [{ action: 'Deny' }] })],
  [tier('default', 5, 'Pass')],
  [tier('t1', 10), tier('t1', 20, 'Pass')],
  [
    gnp('g', { selector: 'all()', ingress: [{ action: 'Allow' }] }),
    gnp('g', { tier: 't1', selector: 'x == "y"' }),
  ],
  [
    sgnp('s', { stagedAction: 'Set', selector: 'all()' }),
    sgnp('s', { stagedAction: 'Delete', selector: 'all()' }),
  ],
  [np('a', 'k', { selector: 'app == "web"', ingress: [{ action: 'Deny' }] })],
  [KNP],
  [netset('a', 'set', ['10.1.0.0/16'], { kind: 'ext' })],
  [gns('gset', ['10.2.0.0/16'], { kind: 'ext' }), gns('gset', ['10.3.0.0/16'], { kind: 'int' })],
  [hep('h', { node: 'n1', interfaceName: 'eth0' }, { role: 'host' })],
].map((variants: ModelInput[]) => {
  const first = variants[0];
  assert.ok(first !== undefined);
  return { key: sourceKeyOf(first), variants: [undefined, ...variants] };
});

describe('resource -> model conversion', () => {
  it('a WorkloadEndpoint wins over the Pod describing the same workload, in any order', () => {
    for (const order of [
      [P1, WEP1],
      [WEP1, P1],
    ]) {
      const s = buildSnapshot(order);
      assert.equal(s.endpoints.length, 1);
      assert.equal(s.endpoints[0]?.labels.from, 'cni');
    }
    const sink = new RecordingModel();
    const c = new ModelConverter(sink);
    c.update(sourceKeyOf(WEP1), WEP1);
    c.update(sourceKeyOf(P1), P1_MOVED);
    assert.equal([...sink.endpoints.values()][0]?.labels.from, 'cni', 'a pod update does not override');
    c.update(sourceKeyOf(WEP1), undefined);
    assert.deepEqual(
      [...sink.endpoints.values()].map((e) => [e.labels.app, e.ips.map((ip) => ip.value)]),
      [['db', [0x0a000009n]]],
      'the pod stands in again once the WorkloadEndpoint is gone',
    );
  });

  it('every namespace has a default service-account profile; an explicit ServiceAccount replaces it', () => {
    const sink = new RecordingModel();
    const c = new ModelConverter(sink);
    c.update(sourceKeyOf(ns('a')), ns('a'));
    assert.deepEqual(sink.profiles.get('ksa.a.default')?.labelsToApply, {
      'pcsa.projectcalico.org/name': 'default',
    });
    c.update(sourceKeyOf(SA_DEFAULT), SA_DEFAULT);
    assert.equal(sink.profiles.get('ksa.a.default')?.labelsToApply['pcsa.role'], 'x');
    c.update(sourceKeyOf(ns('a')), undefined);
    assert.equal(sink.profiles.has('kns.a'), false);
    assert.equal(sink.profiles.get('ksa.a.default')?.labelsToApply['pcsa.role'], 'x', 'explicit stays');
    c.update(sourceKeyOf(ns('a')), ns('a'));
    c.update(sourceKeyOf(SA_DEFAULT), undefined);
    assert.deepEqual(Object.keys(sink.profiles.get('ksa.a.default')?.labelsToApply ?? {}), [
      'pcsa.projectcalico.org/name',
    ]);
  });

  it('built-in tiers and the default-allow profile exist from the start and cannot be redefined', () => {
    const sink = new RecordingModel();
    const c = new ModelConverter(sink);
    assert.equal(sink.calls, 0, 'the constructor tells the sink nothing');
    c.replay();
    assert.deepEqual([...sink.tiers.keys()].sort(), ['default', 'kube-admin', 'kube-baseline']);
    assert.deepEqual(sink.profiles.get('projectcalico-default-allow')?.inbound[0]?.action, 'allow');
    const calls = sink.calls;
    c.update(sourceKeyOf(tier('default', 5, 'Pass')), tier('default', 5, 'Pass'));
    c.update(
      sourceKeyOf(profile('projectcalico-default-allow', {})),
      profile('projectcalico-default-allow', {}),
    );
    assert.equal(sink.calls, calls, 'no change: the built-in values still win');
    assert.equal(sink.tiers.get('default')?.order, 1_000_000);
  });

  it('a staged Delete policy contributes nothing; turning a policy into one removes it', () => {
    const c = new ModelConverter();
    const set = sgnp('s', { stagedAction: 'Set', selector: 'all()' });
    c.update(sourceKeyOf(set), set);
    assert.deepEqual(
      c.values().policies.map((p) => [p.key.kind, p.staged]),
      [['sgnp', true]],
    );
    c.update(sourceKeyOf(set), sgnp('s', { stagedAction: 'Delete', selector: 'all()' }));
    assert.deepEqual(c.values().policies, []);
  });

  it('buildSnapshot keys resources as the datastore does: a later one with the same key replaces', () => {
    const s = buildSnapshot([
      gnp('g', { order: 1, selector: 'all()' }),
      gnp('g', { order: 2, selector: 'all()' }),
    ]);
    assert.deepEqual(
      s.policies.map((p) => p.order),
      [2],
    );
  });

  it('incremental updates in any order end in the model built from the final set', () => {
    const op = fc
      .integer({ min: 0, max: UNIVERSE.length - 1 })
      .chain((i) =>
        fc.integer({ min: 0, max: (UNIVERSE[i]?.variants.length ?? 1) - 1 }).map((v) => [i, v] as const),
      );
    fc.assert(
      fc.property(fc.array(op, { minLength: 1, maxLength: 40 }), fc.boolean(), (ops, replayFirst) => {
        const sink = new RecordingModel();
        const c = new ModelConverter(sink);
        if (replayFirst) c.replay();
        const final = new Map<number, ModelInput | undefined>();
        for (const [i, v] of ops) {
          const u = UNIVERSE[i]!;
          const value = u.variants[v];
          final.set(i, value);
          c.update(u.key, value);
        }
        if (!replayFirst) c.replay();
        const present = [...final.entries()]
          .sort(([a], [b]) => b - a)
          .flatMap(([, r]) => (r === undefined ? [] : [r]));
        const fresh = new ModelConverter();
        for (const r of present) fresh.update(sourceKeyOf(r), r);
        assert.deepEqual(normalised(c.values()), normalised(fresh.values()));
        assert.deepEqual(normalised(sink.values()), normalised(c.values()), 'the sink heard every change');
        const snap = buildSnapshot(present);
        assert.deepEqual(normalised(snap.policies), normalised(fresh.values().policies));
        assert.deepEqual(normalised(snap.endpoints), normalised(fresh.values().endpoints));
      }),
      { numRuns: 500 },
    );
  });
});
