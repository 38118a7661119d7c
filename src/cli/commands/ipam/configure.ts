/**
 * `calicoctl ipam configure`: change the IPAMConfiguration (strict affinity, blocks per host, KubeVirt address
 * persistence, IP reuse cooldown), keeping the fields not given; prints one confirmation per field set.
 */
import type { Command } from '../../command.js';
import { stringOpt } from '../../command.js';
import { CliError } from '../../io.js';
import type { IPAMConfigurationSpec, VMAddressPersistence } from '../../../api/v3/ipam-config.js';
import { errorMessage } from '../../../lib/errors.js';
import { CONFIG_OPTION, CONFIG_USAGE, openIpam } from './shared.js';

const USAGE = `Usage:
  calicoctl ipam configure [--strictaffinity=<true/false>]
                           [--max-blocks-per-host=<number>]
                           [--kubevirt-ip-persistence=<Enabled|Disabled>]
                           [--ip-cooldown-seconds=<seconds>]
                           [--config=<CONFIG>]
                           [--allow-version-mismatch]

Options:
  -h --help                        Show this screen.
     --strictaffinity=<true/false>  Set StrictAffinity to true/false. When StrictAffinity
                                    is true, borrowing IP addresses is not allowed.
     --max-blocks-per-host=<number> Set the maximum number of blocks that can be affine to a host.
     --kubevirt-ip-persistence=<Enabled|Disabled>
                                    Control whether KubeVirt VMs retain persistent IP addresses
                                    across lifecycle events.
     --ip-cooldown-seconds=<seconds>
                                    Set the minimum time between release and re-allocation of an
                                    IP address (0-1200).
${CONFIG_USAGE}
     --allow-version-mismatch       Allow client and cluster versions mismatch.

Description:
 Modify configuration for Calico IP address management.`;

/** Go's strconv.ParseBool. */
function parseGoBool(s: string): boolean | undefined {
  if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(s)) return true;
  if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(s)) return false;
  return undefined;
}

/** Go's strconv.Atoi (optional sign, decimal digits). */
function parseGoInt(s: string): number | undefined {
  return /^[+-]?\d+$/.test(s) && Number.isSafeInteger(Number(s)) ? Number(s) : undefined;
}

interface Changes {
  strictAffinity?: boolean;
  maxBlocksPerHost?: number;
  persistence?: VMAddressPersistence;
  cooldown?: number;
}

function parseChanges(values: Parameters<Command['run']>[0]['values']): Changes {
  const changes: Changes = {};
  const strict = stringOpt(values, 'strictaffinity');
  if (strict !== undefined && strict !== '') {
    const b = parseGoBool(strict);
    if (b === undefined) throw new CliError('invalid value. Use true or false to set strictaffinity');
    changes.strictAffinity = b;
  }
  const max = stringOpt(values, 'max-blocks-per-host');
  if (max !== undefined && max !== '') {
    const n = parseGoInt(max);
    if (n === undefined) throw new CliError('invalid value for maxblockhost. Use a valid number');
    changes.maxBlocksPerHost = n;
  }
  const persistence = stringOpt(values, 'kubevirt-ip-persistence');
  if (persistence !== undefined && persistence !== '') {
    if (persistence !== 'Enabled' && persistence !== 'Disabled') {
      throw new CliError('invalid value for --kubevirt-ip-persistence. Use Enabled or Disabled');
    }
    changes.persistence = persistence;
  }
  const cooldown = stringOpt(values, 'ip-cooldown-seconds');
  if (cooldown !== undefined) {
    const n = parseGoInt(cooldown);
    if (n === undefined) {
      throw new CliError(
        `invalid argument "${cooldown}" for "--ip-cooldown-seconds" flag: strconv.ParseInt: parsing "${cooldown}": invalid syntax`,
      );
    }
    if (n >= 0) changes.cooldown = n;
  }
  return changes;
}

export const ipamConfigureCommand: Command = {
  words: ['ipam', 'configure'],
  summary: 'Configure IPAM.',
  usage: USAGE,
  options: {
    ...CONFIG_OPTION,
    strictaffinity: { type: 'string' },
    'max-blocks-per-host': { type: 'string' },
    'kubevirt-ip-persistence': { type: 'string' },
    'ip-cooldown-seconds': { type: 'string' },
  },
  async run({ values, io }) {
    const c = parseChanges(values);
    if (
      c.strictAffinity === undefined &&
      c.maxBlocksPerHost === undefined &&
      c.persistence === undefined &&
      c.cooldown === undefined
    ) {
      throw new CliError('at least one configuration option must be specified');
    }
    await using session = await openIpam(values, io, { create: true });
    try {
      const current = await session.ipam.getConfig();
      const spec: IPAMConfigurationSpec = {
        strictAffinity: c.strictAffinity ?? current.strictAffinity,
        autoAllocateBlocks: current.autoAllocateBlocks,
        maxBlocksPerHost: c.maxBlocksPerHost ?? current.maxBlocksPerHost,
        ipCooldownSeconds: c.cooldown ?? current.ipCooldownSeconds,
      };
      const persistence = c.persistence ?? current.kubeVirtVMAddressPersistence;
      if (persistence !== undefined) spec.kubeVirtVMAddressPersistence = persistence;
      await session.ipam.setConfig(spec);
    } catch (e) {
      throw new CliError(`error: ${errorMessage(e)}`);
    }
    if (c.strictAffinity !== undefined)
      io.out(`Successfully set StrictAffinity to: ${String(c.strictAffinity)}\n`);
    if (c.maxBlocksPerHost !== undefined)
      io.out(`Successfully set MaxBlocksPerHost to: ${c.maxBlocksPerHost}\n`);
    if (c.persistence !== undefined)
      io.out(`Successfully set KubeVirtVMAddressPersistence to: ${c.persistence}\n`);
    if (c.cooldown !== undefined) io.out(`Successfully set IPCooldownSeconds to: ${c.cooldown}\n`);
    return 0;
  },
};
