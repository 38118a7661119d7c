/**
 * The pod MTU file (Felix's writeMTUFile, felix/dataplane/linux/int_dataplane.go): the MTU the CNI plugin
 * gives a pod's interface when its configuration says `"mtu": 0`. Felix's rule:
 *
 *   host MTU   the smallest MTU of the interfaces that match `mtuIfacePattern` and are operationally up
 *              (`ip -j link show` in the agent's network namespace); 1460 when none matches
 *   per encapsulation   its configured MTU, or the host MTU less its overhead: IP-in-IP 20, VXLAN 50 (IPv4)
 *              / 70 (IPv6), WireGuard 60 / 80
 *   pod MTU    the smallest among the enabled encapsulations, else the host MTU
 *
 * An encapsulation is enabled by FELIX_IPINIPENABLED / FELIX_VXLANENABLED when set, else by the IP pools
 * (Felix's encapsulation calculator: some pool with ipipMode / vxlanMode other than Never; IPv6 VXLAN from
 * IPv6 pools), and WireGuard by wireguardEnabled(V6). Felix writes the file once at start (it restarts when
 * the encapsulation changes); the agent writes it after the first in-sync and again whenever the value
 * changes. Path: CALICO_MTU_FILE (calico-ts's; Calico's is fixed at /var/lib/calico/mtu), mode 0644.
 */
import { dirname } from 'node:path';
import type { FelixConfig } from '../api/v3/felix-config-params.js';
import { DEFAULT_FELIX_CONFIG } from '../api/v3/felix-config.js';
import type { DataplaneMessage } from '../calc/messages.js';
import type { CommandRunner } from '../dataplane/exec/command-runner.js';
import { queryJson } from '../dataplane/iproute/tools.js';
import { errorMessage } from '../lib/errors.js';
import { parseCidr } from '../lib/net/ip.js';
import { ensureDirSync, FILE_MODE, writeFileAtomic } from '../sys/files.js';
import { SerialDebouncer } from './debounce.js';
import type { Logger } from './log.js';

/** Felix's host MTU when no interface matches `mtuIfacePattern`. */
export const FALLBACK_HOST_MTU = 1460;
const OVERHEAD = { ipip: 20, vxlan: 50, vxlanV6: 70, wireguard: 60, wireguardV6: 80 } as const;

export interface Link {
  readonly name: string;
  readonly mtu: number;
  /** IFF_RUNNING: operstate UP or UNKNOWN. */
  readonly operUp: boolean;
}

export function parseLinks(json: unknown): Link[] {
  if (!Array.isArray(json)) return [];
  return json.flatMap((e: unknown) => {
    const o = e as { ifname?: unknown; mtu?: unknown; operstate?: unknown };
    if (typeof o.ifname !== 'string' || typeof o.mtu !== 'number') return [];
    return [{ name: o.ifname, mtu: o.mtu, operUp: o.operstate === 'UP' || o.operstate === 'UNKNOWN' }];
  });
}

/** Felix's findHostMTU. An invalid pattern matches nothing (the configuration layer rejects one). */
export function hostMtuOf(links: readonly Link[], pattern: string): number {
  let re: RegExp;
  try {
    re = new RegExp(pattern);
  } catch {
    return FALLBACK_HOST_MTU;
  }
  const mtus = links.filter((l) => l.operUp && re.test(l.name)).map((l) => l.mtu);
  return mtus.length === 0 ? FALLBACK_HOST_MTU : Math.min(...mtus);
}

export type MtuConfig = Pick<
  FelixConfig,
  | 'ipipEnabled'
  | 'ipipMTU'
  | 'vxlanEnabled'
  | 'vxlanMTU'
  | 'vxlanMTUV6'
  | 'wireguardEnabled'
  | 'wireguardEnabledV6'
  | 'wireguardMTU'
  | 'wireguardMTUV6'
>;

/** What the IP pools enable (Felix's EncapsulationCalculator). */
export interface PoolEncaps {
  readonly ipip: boolean;
  readonly vxlan: boolean;
  readonly vxlanV6: boolean;
}

/** Felix's ConfigureDefaultMTUs + determinePodMTU. */
export function podMtu(hostMtu: number, c: MtuConfig, pools: PoolEncaps): number {
  const candidates: [number, boolean][] = [
    [c.ipipMTU || hostMtu - OVERHEAD.ipip, c.ipipEnabled ?? pools.ipip],
    [c.vxlanMTU || hostMtu - OVERHEAD.vxlan, c.vxlanEnabled ?? pools.vxlan],
    [c.vxlanMTUV6 || hostMtu - OVERHEAD.vxlanV6, pools.vxlanV6],
    [c.wireguardMTU || hostMtu - OVERHEAD.wireguard, c.wireguardEnabled],
    [c.wireguardMTUV6 || hostMtu - OVERHEAD.wireguardV6, c.wireguardEnabledV6],
  ];
  const enabled = candidates.filter(([mtu, on]) => on && mtu !== 0).map(([mtu]) => mtu);
  return enabled.length === 0 ? hostMtu : Math.min(...enabled);
}

export interface MtuFileDeps {
  readonly path: string;
  readonly runner: CommandRunner;
  readonly log: Logger;
  /** Called when the file cannot be written and `requireMTUFile` is set (Felix shuts down). */
  readonly onFatal: (e: Error) => void;
}

/** Follows the dataplane messages (configuration, pools, in-sync) and keeps the file at the pod MTU. */
export class MtuFileWriter {
  readonly #d: MtuFileDeps;
  readonly #pools = new Map<string, { ipip: boolean; vxlan: boolean; v6: boolean }>();
  #config: FelixConfig = DEFAULT_FELIX_CONFIG;
  #inSync = false;
  #host: { readonly pattern: string; readonly mtu: number } | undefined;
  #written: number | undefined;
  readonly #job: SerialDebouncer;

  constructor(d: MtuFileDeps) {
    this.#d = d;
    this.#job = new SerialDebouncer(() => this.#write(), {
      delayMs: 0,
      onError: (e) => {
        d.log.error('Failed to write MTU file, pod MTU may not be properly set', {
          file: d.path,
          error: errorMessage(e),
        });
        if (this.#config.requireMTUFile) d.onFatal(e instanceof Error ? e : new Error(String(e)));
      },
    });
  }

  /** The value last written (for tests and status). */
  get written(): number | undefined {
    return this.#written;
  }

  onMessages(msgs: readonly DataplaneMessage[]): void {
    let changed = false;
    for (const m of msgs) {
      if (m.kind === 'configUpdate') {
        this.#config = m.config;
        changed = true;
      } else if (m.kind === 'ipPoolUpdate') {
        this.#pools.set(m.id, {
          ipip: m.pool.ipipMode !== 'Never',
          vxlan: m.pool.vxlanMode !== 'Never',
          v6: parseCidr(m.pool.cidr)?.family === 6,
        });
        changed = true;
      } else if (m.kind === 'ipPoolRemove') {
        changed = this.#pools.delete(m.id) || changed;
      } else if (m.kind === 'inSync') {
        this.#inSync = true;
        changed = true;
      }
    }
    if (changed && this.#inSync) this.#job.schedule();
  }

  /** Resolves when no write is in progress. */
  idle(): Promise<void> {
    return this.#job.idle();
  }

  dispose(): Promise<void> {
    return this.#job.dispose();
  }

  async #write(): Promise<void> {
    const pattern = this.#config.mtuIfacePattern;
    if (this.#host?.pattern !== pattern) {
      const links = parseLinks(await queryJson(this.#d.runner, 'ip', ['-j', 'link', 'show'], undefined));
      this.#host = { pattern, mtu: hostMtuOf(links, pattern) };
    }
    const pools = [...this.#pools.values()];
    const mtu = podMtu(this.#host.mtu, this.#config, {
      ipip: pools.some((p) => p.ipip),
      vxlan: pools.some((p) => p.vxlan && !p.v6),
      vxlanV6: pools.some((p) => p.vxlan && p.v6),
    });
    if (mtu === this.#written) return;
    ensureDirSync(dirname(this.#d.path));
    await writeFileAtomic(this.#d.path, String(mtu), FILE_MODE);
    this.#written = mtu;
    this.#d.log.info('Determined pod MTU', { mtu, hostMTU: this.#host.mtu, file: this.#d.path });
  }
}
