import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { waitFor } from '../../lib/async.js';
import { startTestGoldmane, TEST_EPOCH, testFlow, testHit } from '../../goldmane/testing.js';
import { runCalicoctl } from '../calicoctl.js';
import type { CliIo } from '../io.js';
import { createFlowsCommand } from './flows.js';

function captureIo(env: Record<string, string> = {}): CliIo & { stdout: () => string; stderr: () => string } {
  let out = '';
  let err = '';
  return {
    out: (t) => (out += t),
    err: (t) => (err += t),
    readStdin: () => Promise.resolve(''),
    env,
    stdout: () => out,
    stderr: () => err,
  };
}

const denied = testFlow({
  source_name: 'client-*',
  source_namespace: 'shop',
  dest_name: 'db-*',
  dest_namespace: 'data',
  dest_port: 5432,
  action: 'Deny',
  packets_in: 3,
  packets_out: 0,
  bytes_in: 180,
  bytes_out: 0,
  enforced: [
    testHit({
      kind: 'EndOfTier',
      tier: 'security',
      name: '',
      action: 'Deny',
      rule_index: -1,
      trigger: testHit({
        kind: 'CalicoNetworkPolicy',
        tier: 'security',
        namespace: 'data',
        name: 'db-ingress',
      }),
    }),
  ],
  pending: [
    testHit({ kind: 'StagedNetworkPolicy', namespace: 'data', name: 'allow-shop', tier: 'security' }),
  ],
});
const allowed = testFlow({ source_namespace: 'shop', dest_name: 'web-*', dest_namespace: 'shop' });

describe('calicoctl flows', () => {
  it('lists flows as a table, wide and JSON, with the deciding policy', async () => {
    await using gm = await startTestGoldmane();
    await gm.report([denied, allowed]);
    const io = captureIo({ CALICO_GOLDMANE_SERVER: gm.address });
    assert.equal(await runCalicoctl(['flows'], io), 0, io.stderr());
    const lines = io.stdout().trimEnd().split('\n');
    assert.match(lines[0]!, /^SOURCE\s+DESTINATION\s+PROTO\s+PORT\s+ACTION\s+POLICY\s*$/);
    assert.equal(lines.length, 3);
    assert.ok(
      lines.some((l) =>
        /^shop\/client-\*\s+data\/db-\*\s+tcp\s+5432\s+deny\s+security\/data\/db-ingress end of tier/.test(l),
      ),
      io.stdout(),
    );

    const wide = captureIo();
    assert.equal(
      await runCalicoctl(['flows', 'list', '--server', gm.address, '-o', 'wide', '--action', 'deny'], wide),
      0,
    );
    const [head, row, extra] = wide.stdout().trimEnd().split('\n');
    assert.match(head!, /REPORTER\s+PENDING\s+PACKETS\s+BYTES/);
    assert.match(row!, /dst\s+allow by security\/data\/allow-shop rule 0 \(staged\)\s+3\/0\s+180\/0/);
    assert.equal(extra, undefined);

    const json = captureIo();
    assert.equal(await runCalicoctl(['flows', '--server', gm.address, '-o', 'json', '-n', 'data'], json), 0);
    const flows = JSON.parse(json.stdout()) as { Key: { dest_name: string } }[];
    assert.deepEqual(
      flows.map((f) => f.Key.dest_name),
      ['db-*'],
    );

    const byPolicy = captureIo();
    assert.equal(
      await runCalicoctl(
        ['flows', '--server', gm.address, '-o', 'json', '--policy', 'default/allow-all'],
        byPolicy,
      ),
      0,
    );
    assert.deepEqual(
      (JSON.parse(byPolicy.stdout()) as { Key: { dest_name: string } }[]).map((f) => f.Key.dest_name),
      ['web-*'],
    );
    const byPort = captureIo();
    assert.equal(
      await runCalicoctl(['flows', '--server', gm.address, '--port', '80', '--name', 'web'], byPort),
      0,
    );
    assert.equal(byPort.stdout().trimEnd().split('\n').length, 2);
  });

  it('follows: prints each flow of a bucket when it completes, within a bound', async () => {
    await using gm = await startTestGoldmane();
    const io = captureIo();
    const stop = new AbortController();
    const cmd = createFlowsCommand({ stop: stop.signal });
    const run = cmd.run({
      values: { server: gm.address, follow: true, action: ['deny'], output: 'wide', timeout: '20s' },
      positionals: [],
      io,
    });
    await waitFor(() => io.stdout().startsWith('SOURCE'), { timeoutMs: 5_000, what: 'header' });
    await gm.report([denied, allowed]);
    // Streams carry a bucket once it is complete: two rollovers after the flows' bucket.
    await waitFor(
      () => {
        gm.rollover(1);
        return io.stdout().includes('db-*');
      },
      { timeoutMs: 5_000, what: 'the followed flow' },
    );
    stop.abort();
    assert.equal(await run, 0);
    const lines = io.stdout().trimEnd().split('\n');
    assert.equal(lines.length, 2, io.stdout());
    assert.match(lines[1]!, /deny\s+security\/data\/db-ingress end of tier/);
    assert.ok(gm.now >= TEST_EPOCH + 30);
  });

  it('says clearly when calico-goldmane cannot be reached, and refuses bad options', async () => {
    const io = captureIo();
    assert.equal(await runCalicoctl(['flows', '--server', '127.0.0.1:1'], io), 1);
    assert.match(
      io.stderr(),
      /^Failed to reach calico-goldmane at 127\.0\.0\.1:1: UNAVAILABLE\. Is it running\?/,
    );
    const bad = captureIo();
    assert.equal(await runCalicoctl(['flows', '--action', 'drop'], bad), 1);
    assert.match(bad.stderr(), /--action: "drop" is not one of allow, deny, pass/);
    const since = captureIo();
    assert.equal(await runCalicoctl(['flows', '--since', 'soon'], since), 1);
    assert.match(since.stderr(), /--since: "soon" is not a duration/);
  });
});
