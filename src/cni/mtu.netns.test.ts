/**
 * The pod MTU end to end, on a node namespace with the agent: the agent writes the MTU file from its host
 * interfaces and the pools (VXLAN: host MTU less 50), and the plugin, configured with `"mtu": 0` or no `mtu`
 * at all, gives the pod that MTU, as Calico's plugin does with Felix's /var/lib/calico/mtu. Run with the
 * plugin in the agent and standalone.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Resource } from '../datastore/api.js';
import { waitFor } from '../lib/async.js';
import { NetnsScope, kernelTestSkipReason } from '../labkit/netns.js';
import { CNI_MODES, CniNode, inNs, namespaceObject, runner } from './testing/harness.js';

const skip = kernelTestSkipReason(['ip', 'nft', 'nsenter', 'flock', 'sysctl', 'socat', 'ss']);

function pool(vxlanMode: 'Always' | 'Never'): Resource {
  return {
    apiVersion: 'projectcalico.org/v3',
    kind: 'IPPool',
    metadata: { name: 'pool-vxlan' },
    spec: { cidr: '10.67.0.0/16', natOutgoing: false, vxlanMode },
  } as Resource;
}

async function linkMtu(ns: string, dev: string): Promise<number> {
  const links = JSON.parse(await inNs(ns, 'ip', ['-j', 'link', 'show', 'dev', dev])) as { mtu: number }[];
  return links[0]?.mtu ?? -1;
}

for (const mode of CNI_MODES) {
  describe(`the pod MTU from the agent's MTU file (${mode})`, { skip, timeout: 300_000 }, () => {
    const scope = new NetnsScope(runner);
    // The harness's uplink (MTU 1500) is the host interface Felix's pattern should find.
    const node = new CniNode({
      nodeName: 'node1',
      datastore: { type: 'embedded' },
      mode,
      agentEnv: { FELIX_MTUIFACEPATTERN: '^uplink$', CALICO_NETWORKING_BACKEND: 'vxlan' },
    });
    const mtuFile = (): string => join(node.runDir, 'mtu');
    const fileValue = (): string | undefined => {
      try {
        return readFileSync(mtuFile(), 'utf8');
      } catch {
        return undefined;
      }
    };

    before(async () => {
      await node.boot(scope, [pool('Always'), namespaceObject('default')]);
    });
    after(async () => {
      await node[Symbol.asyncDispose]();
      await scope[Symbol.asyncDispose]();
    });

    it('VXLAN: the file says 1450 and a pod with "mtu": 0 gets 1450; without VXLAN 1500', async () => {
      await waitFor(() => fileValue() === '1450', {
        timeoutMs: 30_000,
        what: 'the agent to write 1450 to its MTU file',
        describe: () => `file: ${JSON.stringify(fileValue())}`,
      });
      const ns1 = await scope.namespace();
      const env1 = node.podEnv({ containerId: 'mtu-1', netns: `/var/run/netns/${ns1}`, pod: 'mtu-1' });
      const add1 = await node.cni('ADD', node.netconf({ mtu: 0 }), env1);
      assert.equal(add1.code, 0, `${add1.stdout}${add1.stderr}`);
      assert.equal(await linkMtu(ns1, 'eth0'), 1450);

      // No pool uses VXLAN any more: the agent rewrites the file with the host MTU.
      await node.put(pool('Never'));
      await waitFor(() => fileValue() === '1500', {
        timeoutMs: 30_000,
        what: 'the agent to write 1500 to its MTU file',
        describe: () => `file: ${JSON.stringify(fileValue())}`,
      });
      const ns2 = await scope.namespace();
      const env2 = node.podEnv({ containerId: 'mtu-2', netns: `/var/run/netns/${ns2}`, pod: 'mtu-2' });
      const conf = node.netconf();
      delete conf['mtu'];
      const add2 = await node.cni('ADD', conf, env2);
      assert.equal(add2.code, 0, `${add2.stdout}${add2.stderr}`);
      assert.equal(await linkMtu(ns2, 'eth0'), 1500);

      for (const env of [env1, env2]) assert.equal((await node.cni('DEL', node.netconf(), env)).code, 0);
      const ipam = await node.ipamProblems();
      assert.equal(ipam.problems, 0, ipam.summary);
    });
  });
}
