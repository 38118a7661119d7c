/**
 * Test support for the managers and the loop: a fake kernel (FakeCommandRunner answering `nft` through
 * FakeNft, and `ip`/`sysctl`/`bridge` with an empty host unless a test says otherwise) and small builders for
 * the calc graph's messages.
 */
import type {
  DataplaneMessage,
  HostEndpointMsg,
  PolicyMsg,
  RouteMsg,
  RuleMsg,
  TierInfo,
  WorkloadEndpointMsg,
} from '../../calc/messages.js';
import { EMPTY_RULE } from '../../calc/testing.js';
import { FakeCommandRunner } from '../exec/fake-runner.js';
import { handle, type Manager } from '../manager.js';
import { NftTable } from '../nftables/table.js';
import { FakeNft } from '../nftables/testing/fake-nft.js';

export interface FakeKernel {
  readonly runner: FakeCommandRunner;
  readonly nft: FakeNft;
  /** The scripts `nft -f` applied, oldest first. */
  scripts(): string[];
}

/** A host with loopback and `eth0` (10.0.1.1), no routes, no workload interfaces. */
export function fakeKernel(): FakeKernel {
  const runner = new FakeCommandRunner();
  const nft = new FakeNft().install(runner);
  runner.on({ cmd: 'ip' }, { stdout: '[]' });
  runner.on(
    { cmd: 'ip', args: ['-j', 'addr', 'show'] },
    {
      stdout: JSON.stringify([
        { ifname: 'lo', mtu: 65536, addr_info: [{ local: '127.0.0.1' }] },
        { ifname: 'eth0', mtu: 1500, addr_info: [{ local: '10.0.1.1' }] },
      ]),
    },
  );
  runner.on({ cmd: 'sysctl' }, {});
  runner.on({ cmd: 'bridge' }, { stdout: '[]' });
  return {
    runner,
    nft,
    scripts: () => runner.callsMatching({ cmd: 'nft', args: ['-f', '-'] }).map((c) => c.stdin ?? ''),
  };
}

/** node2's block, reached over VXLAN through node2's VTEP. */
export const VXLAN_ROUTE: RouteMsg = {
  dst: '10.244.2.0/26',
  type: 'remoteWorkload',
  dstNode: 'node2',
  dstNodeIp: '10.0.2.1',
  borrowed: false,
  poolCidr: '10.244.0.0/16',
  poolType: 'vxlan',
  natOutgoing: true,
  sameSubnet: false,
  encap: 'vxlan',
  vtepAddr: '10.244.2.0',
};

export function rule(over: Partial<RuleMsg> = {}): RuleMsg {
  return { ...EMPTY_RULE, ...over };
}

export function policy(inbound: readonly RuleMsg[], outbound: readonly RuleMsg[] = []): PolicyMsg {
  return {
    tier: 'default',
    inboundRules: inbound,
    outboundRules: outbound,
    untracked: false,
    preDnat: false,
    applyOnForward: false,
  };
}

/** The default tier with these ingress policies. */
export function tier(ingress: readonly string[], egress: readonly string[] = []): TierInfo {
  return { name: 'default', defaultAction: 'deny', ingressPolicies: ingress, egressPolicies: egress };
}

export function wep(
  name: string,
  iface: string,
  ip: string,
  tiers: readonly TierInfo[] = [],
): Extract<DataplaneMessage, { kind: 'workloadEndpointUpdate' }> {
  const endpoint: WorkloadEndpointMsg = {
    namespace: 'default',
    name,
    display: `default/${name}`,
    interfaceName: iface,
    ipv4Nets: [`${ip}/32`],
    ipv6Nets: [],
    tiers,
    profileIds: [],
  };
  return { kind: 'workloadEndpointUpdate', id: `wep/default/${name}`, endpoint };
}

export function hep(
  name: string,
  over: Partial<HostEndpointMsg> = {},
): Extract<DataplaneMessage, { kind: 'hostEndpointUpdate' }> {
  const endpoint: HostEndpointMsg = {
    name,
    interfaceName: 'eth0',
    expectedIpv4Addrs: [],
    expectedIpv6Addrs: [],
    tiers: [],
    untrackedTiers: [],
    preDnatTiers: [],
    forwardTiers: [],
    profileIds: [],
    ...over,
  };
  return { kind: 'hostEndpointUpdate', id: `hep/${name}`, endpoint };
}

/** Gives the messages to the manager's handlers, as the loop does. */
export function send(manager: Manager, ...msgs: readonly DataplaneMessage[]): void {
  for (const m of msgs) handle(manager.handlers, m);
}

/**
 * Managers over an NftTable on a fake kernel, driven the way the loop drives them (every message to every
 * manager, then completeDeferredWork in order, the table, then their own kernel work), without its timing.
 */
export class ManagerBench {
  readonly kernel = fakeKernel();
  readonly table = new NftTable({ runner: this.kernel.runner });
  readonly managers: readonly Manager[];
  readonly #signal = new AbortController().signal;

  constructor(make: (table: NftTable, runner: FakeCommandRunner) => readonly Manager[]) {
    this.managers = make(this.table, this.kernel.runner);
  }

  async apply(...msgs: readonly DataplaneMessage[]): Promise<void> {
    for (const m of msgs) for (const mgr of this.managers) handle(mgr.handlers, m);
    for (const mgr of this.managers) await mgr.completeDeferredWork?.(this.#signal);
    await this.table.apply({ signal: this.#signal });
    for (const mgr of this.managers) await mgr.apply?.(this.#signal);
  }

  /** The rule texts of a chain in the fake kernel, without counters (undefined: no such chain). */
  chain(name: string): string[] | undefined {
    return this.kernel.nft.state.chains.get(name)?.rules.map((r) =>
      r.text
        .split(' ')
        .filter((t) => t !== 'counter')
        .join(' '),
    );
  }

  chains(): string[] {
    return [...this.kernel.nft.state.chains.keys()].sort();
  }

  set(name: string): string[] | undefined {
    const s = this.kernel.nft.state.sets.get(name);
    return s === undefined ? undefined : [...s.elements].sort();
  }

  map(name: string): [string, string][] | undefined {
    const m = this.kernel.nft.state.maps.get(name);
    return m === undefined ? undefined : [...m].sort(([a], [b]) => (a < b ? -1 : 1));
  }
}
