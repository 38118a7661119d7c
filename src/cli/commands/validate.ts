/** `calicoctl validate -f FILE|DIR|-`: offline validation; prints every problem; exit 1 on any. */
import type { Command } from '../command.js';
import { boolOpt, stringsOpt } from '../command.js';
import { CliError } from '../io.js';
import { loadResources } from '../input.js';
import { problemLines } from '../resource-input.js';

const USAGE = `Usage:
  calicoctl validate --filename=<FILENAME> [--recursive]

Examples:
  # Validate the resources in policy.yaml (offline; nothing is written).
  calicoctl validate -f ./policy.yaml

  # Validate every .yaml, .yml and .json file under a directory.
  calicoctl validate -f ./policies/ -R

Options:
  -h --help                 Show this screen.
  -f --filename=<FILENAME>  Filename, directory or "-" (stdin) with resources to validate.
  -R --recursive            Process the directory used in -f, --filename recursively.

Description:
  Validates every resource offline, exactly as calicoctl create/apply would before writing, and prints
  every problem found (file, document, field and value). Exits 1 if any resource is invalid.`;

export const validateCommand: Command = {
  words: ['validate'],
  summary: 'Validate resources from file, directory or stdin (offline).',
  usage: USAGE,
  options: {
    filename: { type: 'string', short: 'f', multiple: true },
    recursive: { type: 'boolean', short: 'R' },
  },
  async run({ values, io }) {
    const files = stringsOpt(values, 'filename');
    if (files.length === 0) throw new CliError(`the --filename (-f) option is required\n\n${USAGE}`, 2);
    const { resources, problems } = await loadResources(files, boolOpt(values, 'recursive'), io);
    if (problems.length > 0) {
      for (const p of problemLines(problems)) io.err(`${p}\n`);
      io.err(`Failed to validate: ${problems.length} problem(s) found in ${files.join(', ')}\n`);
      return 1;
    }
    io.out(`Successfully validated ${resources.length} resource(s)\n`);
    return 0;
  },
};
