/**
 * Deleting a Node as libcalico-go's client does (clientv3/node.go `Delete`), so that `calicoctl delete node`
 * leaves nothing of the node behind, in Calico's order:
 *
 *   1. the addresses of the node's WorkloadEndpoints (`spec.node`) and its tunnel addresses (the Node's
 *      `spec.bgp.ipv4IPIPTunnelAddr`, `spec.ipv4VXLANTunnelAddr`, `spec.wireguard.interfaceIPv4Address`) are
 *      released in IPAM; calico-ts also releases whatever the node's tunnel handles still hold, so that a node
 *      whose Node is already gone (an older calicoctl deleted only that) loses its tunnel addresses too
 *   2. its WorkloadEndpoints are deleted
 *   3. its block affinities are released (empty blocks go with them; the others stay, without affinity)
 *   4. its BGPPeers (`spec.node`), FelixConfiguration and BGPConfiguration `node.<name>`, its HostEndpoints
 *   5. the Node itself, last (with the caller's resourceVersion precondition)
 *
 * Every step treats "already gone" as done, and the Node goes last, so a run that failed half-way is simply
 * run again. A Node that does not exist is still cleaned up after, then reported as not found (NotFoundError),
 * as Calico's client does.
 */
import type { Backend, Resource } from '../datastore/index.js';
import { IpamClient, type ReleaseOptions, tunnelHandle, type TunnelKind } from '../ipam/index.js';
import { NotFoundError } from '../lib/errors.js';
import { parseCidr } from '../lib/net/ip.js';

type Spec = Readonly<Record<string, unknown>>;

function specOf(r: Resource | undefined): Spec {
  const spec = (r as (Resource & { spec?: unknown }) | undefined)?.spec;
  return typeof spec === 'object' && spec !== null ? (spec as Spec) : {};
}

function field(spec: Spec, ...path: string[]): unknown {
  let v: unknown = spec;
  for (const p of path) v = typeof v === 'object' && v !== null ? (v as Spec)[p] : undefined;
  return v;
}

/** `10.0.0.1/32` or `10.0.0.1` -> `10.0.0.1`; undefined when it is neither. */
function addressOf(v: unknown): string | undefined {
  if (typeof v !== 'string' || v === '') return undefined;
  const c = parseCidr(v.includes('/') ? v : `${v}/${v.includes(':') ? 128 : 32}`);
  return c === undefined ? undefined : v.split('/')[0];
}

async function getOrUndefined(backend: Backend, kind: string, name: string): Promise<Resource | undefined> {
  try {
    return await backend.get({ kind, name });
  } catch (e) {
    if (e instanceof NotFoundError) return undefined;
    throw e;
  }
}

async function deleteIfPresent(
  backend: Backend,
  key: { kind: string; name: string; namespace?: string },
): Promise<void> {
  try {
    await backend.delete(key);
  } catch (e) {
    if (!(e instanceof NotFoundError)) throw e;
  }
}

/** The resources of `kind` whose `spec.node` is `node`. */
async function ofNode(backend: Backend, kind: string, node: string): Promise<Resource[]> {
  const { items } = await backend.list({ kind });
  return items.filter((r) => specOf(r)['node'] === node);
}

const TUNNEL_HANDLES: readonly [TunnelKind, 4 | 6][] = [
  ['ipip', 4],
  ['vxlan', 4],
  ['vxlan', 6],
  ['wireguard', 4],
  ['wireguard', 6],
];

export interface DeleteNodeOptions {
  /** The Node's resourceVersion the caller read (a precondition on the final delete only). */
  readonly resourceVersion?: string | undefined;
}

export async function deleteNode(
  backend: Backend,
  name: string,
  opts: DeleteNodeOptions = {},
): Promise<void> {
  const ipam = new IpamClient(backend);
  const weps = await ofNode(backend, 'WorkloadEndpoint', name);
  const node = await getOrUndefined(backend, 'Node', name);
  const spec = specOf(node);
  const addresses = [
    ...weps.flatMap((w) => {
      const nets = specOf(w)['ipNetworks'];
      return Array.isArray(nets) ? nets.map(addressOf) : [];
    }),
    addressOf(field(spec, 'bgp', 'ipv4IPIPTunnelAddr')),
    addressOf(field(spec, 'ipv4VXLANTunnelAddr')),
    addressOf(field(spec, 'wireguard', 'interfaceIPv4Address')),
  ].filter((a): a is string => a !== undefined);
  const release: ReleaseOptions[] = [...new Set(addresses)].map((address) => ({ address }));
  if (release.length > 0) await ipam.releaseIps(release);
  for (const [kind, family] of TUNNEL_HANDLES) {
    const handle = tunnelHandle(kind, name, family);
    if ((await ipam.ipsByHandle(handle)).length > 0) await ipam.releaseByHandle(handle);
  }

  for (const w of weps) {
    const ns = w.metadata.namespace;
    await deleteIfPresent(backend, {
      kind: 'WorkloadEndpoint',
      name: w.metadata.name,
      ...(ns === undefined ? {} : { namespace: ns }),
    });
  }
  await ipam.releaseHostAffinities(name, { mustBeEmpty: false });

  for (const peer of await ofNode(backend, 'BGPPeer', name)) {
    await deleteIfPresent(backend, { kind: 'BGPPeer', name: peer.metadata.name });
  }
  await deleteIfPresent(backend, { kind: 'FelixConfiguration', name: `node.${name}` });
  await deleteIfPresent(backend, { kind: 'BGPConfiguration', name: `node.${name}` });
  for (const hep of await ofNode(backend, 'HostEndpoint', name)) {
    await deleteIfPresent(backend, { kind: 'HostEndpoint', name: hep.metadata.name });
  }

  await backend.delete(
    { kind: 'Node', name },
    opts.resourceVersion === undefined ? {} : { resourceVersion: opts.resourceVersion },
  );
}
