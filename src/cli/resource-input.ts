/**
 * The `-f` input of the datastore commands: every document read and validated (input.ts), then given its
 * namespace by calicoctl's rules and its datastore key. Problems are collected, never thrown, so that a
 * command can report all of them and write nothing.
 */
import { kindInfo } from '../api/kinds.js';
import { MAX_PROBLEMS_SHOWN } from '../api/limits.js';
import { keyOf, type Resource, type ResourceKey } from '../datastore/index.js';
import type { OptionValues } from './command.js';
import { boolOpt, stringsOpt } from './command.js';
import { describeLoaded, loadResources, type LoadedResource } from './input.js';
import { CliError, InvalidOptionError } from './io.js';
import type { CliIo } from './io.js';
import { resolveNamespace } from './namespaces.js';
import { namespaceFlags, type NamespaceFlags } from './options.js';

export interface InputResource {
  /** `file: document N (Kind ns/name)`, the prefix of every problem line about it. */
  readonly label: string;
  /** The decoded resource with its namespace filled in (a copy; the loaded one is untouched). */
  readonly resource: Resource;
  readonly key: ResourceKey;
  /** The kind as written in the document (`NetworkPolicy` for a Kubernetes NetworkPolicy too). */
  readonly documentKind: string;
  /** `metadata.resourceVersion` as given in the document, if any. */
  readonly resourceVersion: string | undefined;
}

export interface ReadInput {
  readonly items: readonly InputResource[];
  readonly problems: readonly string[];
  readonly files: readonly string[];
}

function prepare(l: LoadedResource, flags: NamespaceFlags): InputResource | string {
  const r = l.resource as Resource;
  const label = describeLoaded(l);
  const key = keyOf(r);
  const info = kindInfo(key.kind);
  const ns = resolveNamespace(r.kind, info?.namespaced ?? false, r.metadata.namespace, flags);
  if (!ns.ok) return `${label}: metadata.namespace: ${ns.error}`;
  const metadata = { ...r.metadata };
  if (ns.value === undefined) delete metadata.namespace;
  else metadata.namespace = ns.value;
  const resource = { ...r, metadata };
  return {
    label,
    resource,
    key: keyOf(resource),
    documentKind: r.kind,
    resourceVersion: r.metadata.resourceVersion,
  };
}

/**
 * Reads `-f` (required): documents that fail to parse or validate, and namespace problems, become problem
 * lines. An empty file is an error unless `--skip-empty` (calicoctl's "No resources specified in file").
 */
export async function readInput(values: OptionValues, io: CliIo): Promise<ReadInput> {
  const files = stringsOpt(values, 'filename');
  if (files.length === 0) throw new InvalidOptionError('the --filename (-f) option is required');
  const loaded = await loadResources(files, boolOpt(values, 'recursive'), io);
  const skipEmpty = boolOpt(values, 'skip-empty');
  const empty = loaded.empty[0];
  if (empty !== undefined && !skipEmpty) throw new CliError(`No resources specified in file ${empty}`);
  const flags = namespaceFlags(values);
  const problems = [...loaded.problems];
  const items: InputResource[] = [];
  for (const l of loaded.resources) {
    const p = prepare(l, flags);
    if (typeof p === 'string') problems.push(p);
    else items.push(p);
  }
  return { items, problems, files };
}

/** The single document kind of the input, if all resources share one (calicoctl's SingleKind). */
export function singleKind(kinds: readonly string[]): string | undefined {
  const set = new Set(kinds);
  return set.size === 1 ? [...set][0] : undefined;
}

/**
 * The problem lines of a command, at most MAX_PROBLEMS_SHOWN of them, then one line counting the rest: the
 * error output stays readable (and bounded) however broken the input is.
 */
export function problemLines(problems: readonly string[]): string[] {
  if (problems.length <= MAX_PROBLEMS_SHOWN) return [...problems];
  const rest = problems.length - MAX_PROBLEMS_SHOWN;
  return [...problems.slice(0, MAX_PROBLEMS_SHOWN), `... and ${rest} more problem(s) not shown`];
}

/** Every problem on its own line, then calicoctl's "Failed to execute command" with a count. */
export function problemsText(problems: readonly string[], files: readonly string[], verb?: string): string {
  const where = files.map((f) => (f === '-' ? '<stdin>' : f)).join(', ');
  const tail = verb === undefined ? '' : `; no resources were ${verb}`;
  return `${problemLines(problems).join('\n')}\nFailed to execute command: ${problems.length} problem(s) found in ${where}${tail}`;
}

/** Prints the problems (see problemsText); returns the exit status (1). */
export function reportProblems(
  io: CliIo,
  problems: readonly string[],
  files: readonly string[],
  verb: string,
): number {
  io.err(`${problemsText(problems, files, verb)}\n`);
  return 1;
}
