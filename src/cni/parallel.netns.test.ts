/**
 * Concurrency on one node: 100 ADDs at once (the host IPAM lock and compare-and-swap keep addresses
 * unique), then 100 DELs at once, leaving no endpoint, address, handle or interface behind; through the
 * agent's CNI socket, with the standalone plugins, and with both at once (half of the pods each way: the
 * agent's in-process lock queue and the plugin processes share the host lock file).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { NetnsScope, kernelTestSkipReason } from '../labkit/netns.js';
import {
  CNI_MODES,
  CniNode,
  inNs,
  ipPool,
  namespaceObject,
  runner,
  type CniMode,
} from './testing/harness.js';

const skip = kernelTestSkipReason(['ip', 'nft', 'nsenter', 'flock', 'sysctl']);
const PODS = 100;

for (const mode of [...CNI_MODES, 'mixed'] as const) {
  describe(
    `100 pods started and stopped in parallel on one node (${mode})`,
    { skip, timeout: 900_000 },
    () => {
      const scope = new NetnsScope(runner);
      const node = new CniNode({ nodeName: 'node1', datastore: { type: 'embedded' } });
      /** Pod i's way in mixed mode. */
      const modeEnv = (i: number): Record<string, string> => {
        const m: CniMode = mode === 'mixed' ? (i % 2 === 0 ? 'agent' : 'standalone') : mode;
        return m === 'standalone' ? { CALICO_CNI_SOCKET: '' } : {};
      };

      before(async () => {
        // Small blocks, so that the node claims several of them concurrently.
        await node.boot(scope, [ipPool('pool-v4', '10.67.0.0/16', 28), namespaceObject('default')]);
      });

      after(async () => {
        await node[Symbol.asyncDispose]();
        await scope[Symbol.asyncDispose]();
      });

      it('gives every pod a distinct address and leaks nothing on DEL', async () => {
        const pods = [];
        for (let i = 0; i < PODS; i++) {
          const ns = await scope.namespace();
          pods.push({
            ...node.podEnv({ containerId: `par-${i}`, netns: `/var/run/netns/${ns}`, pod: `par-${i}` }),
            ...modeEnv(i),
          });
        }
        // Generous policy wait: 100 plugin pairs share two cores with the agent.
        const conf = node.netconf({ policy_setup_timeout_seconds: 300 });
        const added = await Promise.all(pods.map((env) => node.cni('ADD', conf, env)));
        const failed = added.filter((r) => r.code !== 0);
        assert.deepEqual(failed, [], 'every ADD succeeds');
        const ips = added.map(
          (r) => (JSON.parse(r.stdout) as { ips: { address: string }[] }).ips[0]?.address ?? '',
        );
        assert.equal(new Set(ips).size, PODS, 'no duplicate address');
        const weps = (await node.backend.list({ kind: 'WorkloadEndpoint' })).items;
        assert.equal(weps.length, PODS);
        const wepIps = weps.flatMap(
          (w) => (w as unknown as { spec: { ipNetworks: string[] } }).spec.ipNetworks,
        );
        assert.deepEqual(new Set(wepIps), new Set(ips));
        assert.equal((await node.ipamProblems()).problems, 0);

        const deleted = await Promise.all(pods.map((env) => node.cni('DEL', conf, env)));
        assert.deepEqual(
          deleted.filter((r) => r.code !== 0),
          [],
          'every DEL succeeds',
        );
        assert.equal((await node.backend.list({ kind: 'WorkloadEndpoint' })).items.length, 0);
        assert.equal((await node.backend.list({ kind: 'IPAMHandle' })).items.length, 0);
        assert.doesNotMatch(await inNs(node.ns, 'ip', ['-br', 'link']), /cali/);
        const check = await node.ipamProblems();
        assert.equal(check.problems, 0, check.summary);
      });
    },
  );
}
