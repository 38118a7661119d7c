/**
 * The CNI execution protocol's environment (SPEC "Parameters"): `CNI_COMMAND`, `CNI_CONTAINERID`,
 * `CNI_NETNS`, `CNI_IFNAME`, `CNI_ARGS`, `CNI_PATH`, checked per command as libcni's skel does (missing
 * variables, container ID and interface name syntax: code 4), and `CNI_ARGS` read as libcni's `LoadArgs`
 * reads it into Calico's argument structs (`K8S_POD_NAMESPACE`, `K8S_POD_NAME`, `K8S_POD_INFRA_CONTAINER_ID`,
 * `IP`, `IgnoreUnknown`): every `;`-separated pair must be exactly `KEY=VALUE` (else `ARGS: invalid pair`),
 * values must parse, and a key the plugin does not know is refused unless `IgnoreUnknown` is true (as
 * kubelet's runtimes always pass it). Those errors are plain errors in Calico, so code 999. Pure.
 */
import { parseIp } from '../lib/net/ip.js';
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
  /** The plugin's known keys of `CNI_ARGS` (`withArgs`). */
  readonly args: Readonly<Record<string, string>>;
  readonly path: readonly string[];
}

/** The environment checked, `CNI_ARGS` not read yet (the plugin reads it after its configuration). */
export type InvocationEnv = Omit<Invocation, 'args'>;

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

/** How a `CNI_ARGS` value is read (the Go field types of Calico's argument structs). */
export type ArgKind = 'bool' | 'string' | 'ips';
/** The keys one argument struct has; `IgnoreUnknown` comes from libcni's `CommonArgs`. */
export type ArgSchema = Readonly<Record<string, ArgKind>>;

/** Calico's `K8sArgs`, read by both plugins (`IP` may list addresses, comma-separated: see ipam-exec.ts). */
export const K8S_ARGS: ArgSchema = {
  IgnoreUnknown: 'bool',
  IP: 'ips',
  K8S_POD_NAME: 'string',
  K8S_POD_NAMESPACE: 'string',
  K8S_POD_INFRA_CONTAINER_ID: 'string',
};
/** calico-ipam's own `ipamArgs`, read after K8S_ARGS by ADD: its callers' pod keys need `IgnoreUnknown`. */
export const IPAM_ARGS: ArgSchema = { IgnoreUnknown: 'bool', IP: 'ips' };

/** The argument structs a plugin reads `CNI_ARGS` into, in order, per command about one container. */
export type ArgSchemas = Readonly<Record<'ADD' | 'DEL' | 'CHECK', readonly ArgSchema[]>>;
export const CALICO_ARG_SCHEMAS: ArgSchemas = { ADD: [K8S_ARGS], DEL: [K8S_ARGS], CHECK: [K8S_ARGS] };
export const CALICO_IPAM_ARG_SCHEMAS: ArgSchemas = {
  ADD: [K8S_ARGS, IPAM_ARGS],
  DEL: [K8S_ARGS],
  CHECK: [K8S_ARGS],
};

const GO_ESCAPES: Readonly<Record<string, string>> = {
  '\x07': '\\a',
  '\b': '\\b',
  '\f': '\\f',
  '\n': '\\n',
  '\r': '\\r',
  '\t': '\\t',
  '\v': '\\v',
  '"': '\\"',
  '\\': '\\\\',
};

/** Go's `%q` of a string (ASCII escapes as strconv.Quote writes them; other characters kept). */
export function goQuote(s: string): string {
  let out = '"';
  for (const ch of s) {
    const code = ch.codePointAt(0) ?? 0;
    out += GO_ESCAPES[ch] ?? (code < 0x20 || code === 0x7f ? `\\x${code.toString(16).padStart(2, '0')}` : ch);
  }
  return `${out}"`;
}

function argsError(message: string): CniError {
  return new CniError(CniCode.internal, message);
}

function valueProblem(kind: ArgKind, value: string): string | undefined {
  switch (kind) {
    case 'string':
      return undefined;
    case 'bool':
      return /^(1|0|true|false)$/i.test(value)
        ? undefined
        : `boolean unmarshal error: invalid input ${value.toLowerCase()}`;
    case 'ips': {
      if (value === '') return undefined;
      const bad = value.split(',').find((ip) => parseIp(ip) === undefined);
      return bad === undefined ? undefined : `invalid IP address: ${bad}`;
    }
  }
}

/**
 * `CNI_ARGS` read into one argument struct, as libcni's `LoadArgs`: the first malformed pair or bad value
 * fails; then unknown keys fail unless `IgnoreUnknown`. Only the schema's keys are returned.
 */
export function loadCniArgs(text: string, schema: ArgSchema): Result<Record<string, string>, CniError> {
  const out: Record<string, string> = {};
  if (text === '') return ok(out);
  const unknown: string[] = [];
  for (const pair of text.split(';')) {
    const kv = pair.split('=');
    const [key, value] = kv;
    if (kv.length !== 2 || key === undefined || value === undefined)
      return err(argsError(`ARGS: invalid pair ${goQuote(pair)}`));
    const kind = Object.hasOwn(schema, key) ? schema[key] : undefined;
    if (kind === undefined) {
      unknown.push(pair);
      continue;
    }
    const problem = valueProblem(kind, value);
    if (problem !== undefined)
      return err(argsError(`ARGS: error parsing value of pair ${goQuote(pair)}: ${problem}`));
    out[key] = value;
  }
  const ignoreUnknown = /^(1|true)$/i.test(out['IgnoreUnknown'] ?? '');
  if (unknown.length > 0 && !ignoreUnknown)
    return err(argsError(`ARGS: unknown args [${unknown.map(goQuote).join(' ')}]`));
  return ok(out);
}

/** `CNI_ARGS` read into each struct in turn (as the plugin's code does); the keys of all of them. */
export function loadAllCniArgs(
  text: string,
  schemas: readonly ArgSchema[],
): Result<Record<string, string>, CniError> {
  const out: Record<string, string> = {};
  for (const schema of schemas) {
    const r = loadCniArgs(text, schema);
    if (!r.ok) return r;
    Object.assign(out, r.value);
  }
  return ok(out);
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
): Result<InvocationEnv, CniError> {
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
  return ok({
    command: commandText,
    containerId,
    netns: env['CNI_NETNS'] ?? '',
    ifname,
    argsText: env['CNI_ARGS'] ?? '',
    path: (env['CNI_PATH'] ?? '').split(':').filter((p) => p !== ''),
  });
}

/**
 * The invocation with `CNI_ARGS` read into the plugin's argument structs, for the commands that read them
 * (ADD, DEL, CHECK; GC and STATUS concern no container).
 */
export function withArgs(inv: InvocationEnv, schemas: ArgSchemas): Result<Invocation, CniError> {
  const c = inv.command;
  const args =
    c === 'ADD' || c === 'DEL' || c === 'CHECK' ? loadAllCniArgs(inv.argsText, schemas[c]) : ok({});
  return args.ok ? ok({ ...inv, args: args.value }) : args;
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
