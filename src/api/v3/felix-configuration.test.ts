import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { repoRoot } from '../../test-support/repo.js';
import { decodeOk, expectIssue } from '../testing.js';
import { felixConfigurationWarnings, RESOURCE_PARAM_NAMES } from './felix-config.js';
import { paramDef } from './felix-config-params.js';

const fc = (name: string, spec: unknown): unknown => ({
  apiVersion: 'projectcalico.org/v3',
  kind: 'FelixConfiguration',
  metadata: { name },
  spec,
});

/** Calico's field list (testdata/felixconfiguration-fields.txt, from felixconfig.go). */
function calicoFields(): string[] {
  return readFileSync(join(repoRoot(), 'testdata', 'felixconfiguration-fields.txt'), 'utf8')
    .split('\n')
    .filter((l) => l !== '' && !l.startsWith('#'));
}

/** A valid value for each field whose default is unset. */
const SAMPLES: Readonly<Record<string, unknown>> = {
  nodeSelector: "role == 'edge'",
  logActionRateLimit: '10/second',
  ipipEnabled: true,
  vxlanEnabled: true,
  prometheusMetricsCAFile: '/etc/ca.pem',
  prometheusMetricsCertFile: '/etc/cert.pem',
  prometheusMetricsKeyFile: '/etc/key.pem',
  natPortRange: '32768:65535',
  externalNodesList: ['192.0.2.0/24'],
  debugPort: 6060,
  bpfLogFilters: { eth0: 'tcp' },
  bpfCTLBLogFilter: 'all',
  bpfConnectTimeLoadBalancingEnabled: false,
  bpfDSROptoutCIDRs: ['10.0.0.0/8'],
  bpfExcludeCIDRsFromNAT: ['fd00::/8'],
  flowLogsGoldmaneServer: 'goldmane:7443',
  routeTableRanges: [{ min: 1, max: 250 }],
  routeTableRange: { min: 1, max: 250 },
};

describe('FelixConfiguration', () => {
  it('knows every field of Calico current FelixConfigurationSpec, and only those', () => {
    const open = RESOURCE_PARAM_NAMES.filter((n) => paramDef(n).enterprise !== true);
    const ours = new Set<string>([...open, 'nodeSelector']);
    const theirs = calicoFields();
    assert.ok(theirs.length > 180, `${theirs.length} fields`);
    assert.deepEqual(
      theirs.filter((f) => !ours.has(f)),
      [],
    );
    assert.deepEqual(
      [...ours].filter((f) => !theirs.includes(f)),
      [],
    );
  });

  it('decodes every field set to its default (or a sample), on a selector-scoped configuration', () => {
    const spec: Record<string, unknown> = {};
    for (const f of calicoFields()) {
      if (f in SAMPLES) spec[f] = SAMPLES[f];
      else if (f !== 'routeTableRange') {
        const d = paramDef(f as Parameters<typeof paramDef>[0]);
        assert.notEqual(d.default, undefined, `${f} needs a sample`);
        spec[f] = d.type.encode(d.default);
      }
    }
    delete spec.routeTableRanges; // routeTableRange and routeTableRanges cannot both be set
    spec.routeTableRange = SAMPLES.routeTableRange;
    const r = decodeOk(fc('edge-nodes', spec)) as { spec: Record<string, unknown> };
    assert.equal(Object.keys(r.spec).length, calicoFields().length - 1);
    assert.equal(r.spec.flowLogsFlushInterval, '5m0s');
    assert.equal(r.spec.iptablesRefreshInterval, '3m0s');
  });

  it('decodes common fields, normalising enum case and storing durations as Go prints them', () => {
    const r = decodeOk(
      fc('default', {
        defaultEndpointToHostAction: 'ACCEPT',
        failsafeInboundHostPorts: [
          { protocol: 'tcp', port: 22 },
          { port: 2379, net: '10.0.0.0/8' },
        ],
        nftablesRefreshInterval: '90s',
        routeRefreshInterval: '0.5s',
        prometheusMetricsEnabled: true,
        flowLogsFlushInterval: '15s',
        wireguardEnabledV6: true,
      }),
    ) as { spec: Record<string, unknown> };
    assert.equal(r.spec.defaultEndpointToHostAction, 'Accept');
    assert.deepEqual(r.spec.failsafeInboundHostPorts, [
      { protocol: 'TCP', port: 22 },
      { protocol: 'TCP', port: 2379, net: '10.0.0.0/8' },
    ]);
    assert.equal(r.spec.nftablesRefreshInterval, '1m30s');
    assert.equal(r.spec.routeRefreshInterval, '500ms');
    assert.equal(r.spec.flowLogsFlushInterval, '15s');
  });

  it('validates values with their field paths: addresses, ranges, ports, durations, enums', () => {
    const cases: [Record<string, unknown>, string, string][] = [
      [{ defaultEndpointToHostAction: 'Maybe' }, 'spec.defaultEndpointToHostAction', '"Maybe"'],
      [{ healthPort: 70000 }, 'spec.healthPort', '70000'],
      [{ prometheusMetricsPort: -1 }, 'spec.prometheusMetricsPort', '-1'],
      [{ routeRefreshInterval: 'soon' }, 'spec.routeRefreshInterval', '"soon"'],
      [{ routeRefreshInterval: '-1s' }, 'spec.routeRefreshInterval', '"-1s"'],
      [{ flowLogsFlushInterval: 300 }, 'spec.flowLogsFlushInterval', '300'],
      [
        { failsafeInboundHostPorts: [{ protocol: 'ICMP', port: 1 }] },
        'spec.failsafeInboundHostPorts[0].protocol',
        '"ICMP"',
      ],
      [
        { failsafeOutboundHostPorts: [{ port: 53, net: '10.0.0.300/8' }] },
        'spec.failsafeOutboundHostPorts[0].net',
        '10.0.0.300',
      ],
      [{ natOutgoingAddress: 'fd00::1' }, 'spec.natOutgoingAddress', 'IPv4'],
      [{ natOutgoingAddress: 'not-an-ip' }, 'spec.natOutgoingAddress', '"not-an-ip"'],
      [{ deviceRouteSourceAddressIPv6: '10.0.0.1' }, 'spec.deviceRouteSourceAddressIPv6', 'IPv6'],
      [{ healthHost: 'bad host!' }, 'spec.healthHost', 'bad host'],
      [{ natPortRange: '2000:1000' }, 'spec.natPortRange', 'greater'],
      [{ kubeNodePortRanges: Array(8).fill('30000:30001') }, 'spec.kubeNodePortRanges', 'too many'],
      [{ routeTableRange: { min: 0, max: 10 } }, 'spec.routeTableRange', '0-10'],
      [{ routeTableRanges: [{ min: 1, max: 70000 }] }, 'spec.routeTableRanges', 'too many tables'],
      [{ wireguardListeningPort: 0 }, 'spec.wireguardListeningPort', '0'],
      [{ vxlanVNI: 1 << 24 }, 'spec.vxlanVNI', String(1 << 24)],
      [{ mtuIfacePattern: '(' }, 'spec.mtuIfacePattern', 'regular expression'],
      [{ externalNodesList: ['fd00::/8'] }, 'spec.externalNodesList[0]', 'IPv4'],
      [{ logPrefix: 'bad;prefix' }, 'spec.logPrefix', 'bad;prefix'],
      [
        { healthTimeoutOverrides: [{ name: 'x!', timeout: '1s' }] },
        'spec.healthTimeoutOverrides[0].name',
        'x!',
      ],
      [
        { bpfConntrackTimeouts: { tcpSynSent: 'forever' } },
        'spec.bpfConntrackTimeouts.tcpSynSent',
        'forever',
      ],
      [{ routeTableRange: { min: 1, max: 2 }, routeTableRanges: [] }, 'spec.routeTableRanges', 'both'],
      [{ bogusField: 1 }, 'spec.bogusField', 'bogusField'],
    ];
    for (const [spec, path, fragment] of cases) expectIssue(fc('default', spec), path, fragment);
  });

  it('lists the fields calico-ts accepts but does not implement', () => {
    const w = felixConfigurationWarnings({
      flowLogsCollectorDebugTrace: true,
      wireguardEnabledV6: true,
      prometheusMetricsEnabled: true,
      defaultEndpointToHostAction: 'Accept',
    });
    assert.deepEqual(
      w.map((i) => i.path),
      ['spec.flowLogsCollectorDebugTrace', 'spec.wireguardEnabledV6'],
    );
    assert.match(w[0]?.message ?? '', /not implemented by calico-ts/);
  });

  it('allows nodeSelector only on selector-scoped configurations', () => {
    decodeOk(fc('edge-nodes', { nodeSelector: "role == 'edge'" }));
    expectIssue(fc('node.n1', { nodeSelector: 'all()' }), 'spec.nodeSelector', 'node.n1');
  });
});
