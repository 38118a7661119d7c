/**
 * `calico` CHECK and STATUS.
 *
 * CHECK (spec 0.4.0+) compares the live state with `prevResult`: the container interface exists, is up and
 * has prevResult's MAC and addresses; the routes this plugin listed (defaults via 169.254.1.1 / the host end's
 * link-local) are there; the host end exists, is up, has MAC ee:ee:ee:ee:ee:ee and one host route per
 * address; the WorkloadEndpoint exists for this container with these addresses; when the plugin waits for
 * policy, the agent has programmed the endpoint; and the IPAM plugin's own CHECK passes. Routes added by
 * later plugins in a chain are not an error.
 *
 * STATUS (spec 1.1.0) is ready (exit 0, no output) when the datastore answers and, when the plugin waits
 * for the agent (`policy_setup_timeout_seconds` > 0), the agent's status file says its dataplane is in sync
 * and was written less than `agent_status_max_age_seconds` ago; the IPAM plugin's STATUS must pass too.
 * Otherwise code 50 (plugin not available).
 */
import { sandboxIdOf, workloadOf } from './invocation.js';
import { ipamRun } from './ipam-exec.js';
import { checkDatastoreReachable, getOptional, resolveNodename } from './node.js';
import { readAgentStatus, runDirOfStatusDir } from './agent-status.js';
import { endpointProgrammed } from './policy-wait.js';
import type { CommandContext } from './plugin.js';
import { CniCode, CniError, parseResult, type CniResult } from './spec.js';
import { HOST_SIDE_MAC, inspectContainer, inspectHost } from './veth.js';
import { workloadIds, type WorkloadIds } from './workload.js';

function fail(msg: string, details?: string): never {
  throw new CniError(CniCode.internal, `CHECK: ${msg}`, details);
}

function sameAddress(a: string, b: string): boolean {
  return a.toLowerCase() === b.toLowerCase();
}

async function checkContainer(ctx: CommandContext, prev: CniResult): Promise<void> {
  const { inv } = ctx;
  const v6 = prev.ips.some((i) => i.address.includes(':'));
  const state = await inspectContainer(ctx.host.runner, inv.netns, inv.ifname, v6);
  if (state.link === undefined) fail(`interface ${inv.ifname} is missing in ${inv.netns}`);
  if (!state.link.up) fail(`interface ${inv.ifname} is down`);
  const idx = prev.interfaces.findIndex((i) => i.name === inv.ifname && i.sandbox !== undefined);
  const want = prev.interfaces[idx];
  if (want?.mac !== undefined && !sameAddress(want.mac, state.link.mac)) {
    fail(`interface ${inv.ifname} has MAC ${state.link.mac}, expected ${want.mac}`);
  }
  for (const ip of prev.ips) {
    if (ip.interface !== undefined && ip.interface !== idx) continue;
    if (!state.addresses.some((a) => sameAddress(a, ip.address))) {
      fail(`address ${ip.address} is missing on ${inv.ifname}`, `present: ${state.addresses.join(', ')}`);
    }
  }
  for (const r of prev.routes) {
    const found = state.routes.some(
      (have) => sameAddress(have.dst, r.dst) && (r.gw === undefined || sameAddress(have.gw ?? '', r.gw)),
    );
    if (!found) fail(`route ${r.dst}${r.gw === undefined ? '' : ` via ${r.gw}`} is missing`);
  }
}

async function checkHost(ctx: CommandContext, ids: WorkloadIds, prev: CniResult): Promise<void> {
  const hostIf = prev.interfaces.find((i) => i.sandbox === undefined)?.name ?? ids.hostIf;
  const v6 = prev.ips.some((i) => i.address.includes(':'));
  const host = await inspectHost(ctx.host.runner, hostIf, v6);
  if (host.link === undefined) fail(`host interface ${hostIf} is missing`);
  if (!host.link.up) fail(`host interface ${hostIf} is down`);
  if (!sameAddress(host.link.mac, HOST_SIDE_MAC)) fail(`host interface ${hostIf} has MAC ${host.link.mac}`);
  for (const ip of prev.ips) {
    if (!host.routes.some((r) => sameAddress(r, ip.address)))
      fail(`host route ${ip.address} dev ${hostIf} is missing`);
  }
}

async function checkEndpoint(ctx: CommandContext, ids: WorkloadIds, prev: CniResult): Promise<void> {
  const wep = await ctx.host.withDatastore(ctx.conf, (backend) =>
    getOptional(backend, { kind: 'WorkloadEndpoint', namespace: ids.namespace, name: ids.wepName }),
  );
  if (wep === undefined) fail(`WorkloadEndpoint ${ids.namespace}/${ids.wepName} is missing`);
  const spec = (wep as { spec?: { containerID?: string; ipNetworks?: string[] } }).spec ?? {};
  if (spec.containerID !== ids.containerId) {
    fail(`WorkloadEndpoint ${ids.wepName} belongs to container ${spec.containerID ?? '<none>'}`);
  }
  const nets = spec.ipNetworks ?? [];
  for (const ip of prev.ips) {
    if (!nets.some((n) => sameAddress(n, ip.address)))
      fail(`WorkloadEndpoint ${ids.wepName} lacks ${ip.address}`);
  }
  if (
    ctx.conf.policySetupTimeoutSeconds > 0 &&
    !(await endpointProgrammed(ctx.conf.endpointStatusDir, ids.namespace, ids.wepName, 0))
  ) {
    fail(`the agent has not programmed policy for ${ids.namespace}/${ids.wepName}`);
  }
}

export async function calicoCheck(ctx: CommandContext): Promise<void> {
  const { conf, inv } = ctx;
  if (conf.prevResult === undefined) throw new CniError(CniCode.invalidConfig, 'required prevResult missing');
  const prev = parseResult(conf.prevResult);
  if (!prev.ok) throw new CniError(CniCode.decodingFailure, 'invalid prevResult', prev.error);
  const ids = workloadIds(resolveNodename(conf, false), workloadOf(inv), sandboxIdOf(inv), inv.ifname);
  await checkContainer(ctx, prev.value);
  await checkHost(ctx, ids, prev.value);
  await checkEndpoint(ctx, ids, prev.value);
  await ipamRun(ctx, 'CHECK');
}

/** Ready, or a CniError with code 50. */
export async function calicoStatus(ctx: CommandContext): Promise<void> {
  const { conf } = ctx;
  await checkDatastoreReachable(conf, ctx.host);
  if (conf.policySetupTimeoutSeconds > 0) {
    const s = await readAgentStatus(runDirOfStatusDir(conf.endpointStatusDir));
    const age = s?.updatedAt === undefined ? Infinity : (Date.now() - Date.parse(s.updatedAt)) / 1000;
    if (s === undefined || !s.dataplaneInSync || !(age <= conf.agentStatusMaxAgeSeconds)) {
      throw new CniError(
        CniCode.pluginNotAvailable,
        'the calico-node agent is not ready',
        s === undefined
          ? 'no agent status file'
          : `dataplaneInSync=${String(s.dataplaneInSync)}, updated ${Math.round(age)} s ago`,
      );
    }
  }
  await ipamRun(ctx, 'STATUS');
}
