/**
 * The start-up routine's own variables (node/pkg/lifecycle/startup), read and validated with the rest of the
 * configuration, before anything touches the host: an invalid value is a configuration error (exit 2 naming
 * the variable) where Calico's calico-node exits, never a start-up that fails and is retried forever.
 *
 *   CALICO_IPV4POOL_*, CALICO_IPV6POOL_*, NO_DEFAULT_POOLS   the default IP pools (ipam/default-pools.ts)
 *   CLUSTER_TYPE      cluster types added to ClusterInformation's `clusterType` (Calico's manifests: `k8s,bgp`)
 *   the node name     must be a valid Node name (a DNS-1123 subdomain), whichever source it came from
 *
 * The addresses, AS number and networking backend are network-config.ts; the paths (CALICO_NODENAME_FILE,
 * CALICO_MTU_FILE) config.ts.
 */
import { checkSubdomain } from '../api/names.js';
import { type DefaultPoolPlan, planDefaultPools } from '../ipam/index.js';
import { ValidationError, UsageError, formatIssue } from '../lib/errors.js';

export interface StartupConfig {
  readonly pools: DefaultPoolPlan;
  /** CLUSTER_TYPE ('' when unset). */
  readonly clusterType: string;
}

type Env = Readonly<Record<string, string | undefined>>;

/** Throws a UsageError listing every problem, each naming its variable. */
export function loadStartupConfig(env: Env, node: { name: string; source: string }): StartupConfig {
  const problems: string[] = [];
  const nameProblem = checkSubdomain(node.name, 'node name');
  if (nameProblem !== undefined) problems.push(`${node.source}: ${nameProblem}`);
  let pools: DefaultPoolPlan = { pools: [] };
  try {
    pools = planDefaultPools(env);
  } catch (e) {
    if (!(e instanceof ValidationError)) throw e;
    problems.push(...e.issues.map(formatIssue));
  }
  if (problems.length > 0) throw new UsageError(problems.join('; '));
  return { pools, clusterType: env.CLUSTER_TYPE ?? '' };
}
