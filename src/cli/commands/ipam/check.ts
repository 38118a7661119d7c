/**
 * `calicoctl ipam check`: runs the IPAM consistency check (src/ipam/check.ts) against the datastore's
 * WorkloadEndpoints and Node tunnel addresses, prints calicoctl's progress report, ends with
 * `Check complete; found N problems.` and with `-o FILE` writes the JSON report `ipam release` consumes.
 */
import { writeFile } from 'node:fs/promises';
import type { Command } from '../../command.js';
import { boolOpt, stringOpt } from '../../command.js';
import { CliError } from '../../io.js';
import { type CheckResult, checkIpam } from '../../../ipam/index.js';
import { errorMessage } from '../../../lib/errors.js';
import { calicoctlVersion, CONFIG_OPTION, CONFIG_USAGE, openIpam } from './shared.js';
import { FILE_MODE } from '../../../sys/files.js';

const USAGE = `Usage:
  calicoctl ipam check [--config=<CONFIG>] [--show-all-ips] [--show-problem-ips] [-o <FILE>]
                       [--allow-version-mismatch]

Options:
  -h --help                    Show this screen.
  -o --output=<FILE>           Path to output report file.
     --show-all-ips            Print all IPs that are checked.
     --show-problem-ips        Print all IPs that are leaked or not allocated properly.
${CONFIG_USAGE}
     --allow-version-mismatch  Allow client and cluster versions mismatch.

Description:
  The ipam check command checks the integrity of the IPAM datastructures against the workload endpoints
  and nodes in the datastore.`;

interface Verbosity {
  readonly all: boolean;
  readonly problems: boolean;
}

function loadingLines(r: CheckResult, v: Verbosity): string[] {
  const out = ['Checking IPAM for inconsistencies...', '', 'Loading all IPAM blocks...'];
  out.push(`Found ${r.blocks.length + (r.report.invalidBlocks?.length ?? 0)} IPAM blocks.`);
  let allocated = 0;
  for (const b of r.blocks) {
    out.push(` IPAM block ${b.cidr} affinity=${b.affinity ?? '<none>'}:`);
    for (const a of b.allocated) {
      if (a.releasedAt === undefined) allocated++;
      if (!v.all) continue;
      out.push(
        a.releasedAt === undefined
          ? `  ${a.ip} allocated; attrs ${a.attrs}`
          : `  ${a.ip} released at ${a.releasedAt} (cooling down); attrs ${a.attrs}`,
      );
    }
  }
  out.push(`IPAM blocks record ${allocated} allocations.`, '', 'Loading all IPAM pools...');
  out.push(...r.activePools.map((p) => `  ${p}`), `Found ${r.activePools.length} active IP pools.`, '');
  const belongs = (kinds: readonly string[]): string[] =>
    v.all ? r.owners.filter((o) => kinds.includes(o.kind)).map((o) => `  ${o.ip} belongs to ${o.owner}`) : [];
  out.push('Loading all nodes.', ...belongs(['Node']));
  out.push(`Found ${r.owners.filter((o) => o.kind === 'Node').length} node tunnel IPs.`, '');
  out.push('Loading all workload endpoints.', ...belongs(['Workload', 'Other']));
  out.push(`Found ${r.owners.filter((o) => o.kind === 'Workload').length} workload IPs.`);
  out.push(`Workloads and nodes are using ${r.inUseCount} IPs.`, '', 'Loading all handles');
  out.push('Looking for top (up to 20) nodes by allocations...');
  out.push(...r.allocationsByNode.slice(0, 20).map(([n, c]) => `  ${n} has ${c} allocations`));
  const [top] = r.allocationsByNode;
  const median = r.allocationsByNode[Math.floor(r.allocationsByNode.length / 2)];
  if (top !== undefined && median !== undefined) {
    out.push(`Node with most allocations has ${top[1]}; median is ${median[1]}`);
  }
  out.push('');
  return out;
}

function problemLines(r: CheckResult, v: Verbosity): string[] {
  const out = ['Scanning for IPs that are allocated but not actually in use...'];
  if (v.problems) out.push(...r.leaked.map((l) => `  ${l.ip} leaked; attrs ${l.attrs}`));
  out.push(
    `Found ${new Set(r.leaked.map((l) => l.ip)).size} IPs that are allocated in IPAM but not actually in use.`,
  );
  out.push('Scanning for IPs that are in use by a workload or node but not allocated in IPAM...');
  if (v.problems) {
    out.push(...r.multipleOwners.map((ip) => `  ${ip} has multiple owners.`));
    for (const x of r.notInPools)
      out.push(...x.owners.map((o) => `  ${x.ip} in use by ${o} is not in any active IP pool.`));
    for (const x of r.notAllocated) {
      out.push(
        ...x.owners.map(
          (o) => `  ${x.ip} in use by ${o} and in active IPAM pool but has no IPAM allocation.`,
        ),
      );
    }
  }
  out.push(`Found ${r.notInPools.length} in-use IPs that are not in active IP pools.`);
  out.push(
    `Found ${r.notAllocated.length} in-use IPs that are in active IP pools but have no corresponding IPAM allocation.`,
    '',
  );
  out.push('Scanning for IPAM handles with no matching IPs...');
  if (v.all) out.push(...r.leakedHandles.map((h) => `  ${h} doesn't have any active IPs.`));
  out.push(
    `Found ${r.leakedHandles.length} handles with no matching IPs (and ${r.goodHandles} handles with matches).`,
  );
  out.push('Scanning for IPs with missing handle...');
  if (v.problems) out.push(...r.missingHandles.map((h) => `  ${h} is in use in a block but doesn't exist.`));
  out.push(`Found ${r.missingHandles.length} handles mentioned in blocks with no matching handle resource.`);
  return out;
}

function extraLines(r: CheckResult, v: Verbosity): string[] {
  const out = ['Scanning for IPs in cooldown...'];
  if (v.all) out.push(...r.cooling.map((c) => `  ${c.ip} released at ${c.releasedAt}.`));
  out.push(`Found ${r.cooling.length} IPs that were released and are not yet reusable.`);
  out.push('Scanning for invalid IPAM blocks...');
  const invalid = r.report.invalidBlocks ?? [];
  if (v.problems) for (const b of invalid) out.push(...b.problems.map((p) => `  ${b.cidr ?? b.name}: ${p}`));
  out.push(`Found ${invalid.length} invalid IPAM blocks.`);
  out.push('Scanning for block affinities in a transient or inconsistent state...');
  const stale = r.report.staleAffinities ?? [];
  if (v.problems)
    out.push(...stale.map((a) => `  ${a.name} (node ${a.node}, block ${a.cidr}): ${a.problem}`));
  out.push(`Found ${stale.length} block affinities in a transient or inconsistent state.`);
  out.push(`Check complete; found ${r.problems} problems.`);
  return out;
}

export const ipamCheckCommand: Command = {
  words: ['ipam', 'check'],
  summary: 'Check the integrity of the IPAM datastructures.',
  usage: USAGE,
  options: {
    ...CONFIG_OPTION,
    'show-all-ips': { type: 'boolean' },
    'show-problem-ips': { type: 'boolean' },
    output: { type: 'string', short: 'o' },
  },
  async run({ values, io }) {
    await using session = await openIpam(values, io, { create: false });
    const all = boolOpt(values, 'show-all-ips');
    const v: Verbosity = { all, problems: all || boolOpt(values, 'show-problem-ips') };
    const r = await checkIpam(session.backend, { version: calicoctlVersion() });
    io.out([...loadingLines(r, v), ...problemLines(r, v), ...extraLines(r, v)].join('\n') + '\n');
    const file = stringOpt(values, 'output');
    if (file !== undefined && file !== '') {
      try {
        await writeFile(file, JSON.stringify(r.report, null, 2), { mode: FILE_MODE });
      } catch (e) {
        throw new CliError(`failed to write report ${file}: ${errorMessage(e)}`);
      }
    }
    return 0;
  },
};
