/**
 * Discovery documents (meta/v1 APIGroupList, APIGroup, APIResourceList) for the `projectcalico.org/v3` group,
 * as kube-apiserver's aggregator reads them from an aggregated server and kubectl sees them merged into
 * `/apis`: every resource of resources.ts with scope, kind, verbs and Calico's short names. Pure.
 */
import { ALL_VERBS, GROUP, GROUP_VERSION, VERSION, servedResources } from './resources.js';

const GROUP_VERSION_ENTRY = { groupVersion: GROUP_VERSION, version: VERSION };

function apiGroup(): Record<string, unknown> {
  return { name: GROUP, versions: [GROUP_VERSION_ENTRY], preferredVersion: GROUP_VERSION_ENTRY };
}

/** `GET /apis`. */
export function apiGroupList(): Record<string, unknown> {
  return { kind: 'APIGroupList', apiVersion: 'v1', groups: [apiGroup()] };
}

/** `GET /apis/projectcalico.org`. */
export function apiGroupDocument(): Record<string, unknown> {
  return { kind: 'APIGroup', apiVersion: 'v1', ...apiGroup() };
}

/** `GET /apis/projectcalico.org/v3`. */
export function apiResourceList(): Record<string, unknown> {
  const resources: Record<string, unknown>[] = [];
  for (const r of servedResources()) {
    resources.push({
      name: r.plural,
      singularName: r.singular,
      namespaced: r.namespaced,
      kind: r.kind,
      verbs: [...ALL_VERBS],
      ...(r.shortNames.length > 0 ? { shortNames: [...r.shortNames] } : {}),
    });
    if (r.status) {
      resources.push({
        name: `${r.plural}/status`,
        singularName: '',
        namespaced: r.namespaced,
        kind: r.kind,
        verbs: ['get', 'patch', 'update'],
      });
    }
  }
  return { kind: 'APIResourceList', apiVersion: 'v1', groupVersion: GROUP_VERSION, resources };
}
