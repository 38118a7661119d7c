/**
 * calicoctl benchmark, for both backends (etcd is started with the test helper; skipped when not installed):
 * `calicoctl apply -f` of one file holding 10,000 GlobalNetworkPolicies (one in-process call: read, validate,
 * plan, one batched applyMany), then `calicoctl get gnp` listing them back as a table. Seconds, wall clock.
 * Target: 10,000 applied in under 10 s.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { etcdSkipReason, startTestEtcd } from '../src/datastore/etcd/test-etcd.js';
import { calicoctl } from '../src/cli/testing.js';
import type { BenchResult } from './result.js';

const POLICIES = 10_000;

function policyFile(): string {
  const docs: string[] = [];
  for (let i = 0; i < POLICIES; i++) {
    docs.push(`apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata:
  name: bench-${i}
  labels:
    app: app-${i % 50}
spec:
  order: ${i % 1000}
  selector: app == 'app-${i % 50}'
  types: [Ingress, Egress]
  ingress:
    - action: Allow
      protocol: TCP
      source:
        selector: role == 'frontend-${i % 7}'
      destination:
        ports: [80, 443, ${8000 + (i % 100)}]
  egress:
    - action: Allow
      destination:
        nets: [10.${i % 250}.0.0/16]
`);
  }
  return docs.join('---\n');
}

const seconds = (fromNs: bigint): number => Math.round(Number(process.hrtime.bigint() - fromNs) / 1e7) / 100;

async function run(label: string, file: string, env: Record<string, string>): Promise<BenchResult[]> {
  let t0 = process.hrtime.bigint();
  const applied = await calicoctl(['apply', '-f', file], { env });
  const applyS = seconds(t0);
  if (applied.status !== 0) throw new Error(`${label}: apply failed: ${applied.stderr}`);
  t0 = process.hrtime.bigint();
  const listed = await calicoctl(['get', 'gnp'], { env });
  const getS = seconds(t0);
  const rows = listed.stdout.split('\n').filter((l) => l.startsWith('bench-')).length;
  if (rows !== POLICIES) throw new Error(`${label}: listed ${rows} of ${POLICIES}`);
  return [
    {
      name: `cli.${label}.apply_10k_gnp`,
      value: applyS,
      unit: 's',
      target: { op: '<=', value: 10, issue: 3 },
    },
    { name: `cli.${label}.get_10k_gnp`, value: getS, unit: 's' },
  ];
}

export async function benchCli(): Promise<BenchResult[]> {
  const dir = await mkdtemp(join(tmpdir(), 'calico-cli-bench-'));
  try {
    const file = join(dir, 'policies.yaml');
    await writeFile(file, policyFile());
    const results = await run('embedded', file, {
      DATASTORE_TYPE: 'embedded',
      CALICO_DATASTORE_PATH: join(dir, 'calico.db'),
    });
    const skip = etcdSkipReason();
    if (skip !== undefined) {
      process.stdout.write(`  (etcd skipped: ${skip})\n`);
      return results;
    }
    const etcd = await startTestEtcd();
    try {
      results.push(...(await run('etcd', file, { DATASTORE_TYPE: 'etcdv3', ETCD_ENDPOINTS: etcd.endpoint })));
    } finally {
      await etcd.dispose();
    }
    return results;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
