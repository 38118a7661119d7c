/**
 * The Kubernetes rows (issue 11), on a real kube-apiserver and the real kernel: `kubectl apply` of a
 * NetworkPolicy → verdict, next to calicoctl on etcd (kube-policy.bench.ts); pods created with kubectl → Running
 * with their policy programmed, 10 at once (kube-pods.bench.ts). Skipped, with the reason printed, when the
 * Kubernetes programs or the CNI plugins are not built (tools/kubernetes, npm run build) or this is not root.
 */
import { kubernetesSkipReason } from '../src/datastore/kubernetes/testing/control-plane.js';
import { cniUnavailableReason } from '../src/labkit/cni.js';
import { kernelTestSkipReason } from '../src/labkit/netns.js';
import { benchKubePods } from './kube-pods.bench.js';
import { benchKubePolicyLatency } from './kube-policy.bench.js';
import type { BenchResult, BenchTable, SuiteOutput } from './result.js';

export function kubeBenchSkipReason(): string | undefined {
  return (
    kernelTestSkipReason(['ip', 'nft', 'sysctl', 'conntrack', 'socat', 'ss']) ||
    kubernetesSkipReason() ||
    cniUnavailableReason() ||
    undefined
  );
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
  process.stdout.write('  .. pods from kubectl → Running with their policy programmed\n');
  const pods = await benchKubePods();
  results.push(...pods.results);
  tables.push(pods.table);
  return { results, tables };
}
