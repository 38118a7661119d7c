import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { waitFor } from '../lib/async.js';
import type { FilterType, FlowResult } from './api-types.js';
import { GoldmaneClient, GoldmaneError } from './client.js';
import { startTestGoldmane, TEST_EPOCH, testFlow, testHit } from './testing.js';

describe('calico-goldmane over gRPC', () => {
  it('merges reports of one key into one flow with summed stats and intersected labels', async () => {
    await using gm = await startTestGoldmane();
    await gm.report([
      testFlow({ source_labels: ['app=client', 'v=1'], packets_in: 2 }),
      testFlow({ source_labels: ['app=client', 'v=2'], packets_in: 3, start_time: TEST_EPOCH + 7 }),
      testFlow({ action: 'Deny', enforced: [testHit({ action: 'Deny', name: 'deny-db' })] }),
    ]);
    const res = await gm.client.list({});
    assert.deepEqual(res.meta, { totalPages: 1, totalResults: 2 });
    const allow = res.flows.find((r) => r.flow!.Key.action === 'Allow')!.flow!;
    assert.equal(allow.packets_in, 5);
    assert.equal(allow.num_connections_started, 2);
    assert.deepEqual(allow.source_labels, ['app=client']);
    assert.equal(allow.start_time, TEST_EPOCH);
    assert.equal(allow.end_time, TEST_EPOCH + 15);
    assert.deepEqual(allow.Key.policies.enforced_policies, [testHit()]);
  });

  it('counts a flow re-sent on one connection once (Goldmane de-duplication)', async () => {
    await using gm = await startTestGoldmane();
    const f = testFlow();
    await gm.report([f, f]);
    const res = await gm.client.list({});
    assert.equal(res.flows[0]!.flow!.packets_in, 1);
    assert.equal(gm.aggregator.duplicates, 1);
  });

  it('filters by names (exact, fuzzy, pub alias), namespaces, ports, actions, policies, pending actions, reporter', async () => {
    await using gm = await startTestGoldmane();
    await gm.report([
      testFlow({ dest_name: 'web-*', dest_namespace: 'shop', dest_port: 443 }),
      testFlow({ dest_name: 'pub', dest_type: 'Network', dest_namespace: '-', reporter: 'Src' }),
      testFlow({
        dest_name: 'db-*',
        action: 'Deny',
        enforced: [testHit({ kind: 'EndOfTier', tier: 'security', action: 'Deny', rule_index: -1 })],
        pending: [testHit({ kind: 'StagedGlobalNetworkPolicy', name: 'staged-allow', tier: 'security' })],
      }),
    ]);
    const names = async (filter: Parameters<GoldmaneClient['list']>[0]): Promise<string[]> =>
      (await gm.client.list(filter)).flows.map((r) => r.flow!.Key.dest_name).sort();
    assert.deepEqual(await names({ filter: { dest_names: [{ value: 'web', type: 'Exact' }] } }), []);
    assert.deepEqual(await names({ filter: { dest_names: [{ value: 'web', type: 'Fuzzy' }] } }), ['web-*']);
    assert.deepEqual(await names({ filter: { dest_names: [{ value: 'PUBLIC NETWORK', type: 'Exact' }] } }), [
      'pub',
    ]);
    assert.deepEqual(await names({ filter: { dest_namespaces: [{ value: 'Global', type: 'Exact' }] } }), [
      'pub',
    ]);
    assert.deepEqual(await names({ filter: { dest_ports: [{ port: 443 }] } }), ['web-*']);
    assert.deepEqual(await names({ filter: { actions: ['Deny'] } }), ['db-*']);
    assert.deepEqual(await names({ filter: { reporter: 'Src' } }), ['pub']);
    assert.deepEqual(await names({ filter: { pending_actions: ['Allow'] } }), ['db-*']);
    assert.deepEqual(
      await names({ filter: { policies: [{ tier: { value: 'security', type: 'Exact' }, action: 'Deny' }] } }),
      ['db-*'],
    );
    assert.deepEqual(await names({ filter: { policies: [{ name: { value: 'staged', type: 'Fuzzy' } }] } }), [
      'db-*',
    ]);
    assert.deepEqual(
      await names({
        filter: {
          dest_names: [
            { value: 'db', type: 'Fuzzy' },
            { value: 'web', type: 'Fuzzy' },
          ],
          actions: ['Allow'],
        },
      }),
      ['web-*'],
    );
  });

  it('sorts by time (newest first) or by a name, and pages from 0', async () => {
    await using gm = await startTestGoldmane();
    gm.now = TEST_EPOCH - 30; // three buckets earlier are still in the ring
    await gm.report(
      ['c', 'a', 'd', 'b'].map((n, i) => testFlow({ source_name: n, start_time: TEST_EPOCH - 45 + i * 15 })),
    );
    gm.now = TEST_EPOCH + 1;
    const byTime = await gm.client.list({});
    assert.deepEqual(
      byTime.flows.map((r) => r.flow!.Key.source_name),
      ['b', 'd', 'a', 'c'],
    );
    const page1 = await gm.client.list({ sort_by: [{ sort_by: 'SourceName' }], page: 1, page_size: 3 });
    assert.deepEqual(page1.meta, { totalPages: 2, totalResults: 4 });
    assert.deepEqual(
      page1.flows.map((r) => r.flow!.Key.source_name),
      ['d'],
    );
    const range = await gm.client.list({ start_time_gte: TEST_EPOCH - 30, start_time_lt: TEST_EPOCH - 15 });
    assert.deepEqual(
      range.flows.map((r) => r.flow!.Key.source_name),
      ['a'],
    );
    await assert.rejects(
      gm.client.list({ sort_by: [{ sort_by: 'DestType' }] }),
      /INVALID_ARGUMENT: unsupported/,
    );
    await assert.rejects(
      gm.client.list({ start_time_gte: TEST_EPOCH, start_time_lt: TEST_EPOCH }),
      (e: unknown) => e instanceof GoldmaneError && e.code === 'INVALID_ARGUMENT' && !e.unreachable,
    );
  });

  it('forgets flows whose buckets left the ring and drops flows outside it', async () => {
    await using gm = await startTestGoldmane();
    await gm.report([
      testFlow(),
      testFlow({ start_time: TEST_EPOCH - 4000 }),
      testFlow({ start_time: TEST_EPOCH + 60 }),
    ]);
    assert.equal(gm.aggregator.size, 1);
    assert.equal(gm.aggregator.dropped, 2);
    gm.rollover(240);
    assert.equal((await gm.client.list({})).flows.length, 1);
    gm.rollover(2);
    assert.equal(gm.aggregator.size, 0);
    assert.equal((await gm.client.list({})).flows.length, 0);
  });

  it('streams each flow of a bucket once the bucket completes, after a backfill from start_time_gte', async () => {
    await using gm = await startTestGoldmane();
    gm.now = TEST_EPOCH - 60;
    await gm.report([testFlow({ source_name: 'old', start_time: TEST_EPOCH - 60 })]);
    gm.now = TEST_EPOCH + 1;
    gm.rollover(0);
    const live: FlowResult[] = [];
    const backfilled: FlowResult[] = [];
    const s1 = gm.client.stream({ filter: { source_names: [{ value: 'new', type: 'Exact' }] } }, (r) =>
      live.push(r),
    );
    const s2 = gm.client.stream({ start_time_gte: -300 }, (r) => backfilled.push(r));
    await waitFor(() => backfilled.length === 1, { timeoutMs: 5_000, what: 'backfill' });
    assert.equal(backfilled[0]!.flow!.Key.source_name, 'old');
    assert.equal(backfilled[0]!.flow!.start_time, TEST_EPOCH - 60);
    await gm.report([
      testFlow({ source_name: 'new', start_time: gm.now }),
      testFlow({ source_name: 'other' }),
    ]);
    gm.rollover(1);
    // One interval later the bucket is complete and goes out (Goldmane streams head-2).
    gm.rollover(1);
    await waitFor(() => live.length === 1 && backfilled.length === 3, {
      timeoutMs: 5_000,
      what: 'live flows',
    });
    assert.equal(live[0]!.flow!.Key.source_name, 'new');
    assert.equal(live[0]!.flow!.end_time - live[0]!.flow!.start_time, 15);
    s1.cancel();
    s2.cancel();
    await Promise.all([s1.done, s2.done]);
  });

  it('answers filter hints per type, sorted and distinct, end of tier by its trigger, no profiles', async () => {
    await using gm = await startTestGoldmane();
    await gm.report([
      testFlow({ dest_namespace: 'b', source_name: 'x' }),
      testFlow({ dest_namespace: 'a', source_name: 'y', dest_port: 81 }),
      testFlow({
        dest_namespace: 'a',
        action: 'Deny',
        enforced: [
          testHit({
            kind: 'EndOfTier',
            tier: 'sec',
            name: '',
            action: 'Deny',
            rule_index: -1,
            trigger: testHit({ name: 'np1', tier: 'sec' }),
          }),
          testHit({ kind: 'Profile', tier: '', name: 'kns.a' }),
        ],
      }),
    ]);
    const hints = async (type: FilterType): Promise<string[]> =>
      (await gm.client.filterHints({ type })).hints.map((h) => h.value);
    assert.deepEqual(await hints('FilterTypeDestNamespace'), ['a', 'b']);
    assert.deepEqual(await hints('FilterTypeSourceName'), ['client-*', 'x', 'y']);
    assert.deepEqual(await hints('FilterTypePolicyName'), ['allow-all', 'np1']);
    assert.deepEqual(await hints('FilterTypePolicyTier'), ['default', 'sec']);
    assert.deepEqual(await hints('FilterTypePolicyKind'), ['GlobalNetworkPolicy']);
    const paged = await gm.client.filterHints({ type: 'FilterTypeSourceName', page: 1, page_size: 2 });
    assert.deepEqual(paged.meta, { totalPages: 2, totalResults: 3 });
    assert.deepEqual(
      paged.hints.map((h) => h.value),
      ['y'],
    );
    await assert.rejects(gm.client.filterHints({}), /INVALID_ARGUMENT/);
  });

  it('lists statistics per policy and per rule, totals or a time series of completed buckets', async () => {
    await using gm = await startTestGoldmane();
    const deny = testHit({ name: 'db', action: 'Deny', rule_index: 1 });
    await gm.report([
      testFlow({ packets_in: 10, packets_out: 0 }),
      testFlow({ action: 'Deny', enforced: [deny], packets_in: 4, packets_out: 0, dest_name: 'db' }),
      testFlow({ reporter: 'Src', packets_in: 0, packets_out: 7 }),
    ]);
    assert.deepEqual(await gm.client.statistics({}), [], 'the current bucket is not complete yet');
    gm.rollover(1);
    await gm.report([testFlow({ start_time: gm.now, packets_in: 1, packets_out: 0 })]);
    gm.rollover(1);
    const perPolicy = await gm.client.statistics({ type: 'PacketCount', group_by: 'Policy' });
    assert.deepEqual(
      perPolicy.map((r) => [r.policy!.name, r.direction, r.allowed_in, r.allowed_out, r.denied_in]),
      [
        ['allow-all', 'Any', [11], [7], [0]],
        ['db', 'Any', [0], [0], [4]],
      ],
    );
    const perRule = await gm.client.statistics({
      group_by: 'PolicyRule',
      time_series: true,
      policy_match: { name: { value: 'allow', type: 'Fuzzy' } },
    });
    assert.deepEqual(
      perRule.map((r) => [
        r.policy!.rule_index,
        r.policy!.action,
        r.direction,
        r.allowed_in,
        r.allowed_out,
        r.x,
      ]),
      [
        [0, 'Allow', 'Ingress', [10, 1], [0, 0], [TEST_EPOCH, TEST_EPOCH + 15]],
        [0, 'Allow', 'Egress', [0], [7], [TEST_EPOCH]],
      ],
    );
    const bytes = await gm.client.statistics({ type: 'ByteCount', policy_match: { action: 'Deny' } });
    assert.deepEqual(
      bytes.map((r) => [r.policy!.name, r.denied_in, r.denied_out]),
      [['db', [100], [100]]],
    );
  });

  it('fails with an unreachable GoldmaneError when nothing listens', async () => {
    await using gm = await startTestGoldmane();
    const port = Number(gm.address.split(':')[1]);
    await gm.server.close(100);
    const c = new GoldmaneClient(`127.0.0.1:${port}`, { callTimeoutMs: 2_000 });
    try {
      await assert.rejects(c.list({}), (e: unknown) => e instanceof GoldmaneError && e.unreachable);
    } finally {
      c.close();
    }
  });
});
