/**
 * The demo's expectations are checked against the reference evaluator (what `calicoctl policy explain` runs,
 * the same model every node renders), so the demo can only ever claim what Calico specifies; the starter file
 * must hold the two policies the demo applies.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { decodeResource } from '../api/decode.js';
import { parseDocuments } from '../api/load.js';
import { parseIp } from '../lib/net/ip.js';
import { buildSnapshot, isModelInput, type ModelInput } from '../model/snapshot.js';
import { PolicyEvaluator, type FlowEnd } from '../policy/evaluator.js';
import { expectedMatrix } from './demo-matrix.js';
import {
  BASELINE_EXPECT,
  DEMO_SOURCES,
  DEMO_TARGETS,
  demoSteps,
  filesInForce,
  splitStarter,
  workloadsYaml,
} from './demo-script.js';
import { repoRoot } from '../labkit/paths.js';
import { LAB_ZONE, zoneChain } from '../labkit/dns-zone.js';
import { StaticResolvedNames } from '../model/dns-cache.js';
import { OUTSIDE } from '../labkit/topology.js';

const starter = splitStarter(readFileSync(join(repoRoot(), 'examples', 'starter.yaml'), 'utf8'));
const steps = demoSteps(starter);
const ips = Object.fromEntries(DEMO_SOURCES.map((k, i) => [k, `10.244.${i + 1}.10`]));
const workloads = workloadsYaml((k) => ips[k] ?? '');

/** The evaluator's verdict (`allow` / `deny`) on one connection under `yaml` (pods, namespaces, policies). */
/** Every name of the lab's zone resolved to its address, as a node would have learned it from the answers. */
const learned = new StaticResolvedNames();
for (const r of LAB_ZONE) {
  const chain = zoneChain(r.name);
  const ip = chain === undefined ? undefined : parseIp(chain.address);
  if (ip !== undefined) for (const n of chain?.names ?? []) learned.add(n, ip);
}

function verdict(
  yaml: string,
  from: string,
  to: string,
  protocol: 'tcp' | 'udp',
  port: number,
  which: 'enforced' | 'pending' = 'enforced',
): string {
  const docs = parseDocuments(yaml, 'demo');
  assert.ok(docs.ok);
  const inputs: ModelInput[] = docs.value.flatMap((d) => {
    const r = decodeResource(d.value);
    assert.ok(r.ok, JSON.stringify(r));
    return isModelInput(r.value) ? [r.value] : [];
  });
  const snapshot = buildSnapshot(inputs);
  const end = (text: string): FlowEnd => {
    const ip = parseIp(text);
    if (ip !== undefined) return { ip };
    const endpoint = snapshot.endpoints.find((e) => e.key.kind === 'wep' && e.display === text);
    assert.ok(endpoint !== undefined, `no endpoint ${text}`);
    return { endpoint, ...(endpoint.ips[0] !== undefined ? { ip: endpoint.ips[0] } : {}) };
  };
  const decision = new PolicyEvaluator(snapshot, { resolvedNames: learned }).decide({
    src: end(from),
    dst: { ...end(to), port },
    protocol: protocol === 'tcp' ? 6 : 17,
  });
  return (which === 'pending' ? decision.pending.verdict : decision.verdict).toLowerCase();
}

/** The policy files in force after `upTo` steps (a step that deletes replaces what came before). */
function policiesAfter(upTo: number): string[] {
  const texts = Object.assign({}, ...steps.map((s) => s.files)) as Record<string, string>;
  return filesInForce(steps.slice(0, upTo)).map((f) => texts[f]!);
}

function checkAgainstEvaluator(rows: Readonly<Record<string, string>>, policies: readonly string[]): void {
  const want = expectedMatrix(DEMO_SOURCES, DEMO_TARGETS, rows);
  const yaml = [workloads, ...policies].join('---\n');
  for (const from of DEMO_SOURCES) {
    for (const t of DEMO_TARGETS) {
      if (from === t.key) continue;
      const to = t.key === 'outside' ? OUTSIDE.address : t.key;
      const got = verdict(yaml, from, to, t.protocol, t.port);
      const expected = want[from]?.[t.key] === 'allowed' ? 'allow' : 'deny';
      assert.equal(got, expected, `${from} -> ${t.key} ${t.protocol}/${t.port}`);
    }
  }
}

describe('demo script', () => {
  test('the starter file holds the two policies the demo applies', () => {
    assert.match(starter.denyAllIngress, /kind: NetworkPolicy[\s\S]*name: deny-all-ingress/);
    assert.match(starter.allowDns, /kind: GlobalNetworkPolicy[\s\S]*name: allow-dns/);
    assert.throws(() => splitStarter('kind: Namespace\nmetadata:\n  name: x\n'), /has no NetworkPolicy/);
  });

  test('every step applies its files and expects a full matrix', () => {
    assert.equal(steps.length, 5);
    for (const s of steps) {
      for (const c of s.commands)
        assert.ok(s.files[c[2]!] !== undefined, `${c.join(' ')} names a file of the step`);
      assert.doesNotThrow(() => expectedMatrix(DEMO_SOURCES, DEMO_TARGETS, s.expect));
    }
  });

  test('the baseline expectation is what the evaluator decides with no policy', () => {
    checkAgainstEvaluator(BASELINE_EXPECT, []);
  });

  for (const [i, s] of steps.entries()) {
    test(`step ${i + 1}'s expectation is what the evaluator decides: ${s.title}`, () => {
      checkAgainstEvaluator(s.expect, policiesAfter(i + 1));
      const yaml = [workloads, ...policiesAfter(i + 1)].join('---\n');
      for (const n of s.names ?? []) {
        const address = zoneChain(n.name)?.address;
        assert.ok(address !== undefined, `${n.name} is a name of the lab's DNS`);
        const want = n.expect === 'allowed' ? 'allow' : 'deny';
        assert.equal(verdict(yaml, n.from, address, 'tcp', n.port), want, `${n.from} -> ${n.name}`);
      }
    });
  }

  test('the DNS step allows names under example.com only, and explains by name', () => {
    const dns = steps[3]!;
    assert.equal(dns.needs, 'dns-policy');
    assert.deepEqual(filesInForce(steps.slice(0, 4)), ['best-practice.yaml', 'allow-example-com.yaml']);
    const by = (name: string): string | undefined => dns.names?.find((n) => n.name === name)?.expect;
    assert.equal(by('api.example.com'), 'allowed');
    assert.equal(by('evil.test'), 'denied');
    for (const e of dns.explainCells) assert.ok(zoneChain(e.to) !== undefined, e.to);
  });

  test("the staged step changes no verdict but makes client -> web's pending verdict a deny", () => {
    const staged = steps[4]!;
    assert.match(staged.files['lockdown-web.yaml'] ?? '', /kind: StagedGlobalNetworkPolicy/);
    const yaml = [workloads, ...policiesAfter(5)].join('---\n');
    assert.equal(verdict(yaml, 'default/client', 'production/web', 'tcp', 80), 'allow');
    assert.equal(verdict(yaml, 'default/client', 'production/web', 'tcp', 80, 'pending'), 'deny');
    assert.equal(verdict(yaml, 'production/web', 'production/db', 'tcp', 5432, 'pending'), 'allow');
  });
});
