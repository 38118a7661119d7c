import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Registry } from 'prom-client';
import { DEFAULT_FELIX_CONFIG } from '../api/v3/felix-config.js';
import type { DataplaneMessage } from '../calc/messages.js';
import { PolicyCounterReader } from '../dataplane/managers/policy-counters.js';
import { policy, rule } from '../dataplane/testing/dataplane.js';
import { FakeClock } from '../lib/async.js';
import type { Logger } from './log.js';
import { PolicyMetrics } from './policy-metrics.js';

interface Rule {
  readonly handle: number;
  readonly prefix: string;
  readonly group: number;
  readonly packets: number;
}

/** The kernel's table as the reader lists it: rules set by the test, listings counted. */
class Table {
  rules: Rule[] = [];
  fail: string | undefined;
  listings = 0;
  listJson(): Promise<string | undefined> {
    this.listings++;
    if (this.fail !== undefined) return Promise.reject(new Error(this.fail));
    const items = this.rules.map((r) => ({
      rule: {
        chain: 'cali-tier',
        handle: r.handle,
        expr: [
          { counter: { packets: r.packets, bytes: r.packets * 100 } },
          { log: { prefix: r.prefix, group: r.group } },
        ],
      },
    }));
    return Promise.resolve(JSON.stringify({ nftables: items }));
  }
}

class Log implements Logger {
  readonly lines: string[] = [];
  debug(): void {}
  info(msg: string): void {
    this.lines.push(`info ${msg}`);
  }
  warn(msg: string): void {
    this.lines.push(`warn ${msg}`);
  }
  error(msg: string): void {
    this.lines.push(`error ${msg}`);
  }
}

const config = (flowLogs: boolean): DataplaneMessage => ({
  kind: 'configUpdate',
  config: { ...DEFAULT_FELIX_CONFIG, flowLogsGoldmaneServer: flowLogs ? 'goldmane:7443' : undefined },
  sources: {},
});

function setup(): { table: Table; clock: FakeClock; metrics: PolicyMetrics; registry: Registry; log: Log } {
  const registry = new Registry();
  const table = new Table();
  const clock = new FakeClock();
  const log = new Log();
  const metrics = new PolicyMetrics(registry, { log });
  metrics.attach(new PolicyCounterReader({ source: table, clock }));
  metrics.onMessages([
    config(true),
    {
      kind: 'activePolicyUpdate',
      id: 'knp/web/deny-db',
      policy: policy([rule({ action: 'deny', index: 0 })]),
    },
    {
      kind: 'activePolicyUpdate',
      id: 'gnp/allow-dns',
      policy: policy([], [rule({ action: 'allow', index: 0 })]),
    },
  ]);
  return { table, clock, metrics, registry, log };
}

const DENY = 'DPI0|knp/web/deny-db';
const ALLOW = 'APE0|gnp/allow-dns';

/** `name{labels} value` lines of one metric family. */
async function samples(registry: Registry, name: string): Promise<string[]> {
  const text = await registry.metrics();
  return text.split('\n').filter((l) => l.startsWith(`${name}{`) || l.startsWith(`${name} `));
}

describe('PolicyMetrics', () => {
  test('exposes rule and denied counters with Felix-style names and labels', async () => {
    const { table, registry } = setup();
    table.rules = [
      { handle: 5, prefix: DENY, group: 1, packets: 4 },
      { handle: 6, prefix: ALLOW, group: 2, packets: 2 },
      { handle: 7, prefix: 'DPI|default', group: 1, packets: 1 },
    ];
    assert.deepEqual(await samples(registry, 'felix_policy_denied_packets_total'), [
      'felix_policy_denied_packets_total{tier="default",kind="knp",namespace="web",policy="deny-db"} 4',
      'felix_policy_denied_packets_total{tier="default",kind="eot",namespace="",policy=""} 1',
    ]);
    assert.deepEqual(await samples(registry, 'felix_policy_rule_bytes_total'), [
      'felix_policy_rule_bytes_total{tier="default",kind="knp",namespace="web",policy="deny-db",rule_index="0",rule_direction="ingress",action="deny"} 400',
      'felix_policy_rule_bytes_total{tier="default",kind="gnp",namespace="",policy="allow-dns",rule_index="0",rule_direction="egress",action="allow"} 200',
      'felix_policy_rule_bytes_total{tier="default",kind="eot",namespace="",policy="",rule_index="-1",rule_direction="ingress",action="deny"} 100',
    ]);
    assert.match(await registry.metrics(), /# TYPE felix_policy_rule_packets_total counter/);
  });

  test('one listing per second whatever the number of metrics and scrapes', async () => {
    const { table, clock, registry } = setup();
    await registry.metrics();
    await registry.metrics();
    assert.equal(table.listings, 1);
    clock.advance(1000);
    await registry.metrics();
    assert.equal(table.listings, 2);
  });

  test('re-rendered rules never make a counter go backwards; gone policies lose their series', async () => {
    const { table, clock, registry } = setup();
    table.rules = [{ handle: 5, prefix: DENY, group: 1, packets: 10 }];
    await registry.metrics();
    // The tier chain was re-rendered: a new rule (handle) whose counter starts again.
    table.rules = [
      { handle: 9, prefix: DENY, group: 1, packets: 3 },
      { handle: 10, prefix: ALLOW, group: 2, packets: 1 },
    ];
    clock.advance(1000);
    assert.deepEqual(await samples(registry, 'felix_policy_denied_packets_total'), [
      'felix_policy_denied_packets_total{tier="default",kind="knp",namespace="web",policy="deny-db"} 13',
    ]);
    // The deny policy is gone from the kernel.
    table.rules = [{ handle: 10, prefix: ALLOW, group: 2, packets: 1 }];
    clock.advance(1000);
    assert.deepEqual(await samples(registry, 'felix_policy_denied_packets_total'), []);
    assert.equal((await samples(registry, 'felix_policy_rule_packets_total')).length, 1);
  });

  test('a failed listing keeps the values and warns once; flow logs off lists nothing and drops the series', async () => {
    const { table, clock, registry, metrics, log } = setup();
    table.rules = [{ handle: 5, prefix: DENY, group: 1, packets: 2 }];
    await registry.metrics();
    table.fail = 'nft: cannot run';
    for (let i = 0; i < 2; i++) {
      clock.advance(1000);
      assert.equal((await samples(registry, 'felix_policy_denied_packets_total')).length, 1);
    }
    assert.deepEqual(log.lines, ['warn cannot read policy counters from nftables']);
    table.fail = undefined;
    clock.advance(1000);
    await registry.metrics();
    assert.deepEqual(log.lines.slice(1), ['info policy counters readable again']);
    metrics.onMessages([config(false)]);
    clock.advance(1000);
    const before = table.listings;
    assert.deepEqual(await samples(registry, 'felix_policy_denied_packets_total'), []);
    assert.equal(table.listings, before);
  });
});
