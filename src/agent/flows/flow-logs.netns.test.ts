/**
 * Flow logs on the kernel (docs/design/flow-logs.md, "collector"): calico-node in a node namespace with a
 * client and a server pod, a GlobalNetworkPolicy letting TCP 8080 in to the server (so 9090 ends at the
 * tier's drop), a staged policy that would deny 8080, flowLogsFlushInterval 1 s and flowLogsGoldmaneServer
 * pointing at a real grpc-js FlowCollector server of this test on a unix socket. After one allowed and one
 * denied connection the server must have received, for each, the source's (Src) and the destination's (Dst)
 * flow with the enforced trace the kernel logged, the pending trace of the staged policy, and counts that
 * match what was sent.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Resource } from '../../datastore/index.js';
import { hitToString } from '../../flows/policy-hits.js';
import type { Flow } from '../../flows/types.js';
import { waitFor } from '../../lib/async.js';
import { kernelTestSkipReason } from '../../labkit/netns.js';
import { repoRoot } from '../../test-support/repo.js';
import { AgentHarness, namespaceObject, type TestPod } from '../testing.js';
import { serverPolicies, TestFlowCollector } from './testing.js';

const built = existsSync(join(repoRoot(), 'dist', 'src', 'agent', 'main.js'));
const skip = kernelTestSkipReason() || (built ? false : 'dist/src/agent/main.js not built');
const C = 'projectcalico.org/v3';

/** The payload `probe` sends and the echo server returns (`calts-probe-<8 hex>\n`). */
const PAYLOAD_BYTES = 21;

interface Sum {
  flows: Flow[];
  packetsIn: number;
  packetsOut: number;
  bytesIn: number;
  bytesOut: number;
  started: number;
}

function sum(flows: Flow[]): Sum {
  return {
    flows,
    packetsIn: flows.reduce((n, f) => n + f.packets_in, 0),
    packetsOut: flows.reduce((n, f) => n + f.packets_out, 0),
    bytesIn: flows.reduce((n, f) => n + f.bytes_in, 0),
    bytesOut: flows.reduce((n, f) => n + f.bytes_out, 0),
    started: flows.reduce((n, f) => n + f.num_connections_started, 0),
  };
}

function trace(f: Flow | undefined, which: 'enforced_policies' | 'pending_policies'): string[] {
  return (f?.Key.policies[which] ?? []).map(hitToString);
}

describe(
  'flow logs on the kernel: NFLOG verdicts and conntrack counts become Goldmane flows',
  { skip },
  () => {
    const h = new AgentHarness();
    const collector = new TestFlowCollector();
    let client: TestPod;
    let server: TestPod;

    const received = (port: number, reporter: 'Src' | 'Dst'): Sum =>
      sum(collector.flows.filter((f) => f.Key.dest_port === port && f.Key.reporter === reporter));

    const show = (): string =>
      `${collector.flows.length} flows:\n${collector.flows
        .map((f) => JSON.stringify({ ...f, source_labels: undefined, dest_labels: undefined }))
        .join('\n')
        .slice(-6000)}\nagent log tail:\n${h.agentLog().split('\n').slice(-10).join('\n')}`;

    before(async () => {
      await h.setup();
      const target = await collector.listen(`unix://${join(h.dir, 'goldmane.sock')}`);
      h.startAgent();
      client = await h.plumbPod('prod', 'client', '10.65.0.2', { app: 'client' });
      server = await h.plumbPod('prod', 'server', '10.65.0.3', { app: 'server' });
      for (const port of [8080, 9090])
        await h.scope.listen(server.ns, { protocol: 'tcp', address: '0.0.0.0', port });
      await h.put({
        apiVersion: C,
        kind: 'FelixConfiguration',
        metadata: { name: 'default' },
        spec: { flowLogsGoldmaneServer: target, flowLogsFlushInterval: '1s' },
      } as Resource);
      await h.put(namespaceObject('prod'));
      for (const p of [client, server]) await h.put(h.workloadEndpoint(p));
      for (const p of serverPolicies()) await h.put(p);
      await h.settle(30_000);
      await waitFor(async () => (await h.tableText()).includes('group 1'), {
        timeoutMs: 15_000,
        what: 'the NFLOG rules of flow logs',
        describe: () => h.agentLog().split('\n').slice(-8).join('\n'),
      });
    });

    after(async () => {
      await h[Symbol.asyncDispose]();
      await collector[Symbol.asyncDispose]();
    });

    it('reports the allowed and the denied connection from both ends, with traces and counts', async () => {
      const to = (port: number) => ({ protocol: 'tcp' as const, address: server.ip, port });
      assert.equal((await h.scope.probe(client.ns, to(8080), { timeoutMs: 2000 })).connected, true);
      assert.equal((await h.scope.probe(client.ns, to(9090), { timeoutMs: 1000 })).connected, false);

      // The allowed connection's counts come from conntrack (listed at each flush); wait until they are in.
      await waitFor(
        () =>
          received(8080, 'Src').packetsOut >= 3 &&
          received(8080, 'Dst').packetsIn >= 3 &&
          received(9090, 'Dst').packetsIn > 0 &&
          // Each SYN is logged by both ends' readers (two tcpdumps, not in step with each other).
          received(9090, 'Src').packetsOut === received(9090, 'Dst').packetsIn,
        { timeoutMs: 30_000, what: 'flows of both connections from both ends', describe: show },
      );

      const allowedSrc = received(8080, 'Src');
      const allowedDst = received(8080, 'Dst');
      const deniedSrc = received(9090, 'Src');
      const deniedDst = received(9090, 'Dst');
      const key = allowedDst.flows[0]?.Key;
      assert.ok(key !== undefined, show());
      assert.deepEqual(
        [
          key.source_name,
          key.source_namespace,
          key.source_type,
          key.dest_name,
          key.dest_namespace,
          key.dest_type,
        ],
        ['client', 'prod', 'WorkloadEndpoint', 'server', 'prod', 'WorkloadEndpoint'],
      );
      assert.equal(key.proto, 'tcp');
      assert.ok(allowedDst.flows[0]?.dest_labels.includes('app=server'), show());

      // Verdicts: the client's egress is its namespace profile's; the server's ingress is the policy's.
      for (const s of [allowedSrc, allowedDst, deniedSrc, deniedDst])
        assert.equal(new Set(s.flows.map((f) => f.Key.action)).size, 1, show());
      assert.equal(allowedSrc.flows[0]?.Key.action, 'Allow');
      assert.equal(allowedDst.flows[0]?.Key.action, 'Allow');
      assert.equal(deniedSrc.flows[0]?.Key.action, 'Allow');
      assert.equal(deniedDst.flows[0]?.Key.action, 'Deny');
      assert.deepEqual(trace(allowedSrc.flows[0], 'enforced_policies'), [
        '0|__PROFILE__|pro:kns.prod|allow|0',
      ]);
      assert.deepEqual(trace(allowedDst.flows[0], 'enforced_policies'), ['0|default|gnp:allow-8080|allow|0']);
      assert.deepEqual(trace(deniedDst.flows[0], 'enforced_policies'), ['0|default|gnp:allow-8080|deny|-1']);
      // Pending: the staged policy would deny 8080 first; it does not touch 9090.
      assert.deepEqual(trace(allowedDst.flows[0], 'pending_policies'), ['0|default|sgnp:lockdown|deny|0']);
      assert.deepEqual(
        trace(deniedDst.flows[0], 'pending_policies'),
        trace(deniedDst.flows[0], 'enforced_policies'),
      );
      assert.deepEqual(trace(allowedSrc.flows[0], 'pending_policies'), [
        '0|__PROFILE__|pro:kns.prod|allow|0',
      ]);

      // Counts: both ends report the same conntrack entry; the payload went each way.
      assert.equal(allowedSrc.packetsOut, allowedDst.packetsIn);
      assert.equal(allowedSrc.bytesOut, allowedDst.bytesIn);
      assert.equal(allowedSrc.packetsIn, allowedDst.packetsOut);
      assert.ok(allowedSrc.bytesOut >= PAYLOAD_BYTES + 3 * 40, show());
      assert.ok(allowedSrc.packetsIn >= 2 && allowedSrc.bytesIn >= PAYLOAD_BYTES + 2 * 40, show());
      assert.equal(allowedSrc.started, 1);
      assert.equal(allowedDst.started, 1);
      // The denied connection never got a conntrack entry: its SYNs, as NFLOG logged them, nothing back.
      assert.ok(deniedDst.packetsIn >= 1 && deniedDst.bytesIn >= 40 * deniedDst.packetsIn, show());
      assert.equal(deniedDst.packetsOut, 0);
      assert.equal(deniedSrc.packetsOut, deniedDst.packetsIn);
      assert.equal(deniedDst.started, 1);
    });
  },
);
