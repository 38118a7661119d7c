import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Flow } from '../../flows/types.js';
import { waitFor } from '../../lib/async.js';
import { GoldmaneFlowSender } from './goldmane-sender.js';
import { TestFlowCollector } from './testing.js';

function flow(n: number): Flow {
  return {
    Key: {
      source_name: `client-${n}`,
      source_namespace: 'prod',
      source_type: 'WorkloadEndpoint',
      dest_name: 'pvt',
      dest_namespace: '-',
      dest_type: 'Network',
      dest_port: 443,
      dest_service_name: '-',
      dest_service_namespace: '-',
      dest_service_port_name: '-',
      dest_service_port: 0,
      proto: 'tcp',
      reporter: 'Src',
      action: 'Allow',
      policies: {
        enforced_policies: [
          {
            kind: 'Profile',
            namespace: '',
            name: 'kns.prod',
            tier: '',
            action: 'Allow',
            policy_index: 0,
            rule_index: 0,
            trigger: null,
          },
        ],
        pending_policies: [],
      },
    },
    start_time: 1_765_000_000,
    end_time: 1_765_000_005,
    source_labels: ['app=client'],
    dest_labels: [],
    packets_in: 3,
    packets_out: 4,
    bytes_in: 300,
    bytes_out: 400,
    num_connections_started: 1,
    num_connections_completed: 0,
    num_connections_live: 1,
  };
}

describe('GoldmaneFlowSender', () => {
  it('sends each flow over FlowCollector.Connect as Goldmane decodes it, one receipt at a time', async () => {
    await using server = new TestFlowCollector();
    const target = await server.listen('127.0.0.1:0');
    const sender = new GoldmaneFlowSender({ server: target });
    try {
      sender.push([flow(1), flow(2), flow(3)]);
      await waitFor(() => sender.stats().acknowledged === 3, { timeoutMs: 10_000, what: '3 receipts' });
      assert.deepEqual(server.flows, [flow(1), flow(2), flow(3)]);
      assert.equal(server.connects, 1);
      assert.deepEqual(sender.stats(), {
        connected: true,
        queued: 0,
        acknowledged: 3,
        dropped: 0,
        connects: 1,
      });
    } finally {
      sender.close();
    }
  });

  it('reconnects after the stream fails and sends the recent flows again, then the queued ones', async () => {
    await using server = new TestFlowCollector();
    const target = await server.listen('127.0.0.1:0');
    const errors: string[] = [];
    const sender = new GoldmaneFlowSender({
      server: target,
      retryMinMs: 50,
      retryMaxMs: 100,
      onDisconnect: (e) => errors.push(e),
    });
    try {
      sender.push([flow(1)]);
      await waitFor(() => sender.stats().acknowledged === 1, {
        timeoutMs: 10_000,
        what: 'the first receipt',
      });
      server.dropStreams();
      await waitFor(() => errors.length > 0, { timeoutMs: 10_000, what: 'the failure to be seen' });
      sender.push([flow(2)]);
      await waitFor(() => sender.stats().acknowledged === 3, {
        timeoutMs: 10_000,
        what: 'resend and new flow',
      });
      assert.deepEqual(
        server.flows.map((f) => f.Key.source_name),
        ['client-1', 'client-1', 'client-2'],
      );
      assert.equal(server.connects, 2);
    } finally {
      sender.close();
    }
  });

  it('keeps at most maxQueue flows waiting and counts the rest as dropped', async () => {
    await using server = new TestFlowCollector();
    server.answering = false;
    const target = await server.listen('127.0.0.1:0');
    const sender = new GoldmaneFlowSender({ server: target, maxQueue: 2 });
    try {
      sender.push([flow(1)]);
      await waitFor(() => server.flows.length === 1, { timeoutMs: 10_000, what: 'the first flow in flight' });
      sender.push([flow(2), flow(3), flow(4), flow(5)]);
      assert.deepEqual(
        [sender.stats().queued, sender.stats().dropped, sender.stats().acknowledged],
        [2, 2, 0],
      );
    } finally {
      sender.close();
    }
  });
});
