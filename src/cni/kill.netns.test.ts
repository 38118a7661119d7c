/**
 * A plugin SIGKILLed at any point of ADD (alone, or with its IPAM plugin and lock holder as a process
 * group) leaves nothing that `ipam check` cannot see and `ipam release` cannot fix: every allocated address
 * is either owned by a WorkloadEndpoint or reported, releasing the report leaves IPAM clean, and the
 * runtime's DEL afterwards removes the rest.
 *
 * Through the agent's socket the client (the wrapper and its socat) is what gets killed; the agent finishes
 * every request it received (its log says so), so once those are done every address has its endpoint and
 * the runtime's DEL removes everything.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { IpamClient } from '../ipam/allocator.js';
import { allocations, blockCidr, ordinalToIp } from '../ipam/block.js';
import { checkIpam } from '../ipam/check.js';
import { releaseFromReports } from '../ipam/release-report.js';
import { NetnsScope, kernelTestSkipReason } from '../labkit/netns.js';
import { sleep, waitFor } from '../lib/async.js';
import { formatIp } from '../lib/net/ip.js';
import { acquireHostLock } from './lock.js';
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
/**
 * When to kill (ms): as plugin processes, after the start, spread over an ADD's ~250 ms from before IPAM to
 * the policy wait. Through the agent, the first ones after the start (most land before the request is
 * sent), the others after the agent logged the request (they land while it is served).
 */
const KILLS: Readonly<Record<CniMode, readonly { ms: number; afterInvoked?: boolean }[]>> = {
  standalone: [0, 40, 70, 90, 110, 130, 150, 170, 190, 210, 240, 280, 330].map((ms) => ({ ms })),
  agent: [
    ...[0, 5, 10, 20, 40, 60].map((ms) => ({ ms })),
    ...[0, 0, 2, 5, 10, 20, 40].map((ms) => ({ ms, afterInvoked: true })),
  ],
};

function invokedLine(id: string): string {
  return `calico: invoked cmd=ADD containerID=${id} `;
}

/** Waits (bounded) until the agent logged that it received this container's ADD. */
async function agentInvoked(node: CniNode, id: string): Promise<void> {
  await waitFor(() => node.log().includes(invokedLine(id)), {
    timeoutMs: 10_000,
    intervalMs: 1,
    what: `the agent to log the ADD of ${id}`,
  });
}

/** Waits (bounded) until every ADD the agent received for these containers has finished. */
async function agentRequestsDone(node: CniNode, containerIds: readonly string[]): Promise<void> {
  const open = (): string[] => {
    const log = node.log();
    return containerIds.filter(
      (id) =>
        log.includes(invokedLine(id)) &&
        !new RegExp(`calico: (done|failed) cmd=ADD containerID=${id} `).test(log),
    );
  };
  await waitFor(() => open().length === 0, {
    timeoutMs: 120_000,
    intervalMs: 50,
    what: 'the agent to finish every ADD it received',
    describe: () => `still serving ${open().join(', ')}`,
  });
}

/** Plugin processes (`calico`, `calico-ipam`) of this node still running: the runtime gave them CNI_PATH. */
function pluginProcesses(node: CniNode): number[] {
  const mark = `CNI_PATH=${node.binDir}\0`;
  return readdirSync('/proc').flatMap((d) => {
    if (!/^\d+$/.test(d)) return [];
    try {
      return readFileSync(`/proc/${d}/environ`, 'latin1').includes(mark) ? [Number(d)] : [];
    } catch {
      return []; // gone meanwhile
    }
  });
}

for (const mode of CNI_MODES) {
  describe(`a plugin killed mid-ADD (${mode})`, { skip, timeout: 900_000 }, () => {
    const scope = new NetnsScope(runner);
    const node = new CniNode({ nodeName: 'node1', datastore: { type: 'embedded' }, mode });

    before(async () => {
      await node.boot(scope, [ipPool('pool-v4', '10.69.0.0/16', 29), namespaceObject('default')]);
    });

    after(async () => {
      await node[Symbol.asyncDispose]();
      await scope[Symbol.asyncDispose]();
    });

    async function allocated(): Promise<Set<string>> {
      const out = new Set<string>();
      const { items } = await new IpamClient(node.backend).store.listBlocks();
      for (const b of items) {
        for (const a of allocations(b.spec)) {
          const ip = ordinalToIp(blockCidr(b.spec), a.ordinal);
          out.add(formatIp(ip.family, ip.value));
        }
      }
      return out;
    }

    it('leaves only what ipam check reports and ipam release fixes', async () => {
      const pods: Record<string, string>[] = [];
      const killed: string[] = [];
      for (const [i, kill] of KILLS[mode].entries()) {
        const ns = await scope.namespace();
        const env = node.podEnv({
          containerId: `kill-${i}`,
          netns: `/var/run/netns/${ns}`,
          pod: `kill-${i}`,
        });
        pods.push(env);
        const group = i % 2 === 0;
        const run = node.cniSpawn('ADD', node.netconf(), env, { group });
        if (kill.afterInvoked === true) await agentInvoked(node, `kill-${i}`);
        // When the kill lands is the test's subject (KILLS), not a wait for something.
        await sleep(kill.ms);
        if (run.child.pid !== undefined && run.child.exitCode === null) {
          if (group) process.kill(-run.child.pid, 'SIGKILL');
          else run.child.kill('SIGKILL');
        }
        if ((await run.done).code !== 0) killed.push(env['CNI_CONTAINERID'] ?? '');
      }
      // An orphaned calico-ipam (its calico was killed alone) finishes its work under the host lock: wait
      // until no plugin process of this node is left, then for the lock to be free.
      await waitFor(() => pluginProcesses(node).length === 0, {
        timeoutMs: 60_000,
        what: 'orphaned plugin processes to finish',
        describe: () => `pids ${pluginProcesses(node).join(', ')}`,
      });
      await (await acquireHostLock(node.lockFile, 60_000)).release();
      if (mode === 'agent') {
        // Some clients must have died with their request in the agent (else this proves nothing).
        const log = node.log();
        assert.ok(
          killed.some((id) => log.includes(invokedLine(id))),
          `no kill landed while the agent served the request (killed: ${killed.join(', ')})`,
        );
        await agentRequestsDone(
          node,
          pods.map((p) => p['CNI_CONTAINERID'] ?? ''),
        );
      }

      const report = await checkIpam(node.backend, { version: 'test' });
      const owned = new Set(report.owners.map((o) => o.ip));
      const leaked = new Set(report.leaked.map((l) => l.ip));
      const before = await allocated();
      // The delays span the ADD: some kills must land after IPAM assigned (else this proves nothing).
      assert.ok(before.size > 0, 'no kill landed after the address assignment');
      for (const ip of before) {
        assert.ok(owned.has(ip) || leaked.has(ip), `${ip} is allocated but neither in use nor reported`);
      }
      assert.deepEqual(report.notAllocated, [], 'no endpoint holds an unallocated address');

      await releaseFromReports(new IpamClient(node.backend), [report.report], {
        force: true,
        version: 'test',
        print: () => undefined,
      });
      const afterRelease = await node.ipamProblems();
      assert.equal(afterRelease.problems, 0, afterRelease.summary);

      // The runtime retries DEL for every sandbox whose ADD failed; that removes what the ADDs left.
      for (const env of pods) assert.equal((await node.cni('DEL', node.netconf(), env)).code, 0);
      assert.equal((await node.backend.list({ kind: 'WorkloadEndpoint' })).items.length, 0);
      assert.doesNotMatch(await inNs(node.ns, 'ip', ['-br', 'link']), /cali/);
      const final = await node.ipamProblems();
      assert.equal(final.problems, 0, final.summary);
      assert.equal((await allocated()).size, 0);
    });
  });
}
