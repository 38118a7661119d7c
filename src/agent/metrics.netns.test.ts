/**
 * The agent's Prometheus metrics (Felix's names, port 9091) and health endpoints (9099, Felix's bodies),
 * scraped in its namespace; the servers follow FelixConfiguration changes without a restart.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import type { Resource } from '../datastore/index.js';
import { kernelTestSkipReason } from '../labkit/netns.js';
import { waitFor } from '../lib/async.js';
import { repoRoot } from '../test-support/repo.js';
import { AgentHarness, knp, namespaceObject } from './testing.js';

const MAIN = join(repoRoot(), 'dist', 'src', 'agent', 'main.js');
const built = existsSync(MAIN);
const skip = kernelTestSkipReason() || (built ? false : 'dist/src/agent/main.js not built');

const FETCH = `
const [url] = process.argv.slice(1);
fetch(url).then(async (r) => { console.log(JSON.stringify({ status: r.status, body: await r.text() })); })
  .catch((e) => { console.log(JSON.stringify({ status: 0, body: String(e.cause?.code ?? e) })); });
`;

function felixConfiguration(spec: Record<string, unknown>): Resource {
  return {
    apiVersion: 'projectcalico.org/v3',
    kind: 'FelixConfiguration',
    metadata: { name: 'default' },
    spec,
  } as Resource;
}

describe('agent metrics and health', { skip }, () => {
  const h = new AgentHarness();
  after(() => h[Symbol.asyncDispose]());

  async function get(path: string, port: number): Promise<{ status: number; body: string }> {
    const r = await h.scope
      .runner(h.node)
      .run(process.execPath, ['-e', FETCH, `http://127.0.0.1:${port}${path}`], { timeoutMs: 10_000 });
    return JSON.parse(r.stdout) as { status: number; body: string };
  }

  it('serves felix_* metrics on 9091 and health on 9099, ready only after the first apply', async () => {
    await h.setup();
    const a = await h.plumbPod('m', 'a', '10.80.0.1', { app: 'a' });
    await h.put(namespaceObject('m'));
    await h.put(h.workloadEndpoint(a));
    await h.put(
      knp('m', 'isolate', { podSelector: { matchLabels: { app: 'a' } }, policyTypes: ['Ingress'] }),
    );
    h.startAgent({
      FELIX_PROMETHEUSMETRICSENABLED: 'true',
      FELIX_HEALTHENABLED: 'true',
      FELIX_HEALTHHOST: '127.0.0.1',
    });
    await h.settle();
    const live = await get('/liveness', 9099);
    assert.equal(live.status, 200);
    assert.match(live.body, /^\+-+\+/);
    for (const reporter of ['CalculationGraph', 'FelixStartup', 'InternalDataplaneMainLoop'])
      assert.match(
        live.body,
        new RegExp(`\\| ${reporter} +\\| [^|]+\\| reporting live +\\| reporting ready +\\|`),
      );
    assert.equal((await get('/readiness', 9099)).status, 200);
    const m = await get('/metrics', 9091);
    assert.equal(m.status, 200);
    const value = (name: string): number => {
      const line = m.body.split('\n').find((l) => l.startsWith(`${name} `));
      assert.ok(line !== undefined, `metric ${name} missing`);
      return Number(line.split(' ')[1]);
    };
    assert.equal(value('felix_active_local_endpoints'), 1);
    assert.equal(value('felix_active_local_policies'), 1);
    assert.ok(value('felix_active_local_selectors') >= 0);
    assert.equal(value('felix_cluster_num_workload_endpoints'), 1);
    assert.equal(value('felix_cluster_num_policies'), 1);
    assert.equal(value('felix_cluster_num_tiers'), 3);
    assert.equal(value('felix_int_dataplane_failures'), 0);
    assert.ok(value('felix_int_dataplane_apply_time_seconds_count') >= 1);
    assert.ok(value('felix_calc_graph_update_time_seconds_count') >= 1);
    assert.ok(value('felix_calc_graph_output_events') >= 1);
    assert.ok(value('felix_int_dataplane_msg_batch_size_count') >= 1);
    assert.equal(value('felix_resync_state'), 3);
    assert.equal(value('felix_resyncs_started'), 1);
    assert.ok(value('felix_nft_rules') > 0 && value('felix_nft_calls') > 0);
    assert.equal(value('felix_log_errors'), 0);
    assert.match(m.body, /^felix_int_dataplane_messages\{type="workloadEndpointUpdate"\} 1$/m);
    assert.match(m.body, /^felix_calc_graph_updates_processed\{type="WorkloadEndpoint"\} 1$/m);
    assert.match(m.body, /felix_host\{host="node1"\} 1/);
    assert.match(m.body, /^process_cpu_seconds_total /m);
    assert.equal((await get('/nothing', 9099)).status, 404);
    // The DaemonSet's probes, as calico-node runs them.
    const probe = await h.scope
      .runner(h.node)
      .run('env', ['FELIX_HEALTHHOST=127.0.0.1', process.execPath, MAIN, '-felix-ready', '-felix-live'], {
        timeoutMs: 20_000,
      });
    assert.equal(probe.code, 0, `${probe.stdout}${probe.stderr}`);
  });

  it('follows FelixConfiguration: metrics on and off, health moved, in place', async () => {
    await h.killAgent('SIGTERM');
    h.startAgent({ FELIX_HEALTHENABLED: 'true', FELIX_HEALTHHOST: '127.0.0.1' });
    await h.settle();
    const pid = h.agentPid();
    assert.equal((await get('/metrics', 9091)).status, 0, 'metrics are off by default');
    const wait = (what: string, cond: () => Promise<boolean>): Promise<unknown> =>
      waitFor(cond, { timeoutMs: 15_000, intervalMs: 100, what, describe: () => h.agentLog().slice(-2000) });

    await h.put(
      felixConfiguration({ prometheusMetricsEnabled: true, prometheusProcessMetricsEnabled: false }),
    );
    await wait('metrics to be served', async () => (await get('/metrics', 9091)).status === 200);
    const m = await get('/metrics', 9091);
    assert.match(m.body, /^felix_active_local_endpoints /m);
    assert.doesNotMatch(m.body, /^process_/m);

    await h.put(felixConfiguration({ prometheusMetricsEnabled: false, healthPort: 9199 }));
    await wait('metrics to stop', async () => (await get('/metrics', 9091)).status === 0);
    await wait('health to move to 9199', async () => (await get('/liveness', 9199)).status === 200);
    assert.equal((await get('/liveness', 9099)).status, 0);
    assert.equal(h.agentPid(), pid, 'no restart');
    assert.match(h.agentLog(), /"msg":"Configuration value changed","key":"prometheusMetricsEnabled"/);
  });
});
