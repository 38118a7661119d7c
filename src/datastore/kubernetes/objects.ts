/** Small pure helpers of the KDD backend on API objects and keys. */
import { CalicoError } from '../../lib/errors.js';
import type { Resource, ResourceKey } from '../api.js';
import { keyPath } from '../resource.js';
import type { KubeNode } from './node-annotations.js';

/** A write the Kubernetes datastore does not support (Calico's ErrorOperationNotSupported). */
export class OperationNotSupportedError extends CalicoError {
  constructor(message: string) {
    super('CALICO_ERR_VALIDATION', message);
  }
}

/** The metadata fields the API server owns: never sent. */
const SERVER_OWNED = new Set(['uid', 'creationTimestamp', 'resourceVersion', 'managedFields', 'generation']);

/** A copy for writing: without the fields the server owns; `resourceVersion` only when given. */
export function forWrite<T extends Resource>(obj: T, resourceVersion?: string): T {
  const copy = structuredClone(obj);
  const metadata = Object.fromEntries(Object.entries(copy.metadata).filter(([k]) => !SERVER_OWNED.has(k)));
  return {
    ...copy,
    metadata: { ...metadata, ...(resourceVersion === undefined ? {} : { resourceVersion }) },
  };
}

export function byKeyPath(a: { key: ResourceKey }, b: { key: ResourceKey }): number {
  const x = keyPath(a.key);
  const y = keyPath(b.key);
  return x < y ? -1 : x > y ? 1 : 0;
}

export function sameKey(a: ResourceKey, b: ResourceKey): boolean {
  return a.kind === b.kind && a.name === b.name && a.namespace === b.namespace;
}

export function objectName(raw: unknown): string {
  return (raw as { metadata: { name: string } }).metadata.name;
}

export function emptyKubeNode(name: string): KubeNode {
  return { apiVersion: 'v1', kind: 'Node', metadata: { name } };
}
