/**
 * `calicoctl policy explain`: what-if for CI pipelines and operators. Decides one connection, against the
 * policies and endpoints in the given files (`-f`, offline) or, without `-f`, in the live datastore (read
 * through the same model conversion as everything else), and prints the verdict with, per direction, the
 * tier, policy, rule and action that decided, or "end of tier" / "no profile allowed". A NAMESPACE/POD
 * that is neither a Pod nor a WorkloadEndpoint there is an error, unless its labels are given
 * (`--from-labels`/`--to-labels`): no verdict is ever given for a pod that was silently assumed.
 */
import { decodeResource } from '../../api/decode.js';
import type { Namespace, Pod } from '../../api/k8s/types.js';
import { parseProtocol, protocolNameFolded, protocolNumber } from '../../api/numorstring.js';
import type { Resource } from '../../datastore/index.js';
import { formatIssue } from '../../lib/errors.js';
import { checkDomainPattern } from '../../api/domains.js';
import { parseIp } from '../../lib/net/ip.js';
import { StaticResolvedNames } from '../../model/dns-cache.js';
import type { IpAddr } from '../../lib/net/ip.js';
import type { ModelInput } from '../../model/snapshot.js';
import { buildSnapshot, isModelInput } from '../../model/snapshot.js';
import type { ModelEndpoint } from '../../model/types.js';
import { PolicyEvaluator } from '../../policy/evaluator.js';
import type { FlowEnd } from '../../policy/evaluator.js';
import { formatDecision } from '../../policy/format.js';
import { CalicoClient } from '../client.js';
import type { Command, OptionValues } from '../command.js';
import { boolOpt, stringOpt, stringsOpt } from '../command.js';
import { CliError } from '../io.js';
import type { CliIo } from '../io.js';
import { loadResources } from '../input.js';
import { CONFIG_HELP, CONFIG_OPTION } from '../options.js';
import { problemLines } from '../resource-input.js';

const USAGE = `Usage:
  calicoctl policy explain --from=<ENDPOINT> --to=<ENDPOINT> [--filename=<FILENAME>] [--recursive]
                           [--port=<PORT>] [--protocol=<PROTOCOL>] [--icmp-type=<T>] [--icmp-code=<C>]
                           [--from-labels=<k=v,...>] [--to-labels=<k=v,...>] [--expect=allow|deny]
                           [--in-via=<HOSTENDPOINT>] [--out-via=<HOSTENDPOINT>]
                           [--resolve=<NAME=IP[,IP...]>...]
                           [--output=<OUTPUT>] [--config=<CONFIG>] [--allow-version-mismatch]

Examples:
  # Would production/web accept TCP 80 from default/client, under what is in the datastore now?
  calicoctl policy explain --from default/client --to production/web --port 80

  # The same question against policy files (offline, in CI), for pods described by their labels.
  calicoctl policy explain -f policies/ --from default/client --from-labels app=client \\
      --to production/web --to-labels app=web --port 80 --expect deny

  # From an outside address to a pod, as JSON.
  calicoctl policy explain --from 203.0.113.7 --to production/db --port 5432 -o json

  # Forwarded by node1 from its eth0 to its eth1: the host endpoints' applyOnForward policy applies too.
  calicoctl policy explain --from 198.51.100.4 --to 203.0.113.9 --port 443 \\
      --in-via node1-eth0 --out-via node1-eth1

  # DNS policy offline: as if api.example.com had just resolved to 198.51.100.1.
  calicoctl policy explain -f policies/ --from production/web --to 198.51.100.1 --port 443 \
      --resolve api.example.com=198.51.100.1

Options:
  -f --filename=<FILENAME>  Policies and endpoints from a file, directory or "-" (stdin) instead of the
                            datastore: Pods, Namespaces, ServiceAccounts, WorkloadEndpoints,
                            HostEndpoints, NetworkSets and every kind of policy in the input are used.
  -R --recursive            Process the directory used in -f recursively.
  --from=<ENDPOINT>         Source: NAMESPACE/POD or an IP address.
  --to=<ENDPOINT>           Destination: NAMESPACE/POD or an IP address.
  --from-labels=<k=v,...>   Labels of the source pod when it is not a Pod or WorkloadEndpoint of the
                            input or datastore (a hypothetical pod); without them such a pod is an error.
  --to-labels=<k=v,...>     The same for the destination pod.
  --port=<PORT>             Destination port (required for TCP, UDP and SCTP).
  --protocol=<PROTOCOL>     TCP (default), UDP, SCTP, ICMP, ICMPv6, UDPLite or a number 1-255.
  --icmp-type=<T>           ICMP type, with --protocol ICMP or ICMPv6.
  --icmp-code=<C>           ICMP code.
  --expect=allow|deny       Exit 1 unless the verdict is this one (for CI).
  --in-via=<HOSTENDPOINT>   A node forwards the packet, arriving through this host endpoint's interface: its
                            applyOnForward ingress policy applies. Workload interfaces and nodes whose only
                            host endpoint is "*" are worked out without it.
  --out-via=<HOSTENDPOINT>  A node forwards the packet, leaving through this host endpoint's interface: its
                            applyOnForward egress policy applies.
  --resolve=<NAME=IP,...>   DNS policy: treat NAME as currently resolving to these addresses (repeatable),
                            so rules with destination domains and network sets' allowedEgressDomains
                            can match; the explanation names the domain that matched.
  -o --output=<OUTPUT>      Output format: human (default) or json.
${CONFIG_HELP}

Description:
  Decides one connection with Calico's policy semantics (tiers, order, Pass, staged policies, profiles)
  and shows what decided it. Exit status: 0 (or the --expect verdict), 1 (other verdict or an error),
  2 (bad arguments).`;

/** Backend kinds read from the datastore: everything the policy model is built from. */
const LIVE_KINDS = [
  'Tier',
  'GlobalNetworkPolicy',
  'NetworkPolicy',
  'KubernetesNetworkPolicy',
  'AdminNetworkPolicy',
  'BaselineAdminNetworkPolicy',
  'ClusterNetworkPolicy',
  // Their labels and addresses resolve admin policies' `nodes` peers.
  'Node',
  'StagedGlobalNetworkPolicy',
  'StagedNetworkPolicy',
  'StagedKubernetesNetworkPolicy',
  'Profile',
  'GlobalNetworkSet',
  'NetworkSet',
  'HostEndpoint',
  'WorkloadEndpoint',
  'Namespace',
  'ServiceAccount',
  'Pod',
];

function parseLabels(text: string | undefined, flag: string): Record<string, string> | undefined {
  if (text === undefined) return undefined;
  const out: Record<string, string> = {};
  if (text === '') return out;
  for (const part of text.split(',')) {
    const eq = part.indexOf('=');
    if (eq <= 0)
      throw new CliError(`${flag}: expected key=value pairs separated by commas, got "${part}"`, 2);
    out[part.slice(0, eq).trim()] = part.slice(eq + 1).trim();
  }
  return out;
}

function intOpt(values: OptionValues, name: string, min: number, max: number): number | undefined {
  const v = stringOpt(values, name);
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!/^[0-9]+$/.test(v) || n < min || n > max)
    throw new CliError(`--${name}: "${v}" is not a number between ${min} and ${max}`, 2);
  return n;
}

function hasPod(inputs: readonly ModelInput[], ns: string, name: string): boolean {
  return inputs.some(
    (r) =>
      (r.kind === 'Pod' && r.metadata.name === name && (r.metadata.namespace ?? 'default') === ns) ||
      (r.kind === 'WorkloadEndpoint' && r.spec.pod === name && (r.metadata.namespace ?? 'default') === ns),
  );
}

/**
 * Makes sure NAMESPACE/POD can be resolved: a pod of the input or datastore, else the hypothetical pod its
 * labels describe (a note says so), else an error. A missing Namespace is assumed (with a note).
 */
function ensurePod(
  inputs: ModelInput[],
  spec: string,
  labels: Record<string, string> | undefined,
  flag: string,
  where: string,
): string[] {
  const [ns, name] = spec.split('/', 2) as [string, string];
  const notes: string[] = [];
  if (!hasPod(inputs, ns, name)) {
    if (labels === undefined) {
      throw new CliError(
        `endpoint ${spec} not found: no Pod or WorkloadEndpoint ${spec} in ${where}; ` +
          `give its labels with ${flag} to evaluate a pod that does not exist`,
      );
    }
    const pod: Pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: ns, labels }, spec: {} };
    inputs.push(pod);
    notes.push(`pod ${spec} is not in ${where}; evaluated as a pod with labels ${JSON.stringify(labels)}`);
  } else if (labels !== undefined) {
    notes.push(`pod ${spec} exists in ${where}: its own labels are used, not ${flag}`);
  }
  if (!inputs.some((r) => r.kind === 'Namespace' && r.metadata.name === ns)) {
    const nsRes: Namespace = {
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name: ns, labels: { 'kubernetes.io/metadata.name': ns } },
    };
    inputs.push(nsRes);
    notes.push(`namespace ${ns} is not in ${where}; assumed with label kubernetes.io/metadata.name=${ns}`);
  }
  return notes;
}

function resolveEnd(text: string, endpoints: readonly ModelEndpoint[]): FlowEnd {
  const ip: IpAddr | undefined = parseIp(text);
  if (ip !== undefined) return { ip };
  const ep = endpoints.find((e) => e.key.kind === 'wep' && e.display === text);
  if (ep === undefined) throw new CliError(`endpoint ${text} not found`);
  const first = ep.ips[0];
  return { endpoint: ep, ...(first !== undefined ? { ip: first } : {}) };
}

function resolveHostEndpoint(
  name: string | undefined,
  endpoints: readonly ModelEndpoint[],
  flag: string,
  where: string,
): ModelEndpoint | undefined {
  if (name === undefined) return undefined;
  const ep = endpoints.find((e) => e.key.kind === 'hep' && e.key.name === name);
  if (ep === undefined) throw new CliError(`--${flag}: host endpoint ${name} not found in ${where}`, 2);
  return ep;
}

function checkEndpointArg(text: string | undefined, flag: string): string {
  if (text === undefined) throw new CliError(`the --${flag} option is required\n\n${USAGE}`, 2);
  if (parseIp(text) !== undefined) return text;
  if (!/^[^/\s]+\/[^/\s]+$/.test(text))
    throw new CliError(`--${flag}: "${text}" is neither NAMESPACE/POD nor an IP address`, 2);
  return text;
}

/** `--resolve NAME=IP[,IP...]` (repeatable) -> the static name view the evaluator reads. */
function parseResolves(texts: readonly string[]): StaticResolvedNames | undefined {
  if (texts.length === 0) return undefined;
  const names = new StaticResolvedNames();
  for (const text of texts) {
    const eq = text.indexOf('=');
    const name = eq < 0 ? '' : text.slice(0, eq).trim();
    const ips =
      eq < 0
        ? []
        : text
            .slice(eq + 1)
            .split(',')
            .map((s) => s.trim());
    if (name === '' || ips.length === 0 || ips.includes(''))
      throw new CliError(`--resolve: expected NAME=IP[,IP...], got "${text}"`, 2);
    const problem =
      checkDomainPattern(name) ?? (name.includes('*') ? `"${name}" is a pattern, not a name` : undefined);
    if (problem !== undefined) throw new CliError(`--resolve: ${problem}`, 2);
    for (const s of ips) {
      const ip = parseIp(s);
      if (ip === undefined) throw new CliError(`--resolve: "${s}" is not an IP address (in "${text}")`, 2);
      names.add(name, ip);
    }
  }
  return names;
}

function usesDomains(inputs: readonly ModelInput[]): boolean {
  return buildSnapshot(inputs).policies.some((p) => p.outbound.some((r) => (r.dst.domains ?? []).length > 0));
}

function resolveProtocol(values: OptionValues): number {
  const text = stringOpt(values, 'protocol') ?? 'TCP';
  const p = parseProtocol(/^[0-9]+$/.test(text) ? Number(text) : (protocolNameFolded(text) ?? text));
  if (!p.ok) throw new CliError(`--protocol: ${p.error}`, 2);
  return protocolNumber(p.value);
}

/** The model inputs of the live datastore; a stored object that no longer decodes is an error. */
async function liveInputs(values: OptionValues, io: CliIo): Promise<{ inputs: ModelInput[]; where: string }> {
  const client = await CalicoClient.open(values, io, { create: false });
  try {
    await client.checkVersion(values);
    const lists = await Promise.all(LIVE_KINDS.map((kind) => client.backend.list({ kind })));
    const inputs: ModelInput[] = [];
    const problems: string[] = [];
    for (const stored of lists.flatMap((l) => l.items)) {
      const decoded = decodeResource(stored);
      if (!decoded.ok)
        problems.push(`${describeStored(stored)}: ${decoded.error.map(formatIssue).join('; ')}`);
      else if (isModelInput(decoded.value)) inputs.push(decoded.value);
    }
    if (problems.length > 0) {
      throw new CliError(
        `${problemLines(problems).join('\n')}\nFailed to explain: ${problems.length} stored resource(s) in the ` +
          `${client.datastore} do not decode; no verdict is given without them`,
      );
    }
    const hint = inputs.length === 0 ? await client.emptyHint() : undefined;
    return { inputs, where: `the ${client.datastore}${hint === undefined ? '' : ` (${hint})`}` };
  } finally {
    await client.close();
  }
}

function describeStored(r: Resource): string {
  const ns = r.metadata.namespace === undefined ? '' : `${r.metadata.namespace}/`;
  return `${r.kind}(${ns}${r.metadata.name})`;
}

async function fileInputs(
  files: readonly string[],
  values: OptionValues,
  io: CliIo,
): Promise<{ inputs: ModelInput[]; where: string }> {
  const { resources, problems } = await loadResources(files, boolOpt(values, 'recursive'), io);
  if (problems.length > 0) {
    throw new CliError(
      `${problemLines(problems).join('\n')}\nFailed to explain: the input has ${problems.length} problem(s)`,
    );
  }
  return { inputs: resources.map((r) => r.resource).filter(isModelInput), where: 'the input' };
}

async function runExplain(values: OptionValues, io: CliIo): Promise<number> {
  const from = checkEndpointArg(stringOpt(values, 'from'), 'from');
  const to = checkEndpointArg(stringOpt(values, 'to'), 'to');
  const output = stringOpt(values, 'output') ?? 'human';
  if (output !== 'human' && output !== 'json')
    throw new CliError(`--output must be human or json, not "${output}"`, 2);
  const expect = stringOpt(values, 'expect')?.toLowerCase();
  if (expect !== undefined && expect !== 'allow' && expect !== 'deny')
    throw new CliError(`--expect must be allow or deny`, 2);
  const protocol = resolveProtocol(values);
  const port = intOpt(values, 'port', 1, 65535);
  if ((protocol === 6 || protocol === 17 || protocol === 132) && port === undefined) {
    throw new CliError('--port is required for TCP, UDP and SCTP', 2);
  }
  const icmpType = intOpt(values, 'icmp-type', 0, 255);
  const icmpCode = intOpt(values, 'icmp-code', 0, 255);
  const fromLabels = parseLabels(stringOpt(values, 'from-labels'), '--from-labels');
  const toLabels = parseLabels(stringOpt(values, 'to-labels'), '--to-labels');
  const resolvedNames = parseResolves(stringsOpt(values, 'resolve'));

  const files = stringsOpt(values, 'filename');
  const { inputs, where } =
    files.length > 0 ? await fileInputs(files, values, io) : await liveInputs(values, io);
  const notes: string[] = [];
  for (const [arg, labels, flag] of [
    [from, fromLabels, '--from-labels'],
    [to, toLabels, '--to-labels'],
  ] as const) {
    if (parseIp(arg) === undefined) notes.push(...ensurePod(inputs, arg, labels, flag, where));
  }
  const snapshot = buildSnapshot(inputs);
  const ev = new PolicyEvaluator(snapshot, resolvedNames !== undefined ? { resolvedNames } : {});
  if (resolvedNames === undefined && usesDomains(inputs)) {
    notes.push(
      'policies name destination domains; no --resolve NAME=IP was given, so no address maps from a name',
    );
  }
  const src = resolveEnd(from, snapshot.endpoints);
  const dst = resolveEnd(to, snapshot.endpoints);
  const viaIn = resolveHostEndpoint(stringOpt(values, 'in-via'), snapshot.endpoints, 'in-via', where);
  const viaOut = resolveHostEndpoint(stringOpt(values, 'out-via'), snapshot.endpoints, 'out-via', where);
  const decision = ev.decide({
    src,
    dst: { ...dst, ...(port !== undefined ? { port } : {}) },
    protocol,
    via: {
      ...(viaIn !== undefined ? { in: viaIn } : {}),
      ...(viaOut !== undefined ? { out: viaOut } : {}),
    },
    ...(icmpType !== undefined ? { icmpType } : {}),
    ...(icmpCode !== undefined ? { icmpCode } : {}),
  });
  const connection = { from, to, protocol, ...(port !== undefined ? { port } : {}) };
  if (output === 'json') {
    io.out(`${JSON.stringify({ connection, ...decision, notes }, null, 2)}\n`);
  } else {
    const protoText = stringOpt(values, 'protocol')?.toUpperCase() ?? 'TCP';
    io.out(`Connection: ${from} -> ${to} ${protoText}${port !== undefined ? `/${port}` : ''}\n`);
    for (const n of notes) io.out(`Note: ${n}\n`);
    for (const line of formatDecision(decision)) io.out(`${line}\n`);
  }
  if (expect !== undefined && decision.verdict.toLowerCase() !== expect) {
    io.err(`expected ${expect}, got ${decision.verdict.toLowerCase()}\n`);
    return 1;
  }
  return 0;
}

export const policyExplainCommand: Command = {
  words: ['policy', 'explain'],
  summary: 'Explain the verdict on a connection, against the datastore or files (what-if).',
  usage: USAGE,
  options: {
    filename: { type: 'string', short: 'f', multiple: true },
    recursive: { type: 'boolean', short: 'R' },
    from: { type: 'string' },
    to: { type: 'string' },
    port: { type: 'string' },
    protocol: { type: 'string' },
    'icmp-type': { type: 'string' },
    'icmp-code': { type: 'string' },
    'from-labels': { type: 'string' },
    'to-labels': { type: 'string' },
    expect: { type: 'string' },
    'in-via': { type: 'string' },
    'out-via': { type: 'string' },
    resolve: { type: 'string', multiple: true },
    output: { type: 'string', short: 'o' },
    ...CONFIG_OPTION,
  },
  run: ({ values, io }) => runExplain(values, io),
};
