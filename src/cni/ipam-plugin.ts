/**
 * `calico-ipam`: the IPAM plugin (reference §7.3). ADD assigns one IPv4 (`assign_ipv4`, default true) and/or
 * one IPv6 (`assign_ipv6`, default false) address from Calico IPAM to the handle `<network>.<containerID>`
 * with the attributes node, namespace, pod and timestamp; or the specific addresses of `CNI_ARGS` `IP=`
 * (the `ipAddrs` annotation). A retried ADD for a handle that already holds addresses returns them. DEL
 * releases by handle; CHECK verifies the handle still holds prevResult's addresses; GC releases this node's
 * handles of this network whose container is not among the valid attachments; STATUS checks the datastore.
 * Every IPAM write happens under the host-wide IPAM lock; compare-and-swap in the allocator covers the rest.
 */
import type { Backend } from '../datastore/api.js';
import { IpamClient } from '../ipam/allocator.js';
import { workloadHandle } from '../ipam/names.js';
import { blockCidr, ordinalToIp, allocations } from '../ipam/block.js';
import { formatIp } from '../lib/net/ip.js';
import { CALICO_IPAM_ARG_SCHEMAS, workloadOf } from './invocation.js';
import type { NetConf } from './netconf.js';
import { checkDatastoreReachable, getOptional, resolveNodename } from './node.js';
import type { CommandContext, PluginCommands } from './plugin.js';
import { CniCode, CniError, parseResult, type CniResult } from './spec.js';

/** How long ADD/DEL/GC wait for the host IPAM lock. */
const LOCK_TIMEOUT_MS = 90_000;

function hostCidrOf(ip: string): string {
  return ip.includes(':') ? `${ip}/128` : `${ip}/32`;
}

function resultOf(ips: readonly string[]): CniResult {
  return { interfaces: [], ips: ips.map((ip) => ({ address: hostCidrOf(ip) })), routes: [], dns: {} };
}

function withDatastore<T>(ctx: CommandContext, fn: (backend: Backend) => Promise<T>): Promise<T> {
  return ctx.host.withDatastore(ctx.conf, fn);
}

async function withLock<T>(ctx: CommandContext, fn: () => Promise<T>): Promise<T> {
  const lock = await ctx.host.ipamLock(ctx.conf.ipamLockFile, LOCK_TIMEOUT_MS);
  try {
    return await fn();
  } finally {
    await lock.release();
  }
}

async function labelsOf(
  backend: Backend,
  kind: 'Node' | 'Namespace',
  name: string,
): Promise<Record<string, string>> {
  const obj = await getOptional(backend, { kind, name });
  return obj?.metadata.labels ?? {};
}

function requestedIps(ctx: CommandContext): string[] {
  return (ctx.inv.args['IP'] ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
}

function familiesWanted(conf: NetConf): { v4: boolean; v6: boolean } {
  return { v4: conf.ipam.assignIpv4, v6: conf.ipam.assignIpv6 };
}

interface AssignRequest {
  readonly node: string;
  readonly handle: string;
  readonly attrs: Readonly<Record<string, string>>;
  readonly wanted: { readonly v4: boolean; readonly v6: boolean };
  /** `CNI_ARGS` `IP=`: these exact addresses instead of auto-assignment. */
  readonly fixed: readonly string[];
  readonly nodeLabels: Record<string, string>;
  readonly namespaceLabels: Record<string, string>;
}

/** The assignment itself; runs under the host lock. */
async function assignLocked(ctx: CommandContext, ipam: IpamClient, a: AssignRequest): Promise<string[]> {
  const { conf, log } = ctx;
  const { handle, wanted, fixed } = a;
  const existing = await ipam.ipsByHandle(handle);
  const have4 = existing.some((ip) => !ip.includes(':'));
  const have6 = existing.some((ip) => ip.includes(':'));
  if (existing.length > 0 && fixed.length === 0 && have4 === wanted.v4 && have6 === wanted.v6) {
    log.info('handle already holds addresses; returning them', { handle, ips: existing.join(',') });
    return existing;
  }
  if (existing.length > 0) {
    log.warn('releasing a partial earlier assignment', { handle, ips: existing.join(',') });
    await ipam.releaseByHandle(handle);
  }
  if (fixed.length > 0) {
    try {
      for (const ip of fixed) await ipam.assignIp({ ip, hostname: a.node, handleId: handle, attrs: a.attrs });
    } catch (e) {
      await ipam.releaseByHandle(handle);
      throw e;
    }
    return [...fixed];
  }
  const r = await ipam.autoAssign({
    num4: wanted.v4 ? 1 : 0,
    num6: wanted.v6 ? 1 : 0,
    hostname: a.node,
    handleId: handle,
    attrs: a.attrs,
    ipv4Pools: conf.ipam.ipv4Pools.length > 0 ? conf.ipam.ipv4Pools : undefined,
    ipv6Pools: conf.ipam.ipv6Pools.length > 0 ? conf.ipam.ipv6Pools : undefined,
    nodeLabels: a.nodeLabels,
    namespaceLabels: a.namespaceLabels,
    intendedUse: 'Workload',
  });
  if ((wanted.v4 && r.ipv4.length === 0) || (wanted.v6 && r.ipv6.length === 0)) {
    await ipam.releaseByHandle(handle);
    throw new CniError(CniCode.internal, 'IPAM could not assign an address of every requested family');
  }
  return [...r.ipv4, ...r.ipv6].map((x) => x.ip);
}

async function add(ctx: CommandContext): Promise<CniResult> {
  const { conf, inv, log } = ctx;
  const node = resolveNodename(conf, true);
  const w = workloadOf(inv);
  const wanted = familiesWanted(conf);
  if (!wanted.v4 && !wanted.v6) {
    throw new CniError(
      CniCode.invalidConfig,
      'assign_ipv4 and assign_ipv6 are both false: nothing to assign',
    );
  }
  const handle = workloadHandle(inv.containerId, conf.name);
  return withDatastore(ctx, async (backend) => {
    // Read what pool selection needs before taking the host lock, to hold it as briefly as possible.
    const [namespaceLabels, nodeLabels] = await Promise.all([
      w.kind === 'k8s' ? labelsOf(backend, 'Namespace', w.namespace) : Promise.resolve({}),
      labelsOf(backend, 'Node', node),
    ]);
    const request: AssignRequest = {
      node,
      handle,
      attrs: {
        node,
        timestamp: new Date().toISOString(),
        ...(w.kind === 'k8s' ? { namespace: w.namespace, pod: w.pod } : {}),
      },
      wanted,
      fixed: requestedIps(ctx),
      nodeLabels,
      namespaceLabels,
    };
    const ips = await withLock(ctx, () => assignLocked(ctx, new IpamClient(backend), request));
    log.info('assigned', { handle, ips: ips.join(',') });
    return resultOf(ips);
  });
}

async function del(ctx: CommandContext): Promise<void> {
  const { conf, inv, log } = ctx;
  const handle = workloadHandle(inv.containerId, conf.name);
  await withDatastore(ctx, (backend) =>
    withLock(ctx, async () => {
      const ipam = new IpamClient(backend);
      const released = await ipam.releaseByHandle(handle);
      log.info('released', { handle, ips: released.join(',') || '<none>' });
    }),
  );
}

async function check(ctx: CommandContext): Promise<void> {
  const { conf, inv } = ctx;
  if (conf.prevResult === undefined) throw new CniError(CniCode.invalidConfig, 'required prevResult missing');
  const prev = parseResult(conf.prevResult);
  if (!prev.ok) throw new CniError(CniCode.decodingFailure, 'invalid prevResult', prev.error);
  const handle = workloadHandle(inv.containerId, conf.name);
  const held = new Set(await withDatastore(ctx, (backend) => new IpamClient(backend).ipsByHandle(handle)));
  const missing = prev.value.ips.map((i) => i.address.split('/')[0] ?? '').filter((ip) => !held.has(ip));
  if (missing.length > 0) {
    throw new CniError(CniCode.internal, `IPAM handle ${handle} does not hold ${missing.join(', ')}`);
  }
}

/** This node's handles of this network, from the allocations' attributes. */
async function nodeHandles(ipam: IpamClient, node: string, network: string): Promise<Map<string, string[]>> {
  const out = new Map<string, string[]>();
  const { items } = await ipam.store.listBlocks();
  for (const b of items) {
    const cidr = blockCidr(b.spec);
    for (const a of allocations(b.spec)) {
      const h = a.attribute?.handle_id;
      if (a.state !== 'inUse') continue;
      if (h === undefined || !h.startsWith(`${network}.`) || a.attribute?.secondary?.['node'] !== node)
        continue;
      const ip = ordinalToIp(cidr, a.ordinal);
      out.set(h, [...(out.get(h) ?? []), formatIp(ip.family, ip.value)]);
    }
  }
  return out;
}

async function gc(ctx: CommandContext): Promise<void> {
  const { conf, log } = ctx;
  if (conf.validAttachments === undefined) {
    throw new CniError(CniCode.invalidConfig, 'GC needs cni.dev/valid-attachments');
  }
  const node = resolveNodename(conf, false);
  const valid = new Set(conf.validAttachments.map((a) => workloadHandle(a.containerID, conf.name)));
  await withDatastore(ctx, (backend) =>
    withLock(ctx, async () => {
      const ipam = new IpamClient(backend);
      const errors: string[] = [];
      for (const [handle, ips] of await nodeHandles(ipam, node, conf.name)) {
        if (valid.has(handle)) continue;
        try {
          await ipam.releaseByHandle(handle);
          log.info('GC released a stale handle', { handle, ips: ips.join(',') });
        } catch (e) {
          errors.push(`${handle}: ${e instanceof Error ? e.message : String(e)}`);
        }
      }
      if (errors.length > 0)
        throw new CniError(CniCode.internal, 'GC could not release every stale handle', errors.join('; '));
    }),
  );
}

async function status(ctx: CommandContext): Promise<void> {
  await checkDatastoreReachable(ctx.conf, ctx.host);
}

export const calicoIpamPlugin: PluginCommands = {
  program: 'calico-ipam',
  argSchemas: CALICO_IPAM_ARG_SCHEMAS,
  add,
  del,
  check,
  gc,
  status,
  test: (ctx) => checkDatastoreReachable(ctx.conf, ctx.host),
};
