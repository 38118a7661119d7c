/**
 * `calicoctl ipam show`: pool usage (`--show-blocks` adds a row per block), one address (`--ip`), borrowed
 * addresses (`--show-borrowed`) or the IPAM configuration (`--show-configuration`), printed as calicoctl does.
 */
import type { Command } from '../../command.js';
import { boolOpt, stringOpt } from '../../command.js';
import type { CliIo } from '../../io.js';
import type { IpamClient, PoolUtilization } from '../../../ipam/index.js';
import { allocations, blockCidr, ordinalToIp } from '../../../ipam/block.js';
import { formatIp } from '../../../lib/net/ip.js';
import { CONFIG_OPTION, CONFIG_USAGE, openIpam, validateIp } from './shared.js';
import { countWithPercent, formatG5, renderTable } from './table.js';

const USAGE = `Usage:
  calicoctl ipam show [--ip=<IP> | --show-blocks | --show-borrowed | --show-configuration]
                      [--config=<CONFIG>] [--allow-version-mismatch]

Options:
  -h --help                    Show this screen.
     --ip=<IP>                 Report whether this specific IP address is in use.
     --show-blocks             Show detailed information for IP blocks as well as pools.
     --show-borrowed           Show detailed information for "borrowed" IP addresses.
     --show-configuration      Show current Calico IPAM configuration.
${CONFIG_USAGE}
     --allow-version-mismatch  Allow client and cluster versions mismatch.

Description:
  The ipam show command prints information about a given IP address, or about
  overall IP usage.`;

const USAGE_HEADER = [
  'GROUPING',
  'CIDR',
  'IPS TOTAL',
  'IPS IN USE',
  'IPS RESERVED',
  'IPS FREE',
  'IPS COOLING',
];

function usageRow(
  kind: string,
  cidr: string,
  u: Omit<PoolUtilization, 'name' | 'cidr' | 'blocks'>,
): string[] {
  return [
    kind,
    cidr,
    formatG5(u.capacity),
    countWithPercent(u.inUse, u.capacity),
    countWithPercent(u.reserved, u.capacity),
    countWithPercent(u.free, u.capacity),
    countWithPercent(u.cooling, u.capacity),
  ];
}

/** Prints the usage table; returns false when there is no pool and no block at all. */
async function showUtilization(ipam: IpamClient, io: CliIo, showBlocks: boolean): Promise<boolean> {
  const rows: string[][] = [];
  const pools = await ipam.getUtilization();
  for (const pool of pools) {
    // Blocks outside every pool have no pool row of their own.
    if (pool.cidr !== undefined) rows.push(usageRow('IP Pool', pool.cidr, pool));
    if (showBlocks) rows.push(...pool.blocks.map((b) => usageRow('Block', b.cidr, b)));
  }
  io.out(renderTable(USAGE_HEADER, rows, ['left', 'left', 'right', 'right', 'right', 'right', 'right']));
  return pools.length > 0;
}

function ownerLines(title: string, attrs: Readonly<Record<string, string>> | undefined): string {
  const keys = Object.keys(attrs ?? {}).sort();
  if (keys.length === 0) return '';
  return `${title}:\n${keys.map((k) => `  ${k}: ${attrs?.[k] ?? ''}\n`).join('')}`;
}

async function showIp(ipam: IpamClient, io: CliIo, text: string): Promise<number> {
  const ip = validateIp(text, io);
  if (ip === undefined) return 1;
  const a = await ipam.getAssignmentAttributes(ip);
  if (a === undefined) {
    io.out(`${ip} is not assigned\n`);
    return 0;
  }
  io.out(`IP ${ip} is in use\n`);
  io.out(`Handle ID: ${a.handleId ?? '<none>'}\n`);
  const active = ownerLines('Active Owner Attributes', a.activeOwnerAttrs);
  io.out(active === '' ? 'No Active Owner attributes defined\n' : active);
  io.out(ownerLines('Alternate Owner Attributes', a.alternateOwnerAttrs));
  if (a.releasedAt !== undefined) io.out(`Released at ${a.releasedAt}; the address is cooling down\n`);
  return 0;
}

async function showBorrowed(ipam: IpamClient, io: CliIo): Promise<void> {
  const rows: string[][] = [];
  let unclassified = 0;
  for (const b of (await ipam.store.listBlocks()).items) {
    const cidr = blockCidr(b.spec);
    const parts = (b.spec.affinity ?? '').split(':');
    const owner =
      b.spec.affinity === undefined ? '' : parts.length === 2 ? (parts[1] ?? '') : (parts[0] ?? '');
    for (const a of allocations(b.spec)) {
      if (a.state !== 'inUse') continue;
      const attrs = a.attribute?.secondary ?? {};
      const node = attrs['node'];
      if (node === undefined) {
        unclassified++;
        continue;
      }
      if (node === owner) continue;
      const ns = attrs['namespace'] ?? '';
      const [type, to] =
        attrs['vmi-name'] !== undefined
          ? ['vmi', `${ns}/${attrs['vmi-name']}`]
          : attrs['pod'] !== undefined
            ? ['pod', `${ns}/${attrs['pod']}`]
            : [attrs['type'] ?? '', ''];
      const ip = ordinalToIp(cidr, a.ordinal);
      rows.push([formatIp(ip.family, ip.value), node, b.spec.cidr, owner, type, to]);
    }
  }
  io.out(renderTable(['IP', 'BORROWING-NODE', 'BLOCK', 'BLOCK OWNER', 'TYPE', 'ALLOCATED-TO'], rows));
  if (unclassified !== 0) {
    io.out(
      `\nNote: found ${unclassified} IP allocations without an explicit node association. Unable to determine if they are borrowed.\n`,
    );
  }
}

async function showConfiguration(ipam: IpamClient, io: CliIo): Promise<void> {
  const c = await ipam.getConfig();
  const persistence =
    c.kubeVirtVMAddressPersistence === undefined
      ? '(*ipam.VMAddressPersistence)(nil)'
      : JSON.stringify(c.kubeVirtVMAddressPersistence);
  const rows = [
    ['StrictAffinity', String(c.strictAffinity)],
    ['AutoAllocateBlocks', String(c.autoAllocateBlocks)],
    ['MaxBlocksPerHost', String(c.maxBlocksPerHost)],
    ['KubeVirtVMAddressPersistence', persistence],
    ['IPCooldownSeconds', String(c.ipCooldownSeconds)],
  ];
  io.out(renderTable(['PROPERTY', 'VALUE'], rows));
}

export const ipamShowCommand: Command = {
  words: ['ipam', 'show'],
  summary: 'Show details of a Calico assigned IP address or overall IP usage.',
  usage: USAGE,
  options: {
    ...CONFIG_OPTION,
    ip: { type: 'string' },
    'show-blocks': { type: 'boolean' },
    'show-borrowed': { type: 'boolean' },
    'show-configuration': { type: 'boolean' },
  },
  async run({ values, io }) {
    await using session = await openIpam(values, io, { create: false });
    const ip = stringOpt(values, 'ip');
    if (ip !== undefined && ip !== '') return await showIp(session.ipam, io, ip);
    if (boolOpt(values, 'show-borrowed')) await showBorrowed(session.ipam, io);
    else if (boolOpt(values, 'show-configuration')) await showConfiguration(session.ipam, io);
    else if (!(await showUtilization(session.ipam, io, boolOpt(values, 'show-blocks')))) {
      const hint = await session.emptyHint();
      if (hint !== undefined) io.err(`Note: ${hint}\n`);
    }
    return 0;
  },
};
