/** The agent's Prometheus metrics (Felix's names, port 9091) and health endpoints (9099), scraped in its namespace. */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { kernelTestSkipReason } from '../labkit/netns.js';
import { repoRoot } from '../test-support/repo.js';
import { AgentHarness, knp, namespaceObject } from './testing.js';

const built = existsSync(join(repoRoot(), 'dist', 'src', 'agent', 'main.js'));
const skip = kernelTestSkipReason() || (built ? false : 'dist/src/agent/main.js not built');

const FETCH = `
const [url] = process.argv.slice(1);
fetch(url).then(async (r) => { console.log(JSON.stringify({ status: r.status, body: await r.text() })); })
  .catch((e) => { console.log(JSON.stringify({ status: 0, body: String(e) })); });
`;

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
    assert.equal((await get('/liveness', 9099)).status, 204);
    assert.equal((await get('/readiness', 9099)).status, 204);
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
    assert.match(m.body, /felix_host\{host="node1"\} 1/);
    assert.equal((await get('/nothing', 9099)).status, 404);
  });
});
