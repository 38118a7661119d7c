/**
 * Tier chains classified by protocol and port (src/dataplane/rules/dispatch.ts) decide exactly like the linear
 * chains and the reference evaluator: the same policies are programmed with dispatch forced on and off, and
 * every probe is compared with the evaluator's verdict. A long merged deny list goes through a named set.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { decodeResource } from '../api/decode.js';
import type { Resource } from '../datastore/index.js';
import { kernelTestSkipReason } from '../labkit/netns.js';
import { parseIp } from '../lib/net/ip.js';
import { buildSnapshot, isModelInput } from '../model/snapshot.js';
import type { ModelInput } from '../model/snapshot.js';
import { PolicyEvaluator } from '../policy/evaluator.js';
import { repoRoot } from '../test-support/repo.js';
import { AgentHarness, namespaceObject } from './testing.js';

const built = existsSync(join(repoRoot(), 'dist', 'src', 'agent', 'main.js'));
const skip = kernelTestSkipReason() || (built ? false : 'dist/src/agent/main.js not built');

const gnp = (name: string, order: number, ingress: unknown[]): Resource =>
  ({
    apiVersion: 'projectcalico.org/v3',
    kind: 'GlobalNetworkPolicy',
    metadata: { name },
    spec: { order, selector: "app == 'b'", types: ['Ingress'], ingress },
  }) as Resource;

/** 21 rules that merge into one named address set (one of them denies pod c). */
const DENY_LIST = ['10.90.0.3/32', ...Array.from({ length: 20 }, (_, i) => `203.0.113.${i}/32`)].map(
  (net) => ({ action: 'Deny', protocol: 'TCP', source: { nets: [net] }, destination: { ports: [9000] } }),
);

const POLICIES: Resource[] = [
  gnp('p0', 0, DENY_LIST),
  gnp('p1', 1, [
    { action: 'Deny', source: { selector: "app == 'c'" }, protocol: 'UDP' },
    {
      action: 'Allow',
      protocol: 'TCP',
      source: { selector: "app == 'a'" },
      destination: { ports: [80, '8000:8010'] },
    },
  ]),
  gnp('p2', 2, [
    { action: 'Deny', protocol: 'TCP', destination: { ports: [81] } },
    {
      action: 'Pass',
      protocol: 'TCP',
      source: { selector: "app == 'c'" },
      destination: { ports: ['8005:8020'] },
    },
    { action: 'Allow', protocol: 'UDP', destination: { ports: [53] } },
  ]),
  gnp('p3', 3, [
    { action: 'Allow', protocol: 'TCP', source: { selector: "app == 'c'" } },
    { action: 'Deny', protocol: 'UDP', destination: { ports: [5353] } },
  ]),
];

const PROBES: { from: 'a' | 'c'; protocol: 'tcp' | 'udp'; port: number }[] = [];
for (const from of ['a', 'c'] as const) {
  for (const port of [80, 81, 53, 8000, 8005, 8015, 9000]) PROBES.push({ from, protocol: 'tcp', port });
  for (const port of [53, 5353, 80]) PROBES.push({ from, protocol: 'udp', port });
}

async function run(minRules: string): Promise<boolean[]> {
  await using h = new AgentHarness();
  await h.setup();
  const pods = {
    a: await h.plumbPod('d', 'a', '10.90.0.1', { app: 'a' }),
    b: await h.plumbPod('d', 'b', '10.90.0.2', { app: 'b' }),
    c: await h.plumbPod('d', 'c', '10.90.0.3', { app: 'c' }),
  };
  for (const o of [
    namespaceObject('d'),
    ...Object.values(pods).map((p) => h.workloadEndpoint(p)),
    ...POLICIES,
  ])
    await h.put(o);
  h.startAgent({ FELIX_TIERDISPATCHMINRULES: minRules });
  await h.settle();
  const ports = [...new Set(PROBES.map((p) => `${p.protocol}:${p.port}`))];
  for (const pp of ports) {
    const [protocol, port] = pp.split(':') as ['tcp' | 'udp', string];
    await h.scope.listen(pods.b.ns, { protocol, address: pods.b.ip, port: Number(port) });
  }
  const out: boolean[] = [];
  for (const p of PROBES) {
    const from = pods[p.from];
    out.push(
      (
        await h.scope.probe(
          from.ns,
          { protocol: p.protocol, address: pods.b.ip, port: p.port },
          { timeoutMs: 500 },
        )
      ).connected,
    );
  }
  const table = await h.tableText();
  if (minRules === '0')
    assert.match(table, /th dport vmap @filter-cali-ti-\S+-6-p/, 'port dispatch was in force');
  assert.match(table, /ip saddr @filter-cali-ti-\S+-n0 /, 'the deny list is a named set');
  return out;
}

function expected(): boolean[] {
  const inputs: ModelInput[] = [];
  for (const o of [namespaceObject('d'), ...POLICIES]) {
    const r = decodeResource(o);
    if (r.ok && isModelInput(r.value)) inputs.push(r.value);
  }
  for (const [name, ip] of [
    ['a', '10.90.0.1'],
    ['b', '10.90.0.2'],
    ['c', '10.90.0.3'],
  ] as const) {
    inputs.push({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name, namespace: 'd', labels: { app: name } },
      spec: {},
      status: { podIP: ip },
    });
  }
  const ev = new PolicyEvaluator(buildSnapshot(inputs));
  const ip = (s: string) => parseIp(s)!;
  return PROBES.map(
    (p) =>
      ev.decide({
        src: { ip: ip(p.from === 'a' ? '10.90.0.1' : '10.90.0.3') },
        dst: { ip: ip('10.90.0.2'), port: p.port },
        protocol: p.protocol === 'tcp' ? 6 : 17,
      }).verdict === 'Allow',
  );
}

describe('protocol/port dispatch of tier chains', { skip }, () => {
  it('decides like the linear chains and the reference evaluator', async () => {
    const want = expected();
    assert.ok(want.includes(true) && want.includes(false), 'the probes exercise both verdicts');
    const dispatched = await run('0');
    const linear = await run('100000');
    assert.deepEqual(dispatched, want);
    assert.deepEqual(linear, want);
  });
});
