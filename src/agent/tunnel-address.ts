/**
 * The node's tunnel addresses (calico-node's allocateip, reference §1.17): while an enabled IPv4 pool that
 * allows `Tunnel` use and selects this node has VXLAN (or IPIP) on, the node holds one address from such a pool
 * in IPAM under the handle `vxlan-tunnel-addr-<node>` (`ipip-tunnel-addr-<node>`), attribute type
 * `vxlanTunnelAddress` (`ipipTunnelAddress`), and the Node carries it in `ipv4VXLANTunnelAddr` (plus
 * `vxlanTunnelMACAddr`) or `spec.bgp.ipv4IPIPTunnelAddr`. An address that still qualifies is kept (the VTEP
 * stays stable across restarts); otherwise it is released and a new one assigned. With no such pool the
 * address is released and cleared.
 */
import type { Node, NodeSpec } from '../api/v3/bgp-types.js';
import { parseSelector } from '../api/selector/index.js';
import { vtepMacFor } from '../calc/network-model.js';
import type { Backend } from '../datastore/index.js';
import {
  IpamClient,
  type PoolInfo,
  tunnelAttributeType,
  tunnelHandle,
  type TunnelKind,
} from '../ipam/index.js';
import { cidrContains, parseIp } from '../lib/net/ip.js';
import { getNode, modifyNode } from './node-resource.js';

export interface TunnelAddresses {
  readonly vxlan: string | undefined;
  readonly ipip: string | undefined;
}

/** Pools this node may take a `kind` tunnel address from. */
export function tunnelPools(
  pools: readonly PoolInfo[],
  kind: 'vxlan' | 'ipip',
  labels: Readonly<Record<string, string>>,
): PoolInfo[] {
  return pools.filter((p) => {
    const mode = kind === 'vxlan' ? p.spec.vxlanMode : p.spec.ipipMode;
    const sel = p.spec.nodeSelector ?? 'all()';
    const parsed = sel.trim() === '' ? undefined : parseSelector(sel);
    return (
      p.cidr.family === 4 &&
      mode !== undefined &&
      mode !== 'Never' &&
      p.spec.disabled !== true &&
      p.allocatable &&
      (p.spec.allowedUses ?? ['Tunnel', 'Workload']).includes('Tunnel') &&
      (parsed === undefined || (parsed.ok && parsed.value.matches(labels)))
    );
  });
}

function currentAddress(spec: NodeSpec, kind: 'vxlan' | 'ipip'): string | undefined {
  const a = kind === 'vxlan' ? spec.ipv4VXLANTunnelAddr : spec.bgp?.ipv4IPIPTunnelAddr;
  return a === undefined || a === '' ? undefined : a;
}

function inPools(ip: string, pools: readonly PoolInfo[]): boolean {
  const a = parseIp(ip);
  return a !== undefined && pools.some((p) => cidrContains(p.cidr, a));
}

/** Makes the IPAM allocation match what the node should hold; returns the address (or undefined). */
async function reconcileKind(
  ipam: IpamClient,
  node: Node,
  kind: Extract<TunnelKind, 'vxlan' | 'ipip'>,
  pools: readonly PoolInfo[],
): Promise<string | undefined> {
  const name = node.metadata.name;
  const handle = tunnelHandle(kind, name);
  const held = await ipam.ipsByHandle(handle);
  const eligible = tunnelPools(pools, kind, node.metadata.labels ?? {});
  if (eligible.length === 0) {
    if (held.length > 0) await ipam.releaseByHandle(handle);
    return undefined;
  }
  const current = currentAddress(node.spec, kind);
  if (current !== undefined && inPools(current, eligible)) {
    if (held.includes(current) && held.length === 1) return current;
    const owner = await ipam.getAssignmentAttributes(current);
    if (owner === undefined) {
      // Recorded on the Node but not in IPAM (e.g. a restored datastore): claim it again.
      if (held.length > 0) await ipam.releaseByHandle(handle);
      await ipam.assignIp({
        ip: current,
        hostname: name,
        handleId: handle,
        attrs: { node: name, type: tunnelAttributeType(kind, 4) },
        intendedUse: 'Tunnel',
      });
      return current;
    }
    if (owner.handleId === handle) {
      for (const ip of held.filter((x) => x !== current)) await ipam.releaseIps([{ address: ip, handle }]);
      return current;
    }
  }
  if (held.length > 0) await ipam.releaseByHandle(handle);
  const { ipv4 } = await ipam.autoAssign({
    num4: 1,
    num6: 0,
    hostname: name,
    handleId: handle,
    attrs: { node: name, type: tunnelAttributeType(kind, 4) },
    intendedUse: 'Tunnel',
    ipv4Pools: eligible.map((p) => p.name),
    nodeLabels: node.metadata.labels ?? {},
  });
  const ip = ipv4[0]?.ip;
  return ip === undefined ? undefined : ip.split('/')[0];
}

function withAddresses(spec: NodeSpec, name: string, t: TunnelAddresses): NodeSpec {
  const next: NodeSpec = { ...spec };
  if (t.vxlan === undefined) delete next.ipv4VXLANTunnelAddr;
  else {
    next.ipv4VXLANTunnelAddr = t.vxlan;
    next.vxlanTunnelMACAddr ??= vtepMacFor(name);
  }
  if (next.bgp !== undefined || t.ipip !== undefined) {
    const bgp = { ...(next.bgp ?? {}) };
    if (t.ipip === undefined) delete bgp.ipv4IPIPTunnelAddr;
    else bgp.ipv4IPIPTunnelAddr = t.ipip;
    // An empty bgp section is invalid: drop it.
    if (Object.keys(bgp).length === 0) delete next.bgp;
    else next.bgp = bgp;
  }
  return next;
}

/** Reconciles both tunnel addresses of `nodeName` (whose Node must exist) and records them on the Node. */
export async function reconcileTunnelAddresses(backend: Backend, nodeName: string): Promise<TunnelAddresses> {
  const ipam = new IpamClient(backend);
  const node = await getNode(backend, nodeName);
  if (node === undefined) return { vxlan: undefined, ipip: undefined };
  const pools = await ipam.store.listPools();
  const t: TunnelAddresses = {
    vxlan: await reconcileKind(ipam, node, 'vxlan', pools),
    ipip: await reconcileKind(ipam, node, 'ipip', pools),
  };
  await modifyNode(backend, nodeName, (spec) => withAddresses(spec, nodeName, t));
  return t;
}
