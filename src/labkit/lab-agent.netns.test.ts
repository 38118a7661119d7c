/**
 * The lab with the calico-ts agent (root and a built agent; skipped with the reason otherwise): policy
 * written to the datastore is in force once `sync` returns, for both address families, and stays in force
 * while the agent is stopped; `sync` names an agent that died or was stopped instead of waiting for it.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { knp } from '../agent/testing.js';
import { NodeCommandRunner } from '../dataplane/exec/node-runner.js';
import { LabSyncError } from './cluster-agents.js';
import { LabCluster } from './cluster.js';
import { kernelTestSkipReason } from './netns.js';
import { defaultAgentEntry } from './paths.js';

const agentEntry = defaultAgentEntry();
const skip =
  kernelTestSkipReason(['ip', 'nft', 'sysctl', 'conntrack']) ||
  (existsSync(agentEntry) ? false : `${agentEntry} is missing (npm run build)`);

const denyIngressToB = knp('x', 'deny-b', {
  podSelector: { matchLabels: { pod: 'b' } },
  policyTypes: ['Ingress'],
});
const allowAToB = knp('x', 'allow-a-to-b', {
  podSelector: { matchLabels: { pod: 'b' } },
  ingress: [
    { from: [{ podSelector: { matchLabels: { pod: 'a' } } }], ports: [{ port: 80, protocol: 'TCP' }] },
  ],
});

describe('lab with the agent', { skip }, () => {
  let lab: LabCluster;
  const runner = new NodeCommandRunner();
  before(async () => {
    lab = await LabCluster.create({ runner, agentEnv: { FELIX_HEALTHENABLED: 'false' } });
    await lab.addNode('node-1', { startAgent: true });
    await lab.setNamespaces({ x: { ns: 'x' } });
    await lab.addPods([
      {
        node: 'node-1',
        spec: { namespace: 'x', name: 'a', ip: '10.244.1.10', labels: { pod: 'a' }, ports: [80] },
      },
      {
        node: 'node-1',
        spec: { namespace: 'x', name: 'b', ip: '10.244.2.10', labels: { pod: 'b' }, ports: [80] },
      },
      {
        node: 'node-1',
        spec: { namespace: 'x', name: 'c', ip: 'fd00::af4:10a', labels: { pod: 'a' }, ports: [80] },
      },
      {
        node: 'node-1',
        spec: { namespace: 'x', name: 'd', ip: 'fd00::af4:20a', labels: { pod: 'b' }, ports: [80] },
      },
    ]);
    await lab.sync();
  });
  after(() => lab.destroy());

  const expect = async (
    from: string,
    to: string,
    verdict: 'allowed' | 'denied',
    protocol: 'tcp' | 'udp' = 'tcp',
  ) => {
    const o = await lab.probe(from, { to, protocol, port: 80, timeoutMs: 500 });
    assert.equal(o.verdict, verdict, `${from} -> ${to} ${protocol}: ${o.detail}`);
  };

  test('endpoints are programmed and traffic flows with no policy', async () => {
    assert.deepEqual(await lab.waitEndpoints(undefined, { timeoutMs: 5000 }), []);
    const s = await lab.agentStatus('node-1');
    assert.equal(s?.inSync, true);
    await expect('x/a', 'x/b', 'allowed');
    await expect('x/c', 'x/d', 'allowed', 'udp');
  });

  test('default-deny ingress, then an allow policy, in both families', async () => {
    await lab.replaceResources(['KubernetesNetworkPolicy'], [denyIngressToB]);
    await lab.sync();
    await lab.flushConntrack('node-1');
    await expect('x/a', 'x/b', 'denied');
    await expect('x/c', 'x/d', 'denied');
    await expect('x/b', 'x/a', 'allowed');
    // The hairpin puts pod -> itself under the same policy.
    await expect('x/b', 'x/b', 'denied');
    await lab.replaceResources(['KubernetesNetworkPolicy'], [denyIngressToB, allowAToB]);
    await lab.sync();
    await expect('x/a', 'x/b', 'allowed');
    await expect('x/c', 'x/d', 'allowed');
    await expect('x/a', 'x/b', 'denied', 'udp');
  });

  test('an agent that dies unexpectedly fails sync, with its log; it can be started again', async () => {
    const pid = lab.node('node-1').agentPid;
    assert.ok(pid !== undefined);
    process.kill(pid, 'SIGKILL');
    await assert.rejects(lab.sync({ timeoutMs: 10_000 }), (e: unknown) => {
      assert.ok(e instanceof LabSyncError, String(e));
      assert.match(e.message, /^not in sync at revision \d+: .*node-1.*killed by SIGKILL/s);
      return true;
    });
    assert.equal(lab.agentRunning('node-1'), false);
    await lab.startAgent('node-1');
    await lab.sync();
    await expect('x/a', 'x/b', 'allowed');
  });

  test('policy stays enforced while the agent is stopped; a restart converges', async () => {
    await lab.stopAgent('node-1');
    assert.equal(lab.agentRunning('node-1'), false);
    // sync names the node whose agent is down instead of leaving it out.
    await assert.rejects(lab.sync({ timeoutMs: 5000 }), (e: unknown) => {
      assert.ok(e instanceof LabSyncError, String(e));
      assert.deepEqual(
        e.down.map((d) => [d.node, d.why]),
        [['node-1', 'not running: never started, or stopped']],
      );
      assert.match(
        e.message,
        /calico-node on node-1 is down \(not running: never started, or stopped; log \//,
      );
      return true;
    });
    await expect('x/a', 'x/b', 'allowed');
    await expect('x/a', 'x/b', 'denied', 'udp');
    await lab.replaceResources(['KubernetesNetworkPolicy'], []);
    await lab.startAgent('node-1');
    await lab.sync();
    await expect('x/a', 'x/b', 'allowed', 'udp');
  });
});
