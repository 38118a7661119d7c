import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  changedParams,
  DEFAULT_FELIX_CONFIG,
  felixValuesFromEnv,
  felixValuesFromSpec,
  formatParamValue,
  resolveFelixConfig,
  unimplementedParams,
} from './felix-config.js';
import { envNameOf } from './felix-config-params.js';
import { formatGoDuration, parseGoDuration } from './felix-config-types.js';

describe('Felix parameters: environment', () => {
  it('reads FELIX_<NAME> in any case with Felix syntax, naming each bad variable', () => {
    const e = felixValuesFromEnv({
      FELIX_HEALTHPORT: '9000',
      felix_logSeverityScreen: 'debug',
      FELIX_IPINIPMTU: '1400',
      FELIX_HEALTHENABLED: 'yes',
      FELIX_FAILSAFEINBOUNDHOSTPORTS: 'tcp:22,udp:10.0.0.0/8:68,tcp:[fd00::/8]:443, 8080',
      FELIX_FAILSAFEOUTBOUNDHOSTPORTS: 'none',
      FELIX_NFTABLESREFRESHINTERVAL: '30',
      FELIX_ROUTEREFRESHINTERVAL: '1m30s',
      FELIX_IPTABLESLOCKPROBEINTERVALMILLIS: '50',
      FELIX_IPTABLESMARKMASK: '0xff000000',
      FELIX_HEALTHTIMEOUTOVERRIDES: 'CalculationGraph=30,InternalDataplaneMainLoop=2m',
      FELIX_VXLANPORT: 'abc',
      FELIX_PROMETHEUSMETRICSPORT: '70000',
      FELIX_DEFAULTENDPOINTTOHOSTACTION: 'maybe',
      FELIX_NOSUCHTHING: 'x',
      PATH: '/bin',
    });
    assert.deepEqual(e.values, {
      healthPort: 9000,
      logSeverityScreen: 'Debug',
      ipipMTU: 1400,
      healthEnabled: true,
      failsafeInboundHostPorts: [
        { protocol: 'TCP', port: 22 },
        { protocol: 'UDP', port: 68, net: '10.0.0.0/8' },
        { protocol: 'TCP', port: 443, net: 'fd00::/8' },
        { protocol: 'TCP', port: 8080 },
      ],
      failsafeOutboundHostPorts: [],
      nftablesRefreshInterval: 30_000,
      routeRefreshInterval: 90_000,
      iptablesLockProbeInterval: 50,
      iptablesMarkMask: 0xff00_0000,
      healthTimeoutOverrides: [
        { name: 'CalculationGraph', timeout: 30_000 },
        { name: 'InternalDataplaneMainLoop', timeout: 120_000 },
      ],
    });
    assert.deepEqual(e.problems, [
      'FELIX_VXLANPORT: invalid integer "abc"',
      'FELIX_PROMETHEUSMETRICSPORT: value 70000 out of range (must be 0 to 65535)',
      'FELIX_DEFAULTENDPOINTTOHOSTACTION: invalid value "maybe" (must be one of Drop, Accept, Return)',
    ]);
    assert.deepEqual(e.unknown, ['FELIX_NOSUCHTHING']);
  });

  it("uses Felix's parameter names where they differ from the field", () => {
    assert.equal(envNameOf('ipipMTU'), 'FELIX_IPINIPMTU');
    assert.equal(envNameOf('wireguardKeepAlive'), 'FELIX_WIREGUARDPERSISTENTKEEPALIVE');
    assert.equal(envNameOf('externalNodesList'), 'FELIX_EXTERNALNODESCIDRLIST');
    assert.equal(envNameOf('prometheusMetricsEnabled'), 'FELIX_PROMETHEUSMETRICSENABLED');
  });
});

describe('Felix parameters: precedence and changes', () => {
  it('default < calico-node < datastore default < node.<name> < environment, with the winning source', () => {
    const r = resolveFelixConfig([
      { source: 'calico-node', values: { healthEnabled: true } },
      { source: 'datastore-global', values: { healthPort: 9100, logPrefix: 'g', vxlanPort: 4790 } },
      { source: 'datastore-node', values: { healthPort: 9200, logPrefix: 'n' } },
      { source: 'env', values: { healthPort: 9300 } },
    ]);
    assert.equal(r.config.healthEnabled, true);
    assert.equal(r.config.healthPort, 9300);
    assert.equal(r.config.logPrefix, 'n');
    assert.equal(r.config.vxlanPort, 4790);
    assert.equal(r.config.prometheusMetricsPort, 9091);
    assert.deepEqual(r.sources, {
      healthEnabled: 'calico-node',
      healthPort: 'env',
      logPrefix: 'datastore-node',
      vxlanPort: 'datastore-global',
    });
  });

  it('finds changed parameters by value, not by spelling', () => {
    const a = resolveFelixConfig([
      { source: 'datastore-global', values: felixValuesFromSpec({ nftablesRefreshInterval: '90s' }).values },
    ]).config;
    const b = resolveFelixConfig([
      {
        source: 'datastore-global',
        values: felixValuesFromSpec({ nftablesRefreshInterval: '1m30s' }).values,
      },
    ]).config;
    assert.deepEqual(changedParams(a, b), []);
    const c = { ...b, failsafeInboundHostPorts: [{ protocol: 'TCP' as const, port: 22 }] };
    assert.deepEqual(changedParams(b, c), ['failsafeInboundHostPorts']);
    assert.equal(formatParamValue('nftablesRefreshInterval', a.nftablesRefreshInterval), '"1m30s"');
  });

  it('leaves an invalid stored field out (the next source down applies) and reports it', () => {
    const r = felixValuesFromSpec({ healthPort: 'ninety', logPrefix: 'ok' });
    assert.deepEqual(r.values, { logPrefix: 'ok' });
    assert.equal(r.issues[0]?.path, 'spec.healthPort');
  });

  it('names what a user set that calico-ts does not implement (defaults never count)', () => {
    const r = resolveFelixConfig([
      { source: 'calico-node', values: { healthEnabled: true } },
      { source: 'datastore-global', values: { flowLogsCollectorDebugTrace: true, healthPort: 9100 } },
      { source: 'env', values: { wireguardEnabledV6: true } },
    ]);
    assert.deepEqual(unimplementedParams(r.sources), ['flowLogsCollectorDebugTrace', 'wireguardEnabledV6']);
    assert.equal(DEFAULT_FELIX_CONFIG.healthEnabled, false);
  });
});

describe('Go durations', () => {
  it('parses and prints as time.ParseDuration and Duration.String do', () => {
    const cases: [string, number, string][] = [
      ['0', 0, '0s'],
      ['90s', 90_000, '1m30s'],
      ['1h', 3_600_000, '1h0m0s'],
      ['1.5s', 1500, '1.5s'],
      ['500ms', 500, '500ms'],
      ['250us', 0.25, '250µs'],
      ['2h45m', 9_900_000, '2h45m0s'],
    ];
    for (const [text, ms, printed] of cases) {
      assert.equal(parseGoDuration(text), ms, text);
      assert.equal(formatGoDuration(ms), printed, text);
    }
    for (const bad of ['', '5', '1d', '-1s', 's', '1.2.3s'])
      assert.equal(parseGoDuration(bad), undefined, bad);
  });
});
