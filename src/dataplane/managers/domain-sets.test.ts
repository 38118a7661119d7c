import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { domainSetId } from '../../calc/domain-sets.js';
import type { DataplaneMessage } from '../../calc/messages.js';
import { domainSetName } from '../rules/names.js';
import { ManagerBench, policy, rule, tier, wep } from '../testing/dataplane.js';
import { DomainSetsManager } from './domain-sets.js';
import { HostEndpointManager } from './host-endpoints.js';
import { PolicyManager } from './policies.js';
import { StaticManager } from './static.js';
import { WorkloadEndpointManager } from './workload-endpoints.js';

const DOMAINS = ['*.example.com', 'api.example.org'];
const ID = domainSetId(DOMAINS);
const V4 = domainSetName(4, ID);
const V6 = domainSetName(6, ID);

function bench() {
  let domainSets: DomainSetsManager | undefined;
  const b = new ManagerBench((t, runner) => {
    const policies = new PolicyManager(t);
    domainSets = new DomainSetsManager(t);
    return [
      new StaticManager(t),
      domainSets,
      policies,
      new WorkloadEndpointManager(t, policies.tiers),
      new HostEndpointManager(t, policies.tiers, runner),
    ];
  });
  return { b, domainSets: domainSets! };
}

/** An egress policy allowing TCP 443 to the domain set, on workload `a`. */
const EGRESS = policy([], [rule({ protocol: 6, dstPorts: [{ first: 443, last: 443 }], dstDomainSetId: ID })]);
const USE: readonly DataplaneMessage[] = [
  { kind: 'domainSetUpdate', id: ID, domains: DOMAINS },
  { kind: 'activePolicyUpdate', id: 'gnp/egress', policy: EGRESS },
  wep('a', 'calia', '10.0.0.1', [tier([], ['gnp/egress'])]),
];

describe('DomainSetsManager', () => {
  it('declares both families empty with flags timeout in the transaction of the rules that use them', async () => {
    const { b, domainSets } = bench();
    await b.apply(...USE);
    const scripts = b.kernel.scripts();
    assert.equal(scripts.length, 1, 'one transaction');
    const lines = scripts[0]!.split('\n');
    const declared = lines.indexOf(`add set inet calico ${V4} { type ipv4_addr; flags timeout; }`);
    const used = lines.findIndex((l) => l.includes(`@${V4}`));
    assert.ok(declared >= 0 && used > declared, scripts[0]);
    assert.ok(lines.includes(`add set inet calico ${V6} { type ipv6_addr; flags timeout; }`));
    assert.deepEqual(b.set(V4), []);
    assert.equal(b.kernel.nft.state.sets.get(V6)?.timeout, true);
    assert.deepEqual([...domainSets.patterns()], [[ID, DOMAINS]]);
  });

  it('learned elements in the kernel are left alone by later applies and by a refresh', async () => {
    const { b } = bench();
    await b.apply(...USE);
    const set = b.kernel.nft.state.sets.get(V4)!;
    set.elements.add('192.0.2.1');
    set.timeouts?.set('192.0.2.1', 30);
    assert.deepEqual((await b.table.refresh()).outOfSync, []);
    b.kernel.runner.clearCalls();
    await b.apply({ kind: 'domainSetUpdate', id: ID, domains: DOMAINS });
    assert.deepEqual(b.kernel.scripts(), []);
    assert.deepEqual(b.set(V4), ['192.0.2.1']);
  });

  it('removes the sets after the rules that used them; reset forgets every set', async () => {
    const { b, domainSets } = bench();
    await b.apply(...USE);
    b.kernel.runner.clearCalls();
    await b.apply(
      { kind: 'activePolicyUpdate', id: 'gnp/egress', policy: policy([], []) },
      { kind: 'domainSetRemove', id: ID },
    );
    const [script] = b.kernel.scripts();
    const lines = script!.split('\n');
    const flushed = lines.findIndex((l) => l.startsWith('flush chain'));
    const deleted = lines.indexOf(`delete set inet calico ${V4}`);
    assert.ok(flushed >= 0 && deleted > flushed, script);
    assert.equal(b.set(V4), undefined);
    assert.equal(b.set(V6), undefined);
    assert.equal(domainSets.patterns().size, 0);
    // Declared, removed and declared again in one batch: declared.
    await b.apply(
      { kind: 'domainSetUpdate', id: ID, domains: DOMAINS },
      { kind: 'domainSetRemove', id: ID },
      { kind: 'domainSetUpdate', id: ID, domains: DOMAINS },
    );
    assert.deepEqual(b.set(V4), []);
    domainSets.reset();
    assert.equal(domainSets.patterns().size, 0, 'reset forgets every set');
  });

  it("writes learned addresses by set id into its family's set and announces new or recreated sets by id", async () => {
    const { b, domainSets } = bench();
    const announced: string[][] = [];
    const stop = domainSets.onSetsReset((ids) => announced.push([...ids]));
    await b.apply(...USE);
    assert.deepEqual(announced, [[ID]], 'both families, one id');
    await domainSets.programLearned([
      { id: ID, addr: '192.0.2.1', timeoutS: 30 },
      { id: ID, addr: '2001:db8::1', timeoutS: 60 },
      { id: 'd:unknown', addr: '192.0.2.9', timeoutS: 60 },
    ]);
    assert.deepEqual(b.set(V4), ['192.0.2.1']);
    assert.deepEqual(b.set(V6), ['2001:db8::1']);
    assert.equal(b.kernel.nft.state.sets.get(V6)?.timeouts?.get('2001:db8::1'), 60);
    await b.table.deleteTable();
    await b.apply();
    assert.deepEqual(announced, [[ID], [ID]]);
    stop();
    await b.table.deleteTable();
    await b.apply();
    assert.equal(announced.length, 2, 'the listener was removed');
  });
});
