/**
 * DomainSetsManager with the policy managers against the real kernel, in a network namespace of the test's
 * own (root only; skipped with the reason otherwise).
 */
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { domainSetId } from '../../calc/domain-sets.js';
import type { DataplaneMessage } from '../../calc/messages.js';
import { NetnsScope, kernelTestSkipReason } from '../../labkit/netns.js';
import { NodeCommandRunner } from '../exec/node-runner.js';
import { handle, type Manager } from '../manager.js';
import { NftTable } from '../nftables/table.js';
import { learnedElements as learned } from '../nftables/testing/kernel.js';
import { domainSetName } from '../rules/names.js';
import { policy, rule, tier, wep } from '../testing/dataplane.js';
import { DomainSetsManager } from './domain-sets.js';
import { HostEndpointManager } from './host-endpoints.js';
import { PolicyManager } from './policies.js';
import { StaticManager } from './static.js';
import { WorkloadEndpointManager } from './workload-endpoints.js';

const skip = kernelTestSkipReason(['ip', 'nft']);

describe('DomainSetsManager on the real kernel', { skip }, () => {
  const scope = new NetnsScope(new NodeCommandRunner());
  after(() => scope[Symbol.asyncDispose]());

  test('the managers program a policy naming a domain set (hash with - and _) in one transaction', async () => {
    const ns = await scope.namespace();
    const table = new NftTable({ runner: scope.runner(ns) });
    const runner = scope.runner(ns);
    const policies = new PolicyManager(table);
    const domainSets = new DomainSetsManager(table);
    const managers: Manager[] = [
      new StaticManager(table),
      domainSets,
      policies,
      new WorkloadEndpointManager(table, policies.tiers),
      new HostEndpointManager(table, policies.tiers, runner),
    ];
    // A set id whose kernel name has both characters base64url adds to nft names (bounded search).
    const domains = Array.from({ length: 500 }, (_, i) => [`svc${i}.example.com`]).find((d) =>
      /-.*_|_.*-/.test(domainSetName(4, domainSetId(d)).slice('cali40d-'.length)),
    );
    assert.ok(domains !== undefined);
    const id = domainSetId(domains);
    const egress = policy(
      [],
      [rule({ protocol: 6, dstPorts: [{ first: 443, last: 443 }], dstDomainSetId: id })],
    );
    const msgs: DataplaneMessage[] = [
      { kind: 'domainSetUpdate', id, domains },
      { kind: 'activePolicyUpdate', id: 'gnp/egress', policy: egress },
      wep('a', 'calia', '10.0.0.1', [tier([], ['gnp/egress'])]),
    ];
    const signal = new AbortController().signal;
    for (const m of msgs) for (const mgr of managers) handle(mgr.handlers, m);
    for (const mgr of managers) await mgr.completeDeferredWork?.(signal);
    assert.equal((await table.apply()).transactions, 1);
    await domainSets.programLearned([{ id, addr: '192.0.2.1', timeoutS: 60 }]);
    assert.equal((await learned(runner, domainSetName(4, id))).get('192.0.2.1'), 60);
    table.close();
  });
});
