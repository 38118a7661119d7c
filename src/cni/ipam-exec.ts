/**
 * How `calico` calls its IPAM plugin (SPEC "IP Allocation"): the plugin named by `ipam.type`, found in
 * `CNI_PATH`, run with the same environment and the same network configuration, except for what the pod's
 * annotations override (reference §7.2 step 3): `ipam.ipv4_pools` / `ipam.ipv6_pools` from the
 * `ipv4pools` / `ipv6pools` annotations, and `IP=<a,b>` appended to `CNI_ARGS` for `ipAddrs`.
 *
 * When the host runs that plugin in process (the agent does for calico-ipam), the same environment and
 * configuration go through the plugin frame in process instead of an exec, and its output is read exactly as
 * the executable's would be. The plugin must still be found in CNI_PATH, as when it is executed.
 */
import {
  execPlugin,
  expectSuccess,
  findPlugin,
  resultFromOutput,
  type ExecPluginOptions,
  type PluginOutput,
} from './delegate.js';
import type { CommandContext } from './plugin.js';
import { runPlugin } from './skel.js';
import { CniCode, CniError, type CniResult } from './spec.js';
import type { PodNetworkRequest } from './workload.js';

export type IpamCommand = 'ADD' | 'DEL' | 'CHECK' | 'GC' | 'STATUS';

function ipamStdin(ctx: CommandContext, req: PodNetworkRequest | undefined): string {
  const raw = { ...ctx.conf.raw };
  const ipam = { ...((raw['ipam'] as Record<string, unknown> | undefined) ?? {}) };
  if (req?.ipv4Pools !== undefined) ipam['ipv4_pools'] = req.ipv4Pools;
  if (req?.ipv6Pools !== undefined) ipam['ipv6_pools'] = req.ipv6Pools;
  raw['ipam'] = ipam;
  return JSON.stringify(raw);
}

function ipamOptions(
  ctx: CommandContext,
  command: IpamCommand,
  req: PodNetworkRequest | undefined,
): ExecPluginOptions {
  const type = ctx.conf.ipam.type;
  if (type === '') throw new CniError(CniCode.invalidConfig, 'ipam.type is required');
  const plugin = findPlugin(type, ctx.inv.path);
  if (plugin === undefined) {
    throw new CniError(
      CniCode.invalidConfig,
      `failed to find plugin "${type}" in path [${ctx.inv.path.join(' ')}]`,
    );
  }
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(ctx.env)) if (v !== undefined) env[k] = v;
  env['CNI_COMMAND'] = command;
  const ips = req?.ipAddrs ?? [];
  if (ips.length > 0) {
    const args = ctx.inv.argsText === '' ? [] : [ctx.inv.argsText];
    env['CNI_ARGS'] = [...args, `IP=${ips.join(',')}`].join(';');
  }
  return { plugin, env, stdin: ipamStdin(ctx, req) };
}

async function runIpam(ctx: CommandContext, opts: ExecPluginOptions): Promise<PluginOutput> {
  const inProcess = ctx.host.inProcessPlugin(ctx.conf.ipam.type);
  if (inProcess === undefined) return execPlugin(opts);
  const out = await runPlugin(inProcess, { env: opts.env, argv: [], stdin: opts.stdin }, ctx.host);
  return { code: out.exitCode, stdout: out.stdout, stderr: '' };
}

export async function ipamAdd(ctx: CommandContext, req: PodNetworkRequest | undefined): Promise<CniResult> {
  const opts = ipamOptions(ctx, 'ADD', req);
  return resultFromOutput(opts.plugin, await runIpam(ctx, opts));
}

export async function ipamRun(ctx: CommandContext, command: Exclude<IpamCommand, 'ADD'>): Promise<void> {
  const opts = ipamOptions(ctx, command, undefined);
  expectSuccess(opts.plugin, await runIpam(ctx, opts));
}
