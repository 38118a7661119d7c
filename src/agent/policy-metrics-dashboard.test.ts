/**
 * docs/grafana/calico-policy-dashboard.json queries only what calico-node exposes: every metric name in its
 * PromQL (panels and variables) is one the agent registers, and every label it selects or groups by is one
 * those metrics carry (or Prometheus' target labels).
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { repoRoot } from '../test-support/repo.js';
import { AgentMetrics } from './metrics.js';
import { POLICY_METRIC_NAMES, PolicyMetrics } from './policy-metrics.js';
import { RULE_LABELS } from './policy-metrics-series.js';

const PROMTOOL = '/usr/bin/promtool';
const DASHBOARD = join(repoRoot(), 'docs', 'grafana', 'calico-policy-dashboard.json');

interface Panel {
  readonly type: string;
  readonly title: string;
  readonly datasource?: { readonly uid?: string };
  readonly targets?: readonly { readonly expr: string }[];
}

interface Dashboard {
  readonly schemaVersion: number;
  readonly uid: string;
  readonly panels: readonly Panel[];
  readonly templating: { readonly list: readonly { name: string; type: string; query: unknown }[] };
}

const load = (): Dashboard => JSON.parse(readFileSync(DASHBOARD, 'utf8')) as Dashboard;

/** Every query of the dashboard: panel targets and query variables. */
function queries(d: Dashboard): string[] {
  const out: string[] = [];
  for (const p of d.panels) for (const t of p.targets ?? []) out.push(t.expr);
  for (const v of d.templating.list) if (v.type === 'query') out.push((v.query as { query: string }).query);
  return out;
}

/** Metric names in a PromQL expression: identifiers followed by a selector, a range or a comma/paren. */
function metricNames(expr: string): string[] {
  const names = expr.match(/\b(?:felix|process|nodejs|go)_[a-z0-9_]+/g) ?? [];
  return [...new Set(names)];
}

/** Label names in `by (...)`, `without (...)` and `{name=~...}` selectors. */
function labelNames(expr: string): string[] {
  const out: string[] = [];
  for (const m of expr.matchAll(/\b(?:by|without)\s*\(([^)]*)\)/g))
    out.push(
      ...(m[1] ?? '')
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean),
    );
  for (const m of expr.matchAll(/\{([^}]*)\}/g))
    for (const l of (m[1] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)\s*(?:=~|!~|!=|=)/g)) out.push(l[1]!);
  for (const m of expr.matchAll(/label_values\([^,]*,\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*\)/g)) out.push(m[1]!);
  return out;
}

describe('the Grafana policy dashboard', () => {
  test('is a Grafana 10 dashboard with a Prometheus data source variable used by every panel', () => {
    const d = load();
    assert.ok(d.schemaVersion >= 38, `schemaVersion ${d.schemaVersion} is Grafana 10's (38+)`);
    assert.equal(d.uid, 'calico-policy-metrics');
    const ds = d.templating.list.find((v) => v.name === 'datasource');
    assert.deepEqual([ds?.type, ds?.query], ['datasource', 'prometheus']);
    const graphs = d.panels.filter((p) => p.type !== 'row');
    assert.ok(graphs.length >= 6);
    for (const p of graphs) {
      assert.equal(p.datasource?.uid, '${datasource}', p.title);
      assert.ok((p.targets ?? []).length > 0, `${p.title} has queries`);
    }
  });

  test('every metric it queries is one calico-node exposes, with labels those metrics carry', async () => {
    const registry = new AgentMetrics('node1').registry;
    new PolicyMetrics(registry, { log: { debug() {}, info() {}, warn() {}, error() {} } });
    const exposed = new Set((await registry.getMetricsAsJSON()).map((m) => m.name));
    for (const n of POLICY_METRIC_NAMES) assert.ok(exposed.has(n), n);
    const labels = new Set<string>([...RULE_LABELS, 'instance', 'job']);
    const used = new Set<string>();
    for (const q of queries(load())) {
      const names = metricNames(q);
      assert.ok(names.length > 0, `no metric in ${q}`);
      for (const n of names) {
        assert.ok(exposed.has(n), `${n} (in ${q}) is not exposed by the agent`);
        used.add(n);
      }
      for (const l of labelNames(q)) assert.ok(labels.has(l), `label ${l} (in ${q}) is not on the metrics`);
    }
    // Top denying policies, rule hit rates and per-tier views use all four metrics between them.
    assert.deepEqual([...used].sort(), [...POLICY_METRIC_NAMES].sort());
  });

  test(
    'every panel query is valid PromQL (promtool check rules, Grafana variables substituted)',
    {
      skip: existsSync(PROMTOOL) ? false : `${PROMTOOL} not installed`,
    },
    () => {
      const panelQueries = load().panels.flatMap((p) => (p.targets ?? []).map((t) => t.expr));
      const expr = (q: string): string =>
        q
          .replaceAll('$__rate_interval', '1m')
          .replaceAll('$__range', '1h')
          .replace(/\$[a-z]+/g, '.*');
      const rules = {
        groups: [
          {
            name: 'dashboard',
            rules: panelQueries.map((q, i) => ({ record: `dashboard:q${i}`, expr: expr(q) })),
          },
        ],
      };
      const dir = mkdtempSync(join(tmpdir(), 'calts-dashboard-'));
      try {
        const file = join(dir, 'rules.json');
        // YAML is a superset of JSON: promtool reads this as a rules file.
        writeFileSync(file, JSON.stringify(rules));
        const out = execFileSync(PROMTOOL, ['check', 'rules', file], { encoding: 'utf8', timeout: 30_000 });
        assert.match(out, new RegExp(`SUCCESS: ${panelQueries.length} rules found`));
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  );

  test('the checks above catch a name the agent does not expose', () => {
    assert.deepEqual(metricNames('rate(felix_policy_denies_total{tier="x"}[5m])'), [
      'felix_policy_denies_total',
    ]);
    assert.deepEqual(labelNames('sum by (tier, pod) (x{namespace=~"a", kind!="eot"})'), [
      'tier',
      'pod',
      'namespace',
      'kind',
    ]);
  });
});
