/**
 * The VXLAN overlay (Felix's vxlan_mgr.go): records the local and remote VTEPs, whether some IPv4 pool uses
 * VXLAN, and the VXLAN configuration; its kernel work programs `vxlan.calico` with the local VTEP (re-created
 * when a creation-time property such as VNI, port or local IP differs, updated in place otherwise), its tunnel
 * address, and one FDB and one neighbour entry per remote VTEP. State is read back from the kernel on every
 * apply that has work, so a restarted agent adopts the device and sweeps stale entries. The device is removed
 * when no IP pool uses VXLAN any more. Desired state is rules/vxlan.ts; read-back and diffs iproute/vxlan.ts.
 */
import { DEFAULT_FELIX_CONFIG } from '../../api/v3/felix-config.js';
import type { IpPoolMsg, VtepMsg } from '../../calc/messages.js';
import type { CommandRunner } from '../exec/command-runner.js';
import { queryJson, readInterfaces, runBatch, runTool } from '../iproute/tools.js';
import * as kernel from '../iproute/vxlan.js';
import { VXLAN_DEVICE } from '../rules/names.js';
import { DirtyMap, DueWork, type Manager, type MessageHandlers } from '../manager.js';
import {
  desiredFdb,
  desiredNeighbours,
  deviceSpec,
  remoteVteps,
  vxlanConfigFrom,
  type VxlanConfig,
  type VxlanDeviceSpec,
} from '../rules/vxlan.js';

interface VxlanState {
  readonly hostname: string;
  readonly config: VxlanConfig;
  /** Some IPv4 pool has vxlanMode Always or CrossSubnet. */
  readonly wanted: boolean;
  readonly vteps: ReadonlyMap<string, VtepMsg>;
}

export type VxlanOutcome =
  | { readonly state: 'ready'; readonly device: VxlanDeviceSpec }
  | { readonly state: 'absent' }
  /** VXLAN is wanted but cannot be set up yet (no local VTEP, or its node IP is on no interface). */
  | { readonly state: 'waiting'; readonly reason: string };

export class VxlanManager implements Manager {
  readonly name = 'vxlan';
  private readonly runner: CommandRunner;
  private readonly hostname: string;
  private readonly work = new DueWork();
  private readonly pools = new DirtyMap<IpPoolMsg>(() => {
    this.work.markDue();
  });
  private readonly vteps = new DirtyMap<VtepMsg>(() => {
    this.work.markDue();
  });
  private config: VxlanConfig = vxlanConfigFrom(DEFAULT_FELIX_CONFIG);
  private outcome: VxlanOutcome = { state: 'absent' };

  constructor(runner: CommandRunner, hostname: string) {
    this.runner = runner;
    this.hostname = hostname;
  }

  /** What the last apply achieved (the cluster routes manager programs VXLAN routes only when ready). */
  get state(): VxlanOutcome {
    return this.outcome;
  }

  /** 1 while VXLAN is wanted but waiting (for the local VTEP or its interface): the loop retries. */
  get pending(): number {
    return this.outcome.state === 'waiting' ? 1 : 0;
  }

  readonly handlers: MessageHandlers = {
    configUpdate: (m) => {
      this.config = vxlanConfigFrom(m.config);
      this.work.markDue();
    },
    ipPoolUpdate: (m) => {
      this.pools.set(m.id, m.pool);
    },
    ipPoolRemove: (m) => {
      this.pools.delete(m.id);
    },
    vtepUpdate: (m) => {
      this.vteps.set(m.vtep.node, m.vtep);
    },
    vtepRemove: (m) => {
      this.vteps.delete(m.node);
    },
  };

  queueResync(): void {
    this.work.markDue();
  }

  reset(): void {
    this.pools.clear();
    this.vteps.clear();
    this.config = vxlanConfigFrom(DEFAULT_FELIX_CONFIG);
    this.work.markDue();
  }

  apply(signal: AbortSignal): Promise<void> {
    return this.work.run(this.pending > 0, async () => {
      this.pools.take();
      this.vteps.take();
      const wanted = [...this.pools.values.values()].some(
        (p) => p.vxlanMode !== 'Never' && !p.cidr.includes(':'),
      );
      this.outcome = await this.program(
        { hostname: this.hostname, config: this.config, wanted, vteps: this.vteps.values },
        signal,
      );
    });
  }

  private async program(s: VxlanState, signal: AbortSignal): Promise<VxlanOutcome> {
    const link = kernel.parseVxlanLink(
      await queryJson(this.runner, 'ip', ['-d', '-j', 'link', 'show', 'dev', VXLAN_DEVICE], signal, true),
    );
    if (!s.wanted) {
      if (link !== undefined) await runTool(this.runner, 'ip', ['link', 'del', VXLAN_DEVICE], signal);
      return { state: 'absent' };
    }
    const local = s.vteps.get(s.hostname);
    // Without our own VTEP (tunnel address not allocated yet) an existing device is left as it is.
    if (local === undefined)
      return { state: 'waiting', reason: `node ${s.hostname} has no VXLAN tunnel address` };
    const ifaces = await readInterfaces(this.runner, signal);
    const parent = ifaces.find((i) => i.name !== VXLAN_DEVICE && i.addresses.includes(local.parentDeviceIp));
    if (parent === undefined) {
      return { state: 'waiting', reason: `no interface has the node IP ${local.parentDeviceIp}` };
    }
    const want = deviceSpec(s.config, local, parent);
    let current = link;
    if (current !== undefined && kernel.needsRecreate(current, want)) {
      await runTool(this.runner, 'ip', ['link', 'del', VXLAN_DEVICE], signal);
      current = undefined;
    }
    const steps =
      current === undefined ? kernel.createDeviceArgs(want) : kernel.updateDeviceArgs(current, want);
    for (const args of steps) await runTool(this.runner, 'ip', args, signal);
    await this.ensureAddress(want.address, signal);
    const remote = remoteVteps(s.vteps.values(), s.hostname);
    const fdb = kernel.diffEntries(
      desiredFdb(remote),
      kernel.parseFdb(
        await queryJson(this.runner, 'bridge', ['-j', 'fdb', 'show', 'dev', VXLAN_DEVICE], signal),
      ),
      (e) => `${e.mac} ${e.dst}`,
    );
    await runBatch(this.runner, 'bridge', kernel.fdbCommands(fdb), 'VXLAN FDB entries', signal);
    const neigh = kernel.diffEntries(
      desiredNeighbours(remote),
      kernel.parseNeighbours(
        await queryJson(this.runner, 'ip', ['-4', '-j', 'neigh', 'show', 'dev', VXLAN_DEVICE], signal),
      ),
      (e) => e.ip,
    );
    await runBatch(this.runner, 'ip', kernel.neighbourCommands(neigh), 'VXLAN neighbour entries', signal);
    return { state: 'ready', device: want };
  }

  /** Exactly the tunnel address (/32) as the device's IPv4 address. */
  private async ensureAddress(address: string, signal: AbortSignal): Promise<void> {
    const json = await queryJson(
      this.runner,
      'ip',
      ['-4', '-j', 'addr', 'show', 'dev', VXLAN_DEVICE],
      signal,
    );
    const present = (Array.isArray(json) ? json : []).flatMap((l: unknown) => {
      const info = (l as { addr_info?: unknown }).addr_info;
      return (Array.isArray(info) ? info : []).flatMap((a: unknown) => {
        const { local, prefixlen } = a as { local?: unknown; prefixlen?: unknown };
        return typeof local === 'string' && typeof prefixlen === 'number' ? [`${local}/${prefixlen}`] : [];
      });
    });
    const want = `${address}/32`;
    const lines = [
      ...present.filter((a) => a !== want).map((a) => `addr del ${a} dev ${VXLAN_DEVICE}`),
      ...(present.includes(want) ? [] : [`addr replace ${want} dev ${VXLAN_DEVICE}`]),
    ];
    await runBatch(this.runner, 'ip', lines, 'the VXLAN tunnel address', signal);
  }
}
