/**
 * `calicoctl label KIND NAME key=value [--overwrite]` / `label KIND NAME key --remove`: sets, updates or
 * removes one label, with calicoctl's messages. The labelled object is validated and written as a
 * compare-and-swap on the version read.
 */
import type { Resource } from '../../datastore/index.js';
import { errorMessage, NotFoundError } from '../../lib/errors.js';
import { CalicoClient } from '../client.js';
import type { Command, OptionValues } from '../command.js';
import { boolOpt } from '../command.js';
import { CliError, InvalidOptionError } from '../io.js';
import type { CliIo } from '../io.js';
import { CONFIG_HELP, CONFIG_OPTION, GLOBAL_HELP, NAMESPACE_HELP, NAMESPACE_OPTION } from '../options.js';
import { namedTarget, storeChanged } from '../single.js';

const USAGE = `Usage:
  calicoctl label (<KIND> <NAME>
                  ( <key>=<value> [--overwrite] |
                    <key> --remove )
                  [--config=<CONFIG>] [--namespace=<NS>] [--context=<context>]) [--allow-version-mismatch]

Examples:
  # Label a workload endpoint
  calicoctl label workloadendpoints nginx --namespace=default app=web

  # Label a node and overwrite the original value of key 'cluster'
  calicoctl label nodes node1 cluster=frontend --overwrite

  # Remove label with key 'cluster' of the node
  calicoctl label nodes node1 cluster --remove

Options:
  -h --help                    Show this screen.
${CONFIG_HELP}
${NAMESPACE_HELP}
     --overwrite               If true, overwrite the value when the key is already present in labels.
                               Otherwise reports error when the labeled resource already have the key
                               in its labels. Cannot be used with --remove.
     --remove                  If true, remove the specified key in labels of the resource. Reports
                               error when specified key does not exist. Cannot be used with --overwrite.
${GLOBAL_HELP}

Description:
  The label command is used to add or update a label on a resource. The resource type is
  case-insensitive and may be pluralized. Attempting to label resources that do not exist, or to remove
  a label that the resource does not have, is an error.`;

type Change =
  | { readonly type: 'set'; readonly key: string; readonly value: string }
  | { readonly type: 'remove'; readonly key: string };

function parseChange(values: OptionValues, arg: string): Change {
  const remove = boolOpt(values, 'remove');
  if (remove && boolOpt(values, 'overwrite')) {
    throw new InvalidOptionError('--overwrite and --remove cannot be used together');
  }
  if (remove) return { type: 'remove', key: arg };
  const kv = arg.split('=');
  if (kv.length !== 2 || kv[0] === undefined || kv[1] === undefined)
    throw new CliError(`invalid label ${arg}`);
  return { type: 'set', key: kv[0], value: kv[1] };
}

/** The new labels, and whether an existing key was overwritten; throws calicoctl's refusals. */
function relabel(
  current: Readonly<Record<string, string>>,
  change: Change,
  what: string,
  overwrite: boolean,
): { labels: Record<string, string>; overwritten: boolean } {
  const old = current[change.key];
  if (change.type === 'remove') {
    if (old === undefined)
      throw new CliError(`cannot remove label of ${what}, key ${change.key} does not exist`);
    const labels = Object.fromEntries(Object.entries(current).filter(([k]) => k !== change.key));
    return { labels, overwritten: false };
  }
  if (old !== undefined && !overwrite && old !== change.value) {
    throw new CliError(
      `failed to update label of ${what}, key ${change.key} is already present. please use '--overwrite' to set a new value.`,
    );
  }
  return { labels: { ...current, [change.key]: change.value }, overwritten: old !== undefined };
}

async function runLabel(values: OptionValues, positionals: string[], io: CliIo): Promise<number> {
  const [kindArg, name, arg, ...rest] = positionals;
  if (kindArg === undefined || name === undefined || arg === undefined || rest.length > 0) {
    throw new InvalidOptionError('label needs KIND NAME and one label');
  }
  const change = parseChange(values, arg);
  const target = namedTarget(values, kindArg, name);
  const what = `${kindArg} ${name}`;
  const client = await CalicoClient.open(values, io, { create: false });
  try {
    await client.checkVersion(values);
    let stored: Resource;
    try {
      stored = await client.backend.get(target.key);
    } catch (e) {
      if (e instanceof NotFoundError) throw new CliError(`${what} not found`);
      throw new CliError(`failed to get ${what}, error ${errorMessage(e)}`);
    }
    const { labels, overwritten } = relabel(
      stored.metadata.labels ?? {},
      change,
      what,
      boolOpt(values, 'overwrite'),
    );
    try {
      await storeChanged(client, stored, { ...stored, metadata: { ...stored.metadata, labels } });
    } catch (e) {
      throw new CliError(`failed to update ${what}, label not changed: ${errorMessage(e)}`);
    }
    if (change.type === 'remove') io.out(`Successfully removed label ${change.key} from ${what}\n`);
    else if (overwritten) io.out(`Successfully updated label ${change.key} on ${what}\n`);
    else io.out(`Successfully set label ${change.key} on ${what}\n`);
    return 0;
  } finally {
    await client.close();
  }
}

export const labelCommand: Command = {
  words: ['label'],
  summary: 'Add or update labels of resources.',
  usage: USAGE,
  options: {
    ...CONFIG_OPTION,
    ...NAMESPACE_OPTION,
    overwrite: { type: 'boolean' },
    remove: { type: 'boolean' },
  },
  run: ({ values, positionals, io }) => runLabel(values, positionals, io),
};
