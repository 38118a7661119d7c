import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DEFAULT_FELIX_CONFIG, resolveFelixConfig, type ConfigLayer } from '../api/v3/felix-config.js';
import type { FelixConfig } from '../api/v3/felix-config-params.js';
import type { DataplaneMessage } from '../calc/messages.js';
import { FelixConfigWatch } from './felix-config-watch.js';

function targets() {
  const t = {
    logs: [] as { level: string; msg: string; fields: Record<string, unknown> }[],
    level: '',
    reconfigured: [] as FelixConfig[],
    refresh: [] as number[],
    timeouts: new Map<string, number>(),
    overrides: new Map<string, number>(),
  };
  const record =
    (level: string) =>
    (msg: string, fields: Record<string, unknown> = {}) => {
      t.logs.push({ level, msg, fields });
    };
  return {
    t,
    targets: {
      log: {
        info: record('info'),
        warn: record('warn'),
        setLevel: (l: string) => {
          t.level = l;
        },
      },
      servers: {
        reconfigure: (c: FelixConfig) => {
          t.reconfigured.push(c);
          return Promise.resolve();
        },
      },
      health: {
        setReporterTimeout: (n: string, ms: number) => {
          t.timeouts.set(n, ms);
        },
        setTimeoutOverrides: (m: ReadonlyMap<string, number>) => {
          t.overrides = new Map(m);
        },
      },
      loop: {
        setRefreshInterval: (ms: number) => {
          t.refresh.push(ms);
        },
      },
    },
  };
}

const update = (...layers: ConfigLayer[]): DataplaneMessage => ({
  kind: 'configUpdate',
  ...resolveFelixConfig(layers),
});

describe('what the agent does with a configUpdate', () => {
  it('applies the start configuration in place', () => {
    const { t, targets: tg } = targets();
    new FelixConfigWatch(
      { ...DEFAULT_FELIX_CONFIG, logSeverityScreen: 'Debug', dataplaneWatchdogTimeout: 5_000 },
      tg,
    );
    assert.equal(t.level, 'Debug');
    assert.deepEqual(t.refresh, [180_000]);
    assert.equal(t.timeouts.get('InternalDataplaneMainLoop'), 20_000, 'never below two health intervals');
  });

  it('logs each change, follows it in place, restarts servers only for server settings', () => {
    const { t, targets: tg } = targets();
    const w = new FelixConfigWatch(DEFAULT_FELIX_CONFIG, tg);
    w.onMessages([
      { kind: 'inSync' },
      update({
        source: 'datastore-global',
        values: {
          logSeverityScreen: 'Warning',
          nftablesRefreshInterval: 30_000,
          healthTimeoutOverrides: [{ name: 'CalculationGraph', timeout: 60_000 }],
        },
      }),
    ]);
    assert.equal(t.level, 'Warning');
    assert.equal(t.refresh.at(-1), 30_000);
    assert.equal(t.overrides.get('CalculationGraph'), 60_000);
    assert.equal(t.reconfigured.length, 0);
    const changed = t.logs.filter((l) => l.msg === 'Configuration value changed');
    assert.deepEqual(
      changed.map((l) => [l.fields.key, l.fields.newValue, l.fields.applied]),
      [
        ['logSeverityScreen', '"Warning"', 'in place'],
        ['healthTimeoutOverrides', '[{"name":"CalculationGraph","timeout":"1m0s"}]', 'in place'],
        ['nftablesRefreshInterval', '"30s"', 'in place'],
      ],
    );
    w.onMessages([update({ source: 'datastore-node', values: { prometheusMetricsEnabled: true } })]);
    assert.equal(t.reconfigured.length, 1);
    assert.equal(t.reconfigured[0]?.prometheusMetricsEnabled, true);
    assert.equal(w.config.prometheusMetricsEnabled, true);
  });

  it('warns once per change of the set of unimplemented parameters a user set', () => {
    const { t, targets: tg } = targets();
    const w = new FelixConfigWatch(DEFAULT_FELIX_CONFIG, tg);
    const warnings = (): unknown[] => t.logs.filter((l) => l.level === 'warn').map((l) => l.fields.fields);
    const ds = {
      source: 'datastore-global' as const,
      values: { flowLogsCollectorDebugTrace: true, healthPort: 9100 },
    };
    w.onMessages([update(ds)]);
    w.onMessages([update(ds, { source: 'env', values: { logPrefix: 'x' } })]);
    assert.deepEqual(warnings(), [['flowLogsCollectorDebugTrace (datastore-global)']]);
    w.onMessages([update(ds, { source: 'env', values: { wireguardEnabledV6: true } })]);
    assert.deepEqual(warnings().at(-1), [
      'flowLogsCollectorDebugTrace (datastore-global)',
      'wireguardEnabledV6 (env)',
    ]);
    w.onMessages([update({ source: 'datastore-global', values: {} })]);
    assert.equal(warnings().length, 2, 'nothing to warn about any more: no new warning');
  });
});
