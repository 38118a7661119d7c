/**
 * `calicoctl ipam release`: release one address (`--ip`), or act on one or more `ipam check` reports
 * (`--from-report`, repeatable; only problems present in every report are acted on; `--force` skips the
 * version and datastore-lock checks, never the cluster GUID check).
 */
import { readFile } from 'node:fs/promises';
import type { Command } from '../../command.js';
import { boolOpt, stringOpt, stringsOpt } from '../../command.js';
import { CliError } from '../../io.js';
import { type CheckReport, releaseFromReports } from '../../../ipam/index.js';
import { errorMessage } from '../../../lib/errors.js';
import { calicoctlVersion, CONFIG_OPTION, CONFIG_USAGE, openIpam, validateIp } from './shared.js';

const USAGE = `Usage:
  calicoctl ipam release [--ip=<IP>] [--from-report=<REPORT>]... [--config=<CONFIG>] [--force]
                         [--allow-version-mismatch]

Options:
  -h --help                    Show this screen.
     --ip=<IP>                 IP address to release.
     --from-report=<REPORT>    Release all leaked addresses from the report.  If multiple reports are specified
                               then only leaked IPs common to all reports will be released - by generating
                               reports at different times, e.g. separated by an hour, this can be used to provide
                               additional certainty that the IPs are truly leaked rather than in a transient
                               state of assignment. At least one of the reports should be newly generated.
     --force                   Force release of leaked addresses.
${CONFIG_USAGE}
     --allow-version-mismatch  Allow client and cluster versions mismatch.

Description:
  The ipam release command releases an IP address from the Calico IP Address
  Manager that was been previously assigned to an endpoint.  When an IP address
  is released, it becomes available for assignment to any endpoint.

  Note that this does not remove the IP from any existing endpoints that may be
  using it, so only use this command to clean up addresses from endpoints that
  were not cleanly removed from Calico.`;

async function readReport(file: string): Promise<CheckReport> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    throw new CliError(`failed to read report ${file}: ${errorMessage(e)}`);
  }
  try {
    const parsed = JSON.parse(text) as CheckReport;
    if (typeof parsed !== 'object' || typeof parsed.allocations !== 'object')
      throw new Error('not an IPAM report');
    return parsed;
  } catch (e) {
    throw new CliError(`invalid report ${file}: ${errorMessage(e)}`);
  }
}

export const ipamReleaseCommand: Command = {
  words: ['ipam', 'release'],
  summary: 'Release a Calico assigned IP address.',
  usage: USAGE,
  options: {
    ...CONFIG_OPTION,
    ip: { type: 'string' },
    'from-report': { type: 'string', multiple: true },
    force: { type: 'boolean' },
  },
  async run({ values, io }) {
    const reportFiles = stringsOpt(values, 'from-report');
    const ipText = stringOpt(values, 'ip');
    if (reportFiles.length === 0 && (ipText === undefined || ipText === '')) return 0;
    await using session = await openIpam(values, io, { create: false });
    if (reportFiles.length > 0) {
      const reports = await Promise.all(reportFiles.map(readReport));
      try {
        await releaseFromReports(session.ipam, reports, {
          force: boolOpt(values, 'force'),
          version: calicoctlVersion(),
          print: (line) => {
            io.out(`${line}\n`);
          },
          printInline: (text) => {
            io.out(text);
          },
        });
      } catch (e) {
        throw new CliError(errorMessage(e));
      }
      io.out('You may now unlock the data store.\n');
      return 0;
    }
    const ip = validateIp(ipText ?? '', io);
    if (ip === undefined) return 1;
    let unallocated: string[];
    try {
      ({ unallocated } = await session.ipam.releaseIps([{ address: ip }]));
    } catch (e) {
      throw new CliError(`error: ${errorMessage(e)}`);
    }
    if (unallocated.length !== 0) throw new CliError(`IP address ${ip} is not assigned`);
    io.out(`Successfully released IP address ${ip}\n`);
    return 0;
  },
};
