/**
 * The CNI execution protocol's environment (SPEC "Parameters"): `CNI_COMMAND`, `CNI_CONTAINERID`,
 * `CNI_NETNS`, `CNI_IFNAME`, `CNI_ARGS`, `CNI_PATH`, checked per command as libcni's skel does (missing
 * variables, container ID and interface name syntax: code 4), plus the Kubernetes pod identity Calico reads
 * from `CNI_ARGS` (`K8S_POD_NAMESPACE`, `K8S_POD_NAME`, `K8S_POD_INFRA_CONTAINER_ID`, `IP`). Pure.
 */
import { err, ok, type Result } from '../lib/result.js';
import { CniCode, CniError } from './spec.js';

export const COMMANDS = ['ADD', 'DEL', 'CHECK', 'VERSION', 'GC', 'STATUS'] as const;
export type CniCommand = (typeof COMMANDS)[number];

export interface Invocation {
  readonly command: CniCommand;
  readonly containerId: string;
  readonly netns: string;
  readonly ifname: string;
  /** `CNI_ARGS` as given (handed on to the IPAM plugin). */
  readonly argsText: string;
  readonly args: Readonly<Record<string, string>>;
  readonly path: readonly string[];
}

/** The workload the invocation is for: a Kubernetes pod when CNI_ARGS names one, else the container. */
export type Workload =
  { readonly kind: 'k8s'; readonly namespace: string; readonly pod: string } | { readonly kind: 'cni' };

const REQUIRED: Readonly<Record<CniCommand, readonly string[]>> = {
  ADD: ['CNI_CONTAINERID', 'CNI_NETNS', 'CNI_IFNAME', 'CNI_PATH'],
  CHECK: ['CNI_CONTAINERID', 'CNI_NETNS', 'CNI_IFNAME', 'CNI_PATH'],
  DEL: ['CNI_CONTAINERID', 'CNI_IFNAME', 'CNI_PATH'],
  GC: ['CNI_PATH'],
  STATUS: ['CNI_PATH'],
  VERSION: [],
};

const CONTAINER_ID = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;

/** `FOO=BAR;ABC=123` -> record (pairs without `=` are ignored, as `IgnoreUnknown` lets them be). */
export function parseCniArgs(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const pair of text.split(';')) {
    const i = pair.indexOf('=');
    if (i <= 0) continue;
    out[pair.slice(0, i).trim()] = pair.slice(i + 1).trim();
  }
  return out;
}

/** Linux interface name rules as the spec states them. */
export function interfaceNameProblem(name: string): string | undefined {
  if (name === '') return 'interface name is empty';
  if (name.length > 15) return 'interface name is too long';
  if (name === '.' || name === '..') return 'interface name is . or ..';
  if (/[/:\s]/.test(name)) return 'interface name contains / or : or whitespace characters';
  return undefined;
}

function isCommand(v: string): v is CniCommand {
  return (COMMANDS as readonly string[]).includes(v);
}

export function parseInvocation(
  env: Readonly<Record<string, string | undefined>>,
): Result<Invocation, CniError> {
  const commandText = env['CNI_COMMAND'] ?? '';
  if (commandText === '') {
    return err(new CniError(CniCode.invalidEnvironment, 'required env variables [CNI_COMMAND] missing'));
  }
  if (!isCommand(commandText)) {
    return err(new CniError(CniCode.invalidEnvironment, `unknown CNI_COMMAND: ${commandText}`));
  }
  const missing = REQUIRED[commandText].filter((k) => (env[k] ?? '') === '');
  if (missing.length > 0) {
    return err(
      new CniError(CniCode.invalidEnvironment, `required env variables [${missing.join(' ')}] missing`),
    );
  }
  const containerId = env['CNI_CONTAINERID'] ?? '';
  if (containerId !== '' && !CONTAINER_ID.test(containerId)) {
    return err(new CniError(CniCode.invalidEnvironment, 'invalid characters in containerID', containerId));
  }
  const ifname = env['CNI_IFNAME'] ?? '';
  const ifProblem = ifname === '' ? undefined : interfaceNameProblem(ifname);
  if (ifProblem !== undefined) return err(new CniError(CniCode.invalidEnvironment, ifProblem, ifname));
  const argsText = env['CNI_ARGS'] ?? '';
  return ok({
    command: commandText,
    containerId,
    netns: env['CNI_NETNS'] ?? '',
    ifname,
    argsText,
    args: parseCniArgs(argsText),
    path: (env['CNI_PATH'] ?? '').split(':').filter((p) => p !== ''),
  });
}

export function workloadOf(inv: Invocation): Workload {
  const namespace = inv.args['K8S_POD_NAMESPACE'] ?? '';
  const pod = inv.args['K8S_POD_NAME'] ?? '';
  return namespace !== '' && pod !== '' ? { kind: 'k8s', namespace, pod } : { kind: 'cni' };
}

/**
 * The sandbox's ID as recorded on the WorkloadEndpoint: `K8S_POD_INFRA_CONTAINER_ID` when the runtime
 * passes it (Calico's rule), else `CNI_CONTAINERID`. The IPAM handle always uses `CNI_CONTAINERID`.
 */
export function sandboxIdOf(inv: Invocation): string {
  const infra = inv.args['K8S_POD_INFRA_CONTAINER_ID'] ?? '';
  return infra === '' ? inv.containerId : infra;
}
