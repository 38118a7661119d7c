/**
 * FlowLogsRuntime's wiring without a kernel: stand-in `tcpdump` and `conntrack` programs replay recorded
 * output (the readers' real parsing runs on it), the model and dataplane view come from the messages the
 * agent would deliver, and the flows go to a real grpc-js FlowCollector server.
 */
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { Registry } from 'prom-client';
import { DEFAULT_FELIX_CONFIG } from '../../api/v3/felix-config.js';
import type { FelixConfig } from '../../api/v3/felix-config-params.js';
import type { DataplaneMessage } from '../../calc/messages.js';
import type { CommandRunner, RunResult } from '../../dataplane/exec/command-runner.js';
import { hitToString } from '../../flows/policy-hits.js';
import { waitFor } from '../../lib/async.js';
import { renderNflogPrefix, type NflogPrefix } from '../../model/nflog-prefix.js';
import type { AgentLogger } from '../log.js';
import { FlowLogsMetrics } from './metrics.js';
import { flowLogsSettings, FlowLogsRuntime } from './runtime.js';
import { serverPolicies, TestFlowCollector } from './testing.js';

const dir = mkdtempSync(join(tmpdir(), 'calts-flowlogs-'));
after(() => {
  rmSync(dir, { recursive: true, force: true });
});

/** An NFLOG pcap (little-endian, as tcpdump writes on x86) of IPv4 TCP packets with the given prefixes. */
function pcap(group: number, packets: { prefix: NflogPrefix; sport: number; dport: number }[]): Buffer {
  const head = Buffer.alloc(24);
  head.writeUInt32LE(0xa1b2c3d4, 0);
  head.writeUInt16LE(2, 4);
  head.writeUInt16LE(4, 6);
  head.writeUInt32LE(262144, 16);
  head.writeUInt32LE(239, 20);
  const parts = [head];
  for (const p of packets) {
    const ip = Buffer.from([0x45, 0, 0, 60, 0, 0, 0x40, 0, 64, 6, 0, 0, 10, 65, 0, 2, 10, 65, 0, 3]);
    const tcp = Buffer.alloc(20);
    tcp.writeUInt16BE(p.sport, 0);
    tcp.writeUInt16BE(p.dport, 2);
    const tlv = (type: number, v: Buffer): Buffer => {
      const b = Buffer.alloc((4 + v.length + 3) & ~3);
      b.writeUInt16LE(4 + v.length, 0);
      b.writeUInt16LE(type, 2);
      v.copy(b, 4);
      return b;
    };
    const rec = Buffer.concat([
      Buffer.from([2, 0, 0, group]),
      tlv(10, Buffer.from(`${renderNflogPrefix(p.prefix)}\0`)),
      tlv(9, Buffer.concat([ip, tcp])),
    ]);
    const rh = Buffer.alloc(16);
    rh.writeUInt32LE(rec.length, 8);
    rh.writeUInt32LE(rec.length, 12);
    parts.push(rh, rec);
  }
  return Buffer.concat(parts);
}

function script(name: string, body: string): string {
  const path = join(dir, name);
  writeFileSync(path, `#!/bin/sh\n${body}\n`);
  chmodSync(path, 0o755);
  return path;
}

const allowIn: NflogPrefix = {
  kind: 'rule',
  action: 'Allow',
  owner: 'policy',
  direction: 'ingress',
  ruleIndex: 0,
  policyId: 'gnp/allow-8080',
};
const profileOut: NflogPrefix = {
  kind: 'rule',
  action: 'Allow',
  owner: 'profile',
  direction: 'egress',
  ruleIndex: 0,
  policyId: 'kns.prod',
};

const C = 'projectcalico.org/v3';
function wep(name: string, ip: string, app: string): unknown {
  return {
    apiVersion: C,
    kind: 'WorkloadEndpoint',
    metadata: { name: `node1-k8s-${name}-eth0`, namespace: 'prod', labels: { app } },
    spec: {
      node: 'node1',
      orchestrator: 'k8s',
      pod: name,
      endpoint: 'eth0',
      interfaceName: `cali${name}`,
      ipNetworks: [`${ip}/32`],
      profiles: ['kns.prod'],
    },
  };
}

const silent: AgentLogger = {
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
  setLevel: () => undefined,
  isDebugEnabled: () => false,
};

describe('flowLogsSettings', () => {
  it('is off without a Goldmane server, and reads the interval and evaluation mode', () => {
    assert.equal(flowLogsSettings(DEFAULT_FELIX_CONFIG), undefined);
    assert.deepEqual(
      flowLogsSettings({
        ...DEFAULT_FELIX_CONFIG,
        flowLogsGoldmaneServer: 'goldmane:7443',
        flowLogsFlushInterval: 15_000,
        flowLogsPolicyEvaluationMode: 'None',
      }),
      { server: 'goldmane:7443', flushMs: 15_000, pending: false },
    );
  });
});

describe('FlowLogsRuntime', () => {
  it('reads NFLOG and conntrack output, names and traces the flows and sends them to Goldmane', async () => {
    writeFileSync(join(dir, 'nflog:1.pcap'), pcap(1, [{ prefix: allowIn, sport: 40000, dport: 8080 }]));
    writeFileSync(join(dir, 'nflog:2.pcap'), pcap(2, [{ prefix: profileOut, sport: 40000, dport: 8080 }]));
    // conntrack -E -e DESTROY: the connection is still open, so no event.
    writeFileSync(join(dir, 'events'), '');
    const tcpdump = script('tcpdump', `cat "${dir}/$2.pcap"; exec sleep 600`);
    const conntrack = script('conntrack', `cat "${dir}/events"; exec sleep 600`);
    const listing =
      'ipv4     2 tcp      6 100 TIME_WAIT src=10.65.0.2 dst=10.65.0.3 sport=40000 dport=8080 packets=5 bytes=290 src=10.65.0.3 dst=10.65.0.2 sport=8080 dport=40000 packets=4 bytes=250 [ASSURED] mark=0 use=1 id=1\n';
    const calls: string[] = [];
    const runner: CommandRunner = {
      run: (cmd: string, args: readonly string[]): Promise<RunResult> => {
        calls.push([cmd, ...args].join(' '));
        return Promise.resolve({ stdout: cmd === conntrack ? listing : '', stderr: '', code: 0 });
      },
    };
    await using server = new TestFlowCollector();
    const target = await server.listen('127.0.0.1:0');
    const registry = new Registry();
    let wall = 1_765_000_000_000;
    const rt = new FlowLogsRuntime({
      log: silent,
      runner,
      metrics: new FlowLogsMetrics(registry),
      tcpdump,
      conntrack,
      now: () => wall,
    });
    try {
      rt.onUpdates(
        [wep('client', '10.65.0.2', 'client'), wep('server', '10.65.0.3', 'server'), ...serverPolicies()].map(
          (value, i) => {
            const v = value as { kind: string; metadata: { name: string; namespace?: string } };
            return { key: { kind: v.kind, ...v.metadata }, value, revision: i + 1 };
          },
        ),
      );
      const config: FelixConfig = {
        ...DEFAULT_FELIX_CONFIG,
        flowLogsGoldmaneServer: target,
        flowLogsFlushInterval: 3_600_000,
      };
      const tiers = [
        {
          name: 'default',
          defaultAction: 'deny' as const,
          ingressPolicies: ['gnp/allow-8080'],
          egressPolicies: [],
        },
      ];
      const msgs: DataplaneMessage[] = [
        { kind: 'configUpdate', config, sources: {} },
        {
          kind: 'workloadEndpointUpdate',
          id: 'wep/prod/node1-k8s-server-eth0',
          endpoint: {
            namespace: 'prod',
            name: 'node1-k8s-server-eth0',
            display: 'prod/server',
            interfaceName: 'caliserver',
            ipv4Nets: ['10.65.0.3/32'],
            ipv6Nets: [],
            tiers,
            profileIds: ['kns.prod'],
          },
        },
      ];
      rt.onMessages(msgs);
      // Both readers (one tcpdump per group) have delivered their record.
      await waitFor(
        async () => {
          const text = await registry.metrics();
          return ['1', '2'].every((g) => text.includes(`felix_nflog_logs_received{groupNum="${g}"} 1`));
        },
        { timeoutMs: 10_000, what: 'the NFLOG records of both groups read' },
      );
      assert.equal(rt.status().connections, 1);
      wall += 5000;
      await rt.flush();
      await waitFor(() => server.flows.length === 2, {
        timeoutMs: 10_000,
        what: 'two flows at Goldmane',
        describe: () => JSON.stringify(rt.status()),
      });
      const dst = server.flows.find((f) => f.Key.reporter === 'Dst');
      const src = server.flows.find((f) => f.Key.reporter === 'Src');
      assert.ok(dst !== undefined && src !== undefined);
      assert.deepEqual(
        [dst.Key.source_name, dst.Key.dest_name, dst.Key.dest_port, dst.Key.action, dst.Key.proto],
        ['client', 'server', 8080, 'Allow', 'tcp'],
      );
      assert.deepEqual(dst.Key.policies.enforced_policies.map(hitToString), [
        '0|default|gnp:allow-8080|allow|0',
      ]);
      assert.deepEqual(dst.Key.policies.pending_policies.map(hitToString), [
        '0|default|sgnp:lockdown|deny|0',
      ]);
      assert.deepEqual(src.Key.policies.enforced_policies.map(hitToString), [
        '0|__PROFILE__|pro:kns.prod|allow|0',
      ]);
      // The first flush does not wait for conntrack: it counts the packet NFLOG logged each way.
      assert.deepEqual([dst.packets_in, dst.packets_out, src.packets_out, src.packets_in], [1, 0, 1, 0]);
      assert.deepEqual(
        [dst.start_time, dst.end_time, dst.num_connections_started],
        [1_765_000_000, 1_765_000_005, 1],
      );
      // The listing started after it gives the next flush the entry's counters, that packet counted once.
      await rt.listed();
      assert.ok(calls.includes(`${conntrack} -L -o extended,id`), calls.join('\n'));
      wall += 5000;
      await rt.flush();
      await waitFor(() => server.flows.length === 4, { timeoutMs: 10_000, what: 'the second flush' });
      const dst2 = server.flows.slice(2).find((f) => f.Key.reporter === 'Dst');
      const src2 = server.flows.slice(2).find((f) => f.Key.reporter === 'Src');
      assert.ok(dst2 !== undefined && src2 !== undefined);
      assert.deepEqual(
        [
          dst.packets_in + dst2.packets_in,
          dst.bytes_in + dst2.bytes_in,
          dst2.packets_out,
          dst2.bytes_out,
          src.packets_out + src2.packets_out,
          src2.packets_in,
        ],
        [5, 290, 4, 250, 5, 4],
      );
      assert.deepEqual([dst2.num_connections_started, dst2.start_time], [0, 1_765_000_005]);
      assert.ok(calls.includes('sysctl -q -w net.netfilter.nf_conntrack_acct=1'), calls.join('\n'));
      const text = await registry.metrics();
      assert.match(text, /felix_nflog_logs_received\{groupNum="1"\} 1/);
      assert.match(text, /felix_nflog_aggregates_flushed\{groupNum="2"\} 2/);
      assert.match(text, /felix_collector_epstats 1/);

      // Unsetting the server stops the readers and the sender.
      rt.onMessages([
        { kind: 'configUpdate', config: { ...config, flowLogsGoldmaneServer: '' }, sources: {} },
      ]);
      await waitFor(() => !rt.status().enabled, { timeoutMs: 5_000, what: 'flow logs off' });
    } finally {
      await rt.stop();
    }
  });
});
