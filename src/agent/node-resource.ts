/**
 * Read-modify-write of this node's Node resource: the change is a pure function of the stored spec, applied
 * with compare-and-swap and retried on conflict (another writer, e.g. calicoctl label, got there first).
 * The result is validated through the Node codec before it is written.
 */
import { decodeResource } from '../api/decode.js';
import type { Node, NodeSpec } from '../api/v3/bgp-types.js';
import type { Backend, Resource } from '../datastore/index.js';
import { AlreadyExistsError, ConflictError, NotFoundError, ValidationError } from '../lib/errors.js';

const MAX_ATTEMPTS = 10;

export async function getNode(backend: Backend, name: string): Promise<Node | undefined> {
  try {
    const r = decodeResource(await backend.get({ kind: 'Node', name }));
    return r.ok && r.value.kind === 'Node' ? r.value : undefined;
  } catch (e) {
    if (e instanceof NotFoundError) return undefined;
    throw e;
  }
}

/**
 * Applies `change` to the node's spec (an empty spec when the Node does not exist yet) and writes the result
 * when it differs. Returns the stored node.
 */
export async function modifyNode(
  backend: Backend,
  name: string,
  change: (spec: NodeSpec, node: Node | undefined) => NodeSpec,
): Promise<Node> {
  for (let attempt = 1; ; attempt++) {
    let raw: Resource | undefined;
    try {
      raw = await backend.get({ kind: 'Node', name });
    } catch (e) {
      if (!(e instanceof NotFoundError)) throw e;
    }
    const decoded = raw === undefined ? undefined : decodeResource(raw);
    const current = decoded?.ok === true && decoded.value.kind === 'Node' ? decoded.value : undefined;
    const spec = change(structuredClone(current?.spec ?? {}), current);
    if (current !== undefined && JSON.stringify(spec) === JSON.stringify(current.spec)) return current;
    const next = {
      apiVersion: 'projectcalico.org/v3',
      kind: 'Node',
      metadata: { ...(raw?.metadata ?? {}), name },
      spec,
      ...(current?.status !== undefined ? { status: current.status } : {}),
    };
    const check = decodeResource(next);
    if (!check.ok) {
      throw new ValidationError(check.error, `Node(${name})`);
    }
    try {
      const stored = raw === undefined ? await backend.create(next) : await backend.update(next);
      const out = decodeResource(stored);
      return out.ok && out.value.kind === 'Node' ? out.value : (check.value as Node);
    } catch (e) {
      const raced = e instanceof ConflictError || e instanceof AlreadyExistsError;
      if (!raced || attempt >= MAX_ATTEMPTS) throw e;
    }
  }
}
