/**
 * The lab's calico-goldmane on the real kernel (root only; skipped with the reason otherwise), no agent: it runs
 * in the fabric namespace on a unix socket in the run dir, answers Goldmane's API there (a flow reported
 * through FlowCollector.Connect is listed back), FelixConfiguration `default` points the agents at it (other
 * fields kept), starting it again is a no-op, and it ends with the lab.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { NodeCommandRunner } from '../dataplane/exec/node-runner.js';
import { testFlow } from '../goldmane/testing.js';
import { GoldmaneClient } from '../goldmane/client.js';
import { waitFor } from '../lib/async.js';
import { processExists } from '../sys/process.js';
import { LabCluster } from './cluster.js';
import { goldmaneFiles, LAB_FLOW_FLUSH_INTERVAL } from './cluster-flows.js';
import { kernelTestSkipReason } from './netns.js';

const skip = kernelTestSkipReason(['ip']);
const runner = new NodeCommandRunner();

describe("the lab's calico-goldmane on the real kernel", { skip }, () => {
  let lab: LabCluster;
  let server = '';
  let pid = 0;
  before(async () => {
    lab = await LabCluster.create({ runner, agentEntry: null, keepRunDir: false });
    await lab.datastore.applyMany([
      {
        apiVersion: 'projectcalico.org/v3',
        kind: 'FelixConfiguration',
        metadata: { name: 'default' },
        spec: { logSeverityScreen: 'Debug' },
      } as never,
    ]);
    server = await lab.addFlowLogs();
    pid = lab.state.goldmane?.pid ?? 0;
  });
  after(() => lab.destroy());

  test('it listens on a unix socket in the run dir and answers there', async () => {
    assert.equal(server, `unix://${goldmaneFiles(lab.runDir).socket}`);
    assert.equal(lab.goldmaneServer(), server);
    const client = new GoldmaneClient(server);
    try {
      const reporter = client.connectCollector();
      const now = Math.floor(Date.now() / 1000);
      await reporter.send(testFlow({ start_time: now - 1, end_time: now }));
      await reporter.close();
      await waitFor(async () => (await client.list({})).flows.length === 1, {
        timeoutMs: 10_000,
        intervalMs: 50,
        what: 'the reported flow listed',
      });
    } finally {
      client.close();
    }
  });

  test('FelixConfiguration default points the agents at it and keeps its other fields', async () => {
    const fc = (await lab.datastore.get({ kind: 'FelixConfiguration', name: 'default' })) as unknown as {
      spec: Record<string, unknown>;
    };
    assert.equal(fc.spec.flowLogsGoldmaneServer, server);
    assert.equal(fc.spec.flowLogsFlushInterval, LAB_FLOW_FLUSH_INTERVAL);
    assert.equal(fc.spec.logSeverityScreen, 'Debug');
  });

  test('starting it again keeps the running one', async () => {
    assert.equal(await lab.addFlowLogs(), server);
    assert.equal(lab.state.goldmane?.pid, pid);
  });

  test('it ends with the lab', async () => {
    assert.ok(processExists(pid));
    await lab.destroy();
    await waitFor(() => !processExists(pid), { timeoutMs: 10_000, intervalMs: 20, what: 'goldmane gone' });
  });
});
