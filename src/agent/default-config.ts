/**
 * What calico-node's start-up writes into the datastore besides the Node and the pools (Calico v3.32's
 * `ensureDefaultConfig`, node/pkg/lifecycle/startup/startup.go), idempotently and without overwriting a
 * value someone set:
 *
 *   EnsureInitialized          ClusterInformation `default` (this version, CLUSTER_TYPE) and the built-in
 *                              tiers (datastore/initialize.ts)
 *   FelixConfiguration default created with `reportingInterval: 0s` and `logSeverityScreen: Info`; an
 *                              existing one only gets those two fields when it has none
 *   FelixConfiguration node.<name>   `defaultEndpointToHostAction: Return` (workloads may reach their host
 *                              unless host endpoint policy says otherwise), set only when absent
 *   BGPConfiguration default   created empty when missing (Calico's defaults apply: mesh on, AS 64512)
 *
 * A stored object that is not a valid resource is left as it is (a warning; the agent keeps its last good
 * version). Calico creates the node's FelixConfiguration for every datastore but `kubernetes`: both of
 * calico-ts's datastores get it.
 */
import { CALICO_API_VERSION } from '../api/meta.js';
import {
  type Backend,
  type ClusterIdentity,
  type EnsureOutcome,
  ensureInitialized,
  ensureResource,
  type Resource,
} from '../datastore/index.js';
import type { Logger } from './log.js';

export const GLOBAL_FELIX_CONFIG = 'default';
export const GLOBAL_BGP_CONFIG = 'default';

/** `node.<name>`: a node's own FelixConfiguration and BGPConfiguration. */
export function perNodeConfigName(nodeName: string): string {
  return `node.${nodeName}`;
}

type Spec = Record<string, unknown>;

function specOf(r: Resource): Spec {
  const spec = (r as Resource & { spec?: unknown }).spec;
  return typeof spec === 'object' && spec !== null ? (spec as Spec) : {};
}

function resource(kind: string, name: string, spec: Spec): Resource {
  return { apiVersion: CALICO_API_VERSION, kind, metadata: { name }, spec } as Resource;
}

/** Creates `kind/name` with `defaults`, or adds the defaults an existing one lacks. */
function ensureFields(backend: Backend, kind: string, name: string, defaults: Spec): Promise<EnsureOutcome> {
  return ensureResource(
    backend,
    { kind, name },
    () => resource(kind, name, defaults),
    (stored) => {
      const spec = specOf(stored);
      const missing = Object.keys(defaults).filter((f) => spec[f] === undefined || spec[f] === '');
      if (missing.length === 0) return undefined;
      const next: Spec = { ...spec };
      for (const f of missing) next[f] = defaults[f];
      return { ...stored, spec: next } as Resource;
    },
  );
}

export async function ensureDefaultConfig(
  backend: Backend,
  nodeName: string,
  identity: ClusterIdentity,
  log: Logger,
): Promise<void> {
  await ensureInitialized(backend, identity);
  const steps: [string, string, Spec][] = [
    ['FelixConfiguration', GLOBAL_FELIX_CONFIG, { reportingInterval: '0s', logSeverityScreen: 'Info' }],
    ['FelixConfiguration', perNodeConfigName(nodeName), { defaultEndpointToHostAction: 'Return' }],
    ['BGPConfiguration', GLOBAL_BGP_CONFIG, {}],
  ];
  for (const [kind, name, defaults] of steps) {
    const outcome = await ensureFields(backend, kind, name, defaults);
    if (outcome === 'invalid') {
      log.warn('stored configuration is not valid; left as it is', { kind, name });
    } else if (outcome !== 'unchanged') {
      log.info(`${outcome} ${kind} ${name}`, { fields: Object.keys(defaults) });
    }
  }
}
