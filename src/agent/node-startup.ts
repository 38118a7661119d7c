/**
 * calico-node's startup (node/pkg/lifecycle/startup), run once before the syncer starts, in Calico's order:
 *
 *   1. the node's addresses: IP / IP6 (autodetect, explicit, none; see network-config.ts), autodetected in the
 *      agent's network namespace with IP_AUTODETECTION_METHOD / IP6_AUTODETECTION_METHOD
 *   2. the Node resource: spec.bgp.ipv4Address / ipv6Address with prefix length, asNumber from AS, the
 *      CalicoNodeIP entries of spec.addresses (created when missing; labels and other fields kept)
 *   3. the default IP pools (the plan startup-config.ts validated: CALICO_IPV4POOL_*, CALICO_IPV6POOL_*)
 *   4. the cluster's defaults (default-config.ts): ClusterInformation and the built-in tiers, FelixConfiguration
 *      `default` and `node.<name>`, BGPConfiguration `default`
 *   5. the nodename file (CALICO_NODENAME_FILE, default /var/lib/calico/nodename, 0644): the name the CNI
 *      plugin uses when its configuration has none, and the next start's name when NODENAME is unset
 *   6. the tunnel addresses (tunnel-address.ts): a VXLAN address (and VTEP MAC) while a VXLAN pool is enabled
 *      (Calico's separate allocate-tunnel-addrs step)
 *
 * A node address that cannot be found is logged and left out (Calico would exit; here policy still works and
 * the other nodes simply have no route to this one).
 */
import type { NodeAddress, NodeSpec } from '../api/v3/bgp-types.js';
import type { CommandRunner } from '../dataplane/exec/command-runner.js';
import type { Backend } from '../datastore/index.js';
import { ensureDefaultPools } from '../ipam/index.js';
import { errorMessage } from '../lib/errors.js';
import { FILE_MODE, writeFileAtomicSync } from '../sys/files.js';
import {
  type AutodetectMethod,
  formatHostAddress,
  type HostInterface,
  listInterfaces,
  prefixOf,
  routeSourceFor,
  selectAddress,
} from './autodetect.js';
import { ensureDefaultConfig } from './default-config.js';
import type { Logger } from './log.js';
import type { AddressSetting, NetworkConfig } from './network-config.js';
import { getNode, modifyNode } from './node-resource.js';
import type { StartupConfig } from './startup-config.js';
import { reconcileTunnelAddresses, type TunnelAddresses } from './tunnel-address.js';

export interface NodeStartupDeps {
  readonly backend: Backend;
  readonly runner: CommandRunner;
  readonly log: Logger;
  readonly nodeName: string;
  readonly net: NetworkConfig;
  /** The validated start-up variables (default pools, CLUSTER_TYPE). */
  readonly startup: StartupConfig;
  /** Where the node's name is written (CALICO_NODENAME_FILE). */
  readonly nodenameFile: string;
  /** This build's version, for ClusterInformation. */
  readonly calicoVersion: string;
}

export interface NodeStartupResult {
  /** `ip/prefix`, or undefined when the node has no address of the family. */
  readonly ipv4: string | undefined;
  readonly ipv6: string | undefined;
  readonly poolsCreated: readonly string[];
  readonly tunnel: TunnelAddresses;
}

/** The address a setting yields, given the Node's current one; `undefined` = none. */
export async function resolveAddress(
  setting: AddressSetting,
  current: string | undefined,
  family: 4 | 6,
  method: AutodetectMethod,
  interfaces: () => Promise<readonly HostInterface[]>,
  routeSource: (dest: string) => Promise<string | undefined>,
): Promise<string | undefined> {
  switch (setting.kind) {
    case 'none':
      return undefined;
    case 'keep':
      return current;
    case 'explicit': {
      if (setting.address.includes('/')) return setting.address;
      const prefix = prefixOf(await interfaces(), setting.address);
      return `${setting.address}/${prefix ?? (family === 4 ? 32 : 128)}`;
    }
    case 'keep-or-autodetect':
      if (current !== undefined && current !== '') return current;
      break;
    case 'autodetect':
      break;
  }
  const source = method.kind === 'can-reach' ? await routeSource(method.destination) : undefined;
  const found = selectAddress(await interfaces(), family, method, source);
  return found === undefined ? undefined : formatHostAddress(found);
}

/** The node spec with these addresses (the CalicoNodeIP entries of spec.addresses follow them). */
export function withNodeAddresses(
  spec: NodeSpec,
  ipv4: string | undefined,
  ipv6: string | undefined,
  asNumber: number | undefined,
): NodeSpec {
  const bgp = { ...(spec.bgp ?? {}) };
  if (ipv4 === undefined) delete bgp.ipv4Address;
  else bgp.ipv4Address = ipv4;
  if (ipv6 === undefined) delete bgp.ipv6Address;
  else bgp.ipv6Address = ipv6;
  if (asNumber !== undefined) bgp.asNumber = asNumber;
  const others = (spec.addresses ?? []).filter((a) => a.type !== 'CalicoNodeIP');
  const mine: NodeAddress[] = [ipv4, ipv6].flatMap((a) =>
    a === undefined ? [] : [{ address: a, type: 'CalicoNodeIP' as const }],
  );
  const next: NodeSpec = { ...spec };
  if (Object.keys(bgp).length > 0) next.bgp = bgp;
  else delete next.bgp;
  if (others.length + mine.length > 0) next.addresses = [...mine, ...others];
  else delete next.addresses;
  return next;
}

export async function runNodeStartup(d: NodeStartupDeps): Promise<NodeStartupResult> {
  let ifaces: Promise<HostInterface[]> | undefined;
  const interfaces = (): Promise<HostInterface[]> => (ifaces ??= listInterfaces(d.runner));
  const existing = await getNode(d.backend, d.nodeName);
  const ipv4 = await resolveAddress(
    d.net.ipv4,
    existing?.spec.bgp?.ipv4Address,
    4,
    d.net.ipv4Method,
    interfaces,
    (dest) => routeSourceFor(d.runner, dest, 4),
  );
  const ipv6 = await resolveAddress(
    d.net.ipv6,
    existing?.spec.bgp?.ipv6Address,
    6,
    d.net.ipv6Method,
    interfaces,
    (dest) => routeSourceFor(d.runner, dest, 6),
  );
  if (ipv4 === undefined && d.net.ipv4.kind !== 'none') {
    d.log.error('no IPv4 address found for this node; other nodes will have no route to it', {
      method: d.net.ipv4Method.kind,
    });
  }
  await modifyNode(d.backend, d.nodeName, (spec) => withNodeAddresses(spec, ipv4, ipv6, d.net.asNumber));
  d.log.info('node registered', { node: d.nodeName, ipv4: ipv4 ?? null, ipv6: ipv6 ?? null });
  const poolsCreated = await ensureDefaultPools(d.backend, d.startup.pools);
  if (poolsCreated.length > 0) d.log.info('created default IP pools', { pools: poolsCreated });
  await ensureDefaultConfig(
    d.backend,
    d.nodeName,
    { calicoVersion: d.calicoVersion, clusterType: d.startup.clusterType },
    d.log,
  );
  writeFileAtomicSync(d.nodenameFile, d.nodeName, { mode: FILE_MODE });
  d.log.info('Using node name', { node: d.nodeName, file: d.nodenameFile });
  let tunnel: TunnelAddresses = { vxlan: undefined, ipip: undefined };
  try {
    tunnel = await reconcileTunnelAddresses(d.backend, d.nodeName);
  } catch (e) {
    // Retried whenever the pools change (see main.ts); the rest of the agent does not depend on it.
    d.log.error('allocating tunnel addresses failed', { error: errorMessage(e) });
  }
  if (tunnel.vxlan !== undefined) d.log.info('VXLAN tunnel address', { address: tunnel.vxlan });
  return { ipv4, ipv6, poolsCreated, tunnel };
}
