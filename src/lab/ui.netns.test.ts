/**
 * The flow viewer on a real lab, end to end (root, a built agent and Debian's chromium; skipped with the reason
 * otherwise): one node running calico-node with flow logs on (the lab's calico-goldmane), two pods, a
 * Kubernetes NetworkPolicy that isolates one of them for ingress. After a denied probe, the page that
 * `calico-lab ui` serves lists that flow (action Deny, reported by the destination) and its details name the
 * deciding policy: the end of tier `default` for the policy knp.default.deny-b; an allowed probe's flow names
 * the profile that allowed it. Also what calicoctl flows prints for the same flows.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import type { Page } from 'playwright-core';
import { knp } from '../agent/testing.js';
import { runCalicoctlProcess } from '../labkit/calicoctl.js';
import { NodeCommandRunner } from '../dataplane/exec/node-runner.js';
import { GoldmaneClient } from '../goldmane/client.js';
import { waitFor } from '../lib/async.js';
import { LabCluster } from '../labkit/cluster.js';
import { kernelTestSkipReason } from '../labkit/netns.js';
import { defaultAgentEntry } from '../labkit/paths.js';
import { startWhisker, type Whisker } from '../whisker/server.js';
import { chromiumMissing, withPage } from '../whisker/testing/browser.js';

const agentEntry = defaultAgentEntry();
const skip =
  kernelTestSkipReason(['ip', 'nft', 'sysctl', 'conntrack', 'tcpdump']) ||
  (existsSync(agentEntry) ? false : `${agentEntry} is missing (npm run build)`) ||
  (chromiumMissing() ?? false);

async function rows(page: Page): Promise<string[]> {
  return page.getByRole('table', { name: 'Flows' }).locator('tbody tr').allTextContents();
}

describe('the flow viewer on a lab (headless Chromium)', { skip }, () => {
  let lab: LabCluster | undefined;
  const theLab = (): LabCluster => {
    assert.ok(lab !== undefined, 'the lab was not built');
    return lab;
  };
  let whisker: Whisker | undefined;
  let goldmane: GoldmaneClient | undefined;
  const runner = new NodeCommandRunner();
  before(async () => {
    const l = await LabCluster.create({ runner, agentEnv: { FELIX_HEALTHENABLED: 'false' } });
    lab = l;
    await l.addFlowLogs({ flushInterval: '1s' });
    await l.addNode('node-1', { startAgent: true });
    await l.setNamespaces({ default: { ns: 'default' } });
    await l.addPods([
      {
        node: 'node-1',
        spec: { namespace: 'default', name: 'a', ip: '10.244.1.10', labels: { pod: 'a' }, ports: [80] },
      },
      {
        node: 'node-1',
        spec: { namespace: 'default', name: 'b', ip: '10.244.2.10', labels: { pod: 'b' }, ports: [80] },
      },
    ]);
    await l.datastore.applyMany([
      knp('default', 'deny-b', { podSelector: { matchLabels: { pod: 'b' } }, policyTypes: ['Ingress'] }),
    ]);
    await l.sync();
    const server = l.goldmaneServer();
    assert.ok(server !== undefined);
    goldmane = new GoldmaneClient(server);
    whisker = await startWhisker({ port: 0, goldmane: server, datastore: l.datastore });
  });
  after(async () => {
    goldmane?.close();
    await whisker?.close();
    await lab?.destroy();
  });

  test('a denied probe shows up in the page with the policy that denied it', async () => {
    const denied = await theLab().probe('default/a', {
      to: 'default/b',
      protocol: 'tcp',
      port: 80,
      timeoutMs: 1000,
    });
    assert.equal(denied.verdict, 'denied', denied.detail);
    const allowed = await theLab().probe('default/b', {
      to: 'default/a',
      protocol: 'tcp',
      port: 80,
      timeoutMs: 1000,
    });
    assert.equal(allowed.verdict, 'allowed', allowed.detail);
    await withPage(async (page) => {
      await page.goto(whisker!.url);
      let last: string[] = [];
      // The page streams flows as calico-goldmane completes its 15 s buckets: 15 to 30 s after a flow.
      await waitFor(
        async () => {
          last = await rows(page);
          return last.some((r) => /^[\d:]+Denydefaultadefaultbtcp80Dst/.test(r));
        },
        {
          timeoutMs: 75_000,
          intervalMs: 100,
          what: 'the denied flow listed',
          describe: () => JSON.stringify(last),
        },
      );
      await page
        .getByRole('button', { name: /^Details of Deny flow default\/a to default\/b/ })
        .first()
        .click();
      const details = page.getByRole('region', { name: 'Flow details' });
      await details.waitFor();
      const deciding = details
        .getByRole('table', { name: 'Enforced policies' })
        .locator('tr[aria-current="true"]');
      const text = (await deciding.textContent()) ?? '';
      assert.match(text, /deny-b/, text);
      assert.match(text, /Deny/, text);
    });
  });

  test('calicoctl flows lists the same flows with the deciding policy', async () => {
    const server = theLab().goldmaneServer()!;
    const r = await runCalicoctlProcess(['flows', '-o', 'json'], { CALICO_GOLDMANE_SERVER: server });
    assert.equal(r.code, 0, r.output);
    assert.match(r.output, /deny-b/);
    const listed = await goldmane!.list({});
    const deny = listed.flows.find((f) => f.flow?.Key.action === 'Deny' && f.flow.Key.reporter === 'Dst');
    const flow = deny?.flow;
    assert.ok(flow !== null && flow !== undefined, JSON.stringify(listed.flows.map((f) => f.flow?.Key)));
    const hits = flow.Key.policies.enforced_policies;
    assert.equal(hits.at(-1)?.kind, 'EndOfTier', JSON.stringify(hits));
  });
});
