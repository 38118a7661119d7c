/**
 * `calicoctl patch KIND NAME -p PATCH [-t strategic|merge|json]`: changes one resource in place. The
 * patched object is validated like an applied one and written as a compare-and-swap on the version read.
 * "strategic" (the default) is applied as a JSON merge patch: Calico's kinds define no list-merge keys.
 */
import { parse as parseYaml } from 'yaml';
import { CalicoClient } from '../client.js';
import type { Command, OptionValues } from '../command.js';
import { stringOpt } from '../command.js';
import { CliError, InvalidOptionError } from '../io.js';
import type { CliIo } from '../io.js';
import { CONFIG_HELP, CONFIG_OPTION, GLOBAL_HELP, NAMESPACE_HELP, NAMESPACE_OPTION } from '../options.js';
import { applyPatch, type PatchType } from '../patching.js';
import { namedTarget, storeChanged } from '../single.js';
import type { Resource } from '../../datastore/index.js';
import { errorMessage } from '../../lib/errors.js';

const USAGE = `Usage:
  calicoctl patch <KIND> <NAME> --patch=<PATCH> [--type=<TYPE>] [--config=<CONFIG>] [--namespace=<NS>]
                  [--context=<context>] [--allow-version-mismatch]

Examples:
  # Partially update a global network policy using a strategic merge patch.
  calicoctl patch gnp allow-dns --patch '{"spec":{"order": 100}}'

  # Remove the first ingress rule with a JSON patch.
  calicoctl patch gnp allow-dns -t json -p '[{"op": "remove", "path": "/spec/ingress/0"}]'

Options:
  -h --help                    Show this screen.
  -p --patch=<PATCH>           Spec to use to patch the resource (JSON; YAML is accepted too).
  -t --type=<TYPE>             Format of patch type:
                                  strategic   Strategic merge patch (default; same as merge here)
                                  json        JSON Patch, RFC 6902
                                  merge       JSON Merge Patch, RFC 7386
${CONFIG_HELP}
${NAMESPACE_HELP}
${GLOBAL_HELP}

Description:
  The patch command is used to patch a specific resource by type and identifiers in place. The result is
  validated as apply would validate it. The resource type is case-insensitive and may be pluralized.`;

function patchType(values: OptionValues): PatchType {
  const t = stringOpt(values, 'type') ?? 'strategic';
  if (t === 'strategic' || t === 'merge') return 'merge';
  if (t === 'json') return 'json';
  throw new CliError(`Invalid patch type '${t}': use strategic, merge or json`, 2);
}

async function runPatch(values: OptionValues, positionals: string[], io: CliIo): Promise<number> {
  const [kindArg, name, ...rest] = positionals;
  const text = stringOpt(values, 'patch');
  if (kindArg === undefined || name === undefined || rest.length > 0 || text === undefined) {
    throw new InvalidOptionError('patch needs <KIND> <NAME> and --patch');
  }
  const type = patchType(values);
  const target = namedTarget(values, kindArg, name);
  let patch: unknown;
  try {
    patch = parseYaml(text) as unknown;
  } catch (e) {
    throw new CliError(`Hit error: invalid patch: ${errorMessage(e)}`);
  }
  const client = await CalicoClient.open(values, io, { create: false });
  try {
    await client.checkVersion(values);
    let stored: Resource;
    try {
      stored = await client.backend.get(target.key);
    } catch (e) {
      throw new CliError(`Hit error: ${errorMessage(e)}`);
    }
    const patched = applyPatch(stored, patch, type);
    if (!patched.ok) throw new CliError(`Hit error: performing ${type} patch: ${patched.error}`);
    try {
      await storeChanged(client, stored, patched.value as Resource);
    } catch (e) {
      throw new CliError(`Hit error: updating existing resource: ${errorMessage(e)}`);
    }
    io.out(`Successfully patched 1 '${target.documentKind}' resource\n`);
    return 0;
  } finally {
    await client.close();
  }
}

export const patchCommand: Command = {
  words: ['patch'],
  summary: 'Patch a pre-existing resource in place.',
  usage: USAGE,
  options: {
    ...CONFIG_OPTION,
    ...NAMESPACE_OPTION,
    patch: { type: 'string', short: 'p' },
    type: { type: 'string', short: 't' },
  },
  run: ({ values, positionals, io }) => runPatch(values, positionals, io),
};
