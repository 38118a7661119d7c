/**
 * Reading resources the way calicoctl does: `-f FILE`, `-f DIR` (YAML and JSON files in it; `-R` recurses),
 * `-f -` (stdin), each within the input bounds (sources.ts). Every document is parsed and decoded; every
 * problem is reported with file, document (index, kind and name when known) and field. Nothing is returned
 * as usable unless the caller decides so: commands that write must apply nothing when any document is
 * invalid.
 */
import { decodeResource } from '../api/decode.js';
import type { Resource } from '../api/decode.js';
import { MAX_ECHO_CHARS, truncateText } from '../api/limits.js';
import { formatLoadIssue, parseDocuments } from '../api/load.js';
import { felixConfigurationWarnings } from '../api/v3/felix-configuration.js';
import { formatIssue } from '../lib/errors.js';
import type { CliIo } from './io.js';
import { readSources } from './sources.js';

export interface LoadedResource {
  readonly source: string;
  readonly location: string;
  readonly resource: Resource;
}

export interface LoadResult {
  readonly resources: readonly LoadedResource[];
  /** One line per problem: `file: document N (Kind name): field: message`. */
  readonly problems: readonly string[];
  readonly files: number;
  /** Sources that hold no resource at all (and no syntax error): calicoctl's "No resources specified in file". */
  readonly empty: readonly string[];
}

/** `file: document N (Kind ns/name)`: how a loaded resource is named in problem lines. */
export function describeLoaded(l: LoadedResource): string {
  return `${l.source}: ${l.location}${describe(l.resource)}`;
}

function describe(doc: unknown): string {
  if (typeof doc !== 'object' || doc === null) return '';
  const d = doc as { kind?: unknown; metadata?: { name?: unknown; namespace?: unknown } };
  const cut = (v: unknown): string | undefined =>
    typeof v === 'string' ? truncateText(v, MAX_ECHO_CHARS) : undefined;
  const kind = cut(d.kind);
  const name = cut(d.metadata?.name);
  const ns = typeof d.metadata?.namespace === 'string' ? `${cut(d.metadata.namespace) ?? ''}/` : '';
  if (kind === undefined) return '';
  return name === undefined ? ` (${kind})` : ` (${kind} ${ns}${name})`;
}

export async function loadResources(
  filenames: readonly string[],
  recursive: boolean,
  io: CliIo,
): Promise<LoadResult> {
  const sources = await readSources(filenames, recursive, io);
  const resources: LoadedResource[] = [];
  const problems: string[] = [...sources.problems];
  const empty: string[] = [];
  for (const { source, text } of sources.texts) {
    const parsed = parseDocuments(text, source);
    if (!parsed.ok) {
      problems.push(...parsed.error.map(formatLoadIssue));
      continue;
    }
    if (parsed.value.length === 0) empty.push(source);
    for (const doc of parsed.value) {
      const decoded = decodeResource(doc.value);
      if (decoded.ok) {
        resources.push({ source, location: doc.location, resource: decoded.value });
        // Accepted fields that calico-ts does not implement (FelixConfiguration): said, never refused.
        if (decoded.value.kind === 'FelixConfiguration')
          for (const w of felixConfigurationWarnings(decoded.value.spec))
            io.err(`Warning: ${source}: ${doc.location}${describe(doc.value)}: ${formatIssue(w)}\n`);
      } else
        for (const issue of decoded.error)
          problems.push(`${source}: ${doc.location}${describe(doc.value)}: ${formatIssue(issue)}`);
    }
  }
  return { resources, problems, files: sources.count, empty };
}
