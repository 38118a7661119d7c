/**
 * `calicoctl delete KIND NAME... | -f FILE`: deletes by name or by the identifiers in a file. Built-in
 * tiers, a tier that still holds policies, the default-allow profile and ClusterInformation cannot be
 * deleted; nor can a `knp.default.*` NetworkPolicy, which is only the Calico view of a Kubernetes
 * NetworkPolicy (Calico: "kubernetes network policies must be managed through the kubernetes API"; delete
 * the networking.k8s.io/v1 NetworkPolicy instead). Missing resources are errors unless
 * `--skip-not-exists`. A resourceVersion in the file is a precondition, as in calicoctl. A Node is deleted with
 * everything of the node (node-delete.ts), as Calico's client does.
 */
import { kindArgument } from '../resource-types.js';
import { DEFAULT_ALLOW_PROFILE_NAME, isBuiltInTier } from '../../api/tiers.js';
import type { ResourceKey } from '../../datastore/index.js';
import { ConflictError, NotFoundError, errorMessage } from '../../lib/errors.js';
import { CalicoClient, CLUSTER_INFO_KIND } from '../client.js';
import type { Command, OptionValues } from '../command.js';
import { boolOpt } from '../command.js';
import { CliError, InvalidOptionError } from '../io.js';
import type { CliIo } from '../io.js';
import { KNP_KIND, KNP_PREFIX, KNP_REASON } from '../knp.js';
import { resolveNamespace } from '../namespaces.js';
import { isDerivedProfileName, reservedNameProblem } from '../views.js';
import {
  CONFIG_HELP,
  CONFIG_OPTION,
  FILE_HELP,
  FILE_OPTIONS,
  GLOBAL_HELP,
  NAMESPACE_HELP,
  NAMESPACE_OPTION,
  namespaceFlags,
} from '../options.js';
import { reportDelete } from '../report.js';
import { readInput, reportProblems, singleKind } from '../resource-input.js';
import { mapLimit } from '../async-pool.js';
import { deleteNode } from '../node-delete.js';

const USAGE = `Usage:
  calicoctl delete ( (<KIND> [<NAME>...]) |
                   --filename=<FILE> [--recursive] [--skip-empty] )
                   [--skip-not-exists] [--config=<CONFIG>] [--namespace=<NS>] [--context=<context>]
                   [--allow-version-mismatch]

Examples:
  # Delete a policy using the type and name specified in policy.yaml.
  calicoctl delete -f ./policy.yaml

  # Delete a policy based on the type and name in the YAML passed into stdin.
  cat policy.yaml | calicoctl delete -f -

  # Delete policies with names "foo" and "bar"
  calicoctl delete policy foo bar

Options:
  -h --help                    Show this screen.
  -s --skip-not-exists         Skip over and treat as successful, resources that don't exist.
${FILE_HELP}
${CONFIG_HELP}
${NAMESPACE_HELP}
${GLOBAL_HELP}

Description:
  The delete command is used to delete a set of resources by filename or stdin, or by type and
  identifiers. The resource type is case-insensitive and may be pluralized.

  Attempting to delete a resource that does not exist is treated as an error unless the
  --skip-not-exists flag is set, in which case such resources are skipped and counted as deleted.

  Deleting a Node also releases its IP addresses (its workloads' and its tunnel addresses) and block
  affinities, and deletes its WorkloadEndpoints, its node-specific BGPPeers, its FelixConfiguration and
  BGPConfiguration node.<name> and its HostEndpoints, before the Node itself.

  The built-in tiers (default, kube-admin, kube-baseline), a tier that still holds policies, the
  projectcalico-default-allow profile and ClusterInformation cannot be deleted. knp.default.<name>
  NetworkPolicies are the Calico view of Kubernetes NetworkPolicies: delete the networking.k8s.io/v1
  NetworkPolicy instead (calicoctl delete kubernetesnetworkpolicy <name> -n <namespace>, or -f).`;

interface DeleteItem {
  readonly key: ResourceKey | string;
  readonly kind: string;
  readonly resourceVersion?: string | undefined;
}

function fromArgs(values: OptionValues, positionals: string[]): DeleteItem[] {
  const [kindArg, ...names] = positionals;
  if (kindArg === undefined) throw new InvalidOptionError('delete needs a KIND or -f');
  const info = kindArgument(kindArg);
  if (names.some((n) => n === '')) throw new CliError('resource name may not be empty');
  const ns = resolveNamespace(info.kind, info.namespaced, undefined, namespaceFlags(values));
  const kind = info.kind === KNP_KIND ? 'NetworkPolicy' : info.kind;
  return names.map((name) => {
    if (!ns.ok) return { key: ns.error, kind };
    const key =
      ns.value === undefined ? { kind: info.kind, name } : { kind: info.kind, namespace: ns.value, name };
    return { key, kind };
  });
}

/** Why a resource may not be deleted, in Calico's ErrorOperationNotSupported form. */
async function refusal(client: CalicoClient, key: ResourceKey): Promise<string | undefined> {
  if (key.kind === CLUSTER_INFO_KIND) return 'operation delete is not supported on ClusterInformation';
  if (key.kind === 'Tier') {
    if (isBuiltInTier(key.name))
      return `operation Delete is not supported on ${key.name}: Cannot delete ${key.name} tier`;
    if (await client.tierInUse(key.name)) {
      return `operation delete is not supported on ${key.name}: Cannot delete a non-empty tier`;
    }
  }
  if (key.kind === 'Profile' && key.name === DEFAULT_ALLOW_PROFILE_NAME) {
    return `operation delete is not supported on ${key.name}: the default-allow profile is built in and cannot be deleted`;
  }
  if (key.kind === 'Profile' && isDerivedProfileName(key.name)) return reservedNameProblem(key, 'delete');
  if (key.kind === 'NetworkPolicy' && key.name.startsWith(KNP_PREFIX)) {
    const k8sName = key.name.slice(KNP_PREFIX.length);
    const ns = key.namespace ?? '';
    return (
      `operation delete is not supported on NetworkPolicy(${ns}/${key.name}): ${KNP_REASON}; delete the ` +
      `networking.k8s.io/v1 NetworkPolicy instead: calicoctl delete kubernetesnetworkpolicy ${k8sName} -n ${ns}`
    );
  }
  return undefined;
}

async function deleteOne(
  client: CalicoClient,
  item: DeleteItem,
  skipNotExists: boolean,
): Promise<string | undefined> {
  if (typeof item.key === 'string') return item.key;
  const refused = await refusal(client, item.key);
  if (refused !== undefined) return refused;
  try {
    const rv = item.resourceVersion;
    if (item.key.kind === 'Node') await deleteNode(client.backend, item.key.name, { resourceVersion: rv });
    else await client.backend.delete(item.key, rv === undefined ? {} : { resourceVersion: rv });
    return undefined;
  } catch (e) {
    if (e instanceof NotFoundError) return skipNotExists ? undefined : e.message;
    if (e instanceof ConflictError) {
      return `${e.message}: resource version '${item.resourceVersion ?? ''}' is out of date; get the resource again`;
    }
    return errorMessage(e);
  }
}

/** Deletes in input order, concurrently between tiers: a Tier waits for everything before it. */
async function deleteAll(
  client: CalicoClient,
  items: readonly DeleteItem[],
  skip: boolean,
): Promise<string[]> {
  const errors: (string | undefined)[] = [];
  let batch: DeleteItem[] = [];
  const flush = async (): Promise<void> => {
    errors.push(...(await mapLimit(batch, 32, (i) => deleteOne(client, i, skip))));
    batch = [];
  };
  for (const item of items) {
    const barrier = typeof item.key !== 'string' && item.key.kind === 'Tier';
    if (barrier) await flush();
    batch.push(item);
    if (barrier) await flush();
  }
  await flush();
  return errors.filter((e): e is string => e !== undefined);
}

async function runDelete(values: OptionValues, positionals: string[], io: CliIo): Promise<number> {
  let items: DeleteItem[];
  if (values['filename'] !== undefined) {
    if (positionals.length > 0) throw new InvalidOptionError('delete takes either KIND or -f');
    const input = await readInput(values, io);
    if (input.problems.length > 0) return reportProblems(io, input.problems, input.files, 'deleted');
    items = input.items.map((i) => ({
      key: i.key,
      kind: i.documentKind,
      resourceVersion: i.resourceVersion,
    }));
  } else {
    items = fromArgs(values, positionals);
  }
  if (items.length === 0) return reportDelete(io, 0, [], undefined);
  const client = await CalicoClient.open(values, io, { create: false });
  try {
    await client.checkVersion(values);
    const errors = await deleteAll(client, items, boolOpt(values, 'skip-not-exists'));
    return reportDelete(io, items.length, errors, singleKind(items.map((i) => i.kind)));
  } finally {
    await client.close();
  }
}

export const deleteCommand: Command = {
  words: ['delete'],
  summary: 'Delete a resource identified by file, directory, stdin or resource type and name.',
  usage: USAGE,
  options: {
    ...FILE_OPTIONS,
    ...CONFIG_OPTION,
    ...NAMESPACE_OPTION,
    'skip-not-exists': { type: 'boolean', short: 's' },
  },
  run: ({ values, positionals, io }) => runDelete(values, positionals, io),
};
