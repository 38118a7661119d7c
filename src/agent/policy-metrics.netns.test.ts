/**
 * felix_policy_* on a real calico-node (port 9091, in its namespace) with flow logs on: the counters of the
 * rendered NFLOG rules count an allowed connection, denied SYNs (deny rule and end of tier), and the whole
 * exposition passes `promtool check metrics` but for Calico's own counter names that lack `_total`.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import type { Resource } from '../datastore/index.js';
import { kernelTestSkipReason } from '../labkit/netns.js';
import { waitFor } from '../lib/async.js';
import { repoRoot } from '../test-support/repo.js';
import { AgentHarness, namespaceObject } from './testing.js';

const PROMTOOL = '/usr/bin/promtool';
const MAIN = join(repoRoot(), 'dist', 'src', 'agent', 'main.js');
const skip =
  kernelTestSkipReason(['ip', 'nft', 'socat']) ||
  (existsSync(MAIN) ? false : 'dist/src/agent/main.js not built') ||
  (existsSync(PROMTOOL) ? false : `${PROMTOOL} not installed (Debian package prometheus)`);

/**
 * promtool's lint problems that are accepted, each exactly: Felix's own counters, whose names Calico chose
 * without `_total` (reference §6.1), the NFLOG counters' `groupNum` label (Felix's too), and prom-client's
 * standard Node.js runtime gauges (which stand where Felix's go_* stand). Anything else promtool reports fails
 * the test.
 */
const CALICO_COUNTERS_WITHOUT_TOTAL = [
  'felix_calc_graph_output_events',
  'felix_calc_graph_updates_processed',
  'felix_int_dataplane_failures',
  'felix_int_dataplane_messages',
  'felix_log_errors',
  'felix_logs_dropped',
  'felix_nft_calls',
  'felix_nft_errors',
  'felix_resyncs_started',
  'felix_nflog_logs_received',
  'felix_nflog_parse_errors',
  'felix_nflog_aggregates_flushed',
];
/** Felix's NFLOG counters carry the label `groupNum`, as Felix names it. */
const CALICO_CAMEL_CASE_LABELS = [
  'felix_nflog_logs_received',
  'felix_nflog_parse_errors',
  'felix_nflog_aggregates_flushed',
];
const RUNTIME_GAUGES_WITH_TOTAL = [
  'nodejs_active_handles_total',
  'nodejs_active_requests_total',
  'nodejs_active_resources_total',
];
const ACCEPTED = new Set([
  ...CALICO_COUNTERS_WITHOUT_TOTAL.map((n) => `${n} counter metrics should have "_total" suffix`),
  ...RUNTIME_GAUGES_WITH_TOTAL.map((n) => `${n} non-counter metrics should not have "_total" suffix`),
  ...CALICO_CAMEL_CASE_LABELS.map(
    (n) => `${n} label names should be written in 'snake_case' not 'camelCase'`,
  ),
]);

/** Prints the body of GET url on stdout; exits 1 on any status but 200. */
const GET = `
fetch(process.argv[1]).then(async (r) => { process.stdout.write(await r.text()); process.exitCode = r.status === 200 ? 0 : 1; },
  (e) => { process.stderr.write(String(e)); process.exitCode = 2; });
`;

const policy: Resource = {
  apiVersion: 'projectcalico.org/v3',
  kind: 'NetworkPolicy',
  metadata: { name: 'b-ingress', namespace: 'pm' },
  spec: {
    selector: "app == 'b'",
    types: ['Ingress'],
    ingress: [
      { action: 'Allow', protocol: 'TCP', source: { selector: "app == 'a'" }, destination: { ports: [80] } },
      { action: 'Deny', protocol: 'TCP', destination: { ports: [81] } },
    ],
  },
} as Resource;

/** The value of the one sample of `name` whose labels include all of `labels`, or undefined. */
function sample(body: string, name: string, labels: Record<string, string>): number | undefined {
  const want = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  const lines = body.split('\n').filter((l) => l.startsWith(`${name}{`) && want.every((w) => l.includes(w)));
  assert.ok(lines.length <= 1, `one ${name} sample for ${want.join(',')}:\n${lines.join('\n')}`);
  return lines[0] === undefined ? undefined : Number(lines[0].slice(lines[0].lastIndexOf(' ') + 1));
}

describe('felix_policy_* metrics of a running calico-node', { skip }, () => {
  const h = new AgentHarness();
  after(() => h[Symbol.asyncDispose]());

  async function scrape(): Promise<string> {
    const r = await h.scope
      .runner(h.node)
      .run(process.execPath, ['-e', GET, 'http://127.0.0.1:9091/metrics'], { timeoutMs: 10_000 });
    assert.equal(r.code, 0, `GET /metrics: ${r.stderr}`);
    return r.stdout;
  }

  it('counts allowed and denied traffic per rule and policy, and promtool accepts the exposition', async () => {
    await h.setup();
    const a = await h.plumbPod('pm', 'a', '10.81.0.1', { app: 'a' });
    const b = await h.plumbPod('pm', 'b', '10.81.0.2', { app: 'b' });
    await h.put(namespaceObject('pm'));
    await h.put(h.workloadEndpoint(a));
    await h.put(h.workloadEndpoint(b));
    await h.put(policy);
    h.startAgent({ FELIX_PROMETHEUSMETRICSENABLED: 'true', FELIX_FLOWLOGSLOCALREPORTER: 'Enabled' });
    await h.settle();
    for (const port of [80, 81, 82]) await h.scope.listen(b.ns, { protocol: 'tcp', address: b.ip, port });
    const probe = async (port: number): Promise<boolean> =>
      (await h.scope.probe(a.ns, { protocol: 'tcp', address: b.ip, port }, { timeoutMs: 600 })).connected;
    assert.equal(await probe(80), true, 'allowed by rule 0');
    assert.equal(await probe(81), false, 'denied by rule 1');
    assert.equal(await probe(82), false, 'denied at the end of the default tier');

    const policyLabels = { tier: 'default', kind: 'np', namespace: 'pm' };
    const rule = (body: string, index: number, action: string): number | undefined =>
      sample(body, 'felix_policy_rule_packets_total', {
        ...policyLabels,
        rule_index: String(index),
        rule_direction: 'ingress',
        action,
      });
    const denied = (body: string): number | undefined =>
      sample(body, 'felix_policy_denied_packets_total', { ...policyLabels, policy: 'b-ingress' });
    const endOfTier = (body: string): number | undefined =>
      sample(body, 'felix_policy_denied_packets_total', { tier: 'default', kind: 'eot', policy: '' });
    // The metrics read the kernel at most once a second: wait for a reading after the probes.
    const body = await waitFor(
      async () => {
        const text = await scrape();
        return (denied(text) ?? 0) >= 1 && (endOfTier(text) ?? 0) >= 1 ? text : undefined;
      },
      { timeoutMs: 10_000, intervalMs: 250, what: 'the denied probes in felix_policy_denied_packets_total' },
    );
    assert.ok((rule(body, 0, 'allow') ?? 0) >= 1, 'the allowed connection’s first packet');
    assert.ok((rule(body, 1, 'deny') ?? 0) >= 1);
    assert.equal(denied(body), rule(body, 1, 'deny'), 'the policy’s denies are its deny rule’s');
    assert.ok(
      (sample(body, 'felix_policy_denied_bytes_total', { ...policyLabels, policy: 'b-ingress' }) ?? 0) >= 40,
    );
    assert.match(body, /^# TYPE felix_policy_rule_bytes_total counter$/m);

    // Another denied connection: the policy's counter goes up.
    const before = denied(body) ?? 0;
    assert.equal(await probe(81), false);
    await waitFor(async () => (denied(await scrape()) ?? 0) > before, {
      timeoutMs: 10_000,
      intervalMs: 250,
      what: 'felix_policy_denied_packets_total to count the second denied probe',
    });

    const check = spawnSync(PROMTOOL, ['check', 'metrics'], {
      input: await scrape(),
      encoding: 'utf8',
      timeout: 30_000,
    });
    const problems = `${check.stdout}${check.stderr}`.split('\n').filter((l) => l.trim() !== '');
    const unexpected = problems.filter((p) => !ACCEPTED.has(p));
    assert.deepEqual(
      unexpected,
      [],
      `promtool check metrics (exit ${check.status}):\n${problems.join('\n')}`,
    );
    // Exit 3 is promtool's "lint problems only"; anything else (1: the text did not parse) fails.
    assert.ok(
      check.status === 0 || (check.status === 3 && problems.length > 0),
      `promtool exit ${check.status}`,
    );
    assert.ok(
      problems.every((p) => !p.startsWith('felix_policy_')),
      'the new metrics have no problem of their own',
    );
  });
});
