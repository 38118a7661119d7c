/**
 * calico-node's networking settings, from the environment (reference §1.8, §8; node/pkg/lifecycle/startup):
 *
 *   CALICO_NETWORKING_BACKEND   bird (default) | vxlan | none
 *   IP / IP6                    autodetect | <address>[/<prefix>] | none   (IP unset: keep the Node's address,
 *                               autodetect if it has none; IP6 unset: keep, never autodetect)
 *   IP_AUTODETECTION_METHOD / IP6_AUTODETECTION_METHOD
 *                               first-found | interface=<regex,...> | skip-interface=<regex,...> |
 *                               can-reach=<IP or name> | cidr=<CIDR,...>
 *   AS                          the node's AS number (spec.bgp.asNumber)
 *   CALICO_ROUTER_ID            BGP router id (IPv4, or `hash`)
 *   CALICO_BIRD_CONFIG / CALICO_BIRD_SOCKET / CALICO_BIRD_PIDFILE
 *                               BIRD's files (default under CALICO_RUN_DIR: bird.cfg, bird.ctl, bird.pid)
 *   CALICO_BIRD_STOP_ON_EXIT    stop BIRD (and delete its routes) when the agent stops on SIGTERM/SIGINT
 *                               (default true)
 *   CALICO_SECRETS_DIR          where BGP passwords (secretKeyRef) are read: <dir>/<secret name>/<key>
 *                               (default /etc/calico/secrets)
 *
 * The default-pool variables (CALICO_IPV4POOL_*, CALICO_IPV6POOL_*, NO_DEFAULT_POOLS) are read by
 * `ensureDefaultPools` itself. The network managers' Felix parameters (FELIX_VXLANMTU, FELIX_VXLANPORT, ...)
 * are read with every other FELIX_* variable (config.ts).
 */
import { join } from 'node:path';
import { UsageError } from '../lib/errors.js';
import { parseCidr } from '../lib/net/ip.js';
import { DEFAULT_SECRETS_DIR, SECRETS_DIR_ENV } from '../routing/index.js';
import { type AutodetectMethod, parseAutodetectMethod } from './autodetect.js';

export type NetworkingBackend = 'bird' | 'vxlan' | 'none';

/** How one family's address is chosen. */
export type AddressSetting =
  | { readonly kind: 'keep-or-autodetect' }
  | { readonly kind: 'keep' }
  | { readonly kind: 'autodetect' }
  | { readonly kind: 'none' }
  | { readonly kind: 'explicit'; readonly address: string };

export interface NetworkConfig {
  readonly backend: NetworkingBackend;
  readonly ipv4: AddressSetting;
  readonly ipv6: AddressSetting;
  readonly ipv4Method: AutodetectMethod;
  readonly ipv6Method: AutodetectMethod;
  readonly asNumber: number | undefined;
  readonly routerId: string | undefined;
  readonly birdConfig: string;
  readonly birdSocket: string;
  readonly birdPidFile: string;
  readonly stopBirdOnExit: boolean;
  /** The directory of BGP password secrets (`<dir>/<secret name>/<key>`). */
  readonly secretsDir: string;
}

type Env = Readonly<Record<string, string | undefined>>;

function addressSetting(name: string, value: string | undefined, family: 4 | 6): AddressSetting {
  if (value === undefined || value === '') return { kind: family === 4 ? 'keep-or-autodetect' : 'keep' };
  const v = value.trim();
  if (v.toLowerCase() === 'autodetect') return { kind: 'autodetect' };
  if (v.toLowerCase() === 'none') return { kind: 'none' };
  const c = parseCidr(v);
  if (c?.family !== family)
    throw new UsageError(`${name}: invalid IPv${family} address ${JSON.stringify(v)}`);
  return { kind: 'explicit', address: v };
}

function backendOf(v: string | undefined): NetworkingBackend {
  const b = (v ?? 'bird').trim().toLowerCase();
  if (b === 'bird' || b === 'vxlan' || b === 'none') return b;
  throw new UsageError(`CALICO_NETWORKING_BACKEND: invalid value ${JSON.stringify(v)} (bird, vxlan or none)`);
}

function asNumberOf(v: string | undefined): number | undefined {
  if (v === undefined || v.trim() === '') return undefined;
  const t = v.trim();
  // Plain or dotted (`<high>.<low>`) notation.
  const m = /^(\d+)(?:\.(\d+))?$/.exec(t);
  const n = m === null ? NaN : m[2] === undefined ? Number(m[1]) : Number(m[1]) * 65536 + Number(m[2]);
  if (!Number.isInteger(n) || n < 0 || n > 4294967295)
    throw new UsageError(`AS: invalid AS number ${JSON.stringify(v)}`);
  return n;
}

function method(name: string, v: string | undefined): AutodetectMethod {
  const r = parseAutodetectMethod(v ?? '');
  if (!r.ok) throw new UsageError(`${name}: ${r.error}`);
  return r.value;
}

export function loadNetworkConfig(env: Env, runDir: string): NetworkConfig {
  return {
    backend: backendOf(env.CALICO_NETWORKING_BACKEND),
    ipv4: addressSetting('IP', env.IP, 4),
    ipv6: addressSetting('IP6', env.IP6, 6),
    ipv4Method: method('IP_AUTODETECTION_METHOD', env.IP_AUTODETECTION_METHOD),
    ipv6Method: method('IP6_AUTODETECTION_METHOD', env.IP6_AUTODETECTION_METHOD),
    asNumber: asNumberOf(env.AS),
    routerId:
      env.CALICO_ROUTER_ID === undefined || env.CALICO_ROUTER_ID === '' ? undefined : env.CALICO_ROUTER_ID,
    birdConfig: env.CALICO_BIRD_CONFIG ?? join(runDir, 'bird.cfg'),
    birdSocket: env.CALICO_BIRD_SOCKET ?? join(runDir, 'bird.ctl'),
    birdPidFile: env.CALICO_BIRD_PIDFILE ?? join(runDir, 'bird.pid'),
    stopBirdOnExit: (env.CALICO_BIRD_STOP_ON_EXIT ?? 'true').toLowerCase() !== 'false',
    secretsDir: env[SECRETS_DIR_ENV] ?? DEFAULT_SECRETS_DIR,
  };
}
