/** `calicoctl replace -f FILE|DIR|-`: replace existing resources; missing ones are errors. */
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
  calicoctl replace --filename=<FILENAME> [--recursive] [--skip-empty]
                    [--config=<CONFIG>] [--namespace=<NS>] [--context=<context>] [--allow-version-mismatch]

Examples:
  # Replace a policy using the data in policy.yaml.
  calicoctl replace -f ./policy.yaml

  # Replace a policy based on the JSON passed into stdin.
  cat policy.json | calicoctl replace -f -

Options:
  -h --help                    Show this screen.
${FILE_HELP}
${CONFIG_HELP}
${NAMESPACE_HELP}
${GLOBAL_HELP}

Description:
  The replace command is used to replace a set of resources by filename or stdin. JSON and YAML formats
  are accepted. Every document is validated first; if any is invalid, nothing is replaced.

  Attempting to replace a resource that does not exist is treated as an error. When replacing a
  resource, the complete resource spec must be provided; it is not sufficient to supply only the fields
  that are being updated. If the document carries a metadata.resourceVersion, it must be the current one.`;

export const replaceCommand: Command = {
  words: ['replace'],
  summary: 'Replace a resource by file, directory or stdin.',
  usage: USAGE,
  options: { ...FILE_OPTIONS, ...CONFIG_OPTION, ...NAMESPACE_OPTION },
  run: ({ values, io }) => runWrite('replace', values, io),
};
