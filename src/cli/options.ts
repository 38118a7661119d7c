/**
 * Option groups shared by the datastore commands (calicoctl's `-f/-R/--skip-empty`, `-c`, `-n`, `-A`), and
 * the usage-text fragments that describe them, so every command spells them the same way.
 */
import { DEFAULT_CONFIG_FILE } from '../datastore/index.js';
import type { OptionSpec, OptionValues } from './command.js';
import { boolOpt, stringOpt } from './command.js';

export const FILE_OPTIONS: OptionSpec = {
  filename: { type: 'string', short: 'f', multiple: true },
  recursive: { type: 'boolean', short: 'R' },
  'skip-empty': { type: 'boolean' },
};

export const CONFIG_OPTION: OptionSpec = { config: { type: 'string', short: 'c' } };
export const NAMESPACE_OPTION: OptionSpec = { namespace: { type: 'string', short: 'n' } };
export const ALL_NAMESPACES_OPTION: OptionSpec = { 'all-namespaces': { type: 'boolean', short: 'A' } };

export const FILE_HELP = `  -f --filename=<FILENAME>     Filename to use. If set to "-" loads from stdin. If filename is a
                               directory, every .json, .yaml and .yml file within it is read.
  -R --recursive               Process the filename specified in -f or --filename recursively.
     --skip-empty              Do not error if any files or directory specified using -f or
                               --filename contain no data.`;

export const CONFIG_HELP = `  -c --config=<CONFIG>         Path to the file containing connection configuration in YAML or
                               JSON format. [default: ${DEFAULT_CONFIG_FILE}]`;

export const NAMESPACE_HELP = `  -n --namespace=<NS>          Namespace of the resource. Only applicable to namespaced kinds
                               (NetworkPolicy, StagedNetworkPolicy, StagedKubernetesNetworkPolicy,
                               NetworkSet, WorkloadEndpoint, and Kubernetes NetworkPolicy, Pod and
                               ServiceAccount). Uses the default namespace if not specified.`;

export const GLOBAL_HELP = `     --context=<context>       The name of the kubeconfig context to use (accepted, unused).
     --allow-version-mismatch  Allow client and cluster versions mismatch.`;

/** How the user asked to scope namespaced kinds. */
export interface NamespaceFlags {
  readonly namespace: string | undefined;
  readonly allNamespaces: boolean;
}

export function namespaceFlags(values: OptionValues): NamespaceFlags {
  const ns = stringOpt(values, 'namespace');
  return { namespace: ns === '' ? undefined : ns, allNamespaces: boolOpt(values, 'all-namespaces') };
}
