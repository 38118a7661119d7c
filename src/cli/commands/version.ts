/**
 * `calicoctl version [--client]`: the client version and git commit, then the cluster's version and type
 * from ClusterInformation `default` (written by the first create/apply/replace). Like calicoctl, it does
 * not check for a version mismatch.
 */
import { buildInfo, EMULATED_CALICO_VERSION } from '../build-info.js';
import { CalicoClient } from '../client.js';
import type { Command, OptionValues } from '../command.js';
import { boolOpt } from '../command.js';
import { CliError } from '../io.js';
import type { CliIo } from '../io.js';
import { fieldAt } from '../objects.js';
import { CONFIG_HELP, CONFIG_OPTION } from '../options.js';

const USAGE = `Usage:
  calicoctl version [--config=<CONFIG>] [--client] [--allow-version-mismatch]

Options:
  -h --help                    Show this screen.
${CONFIG_HELP}
     --client                  Print the client version only (no datastore access).
     --allow-version-mismatch  Accepted for compatibility (version never checks).

Description:
  Display the version of calicoctl and of the cluster (ClusterInformation), and the Calico release
  whose calicoctl and resources calico-ts emulates.`;

function orUnknown(v: unknown): string {
  return typeof v === 'string' && v !== '' ? v : 'unknown';
}

async function runVersion(values: OptionValues, io: CliIo): Promise<number> {
  const info = buildInfo();
  // Go's fmt.Println("Client Version:   ", v) puts one more space between the operands.
  io.out(`Client Version:    ${info.version}\n`);
  io.out(`Git commit:        ${info.gitCommit}\n`);
  io.out(`Emulates Calico:   ${EMULATED_CALICO_VERSION}\n`);
  if (boolOpt(values, 'client')) return 0;
  const client = await CalicoClient.open(values, io, { create: false });
  try {
    const ci = await client.clusterInformation();
    if (ci === undefined) {
      const hint = (await client.emptyHint()) ?? `the ${client.datastore} has no ClusterInformation yet`;
      throw new CliError(
        'Unable to retrieve Cluster Version or Type: resource does not exist: ClusterInformation(default)\n' +
          `Note: ${hint}; calico-node's start-up or the first create, apply or replace initialises it`,
      );
    }
    io.out(`Cluster Version:   ${orUnknown(fieldAt(ci, 'spec.calicoVersion'))}\n`);
    io.out(`Cluster Type:      ${orUnknown(fieldAt(ci, 'spec.clusterType'))}\n`);
    return 0;
  } finally {
    await client.close();
  }
}

export const versionCommand: Command = {
  words: ['version'],
  summary: 'Display the version of this binary.',
  usage: USAGE,
  options: { ...CONFIG_OPTION, client: { type: 'boolean' } },
  run: ({ values, io }) => runVersion(values, io),
};
