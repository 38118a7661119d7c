/** `calicoctl apply -f FILE|DIR|-`: create each resource, or replace it if it exists. */
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
  calicoctl apply --filename=<FILENAME> [--recursive] [--skip-empty]
                  [--config=<CONFIG>] [--namespace=<NS>] [--context=<context>] [--allow-version-mismatch]

Examples:
  # Apply a policy using the data in policy.yaml.
  calicoctl apply -f ./policy.yaml

  # Apply a policy based on the JSON passed into stdin.
  cat policy.json | calicoctl apply -f -

Options:
  -h --help                    Show this screen.
${FILE_HELP}
${CONFIG_HELP}
${NAMESPACE_HELP}
${GLOBAL_HELP}

Description:
  The apply command is used to create or replace a set of resources by filename or stdin. JSON and YAML
  formats are accepted.

  Every document is validated first; if any is invalid (or names a tier that does not exist), nothing is
  applied and every problem is listed. When applying a resource:
  -  if the resource does not already exist (as determined by its primary identifiers) then it is created
  -  if the resource already exists then its specification, labels and annotations are replaced in their
     entirety by the new ones (uid and creationTimestamp are kept); an unchanged resource is left as is.
  If the document carries a metadata.resourceVersion, it must be the current one.`;

export const applyCommand: Command = {
  words: ['apply'],
  summary: 'Apply a resource by file, directory or stdin.',
  usage: USAGE,
  options: { ...FILE_OPTIONS, ...CONFIG_OPTION, ...NAMESPACE_OPTION },
  run: ({ values, io }) => runWrite('apply', values, io),
};
