/**
 * The pod's network plumbing (reference §7.2 steps 4-7, `pkg/dataplane/linux/dataplane_linux.go`): a veth
 * pair whose host end is `cali…` with MAC ee:ee:ee:ee:ee:ee and whose container end is `CNI_IFNAME` in the
 * pod's namespace, /32 and /128 addresses, the 169.254.1.1 link route and default route (IPv6: via the host
 * end's link-local fe80::ecee:eeff:feee:eeee, DAD off), the host end's sysctls and one host route per address.
 *
 * The plugin runs in the host (node) namespace. One `nsenter --net=<CNI_NETNS> ip -batch` creates the pair
 * from inside the pod (the host end placed straight into the plugin's own namespace) and configures the pod
 * end (iproute2's `-n` only takes names under /var/run/netns, CNI_NETNS may be any path); host sysctls are
 * written to /proc/sys directly (per-namespace files of the calling process); one `ip -batch` configures the
 * host end and its routes. Two processes per ADD: process starts are most of the plumbing's cost. A fresh interface carries no traffic until the agent programs
 * its endpoint: the agent drops packets of `cali*` interfaces it has no endpoint for.
 */
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import type { CommandRunner } from '../dataplane/exec/command-runner.js';
import { formatCommand } from '../dataplane/exec/command-runner.js';
import { CniCode, CniError } from './spec.js';

export const HOST_SIDE_MAC = 'ee:ee:ee:ee:ee:ee';
export const IPV4_GATEWAY = '169.254.1.1';
export const IPV6_GATEWAY = 'fe80::ecee:eeff:feee:eeee';

/** A pod address as configured: `ip/32` or `ip/128`. */
export interface HostAddress {
  readonly family: 4 | 6;
  readonly text: string;
}

export interface WorkloadInterfaceSpec {
  readonly hostIf: string;
  readonly containerIf: string;
  readonly netns: string;
  readonly mtu: number;
  readonly numQueues: number;
  /** Host addresses (/32, /128). */
  readonly addresses: readonly HostAddress[];
  /** Container MAC to set (annotation `cni.projectcalico.org/hwAddr`); kernel-chosen when absent. */
  readonly containerMac?: string;
  readonly allowIpForwarding: boolean;
}

export interface LinkState {
  readonly name: string;
  readonly mac: string;
  readonly up: boolean;
  readonly mtu: number;
}

async function run(
  runner: CommandRunner,
  cmd: string,
  args: readonly string[],
  stdin?: string,
): Promise<string> {
  const r = await runner.run(cmd, args, { timeoutMs: 30_000, ...(stdin === undefined ? {} : { stdin }) });
  if (r.code !== 0) {
    const what =
      stdin === undefined
        ? formatCommand(cmd, args)
        : `${formatCommand(cmd, args)} <<${stdin.trim().replace(/\n/g, '; ')}`;
    throw new CniError(CniCode.internal, `${what} failed (exit ${r.code})`, r.stderr.trim());
  }
  return r.stdout;
}

function inNetns(netns: string, cmd: string, args: readonly string[]): [string, string[]] {
  return ['nsenter', [`--net=${netns}`, cmd, ...args]];
}

/** Whether the host (this process's namespace) has an interface of that name. */
export function hostInterfaceExists(name: string): boolean {
  return existsSync(`/proc/sys/net/ipv4/conf/${name}`);
}

async function hostSysctls(name: string, v6: boolean): Promise<void> {
  const set = (path: string, value: string): Promise<void> => writeFile(`/proc/sys/net/${path}`, value);
  await set(`ipv4/conf/${name}/route_localnet`, '1');
  await set(`ipv4/neigh/${name}/proxy_delay`, '0');
  await set(`ipv4/conf/${name}/proxy_arp`, '1');
  await set(`ipv4/conf/${name}/forwarding`, '1');
  if (v6 && existsSync(`/proc/sys/net/ipv6/conf/${name}`)) {
    await set(`ipv6/conf/${name}/accept_dad`, '0');
    await set(`ipv6/conf/${name}/disable_ipv6`, '0');
    await set(`ipv6/conf/${name}/proxy_ndp`, '1');
    await set(`ipv6/conf/${name}/forwarding`, '1');
    await set(`ipv6/conf/${name}/accept_ra`, '0');
  }
}

function parseLinks(json: string): LinkState[] {
  const out: LinkState[] = [];
  // `ip -j -batch` prints one JSON array per show command.
  for (const chunk of json.split('\n').filter((l) => l.trim().startsWith('['))) {
    const parsed: unknown = JSON.parse(chunk);
    for (const l of Array.isArray(parsed) ? parsed : []) {
      const o = l as { ifname?: unknown; address?: unknown; flags?: unknown; mtu?: unknown };
      out.push({
        name: typeof o.ifname === 'string' ? o.ifname : '',
        mac: typeof o.address === 'string' ? o.address : '',
        up: Array.isArray(o.flags) && o.flags.includes('UP'),
        mtu: typeof o.mtu === 'number' ? o.mtu : 0,
      });
    }
  }
  return out;
}

function batch(lines: readonly (readonly string[])[]): string {
  return lines.map((l) => `${l.join(' ')}\n`).join('');
}

/** Pod-wide sysctls that must be in place before the pod's end exists (IPv6 on, DAD off; forwarding). */
function podSysctls(spec: WorkloadInterfaceSpec): string[] {
  const out: string[] = [];
  if (spec.addresses.some((a) => a.family === 6)) {
    for (const k of ['all', 'default', 'lo']) out.push(`net.ipv6.conf.${k}.disable_ipv6=0`);
    out.push('net.ipv6.conf.all.accept_dad=0', 'net.ipv6.conf.default.accept_dad=0');
  }
  if (spec.allowIpForwarding) out.push('net.ipv4.ip_forward=1', 'net.ipv6.conf.all.forwarding=1');
  return out;
}

/** The pod end: MAC, up, gateway routes, addresses; then `link show` for the MAC actually in use. */
function podCommands(spec: WorkloadInterfaceSpec): string[][] {
  const dev = spec.containerIf;
  const pod: string[][] = [];
  if (spec.containerMac !== undefined) pod.push(['link', 'set', dev, 'address', spec.containerMac]);
  pod.push(['link', 'set', dev, 'up']);
  const v4 = spec.addresses.filter((a) => a.family === 4);
  const v6 = spec.addresses.filter((a) => a.family === 6);
  if (v4.length > 0) {
    pod.push(['route', 'add', `${IPV4_GATEWAY}/32`, 'dev', dev, 'scope', 'link']);
    pod.push(['route', 'add', 'default', 'via', IPV4_GATEWAY, 'dev', dev]);
    for (const a of v4) pod.push(['addr', 'add', a.text, 'dev', dev]);
  }
  for (const a of v6) pod.push(['addr', 'add', a.text, 'dev', dev, 'nodad']);
  if (v6.length > 0) pod.push(['route', 'add', '::/0', 'via', IPV6_GATEWAY, 'dev', dev]);
  pod.push(['link', 'show', dev]);
  return pod;
}

/** Creates the pair and configures both ends; returns the container interface's MAC. */
export async function setupWorkloadInterface(
  runner: CommandRunner,
  spec: WorkloadInterfaceSpec,
): Promise<string> {
  if (!existsSync(spec.netns)) {
    throw new CniError(CniCode.unknownContainer, `network namespace ${spec.netns} does not exist`);
  }
  // A host end left behind by an earlier sandbox of the same pod is replaced (Calico does the same).
  if (hostInterfaceExists(spec.hostIf)) await run(runner, 'ip', ['link', 'del', spec.hostIf]);
  const sysctls = podSysctls(spec);
  if (sysctls.length > 0) {
    const [cmd, args] = inNetns(spec.netns, 'sysctl', ['-q', '-w', ...sysctls]);
    await run(runner, cmd, args);
  }
  // Two commands: inside the pod, create the pair (the host end straight into this process's namespace)
  // and configure the pod end; then configure the host end here.
  const q = String(spec.numQueues);
  const dims = ['mtu', String(spec.mtu), 'numtxqueues', q, 'numrxqueues', q];
  const peer = ['peer', 'name', spec.hostIf, ...dims, 'netns', `/proc/${process.pid}/ns/net`];
  const create = ['link', 'add', spec.containerIf, ...dims, 'type', 'veth', ...peer];
  const [cmd, args] = inNetns(spec.netns, 'ip', ['-j', '-batch', '-']);
  const out = await run(runner, cmd, args, batch([create, ...podCommands(spec)]));
  await hostSysctls(
    spec.hostIf,
    spec.addresses.some((a) => a.family === 6),
  );
  const host: string[][] = [
    ['link', 'set', spec.hostIf, 'address', HOST_SIDE_MAC],
    ['link', 'set', spec.hostIf, 'up'],
  ];
  for (const a of spec.addresses)
    host.push(['route', 'replace', a.text, 'dev', spec.hostIf, 'scope', 'link']);
  await run(runner, 'ip', ['-batch', '-'], batch(host));
  return parseLinks(out).find((l) => l.name === spec.containerIf)?.mac ?? '';
}

/** Deletes the host end (and so the pair); a missing interface is fine. */
export async function removeHostInterface(runner: CommandRunner, hostIf: string): Promise<boolean> {
  if (!hostInterfaceExists(hostIf)) return false;
  const r = await runner.run('ip', ['link', 'del', hostIf], { timeoutMs: 30_000 });
  return r.code === 0;
}

/** Deletes the container's interface (and so the pair) inside `netns`; a missing netns or link is fine. */
export async function removeContainerInterface(
  runner: CommandRunner,
  netns: string,
  ifname: string,
): Promise<boolean> {
  if (netns === '' || !existsSync(netns)) return false;
  const [cmd, args] = inNetns(netns, 'ip', ['link', 'del', ifname]);
  const r = await runner.run(cmd, args, { timeoutMs: 30_000 });
  if (r.code === 0) return true;
  if (/Cannot find device|does not exist/i.test(r.stderr)) return false;
  throw new CniError(
    CniCode.internal,
    `${formatCommand(cmd, args)} failed (exit ${r.code})`,
    r.stderr.trim(),
  );
}

export interface ContainerState {
  readonly link?: LinkState;
  /** `ip/prefix` of every global address on the interface. */
  readonly addresses: readonly string[];
  /** `dst via gw` / `dst dev` lines of the main table, normalised (`default` -> 0.0.0.0/0 or ::/0). */
  readonly routes: readonly { dst: string; gw?: string; dev?: string }[];
}

interface AddrInfo {
  ifname?: string;
  addr_info?: { local?: string; prefixlen?: number; scope?: string }[];
}
interface RouteInfo {
  dst?: string;
  gateway?: string;
  dev?: string;
}

/** What CHECK compares against prevResult: the container interface, its addresses and routes. */
export async function inspectContainer(
  runner: CommandRunner,
  netns: string,
  ifname: string,
  v6: boolean,
): Promise<ContainerState> {
  if (!existsSync(netns))
    throw new CniError(CniCode.unknownContainer, `network namespace ${netns} does not exist`);
  const [cmd, args] = inNetns(netns, 'ip', ['-j', '-batch', '-']);
  const r = await runner.run(cmd, args, { stdin: 'link show\naddr show\nroute show\n', timeoutMs: 30_000 });
  if (r.code !== 0) throw new CniError(CniCode.internal, `inspecting ${netns} failed`, r.stderr.trim());
  const chunks = jsonChunks(r.stdout);
  const routes = [...(JSON.parse(chunks[2] ?? '[]') as RouteInfo[])];
  if (v6) {
    const [c6, a6] = inNetns(netns, 'ip', ['-j', '-6', 'route', 'show']);
    routes.push(...(JSON.parse((await run(runner, c6, a6)) || '[]') as RouteInfo[]));
  }
  const link = parseLinks(chunks[0] ?? '[]').find((l) => l.name === ifname);
  const addrs = JSON.parse(chunks[1] ?? '[]') as AddrInfo[];
  const addresses = (addrs.find((a) => a.ifname === ifname)?.addr_info ?? [])
    .filter((a) => a.scope === 'global' && a.local !== undefined)
    .map((a) => `${a.local ?? ''}/${a.prefixlen ?? 0}`);
  return {
    ...(link === undefined ? {} : { link }),
    addresses,
    routes: routes.map((rt) => {
      const dst =
        rt.dst === 'default' ? ((rt.gateway ?? '').includes(':') ? '::/0' : '0.0.0.0/0') : (rt.dst ?? '');
      return {
        dst: withPrefix(dst),
        ...(rt.gateway === undefined ? {} : { gw: rt.gateway }),
        ...(rt.dev === undefined ? {} : { dev: rt.dev }),
      };
    }),
  };
}

function jsonChunks(out: string): string[] {
  return out.split('\n').filter((l) => l.trim().startsWith('['));
}

function withPrefix(dst: string): string {
  return dst.includes('/') ? dst : `${dst}/${dst.includes(':') ? 128 : 32}`;
}

/** The host end's link state and the host routes through it (this process's namespace). */
export async function inspectHost(
  runner: CommandRunner,
  hostIf: string,
  v6: boolean,
): Promise<{ link?: LinkState; routes: readonly string[] }> {
  if (!hostInterfaceExists(hostIf)) return { routes: [] };
  const out = await run(
    runner,
    'ip',
    ['-j', '-batch', '-'],
    `link show dev ${hostIf}\nroute show dev ${hostIf}\n`,
  );
  const chunks = jsonChunks(out);
  const routes = [...(JSON.parse(chunks[1] ?? '[]') as RouteInfo[])];
  if (v6)
    routes.push(
      ...(JSON.parse(
        (await run(runner, 'ip', ['-j', '-6', 'route', 'show', 'dev', hostIf])) || '[]',
      ) as RouteInfo[]),
    );
  const link = parseLinks(chunks[0] ?? '[]')[0];
  return { ...(link === undefined ? {} : { link }), routes: routes.map((rt) => withPrefix(rt.dst ?? '')) };
}
