/**
 * `calicoctl get KIND [NAME...]` / `get -f FILE`: lists or named gets, printed as a ps/wide/custom-columns
 * table, or as YAML/JSON that every write command reads back. NetworkPolicies include the `knp.default.*`
 * views of Kubernetes NetworkPolicies. Missing named resources, and stored values that are not valid
 * resources (named with their problem), are reported after the output (exit 1), as calicoctl reports a
 * partial failure.
 */
import { kindArgument } from '../resource-types.js';
import { kindInfo } from '../../api/kinds.js';
import { invalidValueMessage, keyOf, type Resource, type ResourceKey } from '../../datastore/index.js';
import { errorMessage } from '../../lib/errors.js';
import { MAX_SOURCE_BYTES, mebibytes } from '../../api/limits.js';
import { readFileSync, statSync } from 'node:fs';
import { runTemplate, TemplateError } from '../printers/go-template.js';
import { CalicoClient } from '../client.js';
import type { Command, OptionValues } from '../command.js';
import { boolOpt, stringOpt } from '../command.js';
import { CliError, InvalidOptionError } from '../io.js';
import type { CliIo } from '../io.js';
import { resolveNamespace } from '../namespaces.js';
import { fieldAt } from '../objects.js';
import {
  ALL_NAMESPACES_OPTION,
  CONFIG_HELP,
  CONFIG_OPTION,
  FILE_HELP,
  FILE_OPTIONS,
  GLOBAL_HELP,
  NAMESPACE_OPTION,
  namespaceFlags,
} from '../options.js';
import type { PrintContext } from '../printers/columns.js';
import { listObject, toJson, toYaml } from '../printers/structured.js';
import { headingsFor, renderTable, type TableColumns } from '../printers/table.js';
import { problemsText, readInput } from '../resource-input.js';
import { mapLimit } from '../async-pool.js';

const USAGE = `Usage:
  calicoctl get ( (<KIND> [<NAME>...]) |
                --filename=<FILENAME> [--recursive] [--skip-empty] )
                [--output=<OUTPUT>] [--config=<CONFIG>] [--namespace=<NS>] [--all-namespaces] [--export]
                [--context=<context>] [--allow-version-mismatch]

Examples:
  # List all policy in default output format.
  calicoctl get policy

  # List specific policies in YAML format
  calicoctl get -o yaml policy my-policy-1 my-policy-2

Options:
  -h --help                    Show this screen.
${FILE_HELP}
  -o --output=<OUTPUT FORMAT>  Output format.  One of: yaml, json, ps, wide,
                               custom-columns=..., go-template=...,
                               go-template-file=...   [Default: ps]
${CONFIG_HELP}
  -n --namespace=<NS>          Namespace of the resource. Only applicable to namespaced kinds.
                               Uses the default namespace if not specified.
  -A --all-namespaces          If present, list the requested object(s) across all namespaces.
     --export                  If present, returns the requested object(s) stripped of
                               cluster-specific information. Ignored if <NAME> is not specified.
${GLOBAL_HELP}

Description:
  The get command is used to display a set of resources by filename or stdin, or by type and
  identifiers. The resource type is case-insensitive and may be pluralized or abbreviated (gnp, policy,
  ippool, ...). Attempting to get resources that do not exist is reported as an error; a list of a kind
  with no resources prints only the headings.

  NetworkPolicies include the Kubernetes (networking.k8s.io/v1) NetworkPolicies, shown as
  knp.default.<name> in tier default, and Profiles include the kns.<namespace> and
  ksa.<namespace>.<serviceaccount> profiles of Kubernetes namespaces and service accounts, as Calico v3.32
  shows them with an etcd datastore. These views are read-only.

  Output formats: ps (default), wide (more headings), custom-columns=A,B (headings of the kind's table;
  an unknown one lists the valid ones), yaml/yml and json (always valid input for create, apply, replace
  and delete: one object for a single named resource, otherwise a <Kind>List with items), and
  go-template=TEMPLATE / go-template-file=FILE: a Go template run over the list of resources, e.g.
  '{{range .}}{{.ObjectMeta.Name}} {{.Spec.Selector}}{{"\\n"}}{{end}}' (Go field names, matched against the
  JSON fields case-insensitively; functions and, or, not, len, index, slice, eq, ne, lt, le, gt, ge,
  print, printf, println, join, joinAndTruncate, config).`;

type Output =
  | { readonly type: 'table'; readonly columns: TableColumns }
  | { readonly type: 'yaml' | 'json' }
  | { readonly type: 'template'; readonly source: string };

/** A template file is read whole, within the input bound of one source. */
function templateFile(path: string): string {
  let size: number;
  try {
    size = statSync(path).size;
  } catch (e) {
    throw new CliError(errorMessage(e));
  }
  if (size > MAX_SOURCE_BYTES)
    throw new CliError(`${path}: template is larger than ${mebibytes(MAX_SOURCE_BYTES)}`);
  return readFileSync(path, 'utf8');
}

function parseOutput(values: OptionValues, printNamespace: boolean): Output {
  const output = stringOpt(values, 'output') ?? 'ps';
  switch (output) {
    case 'yaml':
    case 'yml':
      return { type: 'yaml' };
    case 'json':
      return { type: 'json' };
    case 'ps':
    case 'wide':
      return {
        type: 'table',
        columns: { type: 'default', wide: output === 'wide', namespace: printNamespace },
      };
  }
  const eq = output.indexOf('=');
  const key = eq < 0 ? output : output.slice(0, eq);
  const value = eq < 0 ? '' : output.slice(eq + 1);
  if (key === 'custom-columns') {
    if (value === '') throw new CliError('need to specify at least one column');
    return { type: 'table', columns: { type: 'custom', headings: value.split(',') } };
  }
  if (key === 'go-template') {
    if (value === '') throw new CliError('need to specify a template');
    return { type: 'template', source: value };
  }
  if (key === 'go-template-file') {
    if (value === '') throw new CliError('need to specify a template file');
    return { type: 'template', source: templateFile(value) };
  }
  throw new CliError(`unrecognized output format '${output}'`);
}

/** What to fetch: one list, or named objects (from arguments or a file). */
type Target =
  | { readonly type: 'list'; readonly kind: string; readonly namespace: string | undefined }
  | { readonly type: 'named'; readonly keys: readonly (ResourceKey | string)[]; readonly kind?: string };

async function targets(values: OptionValues, positionals: string[], io: CliIo): Promise<Target> {
  const flags = namespaceFlags(values);
  if (values['filename'] !== undefined) {
    if (positionals.length > 0) throw new InvalidOptionError('get takes either KIND or -f');
    const input = await readInput(values, io);
    if (input.problems.length > 0) {
      throw new CliError(problemsText(input.problems, input.files));
    }
    return {
      type: 'named',
      keys: input.items.map((i) => singleKey(i.key, kindInfo(i.key.kind)?.namespaced ?? false)),
    };
  }
  const [kindArg, ...names] = positionals;
  if (kindArg === undefined) throw new InvalidOptionError('get needs a KIND or -f');
  const info = kindArgument(kindArg, 'Failed to get resources: ');
  const ns = resolveNamespace(info.kind, info.namespaced, undefined, flags);
  if (names.length === 0) {
    if (!ns.ok) throw new CliError(ns.error);
    return { type: 'list', kind: info.kind, namespace: ns.value };
  }
  if (names.some((n) => n === '')) throw new CliError('resource name may not be empty');
  const keys = names.map((name): ResourceKey | string => {
    if (!ns.ok) return ns.error;
    return singleKey(
      ns.value === undefined ? { kind: info.kind, name } : { kind: info.kind, namespace: ns.value, name },
      info.namespaced,
    );
  });
  return { type: 'named', keys, kind: info.kind };
}

/** A named get needs a namespace for namespaced kinds (`-A` cannot name one object). */
function singleKey(key: ResourceKey, namespaced: boolean): ResourceKey | string {
  if (namespaced && key.namespace === undefined)
    return 'cannot use --all-namespace flag for getting a single resource';
  return key;
}

interface Fetched {
  readonly items: Resource[];
  readonly errors: string[];
  readonly revision: number;
}

async function fetchTargets(client: CalicoClient, target: Target): Promise<Fetched> {
  if (target.type === 'list') {
    // Stored values that are not valid resources are named after the listing (exit 1), never fatal.
    const listed = await client.listView(target.kind, target.namespace);
    return {
      items: listed.items,
      errors: listed.invalid.map(invalidValueMessage),
      revision: listed.revision,
    };
  }
  const results = await mapLimit(target.keys, 32, async (key): Promise<Resource | string> => {
    if (typeof key === 'string') return key;
    try {
      return await client.getView(key);
    } catch (e) {
      return errorMessage(e);
    }
  });
  const items = results.filter((r): r is Resource => typeof r !== 'string');
  const errors = results.filter((r): r is string => typeof r === 'string');
  const revision = items.reduce((m, i) => Math.max(m, Number(i.metadata.resourceVersion ?? 0)), 0);
  return { items, errors, revision };
}

function exported(r: Resource): Resource {
  // calicoctl --export clears these cluster-specific fields (and the namespace).
  const metadata = { ...r.metadata };
  delete metadata.namespace;
  delete metadata.uid;
  delete metadata.resourceVersion;
  delete metadata.creationTimestamp;
  delete metadata.deletionTimestamp;
  delete metadata.deletionGracePeriodSeconds;
  return { ...r, metadata };
}

/** calicoctl's `config "asnumber"`: BGPConfiguration default's spec.asNumber, else 64512. */
async function defaultAsNumber(client: CalicoClient): Promise<string> {
  const bgp = await client.getOrUndefined({ kind: 'BGPConfiguration', name: 'default' });
  const asn = fieldAt(bgp, 'spec.asNumber');
  return typeof asn === 'number' || typeof asn === 'string' ? String(asn) : '64512';
}

async function printContext(client: CalicoClient, items: readonly Resource[]): Promise<PrintContext> {
  if (!items.some((i) => i.kind === 'Node')) return { defaultAsNumber: '64512' };
  return { defaultAsNumber: await defaultAsNumber(client) };
}

/** Consecutive items of one kind share a table. */
function groups(items: readonly Resource[]): { kind: string; items: Resource[] }[] {
  const out: { kind: string; items: Resource[] }[] = [];
  for (const item of items) {
    const kind = keyOf(item).kind;
    const last = out.at(-1);
    if (last?.kind === kind) last.items.push(item);
    else out.push({ kind, items: [item] });
  }
  return out;
}

async function printTables(
  client: CalicoClient,
  target: Target,
  fetched: Fetched,
  columns: TableColumns,
  io: CliIo,
): Promise<void> {
  const tables = groups(fetched.items);
  if (tables.length === 0 && target.type === 'list') tables.push({ kind: target.kind, items: [] });
  const ctx = await printContext(client, fetched.items);
  for (const t of tables) {
    const h = headingsFor(t.kind, columns);
    if (!h.ok) throw new CliError(h.message);
    io.out(renderTable(t.kind, h.headings, t.items, ctx));
  }
}

/** Runs a go-template over the list of resources, as calicoctl does; output is written in pieces. */
async function printTemplate(
  client: CalicoClient,
  source: string,
  items: readonly Resource[],
  io: CliIo,
): Promise<void> {
  const asNumber = source.includes('config') ? await defaultAsNumber(client) : '64512';
  let buffered = '';
  const write = (text: string): void => {
    buffered += text;
    if (buffered.length >= 64 * 1024) {
      io.out(buffered);
      buffered = '';
    }
  };
  try {
    runTemplate(
      source,
      items,
      { config: (name) => (name.toLowerCase() === 'asnumber' ? asNumber : '') },
      write,
    );
  } catch (e) {
    if (e instanceof TemplateError) throw new CliError(e.message);
    throw e;
  } finally {
    if (buffered !== '') io.out(buffered);
  }
}

async function runGet(values: OptionValues, positionals: string[], io: CliIo): Promise<number> {
  const flags = namespaceFlags(values);
  const output = parseOutput(values, flags.allNamespaces || flags.namespace !== undefined);
  const target = await targets(values, positionals, io);
  if (output.type === 'table' && output.columns.type === 'custom' && target.type === 'list') {
    const h = headingsFor(target.kind, output.columns);
    if (!h.ok) throw new CliError(h.message);
  }
  const client = await CalicoClient.open(values, io, { create: false });
  try {
    await client.checkVersion(values);
    const fetched = await fetchTargets(client, target);
    const named = target.type === 'named';
    const items = named && boolOpt(values, 'export') ? fetched.items.map(exported) : fetched.items;
    if (output.type === 'table') await printTables(client, target, { ...fetched, items }, output.columns, io);
    else if (output.type === 'template') await printTemplate(client, output.source, items, io);
    else if (items.length > 0 || !named) {
      const single = named && target.keys.length === 1 && items[0] !== undefined;
      const kinds = target.type === 'list' ? [target.kind] : items.map((i) => keyOf(i).kind);
      const value = single ? items[0] : listObject(kinds, items, fetched.revision);
      io.out(output.type === 'yaml' ? toYaml(value) : toJson(value));
    }
    for (const e of fetched.errors) io.err(`${e}\n`);
    if (items.length === 0) {
      const hint = await client.emptyHint();
      if (hint !== undefined) io.err(`Note: ${hint}\n`);
    }
    return fetched.errors.length > 0 ? 1 : 0;
  } finally {
    await client.close();
  }
}

export const getCommand: Command = {
  words: ['get'],
  summary: 'Get a resource identified by file, directory, stdin or resource type and name.',
  usage: USAGE,
  options: {
    ...FILE_OPTIONS,
    ...CONFIG_OPTION,
    ...NAMESPACE_OPTION,
    ...ALL_NAMESPACES_OPTION,
    // calicoctl keeps `-a` as a hidden alias of -A.
    'all-namespaces-compat': { type: 'boolean', short: 'a' },
    output: { type: 'string', short: 'o' },
    export: { type: 'boolean' },
  },
  run: ({ values, positionals, io }) => {
    const v = values['all-namespaces-compat'] === true ? { ...values, 'all-namespaces': true } : values;
    return runGet(v, positionals, io);
  },
};
