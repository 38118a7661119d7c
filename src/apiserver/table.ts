/**
 * `kubectl get` output: when kubectl asks for `as=Table;g=meta.k8s.io;v=v1`, the server answers a meta/v1
 * Table. Calico's API server registers no printer for these kinds (only CalicoNodeStatus has one, not
 * served as a table here yet), so it answers Kubernetes' default table (`rest.NewDefaultTableConvertor`):
 * columns Name and Created At, each row carrying the object's PartialObjectMetadata. Pure.
 */
import type { Resource } from '../datastore/index.js';

/** True when the Accept header asks for a meta.k8s.io/v1 Table. */
export function wantsTable(accept: string | undefined): boolean {
  if (accept === undefined) return false;
  return accept.split(',').some((part) => {
    const params = part.split(';').map((p) => p.trim());
    return params.includes('as=Table') && params.includes('g=meta.k8s.io') && params.includes('v=v1');
  });
}

const COLUMNS = [
  {
    name: 'Name',
    type: 'string',
    format: 'name',
    description:
      'Name must be unique within a namespace. Is required when creating resources, although some resources may allow a client to request the generation of an appropriate name automatically. Name is primarily intended for creation idempotence and configuration definition. Cannot be updated. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names',
    priority: 0,
  },
  {
    name: 'Created At',
    type: 'date',
    format: '',
    description:
      'CreationTimestamp is a timestamp representing the server time when this object was created. It is not guaranteed to be set in happens-before order across separate operations. Clients may not set this value. It is represented in RFC3339 form and is in UTC. Populated by the system. Read-only. Null for lists. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata',
    priority: 0,
  },
];

function row(obj: Resource): Record<string, unknown> {
  return {
    cells: [obj.metadata.name, obj.metadata.creationTimestamp ?? null],
    object: {
      kind: 'PartialObjectMetadata',
      apiVersion: 'meta.k8s.io/v1',
      metadata: obj.metadata,
    },
  };
}

/** A Table of `items`; `withColumns` false leaves the column definitions out (later watch events). */
export function toTable(
  items: readonly Resource[],
  listMeta: Record<string, string>,
  withColumns = true,
): Record<string, unknown> {
  return {
    kind: 'Table',
    apiVersion: 'meta.k8s.io/v1',
    metadata: listMeta,
    columnDefinitions: withColumns ? COLUMNS : [],
    rows: items.map(row),
  };
}
