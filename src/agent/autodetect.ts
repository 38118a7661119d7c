/**
 * Node address autodetection (calico-node's IP_AUTODETECTION_METHOD): the interfaces and their addresses
 * come from `ip -j addr show` (through a CommandRunner, so it runs in the agent's network namespace); the
 * choice is a pure function of that list. Methods: `first-found` (the first global address on an interface
 * not excluded by Calico's default list: lo, cali*, vxlan.calico, docker*, …), `interface=<regex,...>`,
 * `skip-interface=<regex,...>`, `can-reach=<destination>` (the source address the kernel would use),
 * `cidr=<CIDR,...>`. Link-local and loopback addresses are never chosen. can-reach takes an IP address
 * (names are not resolved).
 */
import type { CommandRunner } from '../dataplane/exec/command-runner.js';
import { CalicoError } from '../lib/errors.js';
import { cidrContains, type Cidr, formatCidr, parseCidr, parseIp } from '../lib/net/ip.js';
import { err, ok, type Result } from '../lib/result.js';

export type AutodetectMethod =
  | { readonly kind: 'first-found' }
  | { readonly kind: 'interface'; readonly patterns: readonly RegExp[] }
  | { readonly kind: 'skip-interface'; readonly patterns: readonly RegExp[] }
  | { readonly kind: 'can-reach'; readonly destination: string }
  | { readonly kind: 'cidr'; readonly cidrs: readonly Cidr[] };

export interface HostAddress {
  readonly ip: string;
  readonly prefix: number;
  readonly family: 4 | 6;
}

export interface HostInterface {
  readonly name: string;
  readonly addresses: readonly HostAddress[];
}

/** Calico's default exclusions for first-found (interface names, anchored at the start). */
export const DEFAULT_EXCLUDED_INTERFACES: readonly RegExp[] = [
  /^docker.*/,
  /^cbr.*/,
  /^dummy.*/,
  /^virbr.*/,
  /^lxcbr.*/,
  /^veth.*/,
  /^lo$/,
  /^cali.*/,
  /^tunl.*/,
  /^flannel.*/,
  /^kube-ipvs.*/,
  /^cni.*/,
  /^vxlan\.calico.*/,
  /^vxlan-v6\.calico.*/,
  /^wireguard\.cali.*/,
  /^wg-v6\.cali.*/,
  /^nodelocaldns.*/,
  /^br-.*/,
];

function regexes(list: string): Result<RegExp[], string> {
  const out: RegExp[] = [];
  for (const p of list
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '')) {
    try {
      // As in Calico, a pattern may match anywhere in the name (anchor it with ^…$ to match it whole).
      out.push(new RegExp(p));
    } catch {
      return err(`invalid regular expression ${JSON.stringify(p)}`);
    }
  }
  return out.length === 0 ? err('no interface pattern given') : ok(out);
}

export function parseAutodetectMethod(text: string): Result<AutodetectMethod, string> {
  const t = text.trim();
  if (t === '' || t === 'first-found') return ok({ kind: 'first-found' });
  const eq = t.indexOf('=');
  const key = eq < 0 ? t : t.slice(0, eq);
  const value = eq < 0 ? '' : t.slice(eq + 1);
  switch (key) {
    case 'interface':
    case 'skip-interface': {
      const r = regexes(value);
      return r.ok ? ok({ kind: key, patterns: r.value }) : r;
    }
    case 'can-reach':
      return value === ''
        ? err('can-reach needs a destination')
        : ok({ kind: 'can-reach', destination: value });
    case 'cidr': {
      const cidrs = value.split(',').map((s) => parseCidr(s.trim()));
      if (cidrs.length === 0 || cidrs.some((c) => c === undefined))
        return err(`invalid CIDR list ${JSON.stringify(value)}`);
      return ok({ kind: 'cidr', cidrs: cidrs as Cidr[] });
    }
    default:
      return err(
        `unsupported method ${JSON.stringify(t)} (first-found, interface=, skip-interface=, can-reach=, cidr=)`,
      );
  }
}

function usable(a: HostAddress): boolean {
  const ip = parseIp(a.ip);
  if (ip === undefined) return false;
  const linkLocal = parseCidr(a.family === 4 ? '169.254.0.0/16' : 'fe80::/10');
  const loopback = parseCidr(a.family === 4 ? '127.0.0.0/8' : '::1/128');
  return (
    !(linkLocal !== undefined && cidrContains(linkLocal, ip)) &&
    !(loopback !== undefined && cidrContains(loopback, ip))
  );
}

function firstAddress(
  ifaces: readonly HostInterface[],
  family: 4 | 6,
  keep: (i: HostInterface, a: HostAddress) => boolean,
): HostAddress | undefined {
  for (const i of ifaces) {
    for (const a of i.addresses) if (a.family === family && usable(a) && keep(i, a)) return a;
  }
  return undefined;
}

/**
 * The address a method picks, as `ip/prefix`. For can-reach, `routeSource` is the source address the kernel
 * uses towards the destination (see `routeSourceFor`).
 */
export function selectAddress(
  ifaces: readonly HostInterface[],
  family: 4 | 6,
  m: AutodetectMethod,
  routeSource?: string,
): HostAddress | undefined {
  const excluded = (name: string): boolean => DEFAULT_EXCLUDED_INTERFACES.some((r) => r.test(name));
  switch (m.kind) {
    case 'first-found':
      return firstAddress(ifaces, family, (i) => !excluded(i.name));
    case 'interface':
      return firstAddress(ifaces, family, (i) => m.patterns.some((r) => r.test(i.name)));
    case 'skip-interface':
      return firstAddress(
        ifaces,
        family,
        (i) => !excluded(i.name) && !m.patterns.some((r) => r.test(i.name)),
      );
    case 'cidr':
      return firstAddress(ifaces, family, (_i, a) => {
        const ip = parseIp(a.ip);
        return ip !== undefined && m.cidrs.some((c) => cidrContains(c, ip));
      });
    case 'can-reach':
      return routeSource === undefined
        ? undefined
        : firstAddress(ifaces, family, (_i, a) => a.ip === routeSource);
  }
}

/** `ip/prefix` in network-preserving form (`10.0.1.1/24`). */
export function formatHostAddress(a: HostAddress): string {
  return `${a.ip}/${a.prefix}`;
}

/** The prefix length of `ip` on some interface, for an explicit IP given without one. */
export function prefixOf(ifaces: readonly HostInterface[], ip: string): number | undefined {
  for (const i of ifaces) for (const a of i.addresses) if (a.ip === ip) return a.prefix;
  return undefined;
}

export function parseInterfaces(json: unknown): HostInterface[] {
  if (!Array.isArray(json)) return [];
  return json.flatMap((e: unknown) => {
    const o = e as { ifname?: unknown; addr_info?: unknown };
    if (typeof o.ifname !== 'string') return [];
    const infos: unknown[] = Array.isArray(o.addr_info) ? o.addr_info : [];
    const addresses = infos.flatMap((x: unknown): HostAddress[] => {
      const a = x as { family?: unknown; local?: unknown; prefixlen?: unknown };
      if (typeof a.local !== 'string' || typeof a.prefixlen !== 'number') return [];
      if (a.family !== 'inet' && a.family !== 'inet6') return [];
      return [{ ip: a.local, prefix: a.prefixlen, family: a.family === 'inet' ? 4 : 6 }];
    });
    return [{ name: o.ifname, addresses }];
  });
}

export async function listInterfaces(runner: CommandRunner): Promise<HostInterface[]> {
  const r = await runner.run('ip', ['-j', 'addr', 'show'], { timeoutMs: 10_000 });
  if (r.code !== 0) throw new CalicoError('CALICO_ERR_IO', `ip -j addr show failed: ${r.stderr.trim()}`);
  return parseInterfaces(JSON.parse(r.stdout) as unknown);
}

/** The source address the kernel picks towards `destination` (an IP address), or undefined. */
export async function routeSourceFor(
  runner: CommandRunner,
  destination: string,
  family: 4 | 6,
): Promise<string | undefined> {
  const dest = parseCidr(destination);
  if (dest?.family !== family) return undefined;
  const r = await runner.run(
    'ip',
    [`-${family}`, '-j', 'route', 'get', formatCidr(dest).split('/')[0] ?? destination],
    {
      timeoutMs: 10_000,
    },
  );
  if (r.code !== 0) return undefined;
  const routes = JSON.parse(r.stdout) as unknown;
  const first: unknown = Array.isArray(routes) ? routes[0] : undefined;
  const src = (first as { prefsrc?: unknown } | undefined)?.prefsrc;
  return typeof src === 'string' ? src : undefined;
}
