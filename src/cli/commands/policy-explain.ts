/**
 * `calicoctl policy explain`: what-if for CI pipelines. Decides one connection against the policies in the
 * given files (offline) and prints the verdict with, per direction, the tier, policy, rule and action that
 * decided, or "end of tier" / "no profile allowed".
 */
import type { Namespace, Pod } from '../../api/k8s/types.js';
import { parseProtocol, protocolNameFolded, protocolNumber } from '../../api/numorstring.js';
import { parseIp } from '../../lib/net/ip.js';
import type { IpAddr } from '../../lib/net/ip.js';
import type { ModelInput } from '../../model/snapshot.js';
import { buildSnapshot, isModelInput } from '../../model/snapshot.js';
import type { ModelEndpoint } from '../../model/types.js';
import { PolicyEvaluator } from '../../policy/evaluator.js';
import type { FlowEnd } from '../../policy/evaluator.js';
import { formatDecision } from '../../policy/format.js';
import type { Command, OptionValues } from '../command.js';
import { boolOpt, stringOpt, stringsOpt } from '../command.js';
import { CliError } from '../io.js';
import { loadResources } from '../input.js';

const USAGE = `Usage:
  calicoctl policy explain --filename=<FILENAME> --from=<ENDPOINT> --to=<ENDPOINT>
                           [--port=<PORT>] [--protocol=<PROTOCOL>] [--icmp-type=<T>] [--icmp-code=<C>]
                           [--from-labels=<k=v,...>] [--to-labels=<k=v,...>] [--expect=allow|deny]
                           [--recursive] [--output=<OUTPUT>]

Examples:
  # Would a pod in "default" reach production/web on TCP 80 under these policies?
  calicoctl policy explain -f policies/ --from default/client --to production/web --port 80

  # From an outside address to a pod, as JSON, failing the CI job unless it is denied.
  calicoctl policy explain -f policies/ --from 203.0.113.7 --to production/db --port 5432 --expect deny -o json

Options:
  -f --filename=<FILENAME>  Policies and endpoints: file, directory or "-" (stdin). Pods, Namespaces,
                            ServiceAccounts, WorkloadEndpoints, HostEndpoints and NetworkSets in the input
                            are used; a NAMESPACE/POD not found there is evaluated as a pod with the labels
                            given by --from-labels/--to-labels.
  --from=<ENDPOINT>         Source: NAMESPACE/POD or an IP address.
  --to=<ENDPOINT>           Destination: NAMESPACE/POD or an IP address.
  --port=<PORT>             Destination port (required for TCP, UDP and SCTP).
  --protocol=<PROTOCOL>     TCP (default), UDP, SCTP, ICMP, ICMPv6, UDPLite or a number 1-255.
  --icmp-type=<T>           ICMP type, with --protocol ICMP or ICMPv6.
  --icmp-code=<C>           ICMP code.
  --expect=allow|deny       Exit 1 unless the verdict is this one (for CI).
  -R --recursive            Process the directory used in -f recursively.
  -o --output=<OUTPUT>      Output format: human (default) or json.`;

function parseLabels(text: string | undefined, flag: string): Record<string, string> {
  const out: Record<string, string> = {};
  if (text === undefined || text === '') return out;
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

/** Adds synthesized Pods/Namespaces for NS/POD arguments not present in the input. */
function ensurePod(inputs: ModelInput[], spec: string, labels: Record<string, string>): string | undefined {
  const [ns, name] = spec.split('/', 2) as [string, string];
  const notes: string[] = [];
  const hasNs = inputs.some((r) => r.kind === 'Namespace' && r.metadata.name === ns);
  if (!hasNs) {
    const nsRes: Namespace = {
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name: ns, labels: { 'kubernetes.io/metadata.name': ns } },
    };
    inputs.push(nsRes);
    notes.push(`namespace ${ns} is not in the input; assumed with label kubernetes.io/metadata.name=${ns}`);
  }
  const hasPod = inputs.some(
    (r) =>
      (r.kind === 'Pod' && r.metadata.name === name && (r.metadata.namespace ?? 'default') === ns) ||
      (r.kind === 'WorkloadEndpoint' && r.spec.pod === name && (r.metadata.namespace ?? 'default') === ns),
  );
  if (!hasPod) {
    const pod: Pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: ns, labels }, spec: {} };
    inputs.push(pod);
    notes.push(`pod ${spec} is not in the input; evaluated as a pod with labels ${JSON.stringify(labels)}`);
  }
  return notes.length > 0 ? notes.join('; ') : undefined;
}

function resolveEnd(text: string, endpoints: readonly ModelEndpoint[]): FlowEnd {
  const ip: IpAddr | undefined = parseIp(text);
  if (ip !== undefined) return { ip };
  const ep = endpoints.find((e) => e.key.kind === 'wep' && e.display === text);
  if (ep === undefined) throw new CliError(`endpoint ${text} not found`);
  const first = ep.ips[0];
  return { endpoint: ep, ...(first !== undefined ? { ip: first } : {}) };
}

function checkEndpointArg(text: string | undefined, flag: string): string {
  if (text === undefined) throw new CliError(`the --${flag} option is required\n\n${USAGE}`, 2);
  if (parseIp(text) !== undefined) return text;
  if (!/^[^/\s]+\/[^/\s]+$/.test(text))
    throw new CliError(`--${flag}: "${text}" is neither NAMESPACE/POD nor an IP address`, 2);
  return text;
}

function resolveProtocol(values: OptionValues): number {
  const text = stringOpt(values, 'protocol') ?? 'TCP';
  const p = parseProtocol(/^[0-9]+$/.test(text) ? Number(text) : (protocolNameFolded(text) ?? text));
  if (!p.ok) throw new CliError(`--protocol: ${p.error}`, 2);
  return protocolNumber(p.value);
}

export const policyExplainCommand: Command = {
  words: ['policy', 'explain'],
  summary: 'Explain the verdict on a connection under the given policies (offline what-if).',
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
    output: { type: 'string', short: 'o' },
  },
  async run({ values, io }) {
    const files = stringsOpt(values, 'filename');
    if (files.length === 0) throw new CliError(`the --filename (-f) option is required\n\n${USAGE}`, 2);
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

    const { resources, problems } = await loadResources(files, boolOpt(values, 'recursive'), io);
    if (problems.length > 0) {
      for (const p of problems) io.err(`${p}\n`);
      io.err(`Failed to explain: the input has ${problems.length} problem(s)\n`);
      return 1;
    }
    const inputs: ModelInput[] = resources.map((r) => r.resource).filter(isModelInput);
    const notes: string[] = [];
    for (const [arg, flag] of [
      [from, 'from-labels'],
      [to, 'to-labels'],
    ] as const) {
      if (parseIp(arg) !== undefined) continue;
      const note = ensurePod(inputs, arg, parseLabels(stringOpt(values, flag), `--${flag}`));
      if (note !== undefined) notes.push(note);
    }
    const snapshot = buildSnapshot(inputs);
    const ev = new PolicyEvaluator(snapshot);
    const src = resolveEnd(from, snapshot.endpoints);
    const dst = resolveEnd(to, snapshot.endpoints);
    const decision = ev.decide({
      src,
      dst: { ...dst, ...(port !== undefined ? { port } : {}) },
      protocol,
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
  },
};
