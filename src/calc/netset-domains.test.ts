import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { mustParseSelector } from '../api/selector/index.js';
import { domainSetId } from './domain-sets.js';
import { CalcGraph } from './graph.js';
import type { ResourceUpdate } from './inputs.js';
import type { DataplaneMessage, RuleMsg } from './messages.js';
import { NetworkSetDomainIndex } from './netset-domains.js';
import { RecordingSink } from './testing.js';

const C = 'projectcalico.org/v3';
let rev = 1;

function upd(kind: string, name: string, value: unknown, namespace?: string): ResourceUpdate {
  return { key: { kind, name, ...(namespace !== undefined ? { namespace } : {}) }, value, revision: rev++ };
}

function wep(ns: string, pod: string): ResourceUpdate {
  const name = `node1-k8s-${pod}-eth0`;
  return upd(
    'WorkloadEndpoint',
    name,
    {
      apiVersion: C,
      kind: 'WorkloadEndpoint',
      metadata: {
        name,
        namespace: ns,
        labels: { app: 'web', 'projectcalico.org/namespace': ns, 'projectcalico.org/orchestrator': 'k8s' },
      },
      spec: {
        orchestrator: 'k8s',
        node: 'node1',
        pod,
        endpoint: 'eth0',
        interfaceName: `cali${pod}`,
        ipNetworks: [`10.0.0.${ns === 'a' ? 1 : 2}/32`],
        profiles: [`kns.${ns}`],
      },
    },
    ns,
  );
}

function gns(name: string, labels: Record<string, string>, domains?: string[]): ResourceUpdate {
  return upd('GlobalNetworkSet', name, {
    apiVersion: C,
    kind: 'GlobalNetworkSet',
    metadata: { name, labels },
    spec: { nets: ['192.0.2.0/28'], ...(domains !== undefined ? { allowedEgressDomains: domains } : {}) },
  });
}

function netset(ns: string, name: string, labels: Record<string, string>, domains: string[]): ResourceUpdate {
  return upd(
    'NetworkSet',
    name,
    {
      apiVersion: C,
      kind: 'NetworkSet',
      metadata: { name, namespace: ns, labels },
      spec: { allowedEgressDomains: domains },
    },
    ns,
  );
}

function gnp(name: string, egress: unknown[] | undefined, ingress: unknown[] = []): ResourceUpdate {
  return upd(
    'GlobalNetworkPolicy',
    name,
    egress === undefined
      ? undefined
      : {
          apiVersion: C,
          kind: 'GlobalNetworkPolicy',
          metadata: { name },
          spec: { selector: "app == 'web'", types: ['Egress', 'Ingress'], egress, ingress },
        },
  );
}

function np(ns: string, name: string, egress: unknown[]): ResourceUpdate {
  return upd(
    'NetworkPolicy',
    name,
    {
      apiVersion: C,
      kind: 'NetworkPolicy',
      metadata: { name, namespace: ns },
      spec: { selector: "app == 'web'", types: ['Egress'], egress },
    },
    ns,
  );
}

const TO_SAAS = { selector: "role == 'saas'" };

/** A graph on node1 fed through a RecordingSink that checks the sequencer's contract at every flush. */
function harness(...initial: ResourceUpdate[]) {
  const g = new CalcGraph('node1');
  const sink = new RecordingSink();
  g.onUpdates([wep('a', 'p1'), ...initial]);
  g.onInSync();
  const step = (...u: ResourceUpdate[]): DataplaneMessage[] => {
    g.onUpdates(u);
    const msgs = g.flush();
    sink.apply(msgs);
    assert.deepEqual(sink.violations, []);
    return msgs;
  };
  const rules = (policy: string): readonly RuleMsg[] => sink.view.policies.get(policy)?.outboundRules ?? [];
  return { g, sink, step, rules, first: step() };
}

describe("network sets' allowedEgressDomains in the calculation graph", () => {
  it('give an egress Allow rule with a destination selector the domain set of the selected sets', () => {
    const h = harness(
      gns('saas', { role: 'saas' }, ['*.SaaS.test', 'api.test.']),
      gnp('egress', [{ action: 'Allow', destination: TO_SAAS }]),
    );
    const id = domainSetId(['*.saas.test', 'api.test']);
    const rule = h.rules('gnp/egress')[0];
    assert.ok(rule !== undefined);
    assert.equal(rule.dstSelectorDomainSetId, id);
    assert.equal(rule.dstDomainSetId, undefined);
    assert.equal(rule.dstIpSetIds.length, 1, 'the selector IP set still applies');
    assert.deepEqual(h.sink.view.domainSets.get(id), ['*.saas.test', 'api.test']);
    const kinds = h.first.map((m) => m.kind);
    assert.ok(kinds.indexOf('domainSetUpdate') < kinds.indexOf('activePolicyUpdate'));
  });

  it('not in ingress rules, Deny, Pass or Log rules, nor through notSelector or named ports alone', () => {
    const h = harness(
      gns('saas', { role: 'saas' }, ['*.saas.test']),
      gnp(
        'egress',
        [
          { action: 'Deny', destination: TO_SAAS },
          { action: 'Pass', destination: TO_SAAS },
          { action: 'Log', destination: TO_SAAS },
          { action: 'Allow', destination: { notSelector: "role == 'saas'" } },
          { action: 'Allow', protocol: 'TCP', destination: { ...TO_SAAS, ports: ['http'] } },
        ],
        [{ action: 'Allow', source: TO_SAAS }],
      ),
    );
    const p = h.sink.view.policies.get('gnp/egress');
    for (const r of [...(p?.outboundRules ?? []), ...(p?.inboundRules ?? [])])
      assert.equal(r.dstSelectorDomainSetId, undefined, `rule ${r.action} #${r.index}`);
    assert.equal(h.sink.view.domainSets.size, 0);
  });

  it('is the union of every selected set, shared with rules naming the same domains', () => {
    const h = harness(
      gns('saas', { role: 'saas' }, ['*.saas.test']),
      gns('more', { role: 'saas' }, ['api.test', '*.saas.test']),
      gns('unrelated', { role: 'other' }, ['evil.test']),
      gnp('egress', [
        { action: 'Allow', protocol: 'TCP', destination: { ...TO_SAAS, ports: [443] } },
        { action: 'Allow', destination: { domains: ['api.test', '*.saas.test'] } },
      ]),
    );
    const id = domainSetId(['*.saas.test', 'api.test']);
    const [bySelector, byDomains] = h.rules('gnp/egress');
    assert.equal(bySelector?.dstSelectorDomainSetId, id);
    assert.equal(byDomains?.dstDomainSetId, id);
    assert.deepEqual([...h.sink.view.domainSets.keys()], [id]);
  });

  it('follows the sets: domains, labels and deletion change the rule, never leaving a stale set', () => {
    const h = harness(
      gns('saas', { role: 'saas' }, ['a.test']),
      gnp('egress', [{ action: 'Allow', destination: TO_SAAS }]),
    );
    const current = (): string | undefined => h.rules('gnp/egress')[0]?.dstSelectorDomainSetId;
    assert.equal(current(), domainSetId(['a.test']));
    // New domains: a new set before the policy, the old one removed after it.
    const changed = h.step(gns('saas', { role: 'saas' }, ['b.test'])).map((m) => m.kind);
    assert.deepEqual(changed, ['domainSetUpdate', 'activePolicyUpdate', 'domainSetRemove', 'revision']);
    assert.equal(current(), domainSetId(['b.test']));
    assert.deepEqual([...h.sink.view.domainSets.keys()], [domainSetId(['b.test'])]);
    // A set that stops being selected, or loses its domains, takes them away.
    h.step(gns('saas', { role: 'other' }, ['b.test']));
    assert.equal(current(), undefined);
    assert.equal(h.sink.view.domainSets.size, 0);
    h.step(gns('saas', { role: 'saas' }, ['b.test']));
    assert.equal(current(), domainSetId(['b.test']));
    h.step(gns('saas', { role: 'saas' }));
    assert.equal(current(), undefined);
    h.step(gns('saas', { role: 'saas' }, ['c.test']));
    h.step(upd('GlobalNetworkSet', 'saas', undefined));
    assert.equal(current(), undefined);
    assert.equal(h.sink.view.domainSets.size, 0);
    // Nets-only changes of a selected set leave the policy alone.
    h.step(gns('saas', { role: 'saas' }, ['c.test']));
    const quiet = h.step(
      upd('GlobalNetworkSet', 'saas', {
        apiVersion: C,
        kind: 'GlobalNetworkSet',
        metadata: { name: 'saas', labels: { role: 'saas' } },
        spec: { nets: ['198.51.100.0/24'], allowedEgressDomains: ['c.test'] },
      }),
    );
    assert.deepEqual(
      quiet.map((m) => m.kind),
      ['ipSetDeltaUpdate', 'revision'],
    );
  });

  it('a namespaced NetworkSet counts for policies of its own namespace only (as its nets do)', () => {
    const h = harness(
      wep('b', 'p2'),
      netset('a', 'partners', { role: 'saas' }, ['partner.test']),
      np('a', 'mine', [{ action: 'Allow', destination: TO_SAAS }]),
      np('b', 'theirs', [{ action: 'Allow', destination: TO_SAAS }]),
    );
    assert.equal(h.rules('np/a/mine')[0]?.dstSelectorDomainSetId, domainSetId(['partner.test']));
    assert.equal(h.rules('np/b/theirs')[0]?.dstSelectorDomainSetId, undefined);
  });

  it('through a namespace selector, follows the namespace labels the set inherits', () => {
    const nsRes = (labels: Record<string, string>): ResourceUpdate =>
      upd('Namespace', 'a', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'a', labels } });
    const h = harness(
      nsRes({ team: 'x' }),
      netset('a', 'partners', { role: 'saas' }, ['partner.test']),
      gnp('egress', [{ action: 'Allow', destination: { namespaceSelector: "team == 'x'", ...TO_SAAS } }]),
    );
    assert.equal(h.rules('gnp/egress')[0]?.dstSelectorDomainSetId, domainSetId(['partner.test']));
    h.step(nsRes({ team: 'y' }));
    assert.equal(h.rules('gnp/egress')[0]?.dstSelectorDomainSetId, undefined);
    assert.equal(h.sink.view.domainSets.size, 0);
  });

  it('stops watching when the policy goes, and replays what it sent', () => {
    const h = harness(
      gns('saas', { role: 'saas' }, ['a.test']),
      gnp('egress', [{ action: 'Allow', destination: TO_SAAS }]),
    );
    const fresh = new RecordingSink();
    fresh.apply(h.g.replay());
    assert.deepEqual(fresh.violations, []);
    assert.deepEqual([...fresh.view.domainSets.keys()], [domainSetId(['a.test'])]);
    h.step(gnp('egress', undefined));
    assert.equal(h.sink.view.domainSets.size, 0);
    // A later change of the set is nobody's business.
    assert.deepEqual(
      h.step(gns('saas', { role: 'saas' }, ['b.test'])).map((m) => m.kind),
      ['revision'],
    );
  });
});

describe('NetworkSetDomainIndex', () => {
  it('reports the owners of changed selectors once per change, after it', () => {
    const calls: string[][] = [];
    const idx = new NetworkSetDomainIndex({
      onSelectorDomainsChanged: (owners) => {
        calls.push([...owners].sort());
      },
    });
    const saas = mustParseSelector("role == 'saas'");
    const any = mustParseSelector('has(role)');
    idx.setWatches('p:one', [saas]);
    idx.setWatches('p:two', [saas, any]);
    assert.deepEqual(calls, [], 'watching reports nothing');
    idx.updateNetworkSet('s1', { role: 'saas' }, [], ['b.test', 'a.test'].sort());
    assert.deepEqual(calls, [['p:one', 'p:two']]);
    assert.deepEqual(idx.domainsOf(saas.uniqueId), ['a.test', 'b.test']);
    idx.updateNetworkSet('s2', { role: 'x' }, [], ['c.test']);
    assert.deepEqual(calls[1], ['p:two']);
    assert.deepEqual(idx.domainsOf(any.uniqueId), ['a.test', 'b.test', 'c.test']);
    idx.updateNetworkSet('s2', { role: 'x' }, [], ['c.test']);
    assert.equal(calls.length, 2, 'no change, no report');
    idx.setWatches('p:two', []);
    idx.deleteNetworkSet('s2');
    assert.equal(calls.length, 2);
    assert.equal(idx.watchedCount, 1);
    assert.deepEqual(idx.domainsOf(any.uniqueId), [], 'unwatched selectors have none');
  });
});
