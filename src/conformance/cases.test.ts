import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { testdataPath } from '../test-support/repo.js';
import { CaseFileError, parseCase, probeCells, type CaseState, type NetpolCase } from './cases.js';
import type { CellOutcome, DataplaneDriver, ProbeCell } from './driver.js';
import { describeMismatch, runCase } from './runner.js';
import { caseNodeDocument, decodeStatePolicies } from './sim.js';

const ANP = {
  apiVersion: 'policy.networking.k8s.io/v1alpha1',
  kind: 'AdminNetworkPolicy',
  metadata: { name: 'a' },
  spec: {
    priority: 10,
    subject: { namespaces: {} },
    egress: [
      { name: 'n', action: 'Deny', to: [{ networks: ['$IP(x/b)/32', '0.0.0.0/0', '::/0'] }] },
      { name: 'm', action: 'Allow', to: [{ nodes: { matchLabels: { role: 'w' } } }] },
    ],
  },
};

function anpCase(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    id: 'anp-t',
    namespaces: { x: { labels: { house: 'x' } } },
    pods: [
      { namespace: 'x', name: 'a', ip: '10.0.0.1', ports: [80] },
      { namespace: 'x', name: 'b', ip: '10.0.0.2', ports: [80] },
      { namespace: 'h', name: 'n1', ip: '172.18.0.2', ports: [80], hostNetwork: true, nodeName: 'node-1' },
    ],
    nodes: [{ name: 'node-1', labels: { role: 'w' }, ips: ['172.18.0.2'] }],
    steps: [
      {
        subtest: 'deny to networks',
        phase: 0,
        actions: [],
        adminNetworkPolicies: [ANP],
        baselineAdminNetworkPolicy: null,
        policies: [],
        probes: [
          {
            protocol: 'TCP',
            port: 80,
            sparse: true,
            expected: { 'x/a': { 'x/b': false } },
            derivedExpected: { 'x/a': { 'x/b': false, 'h/n1': true }, 'x/b': { 'x/a': false } },
          },
        ],
      },
      {
        subtest: 'baseline',
        phase: 1,
        baselineAdminNetworkPolicy: {
          ...ANP,
          kind: 'BaselineAdminNetworkPolicy',
          metadata: { name: 'default' },
        },
        clusterNetworkPolicies: [{ ...ANP, kind: 'ClusterNetworkPolicy' }],
        probes: [],
      },
    ],
    ...extra,
  };
}

describe('admin network policy case files', () => {
  test('nodes, admin/baseline/cluster policies with their fields, placeholders resolved, step names', () => {
    const c = parseCase(anpCase(), 't');
    assert.deepEqual(c.nodes, [{ name: 'node-1', labels: { role: 'w' }, ips: ['172.18.0.2'] }]);
    const [s0, s1] = c.states;
    assert.ok(s0 !== undefined && s1 !== undefined);
    assert.equal(s0.description, 'deny to networks, phase 0');
    assert.deepEqual(s0.nodes, c.nodes);
    assert.deepEqual(
      s0.clusterPolicies.map((p) => p.field),
      ['adminNetworkPolicies[0]'],
    );
    assert.deepEqual(
      s1.clusterPolicies.map((p) => p.field),
      ['baselineAdminNetworkPolicy', 'clusterNetworkPolicies[0]'],
    );
    assert.match(
      JSON.stringify(s0.clusterPolicies[0]?.doc),
      /"networks":\["10\.0\.0\.2\/32","0\.0\.0\.0\/0","::\/0"\]/,
    );
    assert.equal(s0.pods.find((p) => p.name === 'n1')?.hostNetwork, true);
  });

  test('--ip-family 6 maps node addresses and networks (IPv6 CIDRs kept, 0.0.0.0/0 is the mapped IPv4 space)', () => {
    const c = parseCase(anpCase(), 't', 6);
    assert.deepEqual(c.nodes[0]?.ips, ['fd00::ac12:2']);
    const s0 = c.states[0];
    assert.match(
      JSON.stringify(s0?.clusterPolicies[0]?.doc),
      /"networks":\["fd00::a00:2\/128","fd00::\/96","::\/0"\]/,
    );
    assert.deepEqual(s0?.nodes, c.nodes);
  });

  test('cells: expected first, then derivedExpected cells it does not already hold', () => {
    const c = parseCase(anpCase(), 't');
    const probe = c.states[0]?.probes[0];
    assert.ok(probe !== undefined);
    assert.deepEqual(
      [...probeCells(probe)],
      [
        ['x/a', 'x/b', false, 'expected'],
        ['x/a', 'h/n1', true, 'derivedExpected'],
        ['x/b', 'x/a', false, 'derivedExpected'],
      ],
    );
  });

  test('bad nodes, tables and policy lists are refused naming the field', () => {
    const bad: [Record<string, unknown>, RegExp][] = [
      [{ nodes: [{ name: 'n', ips: ['nope'] }] }, /anp-t\.nodes\[0\]\.ips\[0\]: not an IP address/],
      [{ nodes: [{ name: 'n', labels: { a: 1 } }] }, /anp-t\.nodes\[0\]\.labels/],
      [{ nodes: [{ labels: {} }] }, /anp-t\.nodes\[0\]: a node needs a name/],
      [
        { steps: [{ adminNetworkPolicies: {}, probes: [] }] },
        /steps\[0\]\.adminNetworkPolicies: expected an array/,
      ],
      [
        { steps: [{ baselineAdminNetworkPolicy: [], probes: [] }] },
        /baselineAdminNetworkPolicy: expected an object or null/,
      ],
      [
        {
          steps: [
            {
              probes: [{ protocol: 'TCP', port: 1, expected: {}, derivedExpected: { 'x/a': { 'x/b': 1 } } }],
            },
          ],
        },
        /probes\[0\]\.derivedExpected\.x\/a\.x\/b: expected true or false/,
      ],
    ];
    for (const [extra, re] of bad) {
      assert.throws(
        () => parseCase(anpCase(extra), 't'),
        (e: unknown) => e instanceof CaseFileError && re.test(e.message),
      );
    }
  });

  test('a case node is handed over as a Calico Node resource (labels, addresses) and decodes', () => {
    const doc = caseNodeDocument({
      name: 'node-1',
      labels: { role: 'w' },
      ips: ['172.18.0.2', 'fd00::ac12:2'],
    });
    assert.deepEqual(doc, {
      apiVersion: 'projectcalico.org/v3',
      kind: 'Node',
      metadata: { name: 'node-1', labels: { role: 'w' } },
      spec: {
        addresses: [
          { address: '172.18.0.2', type: 'InternalIP' },
          { address: 'fd00::ac12:2', type: 'InternalIP' },
        ],
      },
    });
    const state = parseCase(anpCase({ steps: [{ probes: [] }] }), 't').states[0] as CaseState;
    const d = decodeStatePolicies(state);
    assert.deepEqual(d.problems, []);
    assert.deepEqual(
      d.nodes.map((n) => [n.kind, n.metadata.name]),
      [['Node', 'node-1']],
    );
  });

  test('the shipped anp files parse, every probe with both tables, in both families', () => {
    for (const f of ['network-policy-api-v1alpha1.json', 'network-policy-api-v1alpha2.json']) {
      const raw = JSON.parse(readFileSync(testdataPath('conformance', 'anp', f), 'utf8')) as unknown[];
      assert.equal(raw.length, 12);
      for (const family of [4, 6] as const) {
        for (const [i, r] of raw.entries()) {
          const c = parseCase(r, `${f}[${i}]`, family);
          assert.equal(c.nodes.length, 2, c.id);
          for (const s of c.states) {
            assert.ok(s.clusterPolicies.length > 0, `${c.id}: ${s.description}`);
            for (const p of s.probes) assert.ok(p.derivedExpected !== undefined, c.id);
          }
        }
      }
    }
  });
});

/** Answers every cell from a table of verdicts (`from|to`), allowing the rest. */
class TableDriver implements DataplaneDriver {
  readonly name = 'table';
  readonly denied: ReadonlySet<string>;
  constructor(denied: ReadonlySet<string>) {
    this.denied = denied;
  }
  startCase(): Promise<void> {
    return Promise.resolve();
  }
  applyState(): Promise<readonly string[]> {
    return Promise.resolve([]);
  }
  probe(cells: readonly ProbeCell[]): Promise<readonly CellOutcome[]> {
    return Promise.resolve(
      cells.map((c) => ({ kind: 'judged', allowed: !this.denied.has(`${c.from}|${c.to}`) }) as const),
    );
  }
  endCase(): Promise<void> {
    return Promise.resolve();
  }
  [Symbol.asyncDispose](): Promise<void> {
    return Promise.resolve();
  }
}

describe('runner with two tables', () => {
  const c: NetpolCase = parseCase(anpCase(), 't');

  test('a failing cell names its table; the suite’s own verdicts are reported first', async () => {
    // x/a -> x/b allowed (expected: deny), x/b -> x/a allowed (derivedExpected: deny).
    const r = await runCase(c, new TableDriver(new Set(['x/a|h/n1'])), AbortSignal.timeout(5000));
    assert.equal(r.passed, false);
    assert.equal(r.cellsJudged, 3);
    assert.deepEqual(
      r.mismatches.map((m) => [m.table, m.from, m.to]),
      [
        ['expected', 'x/a', 'x/b'],
        ['derivedExpected', 'x/a', 'h/n1'],
        ['derivedExpected', 'x/b', 'x/a'],
      ],
    );
    assert.match(
      describeMismatch(r.mismatches[1]!),
      /^step 0 \(deny to networks, phase 0\), table derivedExpected: x\/a -> h\/n1 TCP\/80: expected allow, got deny$/,
    );
  });

  test('passes when both tables match', async () => {
    const r = await runCase(c, new TableDriver(new Set(['x/a|x/b', 'x/b|x/a'])), AbortSignal.timeout(5000));
    assert.deepEqual(r.mismatches, []);
    assert.equal(r.passed, true);
  });

  test('a NetworkPolicy case (one table) names no table', async () => {
    const np = parseCase(
      {
        id: 'np',
        pods: [
          { namespace: 'x', name: 'a', ip: '10.0.0.1' },
          { namespace: 'x', name: 'b', ip: '10.0.0.2' },
        ],
        policies: [],
        probes: [{ protocol: 'TCP', port: 80, expected: { 'x/a': { 'x/b': true } } }],
      },
      'np',
    );
    const r = await runCase(np, new TableDriver(new Set(['x/a|x/b'])), AbortSignal.timeout(5000));
    assert.equal(r.mismatches[0]?.table, undefined);
    assert.doesNotMatch(describeMismatch(r.mismatches[0]!), /table/);
  });
});
