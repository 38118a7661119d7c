/**
 * etcd key layout (Calico's `libcalico-go/lib/backend/model/resource.go`):
 *
 *   /calico/resources/v3/projectcalico.org/<plural>/<name>               cluster-scoped kinds
 *   /calico/resources/v3/projectcalico.org/<plural>/<namespace>/<name>   namespaced kinds
 *
 * Calico's etcd mode has no Kubernetes kinds; here they (KubernetesNetworkPolicy, Namespace, Pod,
 * ServiceAccount) are stored under the same prefix with their plural (`kubernetesnetworkpolicies`, `pods`, ...),
 * so one prefix watch covers every kind. Keys that do not parse (other tools' data) are ignored by watches.
 */
import { lookupKind } from '../../api/kinds.js';
import type { ResourceKey } from '../api.js';
import { keyPath } from '../resource.js';

export const RESOURCE_PREFIX = '/calico/resources/v3/projectcalico.org/';

export function etcdKey(key: ResourceKey, plural: string): string {
  return `${RESOURCE_PREFIX}${plural}/${keyPath(key)}`;
}

/** The prefix of a kind, or of one namespace of a namespaced kind. */
export function kindPrefix(plural: string, namespace?: string): string {
  return namespace === undefined
    ? `${RESOURCE_PREFIX}${plural}/`
    : `${RESOURCE_PREFIX}${plural}/${namespace}/`;
}

/** The exclusive end of the range of keys starting with `prefix` (etcd's prefix range_end). */
export function prefixEnd(prefix: string): Buffer {
  const b = Buffer.from(prefix);
  for (let i = b.length - 1; i >= 0; i--) {
    if (b[i]! < 0xff) {
      b[i] = b[i]! + 1;
      return b.subarray(0, i + 1);
    }
  }
  return Buffer.from([0]);
}

/** The key of an etcd key under RESOURCE_PREFIX, or undefined for anything else. */
export function parseEtcdKey(raw: string): ResourceKey | undefined {
  if (!raw.startsWith(RESOURCE_PREFIX)) return undefined;
  const parts = raw.slice(RESOURCE_PREFIX.length).split('/');
  const info = parts[0] === undefined ? undefined : lookupKind(parts[0]);
  if (info === undefined || info.plural !== parts[0]) return undefined;
  if (info.namespaced && parts.length === 3 && parts[1] !== '' && parts[2] !== '') {
    return { kind: info.kind, namespace: parts[1]!, name: parts[2]! };
  }
  if (!info.namespaced && parts.length === 2 && parts[1] !== '') return { kind: info.kind, name: parts[1]! };
  return undefined;
}
