/**
 * The Kubernetes rows (issue 11), on a real kube-apiserver and the real kernel: `kubectl apply` of a
 * NetworkPolicy → verdict, next to calicoctl on etcd (kube-policy.bench.ts). Skipped, with the reason printed,
 * when the Kubernetes programs are not built (tools/kubernetes) or this is not root.
 */
import { kubernetesSkipReason } from '../src/datastore/kubernetes/testing/control-plane.js';
import { kernelTestSkipReason } from '../src/labkit/netns.js';
import { benchKubePolicyLatency } from './kube-policy.bench.js';
import type { BenchResult, BenchTable, SuiteOutput } from './result.js';

export function kubeBenchSkipReason(): string | undefined {
  return kernelTestSkipReason() || kubernetesSkipReason();
}

export async function benchKube(): Promise<SuiteOutput> {
  const skip = kubeBenchSkipReason();
  if (skip !== undefined) {
    process.stdout.write(`  (skipped: ${skip})\n`);
    return [];
  }
  const results: BenchResult[] = [];
  const tables: BenchTable[] = [];
  process.stdout.write('  .. kubectl apply vs calicoctl apply → verdict\n');
  const policy = await benchKubePolicyLatency();
  results.push(...policy.results);
  tables.push(policy.table);
  return { results, tables };
}
