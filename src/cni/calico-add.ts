/**
 * `calico` ADD (reference §7.2): identify the workload, read its Pod and Namespace (annotations, labels,
 * service account, named ports), get addresses from the IPAM plugin, plumb the veth, write the
 * WorkloadEndpoint, wait (bounded by `policy_setup_timeout_seconds`) until the agent reports the endpoint's
 * policy programmed, and only then return the result. Anything failing after IPAM undoes what this ADD did:
 * the WorkloadEndpoint it wrote, the veth, and the addresses (IPAM DEL by handle).
 *
 * A timeout of the policy wait is logged as a warning and the ADD still succeeds, as in Calico: the pod is
 * not exposed meanwhile, because the agent drops traffic of `cali*` interfaces it has not programmed.
 */
import type { Namespace, Pod } from '../api/k8s/types.js';
import type { WorkloadEndpoint } from '../api/v3/misc.js';
import type { Backend, Resource } from '../datastore/api.js';
import { AlreadyExistsError, ConflictError, NotFoundError, errorMessage } from '../lib/errors.js';
import { sandboxIdOf, workloadOf } from './invocation.js';
import { ipamAdd, ipamRun } from './ipam-exec.js';
import { getOptional, resolveMtu, resolveNodename } from './node.js';
import type { CommandContext } from './plugin.js';
import { CniCode, CniError, type CniResult, type CniRoute } from './spec.js';
import {
  HOST_SIDE_MAC,
  IPV4_GATEWAY,
  IPV6_GATEWAY,
  removeHostInterface,
  setupWorkloadInterface,
  type HostAddress,
} from './veth.js';
import {
  buildWorkloadEndpoint,
  hostAddress,
  podNetworkRequest,
  workloadIds,
  workloadIdsProblem,
  type PodNetworkRequest,
  type WorkloadIds,
} from './workload.js';

/** Creates the WorkloadEndpoint, or replaces the one an earlier sandbox of the same pod left (CAS). */
export async function writeWorkloadEndpoint(backend: Backend, wep: WorkloadEndpoint): Promise<Resource> {
  const key = {
    kind: 'WorkloadEndpoint',
    namespace: wep.metadata.namespace ?? 'default',
    name: wep.metadata.name,
  };
  for (let attempt = 1; ; attempt++) {
    try {
      const existing = await getOptional(backend, key);
      if (existing === undefined) return await backend.create(wep);
      return await backend.update({
        ...wep,
        metadata: { ...wep.metadata, resourceVersion: existing.metadata.resourceVersion ?? '' },
      });
    } catch (e) {
      const retryable =
        e instanceof AlreadyExistsError || e instanceof ConflictError || e instanceof NotFoundError;
      if (!retryable || attempt >= 10) throw e;
    }
  }
}

async function podContext(backend: Backend, ids: WorkloadIds): Promise<{ pod?: Pod; ns?: Namespace }> {
  if (ids.orchestrator !== 'k8s') return {};
  const [pod, ns] = await Promise.all([
    getOptional<Pod & Resource>(backend, { kind: 'Pod', namespace: ids.namespace, name: ids.workload }),
    getOptional<Namespace & Resource>(backend, { kind: 'Namespace', name: ids.namespace }),
  ]);
  return { ...(pod === undefined ? {} : { pod }), ...(ns === undefined ? {} : { ns }) };
}

function toAddresses(ips: readonly string[]): HostAddress[] {
  return ips.map((ip) => {
    const a = hostAddress(ip);
    if (a === undefined)
      throw new CniError(CniCode.internal, `IPAM returned an invalid address ${JSON.stringify(ip)}`);
    return a;
  });
}

async function assignAddresses(
  ctx: CommandContext,
  req: PodNetworkRequest,
): Promise<{ addresses: HostAddress[]; dns: CniResult['dns']; viaIpam: boolean }> {
  if (req.ipAddrsNoIpam !== undefined) {
    if (!ctx.conf.featureIpAddrsNoIpam) {
      throw new CniError(
        CniCode.invalidConfig,
        'ipAddrsNoIpam annotation requires feature_control.ip_addrs_no_ipam',
      );
    }
    return { addresses: toAddresses(req.ipAddrsNoIpam), dns: {}, viaIpam: false };
  }
  const r = await ipamAdd(ctx, req);
  if (r.ips.length === 0) throw new CniError(CniCode.internal, 'IPAM plugin returned no addresses');
  return { addresses: toAddresses(r.ips.map((i) => i.address)), dns: r.dns, viaIpam: true };
}

interface Undo {
  wep?: Resource;
  veth: boolean;
  ipam: boolean;
}

async function undo(ctx: CommandContext, backend: Backend, ids: WorkloadIds, u: Undo): Promise<void> {
  const { log } = ctx;
  const step = async (what: string, fn: () => Promise<unknown>): Promise<void> => {
    try {
      await fn();
    } catch (e) {
      log.error(`cleanup after failed ADD: ${what} failed`, { error: errorMessage(e) });
    }
  };
  if (u.wep !== undefined) {
    const wep = u.wep;
    await step('deleting the WorkloadEndpoint', () =>
      backend.delete(
        { kind: 'WorkloadEndpoint', namespace: ids.namespace, name: ids.wepName },
        { ...(wep.metadata.uid === undefined ? {} : { uid: wep.metadata.uid }) },
      ),
    );
  }
  if (u.veth) await step('removing the veth', () => removeHostInterface(ctx.host.runner, ids.hostIf));
  if (u.ipam) await step('releasing the addresses', () => ipamRun(ctx, 'DEL'));
}

function buildResult(
  ctx: CommandContext,
  ids: WorkloadIds,
  addresses: readonly HostAddress[],
  mac: string,
  mtu: number,
  dns: CniResult['dns'],
): CniResult {
  const routes: CniRoute[] = [];
  if (addresses.some((a) => a.family === 4)) routes.push({ dst: '0.0.0.0/0', gw: IPV4_GATEWAY });
  if (addresses.some((a) => a.family === 6)) routes.push({ dst: '::/0', gw: IPV6_GATEWAY });
  return {
    interfaces: [
      { name: ids.hostIf, mac: HOST_SIDE_MAC },
      { name: ctx.inv.ifname, mac, mtu, sandbox: ctx.inv.netns },
    ],
    ips: addresses.map((a) => ({ address: a.text, interface: 1 })),
    routes,
    dns,
  };
}

/** Per-phase durations for the log (what an ADD spent where). */
class Phases {
  readonly ms: Record<string, number> = {};
  #mark = performance.now();
  lap(phase: string): void {
    const now = performance.now();
    this.ms[phase] = Math.round(now - this.#mark);
    this.#mark = now;
  }
}

interface AddPlan {
  readonly ids: WorkloadIds;
  readonly mtu: number;
  readonly pod: Pod | undefined;
  readonly req: PodNetworkRequest;
  readonly assigned: { addresses: HostAddress[]; dns: CniResult['dns'] };
}

/** Waits for the agent (bounded); a timeout is a warning, the pod stays isolated meanwhile. */
async function awaitPolicy(ctx: CommandContext, ids: WorkloadIds, wep: Resource): Promise<void> {
  const { conf, log } = ctx;
  if (conf.policySetupTimeoutSeconds <= 0) return;
  const programmed = await ctx.host.waitForPolicy({
    statusDir: conf.endpointStatusDir,
    namespace: ids.namespace,
    wepName: ids.wepName,
    revision: Number(wep.metadata.resourceVersion ?? '0'),
    timeoutMs: conf.policySetupTimeoutSeconds * 1000,
  });
  if (!programmed) {
    log.warn('timed out waiting for the agent to program policy; the pod stays isolated until it does');
  }
}

/** Steps 4-6: veth, WorkloadEndpoint, policy wait. Records in `u` what to undo on failure. */
async function plumbAndRecord(
  ctx: CommandContext,
  backend: Backend,
  plan: AddPlan,
  u: Undo,
  phases: Phases,
): Promise<string> {
  const { conf, inv, log } = ctx;
  const { ids, req } = plan;
  u.veth = true;
  const mac = await setupWorkloadInterface(ctx.host.runner, {
    hostIf: ids.hostIf,
    containerIf: inv.ifname,
    netns: inv.netns,
    mtu: plan.mtu,
    numQueues: conf.numQueues,
    addresses: plan.assigned.addresses,
    ...(req.hwAddr === undefined ? {} : { containerMac: req.hwAddr }),
    allowIpForwarding: conf.allowIpForwarding,
  });
  phases.lap('veth');
  const wep = buildWorkloadEndpoint({
    ids,
    ...(plan.pod === undefined ? {} : { pod: plan.pod }),
    networkName: conf.name,
    ipNetworks: plan.assigned.addresses.map((a) => a.text),
    mac,
    ...(conf.featureFloatingIps && req.floatingIps !== undefined ? { floatingIps: req.floatingIps } : {}),
    ...(req.allowedSourcePrefixes === undefined ? {} : { allowedSourcePrefixes: req.allowedSourcePrefixes }),
  });
  const stored = await writeWorkloadEndpoint(backend, wep);
  u.wep = stored;
  phases.lap('endpoint');
  log.info('wrote WorkloadEndpoint', {
    wep: `${ids.namespace}/${ids.wepName}`,
    ips: wep.spec.ipNetworks?.join(',') ?? '',
    revision: stored.metadata.resourceVersion ?? '',
  });
  await awaitPolicy(ctx, ids, stored);
  phases.lap('policy');
  return mac;
}

export async function calicoAdd(ctx: CommandContext): Promise<CniResult> {
  const { conf, inv, log } = ctx;
  const phases = new Phases();
  const node = resolveNodename(conf, true);
  const mtu = resolveMtu(conf);
  const ids = workloadIds(node, workloadOf(inv), sandboxIdOf(inv), inv.ifname);
  const idProblem = workloadIdsProblem(ids);
  if (idProblem !== undefined) throw new CniError(CniCode.invalidEnvironment, idProblem);
  return ctx.host.withDatastore(conf, async (backend) => {
    const { pod, ns } = await podContext(backend, ids);
    const req = podNetworkRequest(pod, ns);
    if (!req.ok) throw new CniError(CniCode.internal, req.error);
    phases.lap('datastore');
    const assigned = await assignAddresses(ctx, req.value);
    phases.lap('ipam');
    const u: Undo = { veth: false, ipam: assigned.viaIpam };
    try {
      const plan: AddPlan = { ids, mtu, pod, req: req.value, assigned };
      const mac = await plumbAndRecord(ctx, backend, plan, u, phases);
      log.info('ADD phases (ms)', phases.ms);
      return buildResult(ctx, ids, assigned.addresses, mac, mtu, assigned.dns);
    } catch (e) {
      await undo(ctx, backend, ids, u);
      throw e;
    }
  });
}
