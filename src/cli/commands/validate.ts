/**
 * `calicoctl validate -f FILE|DIR|-`: offline validation (no datastore is opened), as Calico v3.32 has it.
 * It checks what create and apply would refuse before writing: every field of every document, and the
 * reserved names of views (`knp.default.*` NetworkPolicies, `kns.`/`ksa.` Profiles). Every problem is
 * printed (file, document, field and value); exit 1 on any.
 */
import { keyOf } from '../../datastore/index.js';
import type { Command } from '../command.js';
import { boolOpt, stringsOpt } from '../command.js';
import { CliError, InvalidOptionError } from '../io.js';
import { describeLoaded, loadResources } from '../input.js';
import { DEFAULT_NAMESPACE } from '../namespaces.js';
import { problemLines, singleKind } from '../resource-input.js';
import { reservedNameProblem } from '../views.js';
import { WRITE_OPERATION } from '../writes.js';

const USAGE = `Usage:
  calicoctl validate --filename=<FILENAME> [--recursive] [--skip-empty] [--allow-version-mismatch]

Examples:
  # Validate the resources in policy.yaml (offline; nothing is written).
  calicoctl validate -f ./policy.yaml

  # Validate every .yaml, .yml and .json file under a directory.
  calicoctl validate -f ./policies/ -R

Options:
  -h --help                    Show this screen.
  -f --filename=<FILENAME>     Filename, directory or "-" (stdin) with resources to validate.
  -R --recursive               Process the directory used in -f, --filename recursively.
     --skip-empty              Do not error if any files or directory specified using -f or
                               --filename contain no data.
     --allow-version-mismatch  Accepted for compatibility (validate never opens a datastore).

Description:
  Validates every resource offline, exactly as calicoctl create/apply would before writing, and prints
  every problem found (file, document, field and value). Exits 1 if any resource is invalid.`;

export const validateCommand: Command = {
  words: ['validate'],
  summary: 'Validate a resource by file, directory or stdin without applying it.',
  usage: USAGE,
  options: {
    filename: { type: 'string', short: 'f', multiple: true },
    recursive: { type: 'boolean', short: 'R' },
    'skip-empty': { type: 'boolean' },
  },
  async run({ values, io }) {
    const files = stringsOpt(values, 'filename');
    if (files.length === 0) throw new InvalidOptionError('the --filename (-f) option is required');
    const loaded = await loadResources(files, boolOpt(values, 'recursive'), io);
    const problems = [...loaded.problems];
    for (const l of loaded.resources) {
      const key = keyOf(l.resource);
      const ns = key.namespace ?? DEFAULT_NAMESPACE;
      const named = key.kind === 'NetworkPolicy' ? { ...key, namespace: ns } : key;
      const reserved = reservedNameProblem(named, WRITE_OPERATION.validate);
      if (reserved !== undefined) problems.push(`${describeLoaded(l)}: ${reserved}`);
    }
    const empty = loaded.empty[0];
    if (problems.length === 0 && empty !== undefined && !boolOpt(values, 'skip-empty')) {
      throw new CliError(`No resources specified in file ${empty}`);
    }
    if (problems.length > 0) {
      for (const p of problemLines(problems)) io.err(`${p}\n`);
      io.err(`Failed to validate: ${problems.length} problem(s) found in ${files.join(', ')}\n`);
      return 1;
    }
    const n = loaded.resources.length;
    if (n === 0) {
      io.out('No resources specified\n');
      return 0;
    }
    const kind = singleKind(loaded.resources.map((l) => l.resource.kind));
    io.out(`Successfully validated ${n} ${kind === undefined ? '' : `'${kind}' `}resource(s)\n`);
    return 0;
  },
};
