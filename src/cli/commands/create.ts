/** `calicoctl create -f FILE|DIR|- [--skip-exists]`: create resources; existing ones are errors. */
import type { Command } from '../command.js';
import {
  CONFIG_HELP,
  CONFIG_OPTION,
  FILE_HELP,
  FILE_OPTIONS,
  GLOBAL_HELP,
  NAMESPACE_HELP,
  NAMESPACE_OPTION,
} from '../options.js';
import { runWrite } from './write-command.js';

const USAGE = `Usage:
  calicoctl create --filename=<FILENAME> [--recursive] [--skip-empty]
                   [--skip-exists] [--config=<CONFIG>] [--namespace=<NS>] [--context=<context>] [--allow-version-mismatch]

Examples:
  # Create a policy using the data in policy.yaml.
  calicoctl create -f ./policy.yaml

  # Create a policy based on the JSON passed into stdin.
  cat policy.json | calicoctl create -f -

Options:
  -h --help                    Show this screen.
${FILE_HELP}
     --skip-exists             Skip over and treat as successful any attempts to create an entry that
                               already exists.
${CONFIG_HELP}
${NAMESPACE_HELP}
${GLOBAL_HELP}

Description:
  The create command is used to create a set of resources by filename or stdin. JSON and YAML formats are
  accepted. Every document is validated first; if any is invalid, nothing is created.

  Attempting to create a resource that already exists is treated as a terminating error unless the
  --skip-exists flag is set. If this flag is set, resources that already exist are skipped and included
  in the success count.`;

export const createCommand: Command = {
  words: ['create'],
  summary: 'Create a resource by file, directory or stdin.',
  usage: USAGE,
  options: { ...FILE_OPTIONS, ...CONFIG_OPTION, ...NAMESPACE_OPTION, 'skip-exists': { type: 'boolean' } },
  run: ({ values, io }) => runWrite('create', values, io),
};
