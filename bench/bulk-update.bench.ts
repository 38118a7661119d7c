/**
 * In-place updates of many active policies at once, on the real kernel: 1,000 policies all selecting one
 * local pod (so every one is rendered into its tier chain), then one datastore write that changes the rules
 * of all 1,000; the figure is the time from that write until the agent reports the revision programmed
 * (status.json appliedRevision), checked against the kernel. Each tier chain must be rendered once per apply,
 * whatever the number of its policies that changed (before: once per changed policy, 1,000 updates did not
 * finish in 10 minutes).
 */
import { AgentHarness } from '../src/agent/testing.js';
import type { Resource } from '../src/datastore/index.js';
import { waitFor } from '../src/lib/async.js';
import { C, podPair } from './agent-setup.js';
import type { BenchResult } from './result.js';

const POLICIES = 1000;
const ROUNDS = 3;
const now = (): number => Number(process.hrtime.bigint()) / 1e6;

/** Every policy selects the server pod and denies one source address, which `round` picks. */
function policies(round: number): Resource[] {
  return Array.from(
    { length: POLICIES },
    (_, i) =>
      ({
        apiVersion: C,
        kind: 'GlobalNetworkPolicy',
        metadata: { name: `bulk-${i}` },
        spec: {
          order: 1000 + i,
          selector: "app == 'bench-b'",
          types: ['Ingress'],
          ingress: [
            {
              action: 'Deny',
              protocol: 'TCP',
              source: { nets: [`198.${18 + (round % 2)}.${i >> 8}.${i & 255}/32`] },
              destination: { ports: [80] },
            },
          ],
        },
      }) as Resource,
  );
}

export async function benchBulkUpdate(): Promise<BenchResult[]> {
  await using h = new AgentHarness();
  await h.setup();
  await podPair(h);
  await h.backend.applyMany(policies(0));
  h.startAgent();
  await h.settle(300_000);
  const times: number[] = [];
  for (let round = 1; round <= ROUNDS; round++) {
    const t0 = now();
    const stored = await h.backend.applyMany(policies(round));
    const want = Math.max(...stored.map((r) => Number(r.metadata.resourceVersion)));
    await waitFor(() => (h.status()?.appliedRevision ?? 0) >= want, {
      timeoutMs: 600_000,
      intervalMs: 5,
      what: `the agent to program ${POLICIES} policy updates`,
    });
    times.push(now() - t0);
    // The kernel has this round's addresses and none of the previous round's.
    const table = await h.tableText();
    const [mine, theirs] = round % 2 === 0 ? ['198.18.', '198.19.'] : ['198.19.', '198.18.'];
    if (!table.includes(`${mine}3.231`) || table.includes(`${theirs}3.231`))
      throw new Error(`round ${round}: the kernel does not hold the updated policies`);
  }
  const sorted = [...times].sort((a, b) => a - b);
  return [
    {
      name: `apply ${POLICIES.toLocaleString('en-US')} in-place policy updates (${POLICIES.toLocaleString('en-US')} active policies, embedded; median of ${ROUNDS})`,
      value: Math.round(sorted[Math.floor(ROUNDS / 2)]!),
      unit: 'ms',
    },
  ];
}
