/**
 * `calicoctl flows [list]` and `calicoctl flows --follow` (calico-ts; Calico shows flows in Whisker): the flows
 * calico-goldmane aggregated, read over Goldmane's API (Flows.List, Flows.Stream) from `--server`, else
 * $CALICO_GOLDMANE_SERVER, else 127.0.0.1:7443.
 *
 * Filters go to the server as a Goldmane Filter: --source-namespace/--dest-namespace and --protocol exact,
 * --source-name/--dest-name fuzzy (aggregated names look like `web-*`), --policy [tier/]name, --action,
 * --pending-action, --port, --reporter; --namespace and --name match either end and are applied here (one
 * Goldmane Filter cannot say "source or destination"). --since 15m lists (or backfills) the last 15 minutes.
 * --follow prints each flow of every bucket as calico-goldmane completes it, until interrupted, --limit flows,
 * or --timeout.
 */
import { parseGoDuration } from '../../api/v3/felix-config-types.js';
import type { Action, Flow, Reporter } from '../../flows/types.js';
import type { FilterInput, PolicyMatchInput } from '../../goldmane/api-types.js';
import { GOLDMANE_DEFAULT_PORT, GoldmaneClient, GoldmaneError } from '../../goldmane/client.js';
import { type Command, boolOpt, stringOpt, stringsOpt } from '../command.js';
import { CliError, type CliIo } from '../io.js';
import { flowRow, flowsTable, followLine, TABLE_HEADINGS, WIDE_HEADINGS } from './flows-format.js';

const USAGE = `Usage:
  calicoctl flows [list] [options]
  calicoctl flows --follow [options]

Options:
  -h --help                      Show this screen.
     --server=<host:port>        calico-goldmane's gRPC address [default: $CALICO_GOLDMANE_SERVER or 127.0.0.1:${GOLDMANE_DEFAULT_PORT}].
  -o --output=<output>           table, wide or json [default: table].
     --follow                    Print flows as each aggregation bucket completes.
     --since=<duration>          Only flows of the last <duration> (e.g. 15m); with --follow, backfill them first.
  -n --namespace=<ns>            Source or destination namespace (repeatable).
     --name=<name>               Source or destination name contains <name> (repeatable).
     --source-namespace=<ns>     Source namespace (repeatable).
     --dest-namespace=<ns>       Destination namespace (repeatable).
     --source-name=<name>        Source name contains <name> (repeatable).
     --dest-name=<name>          Destination name contains <name> (repeatable).
     --policy=<[tier/]name>      A hit of this policy in the enforced or pending trace (repeatable).
     --action=<action>           allow, deny or pass (repeatable).
     --pending-action=<action>   The staged (pending) verdict: allow, deny or pass (repeatable).
     --port=<port>               Destination port (repeatable).
     --protocol=<proto>          tcp, udp, icmp, ... (repeatable).
     --reporter=<src|dst>        The node side that reported the flow.
     --limit=<n>                 Stop after <n> flows (--follow).
     --timeout=<duration>        Stop following after <duration> (--follow).

Description:
  Show the flows calico-goldmane aggregated from every node, with the policy
  that decided each one.`;

const ACTIONS: Readonly<Record<string, Action>> = { allow: 'Allow', deny: 'Deny', pass: 'Pass' };
const REPORTERS: Readonly<Record<string, Reporter>> = { src: 'Src', dst: 'Dst' };

function actions(values: readonly string[], flag: string): Action[] {
  return values.map((v) => {
    const a = ACTIONS[v.toLowerCase()];
    if (a === undefined) throw new CliError(`--${flag}: "${v}" is not one of allow, deny, pass`);
    return a;
  });
}

function policyMatch(v: string): PolicyMatchInput {
  const slash = v.indexOf('/');
  const name = slash < 0 ? v : v.slice(slash + 1);
  if (name === '') throw new CliError(`--policy: "${v}" has no policy name ([tier/]name)`);
  return {
    name: { value: name, type: 'Exact' },
    ...(slash < 0 ? {} : { tier: { value: v.slice(0, slash), type: 'Exact' as const } }),
  };
}

function seconds(flag: string, raw: string): number {
  const ms = parseGoDuration(raw);
  if (ms === undefined || ms <= 0)
    throw new CliError(`--${flag}: "${raw}" is not a duration (e.g. 15m, 90s)`);
  return Math.ceil(ms / 1000);
}

/** The server-side filter the options ask for. */
export function flowsFilter(values: Parameters<Command['run']>[0]['values']): FilterInput {
  const exact = (flag: string): { value: string; type: 'Exact' }[] =>
    stringsOpt(values, flag).map((value) => ({ value, type: 'Exact' }));
  const fuzzy = (flag: string): { value: string; type: 'Fuzzy' }[] =>
    stringsOpt(values, flag).map((value) => ({ value, type: 'Fuzzy' }));
  const ports = stringsOpt(values, 'port').map((p) => {
    const n = Number(p);
    if (!Number.isInteger(n) || n < 0 || n > 65535) throw new CliError(`--port: "${p}" is not a port number`);
    return { port: n };
  });
  const reporterRaw = stringOpt(values, 'reporter');
  const reporter = reporterRaw === undefined ? 'ReporterUnspecified' : REPORTERS[reporterRaw.toLowerCase()];
  if (reporter === undefined) throw new CliError(`--reporter: "${reporterRaw ?? ''}" is not src or dst`);
  return {
    source_namespaces: exact('source-namespace'),
    dest_namespaces: exact('dest-namespace'),
    source_names: fuzzy('source-name'),
    dest_names: fuzzy('dest-name'),
    protocols: exact('protocol'),
    dest_ports: ports,
    actions: actions(stringsOpt(values, 'action'), 'action'),
    pending_actions: actions(stringsOpt(values, 'pending-action'), 'pending-action'),
    policies: stringsOpt(values, 'policy').map(policyMatch),
    reporter,
  };
}

/** --namespace / --name: either end of the flow. */
function eitherEnd(values: Parameters<Command['run']>[0]['values']): (f: Flow) => boolean {
  const namespaces = stringsOpt(values, 'namespace');
  const names = stringsOpt(values, 'name');
  return (f) =>
    (namespaces.length === 0 ||
      namespaces.some((n) => n === f.Key.source_namespace || n === f.Key.dest_namespace)) &&
    (names.length === 0 || names.some((n) => f.Key.source_name.includes(n) || f.Key.dest_name.includes(n)));
}

export interface FlowsDeps {
  /** Ends --follow (tests); the program's SIGINT/SIGTERM otherwise. */
  readonly stop?: AbortSignal;
}

function unreachable(e: unknown, server: string): never {
  if (e instanceof GoldmaneError && e.unreachable) {
    throw new CliError(
      `Failed to reach calico-goldmane at ${server}: ${e.code}. Is it running? Set --server or CALICO_GOLDMANE_SERVER.`,
    );
  }
  if (e instanceof GoldmaneError)
    throw new CliError(`calico-goldmane at ${server} refused the request: ${e.message}`);
  throw e;
}

async function follow(
  client: GoldmaneClient,
  values: Parameters<Command['run']>[0]['values'],
  io: CliIo,
  output: string,
  stop: AbortSignal | undefined,
): Promise<void> {
  const since = stringOpt(values, 'since');
  const limitRaw = stringOpt(values, 'limit');
  const limit = limitRaw === undefined ? Infinity : Number(limitRaw);
  if (!Number.isInteger(limit) && limit !== Infinity)
    throw new CliError(`--limit: "${limitRaw ?? ''}" is not a number`);
  const timeoutRaw = stringOpt(values, 'timeout');
  const timeoutMs = timeoutRaw === undefined ? undefined : seconds('timeout', timeoutRaw) * 1000;
  const keep = eitherEnd(values);
  const wide = output === 'wide';
  if (output !== 'json') io.out(followLine(wide ? WIDE_HEADINGS : TABLE_HEADINGS));
  let shown = 0;
  // Reachability first, so a wrong address fails at once rather than waiting on an empty stream.
  await client.waitReady(5_000);
  const handle = client.stream(
    { start_time_gte: since === undefined ? 0 : -seconds('since', since), filter: flowsFilter(values) },
    (r) => {
      if (r.flow === null || !keep(r.flow) || shown >= limit) return;
      shown++;
      io.out(output === 'json' ? `${JSON.stringify(r.flow)}\n` : followLine(flowRow(r.flow, wide)));
      if (shown >= limit) handle.cancel();
    },
  );
  const onStop = (): void => {
    handle.cancel();
  };
  const signals = stop === undefined;
  if (signals) {
    process.once('SIGINT', onStop);
    process.once('SIGTERM', onStop);
  } else stop.addEventListener('abort', onStop, { once: true });
  const timer = timeoutMs === undefined ? undefined : setTimeout(onStop, timeoutMs);
  try {
    await handle.done;
  } finally {
    clearTimeout(timer);
    if (signals) {
      process.off('SIGINT', onStop);
      process.off('SIGTERM', onStop);
    } else stop.removeEventListener('abort', onStop);
  }
}

export function createFlowsCommand(deps: FlowsDeps = {}): Command {
  return {
    words: ['flows'],
    summary: 'Show aggregated flows and the policies that decided them (calico-ts).',
    usage: USAGE,
    options: {
      server: { type: 'string' },
      output: { type: 'string', short: 'o' },
      follow: { type: 'boolean' },
      since: { type: 'string' },
      namespace: { type: 'string', short: 'n', multiple: true },
      name: { type: 'string', multiple: true },
      'source-namespace': { type: 'string', multiple: true },
      'dest-namespace': { type: 'string', multiple: true },
      'source-name': { type: 'string', multiple: true },
      'dest-name': { type: 'string', multiple: true },
      policy: { type: 'string', multiple: true },
      action: { type: 'string', multiple: true },
      'pending-action': { type: 'string', multiple: true },
      port: { type: 'string', multiple: true },
      protocol: { type: 'string', multiple: true },
      reporter: { type: 'string' },
      limit: { type: 'string' },
      timeout: { type: 'string' },
    },
    async run({ values, positionals, io }) {
      if (positionals.length > 1 || (positionals.length === 1 && positionals[0] !== 'list')) {
        throw new CliError(
          `Invalid option: 'calicoctl flows ${positionals.join(' ')}'. Use flag '--help' to read about a specific subcommand.`,
        );
      }
      const output = stringOpt(values, 'output') ?? 'table';
      if (!['table', 'wide', 'json'].includes(output))
        throw new CliError(`unrecognized output format '${output}'`);
      const envServer = io.env['CALICO_GOLDMANE_SERVER'];
      const server =
        stringOpt(values, 'server') ??
        (envServer === undefined || envServer === '' ? `127.0.0.1:${GOLDMANE_DEFAULT_PORT}` : envServer);
      const filter = flowsFilter(values);
      const client = new GoldmaneClient(server, { callTimeoutMs: 10_000 });
      try {
        if (boolOpt(values, 'follow')) {
          if (positionals.length > 0) throw new CliError('--follow does not go with list');
          await follow(client, values, io, output, deps.stop);
          return 0;
        }
        const since = stringOpt(values, 'since');
        const res = await client.list({
          start_time_gte: since === undefined ? 0 : -seconds('since', since),
          filter,
        });
        const keep = eitherEnd(values);
        const flows = res.flows.flatMap((r) => (r.flow !== null && keep(r.flow) ? [r.flow] : []));
        io.out(
          output === 'json' ? `${JSON.stringify(flows, null, 2)}\n` : flowsTable(flows, output === 'wide'),
        );
        return 0;
      } catch (e) {
        return unreachable(e, server);
      } finally {
        client.close();
      }
    },
  };
}

export const flowsCommand: Command = createFlowsCommand();
